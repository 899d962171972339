/// \file
/// Mutex: an async, FIFO mutual-exclusion lock for tasks and plain threads.
///
/// It is a Semaphore with one permit, so it inherits the semaphore's rules:
/// strict FIFO hand-off (an unlock passes the lock straight to the oldest
/// waiter, so a task that keeps re-locking cannot starve the queue), timeouts
/// and stop_token cancellation that never lose the lock, and no allocation per
/// wait. `co_await m.lock()` yields a MutexGuard that unlocks when destroyed.
/// It is not recursive: a task that locks a mutex it already holds waits for
/// itself forever.
///
/// Memory ordering: for any threads X and Y, if X unlocks the mutex (a
/// MutexGuard's unlock() or destruction) and Y then locks it (any lock*,
/// or try_lock() that returns acquired), everything X did while holding it,
/// and before, happens-before everything Y does after its lock returns.
/// This holds for tasks on every tier and for plain threads; it is the
/// semaphore's promise for its one permit.
#pragma once

#include <sync/export.hpp>
#include <sync/semaphore.hpp>

namespace libsync {

class Mutex;

/// Holds a Mutex locked; unlocks on destruction. Movable, not copyable.
///
/// [[nodiscard]]: a guard dropped where it is made unlocks at once. Like a
/// Permit it is a plain value: use one object from one thread at a time,
/// but it may be moved to, and unlocked on, any thread. It must not outlive
/// its Mutex.
class [[nodiscard]] LIBSYNC_API MutexGuard {
 public:
  /// A guard that holds nothing: owns_lock() is false, mutex() is nullptr.
  MutexGuard() noexcept = default;
  /// Adopts `p` as the lock of `m`. For Mutex itself: outside it, only an
  /// empty Permit can be passed, giving a guard that names `m` but does not
  /// hold it.
  MutexGuard(Mutex& m, Permit p) noexcept : mutex_(&m), permit_(std::move(p)) {}
  /// Takes over `o`'s lock; `o` no longer owns it.
  MutexGuard(MutexGuard&&) noexcept = default;
  /// Unlocks this guard's own lock, if any, then takes over `o`'s.
  MutexGuard& operator=(MutexGuard&&) noexcept = default;

  /// True while this guard holds its mutex locked.
  bool owns_lock() const noexcept { return static_cast<bool>(permit_); }
  /// Same as owns_lock().
  explicit operator bool() const noexcept { return owns_lock(); }
  /// The mutex this guard was made for (still set after unlock(); nullptr
  /// only for a default-constructed guard).
  Mutex* mutex() const noexcept { return mutex_; }
  /// Unlocks now instead of at destruction; idempotent. The lock goes
  /// straight to the oldest waiter, which is woken after the mutex's
  /// internal lock is dropped and resumes on its own loop, never inside this
  /// call. O(1).
  void unlock() noexcept { permit_.release(); }

 private:
  friend class Mutex;
  Mutex* mutex_ = nullptr;
  Permit permit_;
};

/// How a lock attempt ended, and the guard it got.
///
/// [[nodiscard]]: discarding it discards the guard (the mutex is unlocked
/// at once).
struct [[nodiscard]] LIBSYNC_API LockResult {
  /// acquired, or why not: would_block (try_lock), timed_out or cancelled.
  WaitStatus status = WaitStatus::would_block;
  /// Holds the mutex when status is acquired; otherwise names the mutex but
  /// does not own it.
  MutexGuard guard;
  /// True when status is acquired.
  explicit operator bool() const noexcept { return status == WaitStatus::acquired; }
};

/// An async, FIFO, non-recursive mutex for tasks and plain threads; see
/// sync/mutex.hpp.
///
/// Every member may be called from any thread. The awaitable forms are for
/// tasks on a Loop, the blocking forms for plain threads. There is no
/// unlock() here: a lock is released through its MutexGuard. \note Waits
/// are served in FIFO order, tasks and threads alike.
class LIBSYNC_API Mutex {
 public:
  /// An unlocked mutex. Destroying it while it is locked or waited on is a
  /// bug; debug builds abort with a message.
  Mutex() : sem_(1) {}

  /// The awaiter behind lock() and lock_for(): the coroutine protocol,
  /// called by `co_await`, not by hand.
  ///
  /// [[nodiscard]]: a lock() that is not co_awaited never locks.
  class [[nodiscard]] LockAwaiter {
   public:
    /// A lock attempt on `m`, until `deadline` if given, cancelled by `st`.
    LockAwaiter(Mutex& m, std::optional<Clock::time_point> deadline, std::stop_token st)
        : m_(m), inner_(m.sem_, 1, deadline, std::move(st)) {}
    /// Locks without suspending when the mutex is free and nobody waits
    /// (true then); lock-free.
    bool await_ready() noexcept { return inner_.await_ready(); }
    /// Queues the task; see Semaphore::AcquireAwaiter::await_suspend().
    /// \throws std::logic_error when the awaiting coroutine is not running
    ///         on a Loop; std::bad_alloc if a timed wait cannot grow the
    ///         loop's timer heap.
    bool await_suspend(std::coroutine_handle<> h) { return inner_.await_suspend(h); }
    /// The outcome: acquired with a guard that holds the lock, or why not.
    [[nodiscard]] LockResult await_resume() noexcept {
      auto r = inner_.await_resume();
      return {r.status, MutexGuard(m_, std::move(r.permit))};
    }

   private:
    Mutex& m_;
    Semaphore::AcquireAwaiter inner_;
  };

  /// `co_await m.lock()` waits for the mutex and yields a LockResult.
  ///
  /// Locks without suspending when the mutex is free and nobody waits.
  /// Otherwise the task suspends, queued in FIFO order, until an unlock
  /// hands it the lock (acquired) or `st` is stopped (cancelled; a token
  /// already stopped returns at once). The task resumes on its own loop.
  /// \throws std::logic_error from the co_await if it must wait and the
  ///         awaiting coroutine is not running on a Loop.
  LockAwaiter lock(std::stop_token st = {}) { return {*this, std::nullopt, std::move(st)}; }
  /// lock() that gives up after `d` (timed_out); nanoseconds::max() means
  /// no deadline, zero or less gets the lock only if it is free at once.
  LockAwaiter lock_for(std::chrono::nanoseconds d, std::stop_token st = {}) {
    return {*this, deadline_after(d), std::move(st)};
  }
  /// Locks if the mutex is free and nobody waits, else would_block. Never
  /// waits, never barges past the queue; lock-free.
  LockResult try_lock() noexcept { return wrap(sem_.try_acquire(1)); }
  /// Blocks the calling thread until it holds the mutex (acquired) or `st`
  /// is stopped (cancelled). For plain threads: on a loop thread it blocks
  /// the whole loop, and deadlocks if a task of that loop holds the mutex.
  LockResult lock_blocking(std::stop_token st = {}) { return wrap(sem_.acquire_blocking(1, std::move(st))); }
  /// lock_blocking() that gives up after `d` (timed_out).
  LockResult lock_blocking_for(std::chrono::nanoseconds d, std::stop_token st = {}) {
    return wrap(sem_.acquire_blocking_for(d, 1, std::move(st)));
  }

  /// True while someone holds the mutex (or it is being handed over). A
  /// snapshot: it may change before the caller looks at it.
  bool is_locked() const noexcept { return sem_.available() == 0; }
  /// How many tasks and threads are queued for the mutex; a snapshot.
  std::size_t waiters() const noexcept { return sem_.waiters(); }

 private:
  LockResult wrap(AcquireResult r) noexcept { return {r.status, MutexGuard(*this, std::move(r.permit))}; }
  Semaphore sem_;
};

}  // namespace libsync
