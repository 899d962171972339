// Configuration: the shipped config file works, flags override it, and a
// broken file is an error naming its line.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

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
    CHECK(r.err.find("line 1: access_log: expects true or false") != std::string::npos);
  }
  {
    TempConfig cfg("[http\n");
    auto r = run_server({"--config", cfg.path});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("line 1: table header without a closing ']'") != std::string::npos);
  }
  {
    TempConfig cfg("port = 1\nport = 2\n");
    auto r = run_server({"--config", cfg.path});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("line 2: 'port' is already set on line 1") != std::string::npos);
  }
}

TEST_CASE("a bad flag is an error naming the flag") {
  auto r = run_server({"--permits.work", "lots"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--permits.work") != std::string::npos);
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
