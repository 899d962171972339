// Configuration: the shipped config file works, flags override it, and a
// broken file is an error naming its line.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"

using namespace itest;

namespace {

// A config file in a temporary directory, removed afterwards.
struct TempConfig {
  std::string path;
  explicit TempConfig(const std::string& text) {
    char tmpl[] = "/tmp/demo-config-XXXXXX";
    int fd = mkstemp(tmpl);
    ::close(fd);
    path = tmpl;
    std::ofstream(path) << text;
  }
  ~TempConfig() { ::unlink(path.c_str()); }
};

}  // namespace

TEST_CASE("the shipped config file starts the server, and flags override it") {
  ServerProcess server({"--config", DEMO_CONFIG_PATH, "--permits.work", "5"});
  CHECK(stats_number(server.port(), {"semaphores", "work", "max"}) == 5);
  CHECK(stats_number(server.port(), {"semaphores", "events", "max"}) == 64);
}

TEST_CASE("--help documents every key") {
  auto r = run_server({"--help"});
  CHECK(r.exit_code == 0);
  for (const char* key :
       {"--port", "--threads", "--permits.work", "--http.header_limit", "--http.idle_timeout_ms",
        "--work.queue_timeout_ms", "--drain_timeout_ms", "--admin.token", "--access_log"})
    CHECK_MESSAGE(r.out.find(key) != std::string::npos, key);
}

TEST_CASE("an unknown key is an error naming the line and suggesting the key") {
  TempConfig cfg("# comment\nport = 0\n\n[http]\nheder_limit = 4096\n");
  auto r = run_server({"--config", cfg.path});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(cfg.path + ": line 5: unknown key 'http.heder_limit'") != std::string::npos);
  CHECK(r.err.find("did you mean 'http.header_limit'") != std::string::npos);
}

TEST_CASE("a value of the wrong type or out of range is an error naming the line") {
  {
    TempConfig cfg("port = \"eighty\"\n");
    auto r = run_server({"--config", cfg.path});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("line 1: port: expects an integer, got a string") != std::string::npos);
  }
  {
    TempConfig cfg("[permits]\nwork = -1\n");
    auto r = run_server({"--config", cfg.path});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("line 2: permits.work: -1 is out of range") != std::string::npos);
  }
  {
    TempConfig cfg("threads = 1\ntier = \"fast\"\n");
    auto r = run_server({"--config", cfg.path});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("line 2: tier: 'fast' is not one of") != std::string::npos);
  }
  {
    TempConfig cfg("access_log = yes\n");
    auto r = run_server({"--config", cfg.path});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("line 1:") != std::string::npos);  // not TOML: a parse error
  }
  {
    TempConfig cfg("access_log = 1\n");
    auto r = run_server({"--config", cfg.path});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("line 1: access_log: expects true or false, got an integer") != std::string::npos);
  }
  {
    TempConfig cfg("[http\n");
    auto r = run_server({"--config", cfg.path});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("line 1:") != std::string::npos);
  }
  {
    TempConfig cfg("port = 1\nport = 2\n");
    auto r = run_server({"--config", cfg.path});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("line 2:") != std::string::npos);
    CHECK(r.err.find("port") != std::string::npos);
  }
}

TEST_CASE("an address or tier that cannot work is refused before anything starts") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--address", "localhost"}, "address 'localhost' is not a numeric IPv4 or IPv6 address"},
      {{"--tier", "iocp"}, "tier 'iocp' on backend 'auto' cannot run here"},
      {{"--backend", "iocp"}, "cannot run here"},
      {{"--tier", "uring-futex", "--backend", "epoll"},
       "tier 'uring-futex' on backend 'epoll' cannot run here"},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> args = {"--port", "0"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = run_server(args);
    CAPTURE(flags.back());
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(message) != std::string::npos);
    CHECK(r.out.find("listening on") == std::string::npos);  // nothing was bound
  }
}

TEST_CASE("a bad flag is an error naming the flag") {
  auto r = run_server({"--permits.work", "lots"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--permits.work") != std::string::npos);
}

TEST_CASE("multi-word flags are also spelled in kebab-case, as syncbench spells them") {
  auto r = run_server({"--print-config", "--http.idle-timeout-ms", "1234", "--work.max-cost", "3"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("http.idle_timeout_ms=1234") != std::string::npos);
  CHECK(r.out.find("work.max_cost=3") != std::string::npos);
}

TEST_CASE("--print-config output reads back as a config file") {
  auto printed = run_server({"--print-config", "--permits.work", "3", "--http.header_limit", "4096"});
  REQUIRE(printed.exit_code == 0);
  TempConfig cfg(printed.out);
  ServerProcess server({"--config", cfg.path});
  CHECK(stats_number(server.port(), {"semaphores", "work", "max"}) == 3);
}

TEST_CASE("the access log writes one JSON line per request") {
  ServerProcess server({"--access_log"});
  CHECK(get(server.port(), "/work?ms=1").status == 200);
  CHECK(get(server.port(), "/nope").status == 404);
  CHECK(eventually([&] {
    auto out = server.output();
    return out.find("\"target\":\"/work?ms=1\",\"route\":\"work\",\"status\":200") != std::string::npos &&
           out.find("\"target\":\"/nope\",\"route\":\"unmatched\",\"status\":404") != std::string::npos;
  }));
}

TEST_CASE("the config file is TOML: what TOML allows is read, what it does not is an error") {
  // Hexadecimal integers, an inline table, a quoted key, a \\u escape.
  TempConfig ok("port = 0x0\npermits = { work = 0x3 }\n\"threads\" = 1\n[admin]\ntoken = \"t\\u00e9\"\n");
  ServerProcess server({"--config", ok.path});
  CHECK(stats_number(server.port(), {"semaphores", "work", "max"}) == 3);
  for (const char* bad : {"port = 018100\n", "port = _18100_\n", "port = 1__0\n", "[http]\n[http]\n"}) {
    CAPTURE(bad);
    TempConfig cfg(bad);
    auto r = run_server({"--config", cfg.path});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("line ") != std::string::npos);
  }
}

TEST_CASE("--print-config shows values as clamped") {
  auto r = run_server({"--print-config", "--events.timeout_ms", "70000", "--events.max_timeout_ms", "60000"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("events.timeout_ms=60000") != std::string::npos);
  CHECK(r.out.find("70000") == std::string::npos);
}

TEST_CASE("--version prints the version and exits 0") {
  auto r = run_server({"--version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("demo-server ") != std::string::npos);
}

TEST_CASE("/metrics sums keep sub-microsecond requests, and has the process metrics") {
  ServerProcess server;
  HttpClient c(server.port());
  std::string batch;
  for (int i = 0; i < 200; ++i) batch += request("GET", "/healthz");
  c.send(batch);
  for (int i = 0; i < 200; ++i) REQUIRE(c.read_response().status == 200);
  const auto m = get(server.port(), "/metrics").body;
  const std::string name = "demo_http_request_duration_seconds_sum{route=\"healthz\"} ";
  const auto at = m.find(name);
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(m.substr(at + name.size())) > 0);  // 200 requests of some ns each
  for (const char* metric : {"\nprocess_cpu_seconds_total ", "\nprocess_start_time_seconds ",
                             "\nprocess_resident_memory_bytes ", "\nprocess_open_fds ", "\nprocess_max_fds "})
    CHECK_MESSAGE(m.find(metric) != std::string::npos, metric);
  // A histogram without labels prints its sum and count without braces.
  CHECK(m.find("\ndemo_work_queue_wait_seconds_sum ") != std::string::npos);
  CHECK(m.find("\ndemo_work_queue_wait_seconds_count ") != std::string::npos);
  CHECK(m.find("{}") == std::string::npos);
}
