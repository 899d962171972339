// Loop: a single-threaded event loop that runs tasks, timers, I/O completions
// and synchronization wakeups. One loop per thread.
//
// A loop owns one backend (epoll, io_uring or IOCP; see tier.hpp) and one
// wake path (the tier). Tasks are spawned onto a loop or driven by
// `block_on`; everything a task awaits (a socket read, a timer, a semaphore)
// completes by putting the task back on *this* loop's ready queue, so a task
// only ever runs on the thread that runs its loop, and a waker never runs the
// woken task on its own stack.
//
//   libsync::Loop loop;                       // tier and backend chosen by auto
//   libsync::Semaphore sem(2);
//   loop.block_on([&]() -> libsync::Task<> {
//     auto permit = co_await sem.acquire();
//     co_await libsync::sleep_for(10ms);
//   }());
//
// Threads. A loop is run by one thread at a time, but it need not be the
// thread that created it, nor the same thread on every run: a loop may be
// constructed on one thread, run (run / run_until_idle / block_on) on
// another, run again later on a third, and destroyed on yet another, as long
// as no two of these overlap. While it runs, everything but `stop()`,
// `post()`, `stats()` and the wake paths (releasing a semaphore, notifying a
// condvar, ... from anywhere) belongs to the running thread; between runs it
// belongs to whichever thread holds it next. A task always runs on the
// thread that is running its loop. On the uring backend one case is refused:
// moving the loop while socket operations it started are still in flight
// and the thread that started them is still alive (the kernel ties them to
// that thread); run() then throws std::logic_error, and ~Loop reports it and
// aborts, since it can neither wait for those operations nor free memory the
// kernel may still write. Once that thread has exited, the kernel has
// cancelled its operations (they report -ECANCELED) and the move is fine.
//
// Destroying a suspended task (dropping the Task, or ~Loop tearing down what
// is left) is safe at any point of its wait, including after its wake was
// delivered but before it resumed: its loop forgets the pending resumption.
#pragma once

#include <sync/export.hpp>

#include <sync/detail/timer_node.hpp>
#include <sync/task.hpp>
#include <sync/tier.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <stop_token>

namespace libsync {

using Clock = std::chrono::steady_clock;

// now + d, saturating: a huge timeout (nanoseconds::max()) means "no
// deadline", never an overflow into the past.
inline Clock::time_point deadline_after(std::chrono::nanoseconds d) noexcept {
  auto now = Clock::now();
  if (d <= std::chrono::nanoseconds::zero()) return now;
  if (d >= Clock::time_point::max() - now) return Clock::time_point::max();
  return now + std::chrono::duration_cast<Clock::duration>(d);
}

namespace detail {
class LoopCore;
class LoopAccess;
struct RootTask;
}  // namespace detail

// Counters a loop keeps about itself. Updated with relaxed atomics; read
// them from any thread for statistics and tests.
struct LIBSYNC_API LoopStats {
  std::uint64_t iterations = 0;
  std::uint64_t resumes = 0;           // coroutine resumptions from the ready queue
  std::uint64_t local_wakes = 0;       // sync wakes delivered without leaving the loop
  std::uint64_t remote_wakes = 0;      // handles received through the remote queue
  std::uint64_t waits = 0;             // times the loop blocked (epoll_wait / io_uring_enter with wait)
  std::uint64_t polls = 0;             // non-blocking backend polls
  std::uint64_t notifier_writes = 0;   // wakes of this loop while parked: eventfd writes, doorbell futex wakes
  std::uint64_t notifier_reads = 0;    // eventfd reads (generic tier) on this loop
  std::uint64_t futex_waits_armed = 0; // FUTEX_WAIT SQEs submitted (uring-futex: the doorbell, at most one per parked period)
  std::uint64_t futex_wait_cqes = 0;   // doorbell FUTEX_WAIT completions: wakes arriving as CQEs
  std::uint64_t futex_wake_sqes = 0;   // FUTEX_WAKE SQEs this loop submitted for others (0: wakes are syscalls)
  std::uint64_t futex_wake_syscalls = 0; // per-waiter futex wakes made here (0: a loop's wake is its notifier_writes)
  std::uint64_t io_submitted = 0;
  std::uint64_t io_completed = 0;
  std::uint64_t syscalls = 0;          // all syscalls the loop itself made (waits, polls, notifies, wakes)
};

class LIBSYNC_API Loop {
 public:
  explicit Loop(LoopOptions opts = {});
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // The loop running on this thread, or nullptr outside run()/block_on().
  static Loop* current() noexcept;

  Tier tier() const noexcept;
  BackendKind backend_kind() const noexcept;
  const std::string& selection_reason() const noexcept;

  // Runs `t` to completion on this thread, running everything else on the
  // loop meanwhile. Rethrows what the task threw.
  template <class T>
  T block_on(Task<T> t);

  // Starts `t` on this loop; the loop owns it until it finishes. Safe from the
  // loop's own thread only (use post() from elsewhere). An exception escaping a
  // spawned task is reported on stderr and terminates the process.
  void spawn(Task<void> t);

  // Runs until stop() is called.
  void run();
  // Runs until no spawned task is left (or stop()).
  void run_until_idle();
  // Makes run()/run_until_idle() return at the next iteration. Any thread.
  void stop() noexcept;

  // Runs `fn` on the loop thread at its next iteration. Any thread. Allocates:
  // meant for control messages, not hot paths.
  void post(std::function<void()> fn);

  std::size_t spawned_tasks() const noexcept;
  LoopStats stats() const noexcept;

 private:
  friend class detail::LoopAccess;  // the engine's way in (src/loop_core.hpp)

  // What block_on, a template, needs from the engine.
  void check_can_run() const;
  void start_root(std::coroutine_handle<> root);
  void run_loop(const std::atomic<bool>* done);
  void abandon_root(std::coroutine_handle<> root) noexcept;

  std::unique_ptr<detail::LoopCore> core_;
};

namespace detail {

// The root coroutine of a spawned or blocked-on task. It owns the task,
// reports completion to the loop, and destroys itself when done.
struct LIBSYNC_API RootTask {
  struct promise_type {
    Loop* loop = nullptr;
    std::atomic<bool>* done = nullptr;
    std::exception_ptr* error = nullptr;
    RootTask get_return_object() noexcept {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct Final {
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<promise_type> h) noexcept;
      void await_resume() noexcept {}
    };
    Final final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept;
  };
  std::coroutine_handle<promise_type> handle;
};

LIBSYNC_API RootTask make_root(Task<void> t);

template <class T>
Task<void> capture_result(Task<T> t, std::optional<T>& out) {
  out.emplace(co_await std::move(t));
}
inline Task<void> capture_result(Task<void> t, std::optional<std::monostate>& out) {
  co_await std::move(t);
  out.emplace();
}

}  // namespace detail

template <class T>
T Loop::block_on(Task<T> t) {
  using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;
  check_can_run();  // before the root exists: a refused call leaves nothing behind
  std::optional<Stored> result;
  std::exception_ptr error;
  std::atomic<bool> done{false};
  auto root = detail::make_root(detail::capture_result(std::move(t), result));
  root.handle.promise().loop = this;
  root.handle.promise().done = &done;
  root.handle.promise().error = &error;
  start_root(root.handle);
  try {
    run_loop(&done);
  } catch (...) {
    // The loop itself failed (a posted function threw, the backend broke):
    // the root refers to this frame's locals, so it must not outlive it.
    if (!done.load(std::memory_order_acquire)) abandon_root(root.handle);
    throw;
  }
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

// ---- timers ----

// Suspends the current task for `d` on its loop's timer heap. With a stop
// token, returns WaitStatus::cancelled early when stop is requested.
struct SleepAwaiter;
LIBSYNC_API SleepAwaiter sleep_for(std::chrono::nanoseconds d, std::stop_token st = {});
LIBSYNC_API SleepAwaiter sleep_until(Clock::time_point tp, std::stop_token st = {});

// Gives other ready tasks on this loop a turn.
struct LIBSYNC_API YieldAwaiter {
  YieldAwaiter() = default;
  YieldAwaiter(const YieldAwaiter&) = delete;
  ~YieldAwaiter();
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h);
  void await_resume() noexcept { loop_ = nullptr; }

 private:
  Loop* loop_ = nullptr;  // set while a resumption is queued
  std::coroutine_handle<> handle_;
};
inline YieldAwaiter yield() noexcept { return {}; }

}  // namespace libsync

#include <sync/detail/sleep.hpp>
