// Deployed behind a real load balancer: HAProxy (configs/haproxy.cfg) on
// loopback in front of three demo-server instances, /readyz as the health
// check, client load through it, and a rolling restart (SIGTERM one
// instance, wait for its drain, start it again, next) with no failed
// request. Skipped (77) when haproxy is not installed.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <thread>

#include "harness.hpp"

using namespace itest;

namespace {

std::string find_haproxy() {
  for (const char* p : {"/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

// A loopback port free right now (bound to 0, read back, closed).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// HAProxy in the foreground, its output to a file; killed with this process.
class Haproxy {
 public:
  Haproxy(const std::string& bin, const std::vector<std::pair<std::string, std::string>>& env) {
    char log[] = "/tmp/demo-haproxy-XXXXXX";
    const int fd = mkstemp(log);
    log_ = log;
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      execl(bin.c_str(), bin.c_str(), "-db", "-f", DEMO_HAPROXY_CONFIG, static_cast<char*>(nullptr));
      _exit(127);
    }
    ::close(fd);
  }
  ~Haproxy() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    ::unlink(log_.c_str());
  }
  bool running() const { return ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

}  // namespace

TEST_CASE("a rolling restart behind HAProxy fails no request") {
  const std::string bin = find_haproxy();
  if (bin.empty()) {
    skip("haproxy is not installed (scripts/setup.sh --tests installs it)");
    return;
  }
  const std::uint16_t lb = free_port();
  std::vector<std::uint16_t> ports = {free_port(), free_port(), free_port()};
  auto start = [&](std::size_t i) {
    return std::make_unique<ServerProcess>(
        std::vector<std::string>{"--port", std::to_string(ports[i]), "--drain_timeout_ms", "5000"});
  };
  std::vector<std::unique_ptr<ServerProcess>> servers;
  for (std::size_t i = 0; i < ports.size(); ++i) servers.push_back(start(i));

  std::vector<std::pair<std::string, std::string>> env = {
      {"DEMO_LB_BIND", "127.0.0.1:" + std::to_string(lb)}};
  for (std::size_t i = 0; i < ports.size(); ++i)
    env.emplace_back("DEMO_BACKEND_" + std::to_string(i + 1), "127.0.0.1:" + std::to_string(ports[i]));
  Haproxy proxy(bin, env);
  // Up once it answers through the proxy, and every instance has seen a
  // health check pass (two, at 200 ms, bring a server up).
  REQUIRE(eventually(
      [&] {
        try {
          return get(lb, "/healthz").status == 200;
        } catch (const std::exception&) {
          return false;
        }
      },
      10s));
  std::this_thread::sleep_for(1s);

  // Load: keep-alive clients through the proxy until told to stop. Every
  // answer must be a 200; a connection error counts as a failure too.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&, t] {
      while (!stop) {
        try {
          HttpClient c(lb, 10s);
          while (!stop) {
            c.send(request("GET", t % 2 ? "/work?ms=2" : "/healthz"));
            auto r = c.read_response();
            if (r.status == 200) {
              ++ok;
            } else {
              ++failed;
              std::fprintf(stderr, "through the proxy: %d %s\n", r.status, r.body.c_str());
            }
            if (r.header("Connection") == "close") break;
          }
        } catch (const std::exception& e) {
          if (!stop) {
            ++failed;
            std::fprintf(stderr, "through the proxy: %s\n", e.what());
          }
        }
      }
    });

  std::this_thread::sleep_for(500ms);
  for (std::size_t i = 0; i < servers.size(); ++i) {
    const std::uint64_t before = ok;
    servers[i]->signal(SIGTERM);
    const auto code = servers[i]->wait_exit(15s);
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    servers[i].reset();
    servers[i] = start(i);
    // Back in the rotation after its checks pass; traffic flowed meanwhile.
    std::this_thread::sleep_for(1s);
    CHECK(ok > before);
  }
  std::this_thread::sleep_for(500ms);
  stop = true;
  for (auto& c : clients) c.join();

  CHECK(proxy.running());
  CHECK(failed == 0);
  CHECK(ok > 100);
  // Each restarted instance is serving traffic again.
  for (std::size_t i = 0; i < servers.size(); ++i) {
    CAPTURE(i);
    CHECK(stats_number(ports[i], {"requests_total"}) > 0);
  }
  MESSAGE("requests through the proxy: " << ok.load() << " ok, " << failed.load() << " failed");
}
