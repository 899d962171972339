// QueueLock's slow paths (sync/detail/queue_lock.hpp).
#include <sync/detail/queue_lock.hpp>

#include "cpu_pause.hpp"
#include "parker.hpp"

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
  // so its own unlock must wake them. The sleep is the project's parker (a
  // futex, WaitOnAddress), not std::atomic::wait, which mingw-w64's
  // libstdc++ 12 builds from a condition variable pool that can lose a wake.
  while (word_.exchange(2, std::memory_order_acquire) != 0) park(word_, 2, std::nullopt);
}

void QueueLock::wake_sleepers(std::atomic<std::uint32_t>& word) noexcept {
  // One is enough: the woken thread takes the lock with 2 (see above), so its
  // own unlock wakes the next sleeper; a thread that barged in meanwhile
  // finds 2 and wakes one too. Waking all would send every sleeper back to
  // sleep but one. A wake by address is harmless if the lock is gone by now.
  unpark_one(word);
}

}  // namespace libsync::detail
