// QueueLock: the lock of a waiter queue and of a loop's remote queue. Not
// part of the public API; the primitives' layouts need it.
//
// Both guard a handful of pointer updates, a few dozen nanoseconds, taken by
// a loop thread on its way through a wait or a wake. A std::mutex that finds
// such a lock held sleeps in the kernel at once (glibc's default mutex tries
// only once), and being woken again costs microseconds, tens on a VM whose
// idle vCPU halts: far more than the wait it replaced. So a contended
// QueueLock first spins briefly on the word, and sleeps on it (a futex on
// Linux, WaitOnAddress on Windows) only when the holder keeps it longer, as
// when its thread was preempted inside.
//
// The word: 0 free, 1 held, 2 held with a sleeper possibly waiting, so that
// an unlock with nobody asleep makes no syscall. Not recursive; any thread
// may unlock what it locked. Meets the Lockable requirements (std::lock_guard,
// std::unique_lock).
#pragma once

#include <atomic>
#include <cstdint>
#include <sync/export.hpp>

namespace libsync::detail {

class LIBSYNC_API QueueLock {
 public:
  QueueLock() = default;
  QueueLock(const QueueLock&) = delete;
  QueueLock& operator=(const QueueLock&) = delete;

  void lock() noexcept {
    std::uint32_t free = 0;
    if (!word_.compare_exchange_strong(free, 1, std::memory_order_acquire, std::memory_order_relaxed))
      lock_contended();
  }
  bool try_lock() noexcept {
    std::uint32_t free = 0;
    return word_.compare_exchange_strong(free, 1, std::memory_order_acquire, std::memory_order_relaxed);
  }
  void unlock() noexcept {
    // After the exchange another thread may take the lock and destroy it,
    // so only the word's address is used from here on.
    std::atomic<std::uint32_t>& word = word_;
    if (word.exchange(0, std::memory_order_release) == 2) wake_sleepers(word);
  }

 private:
  void lock_contended() noexcept;
  static void wake_sleepers(std::atomic<std::uint32_t>& word) noexcept;

  std::atomic<std::uint32_t> word_{0};
};

}  // namespace libsync::detail
