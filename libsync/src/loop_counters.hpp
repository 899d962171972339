// The atomics behind LoopStats. Relaxed: they are statistics, never used to
// synchronize.
#pragma once

#include <atomic>
#include <cstdint>

namespace libsync {

namespace detail {
struct LoopCounters {
  std::atomic<std::uint64_t> iterations{0}, resumes{0}, local_wakes{0}, remote_wakes{0}, waits{0}, polls{0},
      notifier_writes{0}, notifier_reads{0}, futex_waits_armed{0}, futex_wait_cqes{0}, futex_wake_sqes{0},
      futex_wake_syscalls{0}, io_submitted{0}, io_completed{0}, syscalls{0}, idle_spins{0}, spin_wakes{0};
};
}  // namespace detail

inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
  c.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace libsync
