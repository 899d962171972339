// Operating the server: one instance per port, an access log that cannot
// stall the loops when its reader is slow, and the systemd notify protocol.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

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

namespace {

// A datagram socket standing in for systemd's notify socket.
class NotifySocket {
 public:
  NotifySocket() {
    char dir[] = "/tmp/demo-notify-XXXXXX";
    if (!mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    path_ = dir_ + "/notify";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind failed");
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  // The next datagram, or "" when none arrives within `within`.
  std::string next(Millis within) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(within.count())) <= 0) return {};
    char buf[512];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  std::string dir_, path_;
  int fd_ = -1;
};

}  // namespace

TEST_CASE("systemd notify: READY=1 once listening, STOPPING=1 when the drain starts") {
  NotifySocket notify;
  ::setenv("NOTIFY_SOCKET", notify.path().c_str(), 1);
  ServerProcess server;
  ::unsetenv("NOTIFY_SOCKET");
  const std::string ready = notify.next(10s);
  CHECK(ready.find("READY=1") != std::string::npos);
  CHECK(ready.find("MAINPID=" + std::to_string(server.pid())) != std::string::npos);
  CHECK(get(server.port(), "/readyz").status == 200);
  server.signal(SIGTERM);
  CHECK(notify.next(10s) == "STOPPING=1");
  auto code = server.wait_exit(10s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}
