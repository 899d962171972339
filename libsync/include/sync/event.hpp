/// \file
/// Event: a manual-reset event. `set()` wakes every waiter and stays set until
/// `reset()`; waiting on a set event returns at once.
///
/// The flag is checked and the waiter queued under the queue lock, and set()
/// raises the flag under the same lock before it takes the waiters off, so a
/// wait that races with set() either sees the flag or is woken by it.
/// A waiter woken by a set() returns acquired even if the event was reset
/// before it got to run; a wait that starts after a reset() waits for the
/// next set(). No wait allocates.
///
/// Memory ordering: for any threads X and Y, if X calls set() and Y's wait
/// returns acquired because of it (Y was queued and woken by that set(), or
/// found the flag it raised), everything X did before set() happens-before
/// everything Y does after its wait. The flag is stored with release and read
/// with acquire, and a woken waiter's wake is delivered with release/acquire
/// ordering, for tasks and plain threads alike. is_set() returning true
/// gives the same promise.
#pragma once

#include <atomic>
#include <optional>
#include <stop_token>
#include <sync/detail/async_wait.hpp>
#include <sync/detail/waiter_queue.hpp>
#include <sync/export.hpp>

namespace libsync {

/// A manual-reset event for tasks and plain threads; see sync/event.hpp.
///
/// Every member may be called from any thread. The awaitable waits are for
/// tasks on a Loop, the blocking waits for plain threads.
class LIBSYNC_API Event final : private detail::Waitable {
 public:
  /// An event that starts set or not.
  explicit Event(bool initially_set = false) : set_(initially_set) {}
  /// Destroying an event that is waited on is a bug; debug builds abort with
  /// a message. Whoever saw the event set (a wait that returned acquired,
  /// is_set() true) may destroy it at once, even while the set() that raised
  /// the flag is still returning on another thread: the destructor waits
  /// that call out.
  ~Event();

  /// The awaiter behind wait(), wait_for() and wait_until(): the coroutine
  /// protocol, called by `co_await`, not by hand.
  ///
  /// [[nodiscard]]: a wait() that is not co_awaited never waits. Its status
  /// may be ignored (an untimed, uncancellable wait only returns acquired).
  class [[nodiscard]] WaitAwaiter {
   public:
    /// A wait on `e`, until `d` if given, cancelled by `st`.
    WaitAwaiter(Event& e, std::optional<Clock::time_point> d, std::stop_token st) noexcept
        : e_(e), wait_(e, d, std::move(st)) {}
    /// True (no suspension) when the event is set, or when `st` is already
    /// stopped; the flag is checked first.
    bool await_ready() noexcept;
    /// Checks the flag and queues under the event's lock; false (do not
    /// suspend) if the flag was set meanwhile.
    /// \throws std::logic_error when the awaiting coroutine is not running
    ///         on a Loop; std::bad_alloc if a timed wait cannot grow the
    ///         loop's timer heap.
    bool await_suspend(std::coroutine_handle<> h);
    /// acquired (set), timed_out or cancelled.
    WaitStatus await_resume() noexcept;

   private:
    Event& e_;
    detail::AsyncWait wait_;
    std::optional<WaitStatus> early_;
  };

  /// `co_await ev.wait()`: returns acquired at once if the event is set,
  /// else suspends the task until set() (acquired) or `st` is stopped
  /// (cancelled; a token already stopped returns at once). The task resumes
  /// on its own loop. Allocates nothing.
  /// \throws std::logic_error from the co_await if it must wait and the
  ///         awaiting coroutine is not running on a Loop.
  WaitAwaiter wait(std::stop_token st = {}) { return {*this, std::nullopt, std::move(st)}; }
  /// wait() that gives up after `d` (timed_out); nanoseconds::max() means
  /// no deadline.
  WaitAwaiter wait_for(std::chrono::nanoseconds d, std::stop_token st = {}) {
    return {*this, deadline_after(d), std::move(st)};
  }
  /// wait() that gives up at `tp` (timed_out); Clock::time_point::max()
  /// means never.
  WaitAwaiter wait_until(Clock::time_point tp, std::stop_token st = {}) { return {*this, tp, std::move(st)}; }
  /// Blocks the calling thread until the event is set (acquired) or `st` is
  /// stopped (cancelled); returns at once if it is set. For plain threads:
  /// on a loop thread it blocks the whole loop.
  WaitStatus wait_blocking(std::stop_token st = {});
  /// wait_blocking() that gives up after `d` (timed_out); nanoseconds::max()
  /// means no deadline.
  WaitStatus wait_blocking_for(std::chrono::nanoseconds d, std::stop_token st = {});

  /// Raises the flag and wakes every queued waiter (all return acquired).
  /// Setting a set event does nothing more. Takes the queue lock and wakes
  /// after dropping it, batched per loop; woken tasks resume on their own
  /// loops, never inside this call. O(waiters).
  void set() noexcept;
  /// Lowers the flag; waits that start afterwards wait for the next set().
  /// Waiters already woken are not affected. Lock-free; O(1).
  void reset() noexcept { set_.store(false, std::memory_order_release); }
  /// True while the flag is raised (an acquire load); a snapshot.
  bool is_set() const noexcept { return set_.load(std::memory_order_acquire); }
  /// How many tasks and threads are waiting; a snapshot for statistics.
  std::size_t waiters() const noexcept { return queue_.size(); }

 private:
  // Under the lock: true if set (no wait needed), else queues `n`.
  bool check_or_enqueue(detail::WaiterNode& n) noexcept;
  bool remove_waiter(detail::WaiterNode& n, WaitStatus why) noexcept override;
  void abandon_waiter(detail::WaiterNode&) noexcept override {}

  std::atomic<bool> set_;
  detail::WaiterQueue queue_;
};

}  // namespace libsync
