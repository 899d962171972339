// Operating the server: one instance per port, and an access log that
// cannot stall the loops when its reader is slow.
#include <doctest/doctest.h>
#include <signal.h>

#include "harness.hpp"

using namespace itest;

TEST_CASE("a second instance on a port already served refuses to start") {
  ServerProcess first;
  std::vector<std::string> args = {"--port", std::to_string(first.port())};
  for (auto& f : tier_flags()) args.push_back(f);
  auto second = run_server(args, 5s);
  CHECK(second.exit_code == 1);
  CHECK(second.err.find("cannot bind") != std::string::npos);
  CHECK(second.err.find("in use") != std::string::npos);
  // The first one is untouched.
  CHECK(get(first.port(), "/healthz").status == 200);
}

TEST_CASE("an access log nobody reads drops lines instead of stalling the server") {
  ServerProcess server({"--access_log", "--drain_timeout_ms", "3000"});
  const auto port = server.port();
  server.read_stdout(false);
  // Far more log lines (~200 bytes each) than a pipe (64 KiB) and the
  // server's own bound (1 MiB) hold.
  {
    HttpClient c(port);
    std::string batch;
    for (int i = 0; i < 100; ++i) batch += request("GET", "/healthz");
    for (int round = 0; round < 100; ++round) {
      c.send(batch);
      for (int i = 0; i < 100; ++i) REQUIRE(c.read_response().status == 200);
    }
  }
  // Still serving, and the drops are counted.
  std::this_thread::sleep_for(300ms);  // a sweep or two flushes the buffers
  CHECK(get(port, "/healthz").status == 200);
  auto metrics = get(port, "/metrics").body;
  const std::string name = "\ndemo_access_log_dropped_lines_total ";
  auto at = metrics.find(name);
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(metrics.substr(at + name.size())) > 0);
  // And SIGTERM drains normally.
  server.signal(SIGTERM);
  auto code = server.wait_exit(10s);
  server.read_stdout(true);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}
