// QueueLock's slow paths (sync/detail/queue_lock.hpp).
#include <sync/detail/queue_lock.hpp>

#include "cpu_pause.hpp"

namespace libsync::detail {

namespace {

// Spins before sleeping: a few microseconds of pauses on current x86 cores,
// many times the longest critical section these locks guard, so a holder
// that is running releases the lock well within it.
constexpr int kSpins = 200;

}  // namespace

void QueueLock::lock_contended() noexcept {
  for (int i = 0; i < kSpins; ++i) {
    cpu_pause();
    std::uint32_t v = word_.load(std::memory_order_relaxed);
    if (v == 0 && word_.compare_exchange_weak(v, 1, std::memory_order_acquire, std::memory_order_relaxed))
      return;
  }
  // Taken with 2, not 1: this thread cannot know whether others sleep too,
  // so its own unlock must wake one.
  while (word_.exchange(2, std::memory_order_acquire) != 0) word_.wait(2, std::memory_order_relaxed);
}

void QueueLock::wake_one() noexcept {
  word_.notify_one();
}

}  // namespace libsync::detail
