// AccessLog: one structured (JSON) line per request, on stdout.
//
// Off by default. Each worker formats lines into its own buffer and hands
// them to the process's one LogOutput when the buffer fills and on each
// sweep (every 100 ms), so the loop does not make a write per request.
//
// Writing never blocks a loop: LogOutput writes without blocking (its own
// non-blocking open of stdout, or MSG_DONTWAIT when stdout is a socket) and
// keeps what the reader has not taken yet, up to a bound; lines past the
// bound are dropped and counted (demo_access_log_dropped_lines_total). The
// workers take turns under a mutex and a write only starts at a line
// boundary, so lines from different workers never interleave mid-line.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace demo {

struct AccessRecord {
  unsigned worker = 0;
  std::string_view remote;
  std::string_view method;
  std::string_view target;
  unsigned status = 0;
  std::uint64_t bytes = 0;        // response bytes
  std::uint64_t duration_us = 0;  // request parsed -> response ready
  const char* route = "";
};

class LogOutput {
 public:
  LogOutput();
  ~LogOutput();
  LogOutput(const LogOutput&) = delete;
  LogOutput& operator=(const LogOutput&) = delete;

  // Queues whole lines and writes what the reader takes now.
  void write(std::string_view lines);
  // Opens stdout again (SIGHUP): after the file behind it was replaced.
  void reopen();
  std::uint64_t dropped_lines() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  void open_locked();
  void write_locked();

  std::mutex mu_;
  int fd_ = -1;  // a non-blocking open of stdout, or stdout itself
  bool own_fd_ = false;
  bool socket_ = false;
  bool guarded_ = false;  // a blocking descriptor: poll before each write
  std::string pending_;
  std::atomic<std::uint64_t> dropped_{0};
};

class AccessLog {
 public:
  void enable(bool on, LogOutput* out) noexcept { enabled_ = on, out_ = out; }
  bool enabled() const noexcept { return enabled_; }
  void record(const AccessRecord& r);
  void flush();
  ~AccessLog() { flush(); }

 private:
  bool enabled_ = false;
  LogOutput* out_ = nullptr;
  std::string buf_;
};

}  // namespace demo
