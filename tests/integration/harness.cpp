// Integration-test harness: child process management and the HTTP client.
#include "harness.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace itest {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

// fork + exec with stdout/stderr on pipes. The child dies with this process.
pid_t spawn(const std::vector<std::string>& argv, int& out_fd, int& err_fd) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  out_fd = out[0];
  err_fd = err[0];
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// Reads both pipes until both reach EOF (or the deadline, when given).
// `read_out`, when given, pauses reading stdout while it is false.
void drain_pipes(int out_fd, int err_fd, std::string& out, std::string& err, std::mutex* mu,
                 std::optional<Clock::time_point> deadline, const std::atomic<bool>* read_out = nullptr) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&out, &err};
  int open = 2;
  while (open > 0) {
    int wait = deadline ? remaining_ms(*deadline) : 1000;
    if (deadline && wait == 0) return;
    const bool paused = read_out && !read_out->load() && fds[0].fd >= 0;
    if (paused) wait = std::min(wait, 50);
    fds[0].events = paused ? 0 : POLLIN;
    if (::poll(fds, 2, wait) < 0 && errno != EINTR) return;
    for (int i = 0; i < 2; ++i) {
      if (i == 0 && paused) continue;
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        if (mu) {
          std::lock_guard lk(*mu);
          sinks[i]->append(buf, static_cast<std::size_t>(n));
        } else {
          sinks[i]->append(buf, static_cast<std::size_t>(n));
        }
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open;
      }
    }
  }
}

// The status line and header fields of one response (`head_text` ends
// before the blank line).
HttpResponse parse_head(std::string_view head_text) {
  HttpResponse r;
  auto line_end = head_text.find("\r\n");
  std::string_view status_line = head_text.substr(0, line_end);
  auto sp = status_line.find(' ');
  r.version = std::string(status_line.substr(0, sp));
  r.status = std::atoi(std::string(status_line.substr(sp + 1, 3)).c_str());
  std::size_t pos = line_end == std::string_view::npos ? head_text.size() : line_end + 2;
  while (pos < head_text.size()) {
    auto e = head_text.find("\r\n", pos);
    if (e == std::string_view::npos) e = head_text.size();
    std::string_view l = head_text.substr(pos, e - pos);
    auto colon = l.find(':');
    std::string_view v = l.substr(colon + 1);
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    r.headers.emplace_back(std::string(l.substr(0, colon)), std::string(v));
    pos = e + 2;
  }
  return r;
}

}  // namespace

const char* server_path() {
  // DEMO_SERVER_BINARY runs the suite against another build (an older one,
  // to see a test fail there).
  const char* other = std::getenv("DEMO_SERVER_BINARY");
  return other && *other ? other : DEMO_SERVER_PATH;
}

std::vector<std::string> tier_flags() {
  const char* t = std::getenv("DEMO_SERVER_TIER");
  if (!t || !*t) return {};
  std::string s(t);
  auto slash = s.find('/');
  std::vector<std::string> flags = {"--tier", s.substr(0, slash)};
  if (slash != std::string::npos) {
    flags.push_back("--backend");
    flags.push_back(s.substr(slash + 1));
  }
  return flags;
}

ServerProcess::ServerProcess(std::vector<std::string> args) {
  std::vector<std::string> argv = {server_path()};
  if (std::find(args.begin(), args.end(), "--port") == args.end()) {
    argv.push_back("--port");
    argv.push_back("0");
  }
  for (auto& f : tier_flags()) argv.push_back(f);
  for (auto& a : args) argv.push_back(std::move(a));
  pid_ = spawn(argv, out_fd_, err_fd_);
  reader_ = std::thread([this] { pump(); });

  const auto deadline = Clock::now() + 15s;
  for (;;) {
    {
      std::lock_guard lk(mu_);
      auto at = out_.find("listening on http://");
      auto slash = at == std::string::npos ? at : out_.find("/ (", at);
      if (slash != std::string::npos) {
        auto colon = out_.rfind(':', slash);
        port_ = static_cast<std::uint16_t>(std::stoi(out_.substr(colon + 1, slash - colon - 1)));
        return;
      }
    }
    if (wait_exit(0ms) || Clock::now() >= deadline) {
      std::string what = "demo-server did not start";
      if (exit_code_) what += " (exit code " + std::to_string(*exit_code_) + ")";
      signal(SIGKILL);
      wait_exit(5s);
      reader_.join();  // the destructor will not run for a constructor that throws
      ::close(out_fd_);
      ::close(err_fd_);
      throw std::runtime_error(what + ":\n" + output());
    }
    std::this_thread::sleep_for(10ms);
  }
}

ServerProcess::~ServerProcess() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    wait_exit(10s);
  }
  if (reader_.joinable()) reader_.join();
  ::close(out_fd_);
  ::close(err_fd_);
  // In sanitizer builds a report may not stop the server (UBSan goes on by
  // default), so a test passes only if the server's output has none.
  for (const char* marker :
       {"ERROR: AddressSanitizer", "WARNING: ThreadSanitizer", "ERROR: LeakSanitizer", "runtime error:"})
    if (err_.find(marker) != std::string::npos) {
      if (doctest::is_running_in_test)
        FAIL_CHECK("demo-server reported: " << marker << "\n" << err_);
      else
        std::fprintf(stderr, "demo-server reported: %s\n%s\n", marker, err_.c_str());
    }
}

void ServerProcess::pump() {
  drain_pipes(out_fd_, err_fd_, out_, err_, &mu_, std::nullopt, &read_stdout_);
}

void ServerProcess::read_stdout(bool on) {
  read_stdout_ = on;
}

void ServerProcess::signal(int sig) const {
  if (!exit_code_) ::kill(pid_, sig);
}

std::optional<int> ServerProcess::wait_exit(Millis timeout) {
  if (exit_code_) return exit_code_;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = decode_status(status);
      return exit_code_;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

std::string ServerProcess::output() const {
  std::lock_guard lk(mu_);
  return "--- stdout ---\n" + out_ + "--- stderr ---\n" + err_;
}

RunResult run_server(const std::vector<std::string>& args, Millis timeout) {
  std::vector<std::string> argv = {server_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  int out_fd, err_fd;
  pid_t pid = spawn(argv, out_fd, err_fd);
  RunResult r;
  drain_pipes(out_fd, err_fd, r.out, r.err, nullptr, Clock::now() + timeout);
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    r.err += "\n[killed by the harness after the timeout]";
  }
  r.exit_code = decode_status(status);
  ::close(out_fd);
  ::close(err_fd);
  return r;
}

std::string HttpResponse::header(std::string_view name) const {
  const std::string want = lower(name);
  for (const auto& [k, v] : headers)
    if (lower(k) == want) return v;
  return {};
}

bool HttpResponse::has_header(std::string_view name) const {
  const std::string want = lower(name);
  for (const auto& [k, v] : headers)
    if (lower(k) == want) return true;
  return false;
}

HttpClient::HttpClient(std::uint16_t port, Millis timeout, int rcvbuf) : timeout_(timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int e = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(std::string("connect: ") + std::strerror(e));
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

HttpClient::~HttpClient() {
  close();
}

void HttpClient::close(bool reset) {
  if (fd_ < 0) return;
  if (reset) {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  ::close(fd_);
  fd_ = -1;
}

void HttpClient::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

std::string HttpClient::read_until_close(bool& reset) {
  const auto deadline = Clock::now() + timeout_;
  reset = false;
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0)
      throw std::runtime_error("the server did not close within the timeout");
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      buf_.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    reset = n < 0;
    return std::exchange(buf_, {});
  }
}

std::vector<HttpResponse> HttpClient::split_responses(std::string& bytes) {
  std::vector<HttpResponse> out;
  for (;;) {
    const auto end = bytes.find("\r\n\r\n");
    if (end == std::string::npos) break;
    HttpResponse r = parse_head(std::string_view(bytes.data(), end));
    std::size_t len = 0;
    if (r.has_header("content-length")) len = std::stoul(r.header("content-length"));
    if (bytes.size() < end + 4 + len) break;
    r.body = bytes.substr(end + 4, len);
    bytes.erase(0, end + 4 + len);
    out.push_back(std::move(r));
  }
  return out;
}

void HttpClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool HttpClient::fill(Clock::time_point deadline) {
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, remaining_ms(deadline));
  if (r <= 0) return false;
  char buf[16384];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return false;
  buf_.append(buf, static_cast<std::size_t>(n));
  return true;
}

HttpResponse HttpClient::read_response(bool head) {
  const auto deadline = Clock::now() + timeout_;
  std::size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(deadline))
      throw std::runtime_error("no complete response header (closed or timed out); got: '" + buf_ + "'");
  HttpResponse r = parse_head(std::string_view(buf_.data(), end));
  std::size_t len = 0;
  if (r.has_header("content-length")) len = std::stoul(r.header("content-length"));
  if (head || r.status / 100 == 1 || r.status == 204 || r.status == 304) len = 0;
  while (buf_.size() < end + 4 + len)
    if (!fill(deadline)) throw std::runtime_error("response body cut short");
  r.body = buf_.substr(end + 4, len);
  buf_.erase(0, end + 4 + len);
  return r;
}

bool HttpClient::readable_within(Millis within) {
  if (!buf_.empty()) return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(within.count())) > 0;
}

bool HttpClient::closed_within(Millis within) {
  const auto deadline = Clock::now() + within;
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r <= 0) return false;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n > 0) buf_.append(buf, static_cast<std::size_t>(n));
  }
}

std::string request(std::string_view method, std::string_view target, std::string_view extra,
                    bool keep_alive) {
  std::string r;
  r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  r.append(extra);
  if (!keep_alive) r.append("Connection: close\r\n");
  r.append("\r\n");
  return r;
}

HttpResponse fetch(std::uint16_t port, std::string_view method, std::string_view target,
                   std::string_view extra) {
  HttpClient c(port);
  c.send(request(method, target, extra, false));
  return c.read_response(method == "HEAD");
}

double json_number(const std::string& json, std::initializer_list<std::string_view> path) {
  std::size_t pos = 0;
  for (std::string_view key : path) {
    std::string needle = "\"" + std::string(key) + "\":";
    pos = json.find(needle, pos);
    if (pos == std::string::npos) throw std::runtime_error("no '" + std::string(key) + "' in " + json);
    pos += needle.size();
  }
  return std::strtod(json.c_str() + pos, nullptr);
}

double stats_number(std::uint16_t port, std::initializer_list<std::string_view> path) {
  return json_number(get(port, "/stats").body, path);
}

bool connection_refused(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int r = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  int e = errno;
  ::close(fd);
  return r != 0 && e == ECONNREFUSED;
}

namespace {
std::atomic<bool> g_skipped{false};
}

void skip(const std::string& reason) {
  std::printf("SKIPPED: %s\n", reason.c_str());
  std::fflush(stdout);
  g_skipped = true;
}

bool skipped() {
  return g_skipped;
}

void start_watchdog(Millis limit) {
  std::thread([limit] {
    std::this_thread::sleep_for(limit);
    std::fprintf(stderr, "watchdog: the test process ran longer than %lld s; aborting\n",
                 static_cast<long long>(limit.count() / 1000));
    std::fflush(stderr);
    _exit(1);
  }).detach();
}

}  // namespace itest
