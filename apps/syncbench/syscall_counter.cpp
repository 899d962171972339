// SyscallCounter on Linux: per-thread perf counters on raw_syscalls:sys_enter.
#include "syscall_counter.hpp"

#if defined(__linux__)
#include <dirent.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#endif

namespace syncbench {

SyscallCounter& SyscallCounter::instance() {
  static SyscallCounter counter;
  return counter;
}

#if defined(__linux__)

namespace {

long current_tid() {
  return static_cast<long>(::syscall(SYS_gettid));
}

int open_counter(long long id, long tid) {
  perf_event_attr a{};
  a.size = sizeof a;
  a.type = PERF_TYPE_TRACEPOINT;
  a.config = static_cast<unsigned long long>(id);
  a.disabled = 1;
  a.exclude_hv = 1;
  return static_cast<int>(
      ::syscall(SYS_perf_event_open, &a, static_cast<pid_t>(tid), -1, -1, PERF_FLAG_FD_CLOEXEC));
}

}  // namespace

SyscallCounter::SyscallCounter() {
  // tracefs is usually at /sys/kernel/tracing; older setups only mount it
  // inside debugfs. syncbench never mounts anything itself.
  const char* paths[] = {"/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
                         "/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id"};
  long long id = -1;
  for (const char* p : paths) {
    std::ifstream in(p);
    if (in >> id) break;
    id = -1;
  }
  if (id < 0) {
    status_ =
        "unavailable: tracefs is not mounted (no raw_syscalls/sys_enter id; `mount -t tracefs nodev "
        "/sys/kernel/tracing` enables it)";
    return;
  }
  int fd = open_counter(id, current_tid());
  if (fd < 0) {
    int err = errno;
    std::string paranoid;
    std::ifstream in("/proc/sys/kernel/perf_event_paranoid");
    in >> paranoid;
    status_ = std::string("unavailable: perf_event_open on raw_syscalls:sys_enter failed: ") +
              std::strerror(err) + " (perf_event_paranoid=" + (paranoid.empty() ? "?" : paranoid) + ")";
    return;
  }
  ::close(fd);
  tracepoint_id_ = id;
  status_ = "kernel-counted: perf tracepoint raw_syscalls:sys_enter on every thread";
  // What an empty window counts: the counter's own stop path.
  std::uint64_t best = ~0ull;
  for (int i = 0; i < 3; ++i) {
    if (!start()) break;
    if (auto n = stop_raw()) best = std::min(best, *n);
  }
  overhead_ = best == ~0ull ? 0 : best;
}

void SyscallCounter::ignore_current_thread() {
  ignored_tids_.push_back(current_tid());
}

bool SyscallCounter::start() {
  if (!available()) return false;
  const long self = current_tid();
  std::vector<long> tids;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      long tid = std::strtol(e->d_name, nullptr, 10);
      if (tid > 0 && tid != self &&
          std::find(ignored_tids_.begin(), ignored_tids_.end(), tid) == ignored_tids_.end())
        tids.push_back(tid);
    }
    ::closedir(d);
  }
  for (long tid : tids) {
    int fd = open_counter(tracepoint_id_, tid);
    if (fd >= 0) fds_.push_back(fd);  // a thread that just exited has nothing to count
  }
  own_fd_ = open_counter(tracepoint_id_, self);
  if (own_fd_ < 0) {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
    return false;
  }
  for (int fd : fds_) ::ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
  // Enabled last so that only the disable ioctl of this thread is counted.
  ::ioctl(own_fd_, PERF_EVENT_IOC_ENABLE, 0);
  return true;
}

std::optional<std::uint64_t> SyscallCounter::stop_raw() {
  if (own_fd_ < 0) return std::nullopt;
  ::ioctl(own_fd_, PERF_EVENT_IOC_DISABLE, 0);
  for (int fd : fds_) ::ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
  std::uint64_t total = 0;
  bool ok = true;
  fds_.push_back(own_fd_);
  for (int fd : fds_) {
    std::uint64_t v = 0;
    if (::read(fd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) ok = false;
    total += v;
    ::close(fd);
  }
  fds_.clear();
  own_fd_ = -1;
  if (!ok) return std::nullopt;
  return total;
}

std::optional<std::uint64_t> SyscallCounter::stop() {
  auto n = stop_raw();
  if (!n) return n;
  return *n > overhead_ ? *n - overhead_ : 0;
}

#else  // not Linux

SyscallCounter::SyscallCounter() {
  status_ = "unavailable: syscall counting is implemented for Linux only";
}
void SyscallCounter::ignore_current_thread() {}
bool SyscallCounter::start() {
  return false;
}
std::optional<std::uint64_t> SyscallCounter::stop_raw() {
  return std::nullopt;
}
std::optional<std::uint64_t> SyscallCounter::stop() {
  return std::nullopt;
}

#endif

}  // namespace syncbench
