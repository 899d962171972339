// Condvar: a condition variable for tasks (and plain threads) that pairs with
// libsync::Mutex.
//
// `co_await cv.wait(guard)` queues the task, unlocks the mutex, sleeps until
// notified (or the deadline / stop), then locks the mutex again before it
// returns, whatever the outcome. Queueing happens before the unlock, so a
// notify issued by whoever takes the mutex next cannot be missed. Notifies
// wake waiters in FIFO order; like every condition variable, a waiter must
// re-check its condition (the predicate forms do that for you).
//
// A notify_one is never lost to a waiter that goes away: if the waiter it
// chose is destroyed before its wait returns (its loop torn down, its task
// dropped), whether before it ran or while it was re-locking the mutex, the
// notify is passed on to the next waiter. A notify_all is not passed on: it
// already reached everyone queued when it ran.
//
// The wait is a Task because it suspends twice (for the notify, then for the
// mutex): that costs one coroutine frame per wait, served from the task frame
// pool, unlike the semaphore, mutex and event waits, which allocate nothing.
#pragma once

#include <sync/export.hpp>

#include <sync/mutex.hpp>
#include <sync/task.hpp>

#include <concepts>

namespace libsync {

class LIBSYNC_API Condvar final : private detail::Waitable {
 public:
  Condvar() = default;
  ~Condvar();

  Task<WaitStatus> wait(MutexGuard& guard, std::stop_token st = {}) {
    return wait_impl(guard, std::nullopt, std::move(st));
  }
  Task<WaitStatus> wait_until(MutexGuard& guard, Clock::time_point deadline, std::stop_token st = {}) {
    return wait_impl(guard, deadline, std::move(st));
  }
  Task<WaitStatus> wait_for(MutexGuard& guard, std::chrono::nanoseconds d, std::stop_token st = {}) {
    return wait_until(guard, deadline_after(d), std::move(st));
  }

  // Waits until pred() is true (checked with the mutex held). Returns
  // acquired when it is, or why it stopped waiting.
  template <std::predicate Pred>
  Task<WaitStatus> wait(MutexGuard& guard, Pred pred, std::stop_token st = {}) {
    while (!pred()) {
      auto s = co_await wait(guard, st);
      if (s != WaitStatus::acquired && !pred()) co_return s;
    }
    co_return WaitStatus::acquired;
  }
  template <std::predicate Pred>
  Task<WaitStatus> wait_until(MutexGuard& guard, Clock::time_point deadline, Pred pred,
                              std::stop_token st = {}) {
    while (!pred()) {
      auto s = co_await wait_until(guard, deadline, st);
      if (s != WaitStatus::acquired && !pred()) co_return s;
    }
    co_return WaitStatus::acquired;
  }
  template <std::predicate Pred>
  Task<WaitStatus> wait_for(MutexGuard& guard, std::chrono::nanoseconds d, Pred pred,
                            std::stop_token st = {}) {
    return wait_until(guard, deadline_after(d), std::move(pred), std::move(st));
  }

  // Plain-thread forms.
  WaitStatus wait_blocking(MutexGuard& guard, std::optional<Clock::time_point> deadline = std::nullopt,
                           std::stop_token st = {});
  template <std::predicate Pred>
  WaitStatus wait_blocking(MutexGuard& guard, Pred pred,
                           std::optional<Clock::time_point> deadline = std::nullopt,
                           std::stop_token st = {}) {
    while (!pred()) {
      auto s = wait_blocking(guard, deadline, st);
      if (s != WaitStatus::acquired && !pred()) return s;
    }
    return WaitStatus::acquired;
  }

  void notify_one() noexcept;
  void notify_all() noexcept;
  std::size_t waiters() const noexcept { return queue_.size(); }

 private:
  class NotifyAwaiter;
  struct PassOn;
  Task<WaitStatus> wait_impl(MutexGuard& guard, std::optional<Clock::time_point> deadline,
                             std::stop_token st);
  bool remove_waiter(detail::WaiterNode& n, WaitStatus why) noexcept override;
  void abandon_waiter(detail::WaiterNode& n) noexcept override;
  void enqueue(detail::WaiterNode& n) noexcept;

  detail::WaiterQueue queue_;
};

}  // namespace libsync
