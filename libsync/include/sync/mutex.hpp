// Mutex: an async, FIFO mutual-exclusion lock for tasks and plain threads.
//
// It is a Semaphore with one permit, so it inherits the semaphore's rules:
// strict FIFO hand-off (an unlock passes the lock straight to the oldest
// waiter, so a task that keeps re-locking cannot starve the queue), timeouts
// and stop_token cancellation that never lose the lock, and no allocation per
// wait. `co_await m.lock()` yields a MutexGuard that unlocks when destroyed.
#pragma once

#include <sync/export.hpp>

#include <sync/semaphore.hpp>

namespace libsync {

class Mutex;

// Holds a Mutex locked; unlocks on destruction. Movable. [[nodiscard]]: a
// guard dropped where it is made unlocks at once.
class [[nodiscard]] LIBSYNC_API MutexGuard {
 public:
  MutexGuard() noexcept = default;
  MutexGuard(Mutex& m, Permit p) noexcept : mutex_(&m), permit_(std::move(p)) {}
  MutexGuard(MutexGuard&&) noexcept = default;
  MutexGuard& operator=(MutexGuard&&) noexcept = default;

  bool owns_lock() const noexcept { return static_cast<bool>(permit_); }
  explicit operator bool() const noexcept { return owns_lock(); }
  Mutex* mutex() const noexcept { return mutex_; }
  void unlock() noexcept { permit_.release(); }

 private:
  friend class Mutex;
  Mutex* mutex_ = nullptr;
  Permit permit_;
};

struct [[nodiscard]] LIBSYNC_API LockResult {
  WaitStatus status = WaitStatus::would_block;
  MutexGuard guard;
  explicit operator bool() const noexcept { return status == WaitStatus::acquired; }
};

class LIBSYNC_API Mutex {
 public:
  Mutex() : sem_(1) {}

  // [[nodiscard]]: a lock() that is not co_awaited never locks.
  class [[nodiscard]] LockAwaiter {
   public:
    LockAwaiter(Mutex& m, std::optional<Clock::time_point> deadline, std::stop_token st)
        : m_(m), inner_(m.sem_, 1, deadline, std::move(st)) {}
    bool await_ready() noexcept { return inner_.await_ready(); }
    bool await_suspend(std::coroutine_handle<> h) { return inner_.await_suspend(h); }
    [[nodiscard]] LockResult await_resume() noexcept {
      auto r = inner_.await_resume();
      return {r.status, MutexGuard(m_, std::move(r.permit))};
    }

   private:
    Mutex& m_;
    Semaphore::AcquireAwaiter inner_;
  };

  LockAwaiter lock(std::stop_token st = {}) { return {*this, std::nullopt, std::move(st)}; }
  LockAwaiter lock_for(std::chrono::nanoseconds d, std::stop_token st = {}) {
    return {*this, deadline_after(d), std::move(st)};
  }
  LockResult try_lock() noexcept { return wrap(sem_.try_acquire(1)); }
  LockResult lock_blocking(std::stop_token st = {}) { return wrap(sem_.acquire_blocking(1, std::move(st))); }
  LockResult lock_blocking_for(std::chrono::nanoseconds d, std::stop_token st = {}) {
    return wrap(sem_.acquire_blocking_for(d, 1, std::move(st)));
  }

  bool is_locked() const noexcept { return sem_.available() == 0; }
  std::size_t waiters() const noexcept { return sem_.waiters(); }

 private:
  LockResult wrap(AcquireResult r) noexcept { return {r.status, MutexGuard(*this, std::move(r.permit))}; }
  Semaphore sem_;
};

}  // namespace libsync
