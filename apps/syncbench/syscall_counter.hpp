// SyscallCounter: how many system calls every thread of this process made
// inside a window, counted by the kernel itself.
//
// The loops' own counters (LoopStats::syscalls) only see the syscalls a loop
// makes; they cannot see a plain thread's futex wait, libstdc++'s futex wake
// inside std::counting_semaphore::release, or Asio's epoll_wait. To compare
// all of those fairly, syncbench opens one perf counter on the
// `raw_syscalls:sys_enter` tracepoint per thread (Linux, needs tracefs and
// perf_event_open permission; root here). The counters exist only for the
// window: an enabled syscall tracepoint slows every syscall, so timed
// repetitions run without it and one separate repetition is counted.
//
// When the tracepoint cannot be used, `available()` is false, `status()` says
// why, and the benchmarks fall back to the loops' own counters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace syncbench {

class SyscallCounter {
 public:
  static SyscallCounter& instance();

  bool available() const { return tracepoint_id_ >= 0; }
  const std::string& status() const { return status_; }

  // Leaves the calling thread out of every window (the watchdog).
  void ignore_current_thread();

  // Opens and enables a counter on every thread that exists now. False when
  // the counters could not be opened (then stop() returns nullopt).
  bool start();
  // Syscalls made by those threads since start(), minus the counter's own.
  std::optional<std::uint64_t> stop();

 private:
  SyscallCounter();
  std::optional<std::uint64_t> stop_raw();

  long long tracepoint_id_ = -1;
  std::string status_;
  std::vector<int> fds_;
  int own_fd_ = -1;
  std::vector<long> ignored_tids_;
  std::uint64_t overhead_ = 0;  // what an empty window counts (the disable ioctl)
};

}  // namespace syncbench
