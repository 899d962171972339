// Integration-test harness: the real demo-server binary in a child process,
// and a small HTTP/1.1 client over plain blocking sockets.
//
// Everything is bounded: the server must print its "listening on" line
// within 15 s, every socket read and write has a deadline, and a watchdog
// ends the whole test process if a test hangs. Servers started here die
// with the test process (PR_SET_PDEATHSIG) and are SIGKILLed by the
// destructor if still running, so no test leaves a process behind.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace itest {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// Path of the demo-server binary under test (set by CMake; the environment
// variable DEMO_SERVER_BINARY overrides it).
const char* server_path();

// Flags that select the tier under test, from DEMO_SERVER_TIER
// ("uring-futex/uring", "generic/epoll"; unset: auto).
std::vector<std::string> tier_flags();

class ServerProcess {
 public:
  // Starts demo-server with `args` (plus the tier flags, and --port 0 unless
  // `args` name a port) and
  // waits for it to listen. Throws std::runtime_error with its output when
  // it does not.
  explicit ServerProcess(std::vector<std::string> args = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // The exit code (128 + signal when killed by one), or nullopt if it is
  // still running after `timeout`.
  std::optional<int> wait_exit(Millis timeout);
  // Everything it wrote so far, stdout then stderr.
  std::string output() const;
  // Stops (false) or resumes (true) reading the server's stdout: a stopped
  // reader lets the pipe fill, as a slow log consumer would.
  void read_stdout(bool on);

 private:
  void pump();
  std::atomic<bool> read_stdout_{true};
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::uint16_t port_ = 0;
  std::optional<int> exit_code_;
  mutable std::mutex mu_;
  std::string out_, err_;
  std::thread reader_;
};

// Runs demo-server with `args` to completion (or kills it at `timeout`).
struct RunResult {
  int exit_code = -1;
  std::string out, err;
};
RunResult run_server(const std::vector<std::string>& args, Millis timeout = 15s);

struct HttpResponse {
  int status = 0;
  std::string version;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The value of header `name` (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

class HttpClient {
 public:
  // Connects to 127.0.0.1:port. Throws when it cannot.
  // A nonzero `rcvbuf` sets SO_RCVBUF before connecting (a small window).
  explicit HttpClient(std::uint16_t port, Millis timeout = 10s, int rcvbuf = 0);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void send(std::string_view bytes);
  // Reads one response; `head` when it answers a HEAD request (no body).
  // Throws on timeout, or if the connection closes first.
  HttpResponse read_response(bool head = false);
  // True when the server closes the connection (EOF or reset) within `within`.
  bool closed_within(Millis within);
  // True when bytes are waiting to be read within `within`.
  bool readable_within(Millis within);
  // Closes with an RST instead of a FIN when `reset`.
  void close(bool reset = false);
  // Half-closes: sends a FIN, keeps reading.
  void shutdown_write();
  // Everything until the server closes, and how it closed: `reset` is true
  // when the connection ended with an RST instead of a FIN. Throws when the
  // connection is still open after the timeout.
  std::string read_until_close(bool& reset);
  // Parses every complete response in `bytes`; the rest stays in `bytes`.
  static std::vector<HttpResponse> split_responses(std::string& bytes);

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  Millis timeout_;
  std::string buf_;
};

// "GET target HTTP/1.1" with Host, `extra` header lines ("Name: v\r\n"...),
// and Connection: close unless keep_alive.
std::string request(std::string_view method, std::string_view target, std::string_view extra = {},
                    bool keep_alive = true);
// One request on a fresh connection.
HttpResponse fetch(std::uint16_t port, std::string_view method, std::string_view target,
                   std::string_view extra = {});
inline HttpResponse get(std::uint16_t port, std::string_view target) {
  return fetch(port, "GET", target);
}

// The number at `path` in the /stats JSON (keys searched in order, each
// after the previous one), e.g. {"semaphores", "work", "in_use"}.
double json_number(const std::string& json, std::initializer_list<std::string_view> path);
double stats_number(std::uint16_t port, std::initializer_list<std::string_view> path);

// Polls `pred` every 20 ms until it holds or `timeout` passes.
template <class Pred>
bool eventually(Pred pred, Millis timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

// True when a new TCP connection to the port is refused.
bool connection_refused(std::uint16_t port);

// A test that cannot run here calls skip(reason): it prints the reason, and
// main() exits with 77 (ctest: skipped) when nothing failed.
void skip(const std::string& reason);
bool skipped();

// Ends the test process if it runs longer than `limit` (a hung test must
// fail, not wait for ctest's timeout); servers die with it.
void start_watchdog(Millis limit);

}  // namespace itest
