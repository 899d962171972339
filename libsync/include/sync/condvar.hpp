/// \file
/// Condvar: a condition variable for tasks (and plain threads) that pairs with
/// libsync::Mutex.
///
/// `co_await cv.wait(guard)` queues the task, unlocks the mutex, sleeps until
/// notified (or the deadline / stop), then locks the mutex again before it
/// returns, whatever the outcome. Queueing happens before the unlock, so a
/// notify issued by whoever takes the mutex next cannot be missed. Notifies
/// wake waiters in FIFO order; like every condition variable, a waiter must
/// re-check its condition (the predicate forms do that for you). A notify
/// that finds nobody queued does nothing: it is not remembered for a later
/// wait (use an Event for that).
///
/// A notify_one is never lost to a waiter that goes away: if the waiter it
/// chose is destroyed before its wait returns (its loop torn down, its task
/// dropped), whether before it ran or while it was re-locking the mutex, the
/// notify is passed on to the next waiter. A notify_all is not passed on: it
/// already reached everyone queued when it ran.
///
/// The wait is a Task because it suspends twice (for the notify, then for the
/// mutex): that costs one coroutine frame per wait, served from the task frame
/// pool, unlike the semaphore, mutex and event waits, which allocate nothing.
///
/// Memory ordering: every wait returns with the mutex locked again, so, by
/// the mutex's promise, everything any thread did before unlocking the
/// mutex happens-before the waiter's return. Besides that, for any threads X
/// and Y, if X calls notify_one() or notify_all() and that notify wakes Y's
/// wait (which then returns acquired), everything X did before the notify
/// happens-before Y's return, even if X did not hold the mutex: the notify
/// completes the waiter under the condvar's queue lock and its wake is
/// delivered with release/acquire ordering, to tasks and plain threads
/// alike. A wait that returns timed_out or cancelled is ordered only by the
/// mutex.
#pragma once

#include <concepts>
#include <sync/export.hpp>
#include <sync/mutex.hpp>
#include <sync/task.hpp>

namespace libsync {

/// A condition variable for tasks and plain threads, used with a Mutex and
/// its MutexGuard; see sync/condvar.hpp.
///
/// Every member may be called from any thread; notifying does not require
/// holding the mutex. \note Waiters are woken in FIFO order.
class LIBSYNC_API Condvar final : private detail::Waitable {
 public:
  /// A condvar with nobody waiting.
  Condvar() = default;
  /// Destroying a condvar that is waited on is a bug; debug builds abort
  /// with a message. As with std::condition_variable, a waiter that was
  /// notified and is re-locking the mutex no longer counts: the condvar may
  /// go then. One exception: a waiter chosen by notify_one that is itself
  /// destroyed while re-locking hands that notify on (see above), which
  /// needs the condvar. Where such a teardown can happen (a loop torn down
  /// while its tasks re-lock), keep the condvar until those waits are gone.
  ~Condvar();

  /// Waits for a notify: `co_await cv.wait(guard)`.
  ///
  /// The returned task is lazy: the wait starts when it is co_awaited. It
  /// then queues, unlocks `guard`'s mutex, and suspends until a notify
  /// reaches it (acquired) or `st` is stopped (cancelled); then it locks the
  /// mutex again, without a deadline and without cancellation, and only
  /// then returns, with `guard` holding the lock whatever the outcome. The
  /// task resumes on its own loop. A woken waiter must re-check its
  /// condition. Costs one task frame from the frame pool per wait.
  /// \param guard must hold its mutex; it must outlive the wait and must not
  ///              be touched while the wait runs.
  /// \param st    cancels the wait for the notify when stopped.
  /// \return the task; co_await it for the WaitStatus.
  /// \throws std::logic_error from the co_await if `guard` does not hold its
  ///         mutex, or if the awaiting coroutine is not running on a Loop;
  ///         `guard` is left as it was.
  Task<WaitStatus> wait(MutexGuard& guard, std::stop_token st = {}) {
    return wait_impl(guard, std::nullopt, std::move(st));
  }
  /// wait() that also stops waiting for the notify at `deadline`
  /// (timed_out); Clock::time_point::max() means never. The re-lock that
  /// follows has no deadline, so the wait may return after `deadline`.
  Task<WaitStatus> wait_until(MutexGuard& guard, Clock::time_point deadline, std::stop_token st = {}) {
    return wait_impl(guard, deadline, std::move(st));
  }
  /// wait_until() with the deadline `d` from now.
  Task<WaitStatus> wait_for(MutexGuard& guard, std::chrono::nanoseconds d, std::stop_token st = {}) {
    return wait_until(guard, deadline_after(d), std::move(st));
  }

  /// Waits until pred() is true, checked with the mutex held: before the
  /// first wait, and after every wake. Returns acquired when it is true
  /// (without waiting at all if it already was), or, if the wait stopped
  /// for another reason and pred() is still false, that reason. `guard`
  /// holds the lock on return.
  template <std::predicate Pred>
  Task<WaitStatus> wait(MutexGuard& guard, Pred pred, std::stop_token st = {}) {
    while (!pred()) {
      auto s = co_await wait(guard, st);
      if (s != WaitStatus::acquired && !pred()) co_return s;
    }
    co_return WaitStatus::acquired;
  }
  /// The predicate wait with a deadline for the whole wait (timed_out when
  /// it passes with pred() still false).
  template <std::predicate Pred>
  Task<WaitStatus> wait_until(MutexGuard& guard, Clock::time_point deadline, Pred pred,
                              std::stop_token st = {}) {
    while (!pred()) {
      auto s = co_await wait_until(guard, deadline, st);
      if (s != WaitStatus::acquired && !pred()) co_return s;
    }
    co_return WaitStatus::acquired;
  }
  /// The predicate wait_until() with the deadline `d` from now.
  template <std::predicate Pred>
  Task<WaitStatus> wait_for(MutexGuard& guard, std::chrono::nanoseconds d, Pred pred,
                            std::stop_token st = {}) {
    return wait_until(guard, deadline_after(d), std::move(pred), std::move(st));
  }

  /// The plain-thread wait: queues, unlocks `guard`'s mutex, blocks the
  /// thread until notified (acquired), `deadline` (timed_out) or `st` is
  /// stopped (cancelled), then re-locks with Mutex::lock_blocking() and
  /// returns. Never call it on a loop thread: it blocks the whole loop.
  /// Note the deadline is absolute here, unlike the other blocking waits.
  /// \throws std::logic_error if `guard` does not hold its mutex.
  WaitStatus wait_blocking(MutexGuard& guard, std::optional<Clock::time_point> deadline = std::nullopt,
                           std::stop_token st = {});
  /// The plain-thread predicate wait; as the predicate wait(), blocking.
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

  /// Wakes the oldest waiter, if any (it returns acquired once it has the
  /// mutex again); does nothing when nobody waits. Takes the queue lock
  /// briefly and wakes after dropping it; the woken task resumes on its own
  /// loop, never inside this call. O(1).
  void notify_one() noexcept;
  /// Wakes every waiter queued at the time of the call (each returns
  /// acquired once it has re-taken the mutex, one at a time); later waits
  /// are not affected. O(waiters), with the wakes batched per loop.
  void notify_all() noexcept;
  /// How many tasks and threads are waiting for a notify; a snapshot (a
  /// waiter that was notified and is re-locking is not counted).
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
