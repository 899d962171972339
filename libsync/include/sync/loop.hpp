/// \file
/// Loop: a single-threaded event loop that runs tasks, timers, I/O completions
/// and synchronization wakeups. One loop per thread.
///
/// A loop owns one backend (epoll, io_uring or IOCP; see sync/tier.hpp) and
/// one wake path (the tier). Tasks are spawned onto a loop or driven by
/// `block_on`; everything a task awaits (a socket read, a timer, a semaphore)
/// completes by putting the task back on *this* loop's ready queue, so a task
/// only ever runs on the thread that runs its loop, and a waker never runs the
/// woken task on its own stack.
///
/// \code
///   libsync::Loop loop;                       // tier and backend chosen by auto
///   libsync::Semaphore sem(2);
///   loop.block_on([&]() -> libsync::Task<> {
///     auto permit = co_await sem.acquire();
///     co_await libsync::sleep_for(10ms);
///   }());
/// \endcode
///
/// One iteration of the loop: take what other threads queued (wakes and
/// posted functions), resume every task that is ready at that point (once
/// each, in queue order; a task made ready meanwhile waits for the next
/// iteration), fire the timers that are due, let the wake path pick up
/// wakes, then either poll the backend without blocking (there is more to
/// run) or block in it until the next timer, an I/O completion or a wake.
///
/// Threads. A loop is run by one thread at a time, but it need not be the
/// thread that created it, nor the same thread on every run: a loop may be
/// constructed on one thread, run (run / run_until_idle / block_on) on
/// another, run again later on a third, and destroyed on yet another, as long
/// as no two of these overlap. While it runs, everything but `stop()`,
/// `post()`, `stats()` and the wake paths (releasing a semaphore, notifying a
/// condvar, ... from anywhere) belongs to the running thread; between runs it
/// belongs to whichever thread holds it next. A task always runs on the
/// thread that is running its loop. On the uring backend one case is refused:
/// moving the loop while socket operations it started are still in flight
/// and the thread that started them is still alive (the kernel ties them to
/// that thread); run() then throws std::logic_error, and ~Loop reports it and
/// aborts, since it can neither wait for those operations nor free memory the
/// kernel may still write. Once that thread has exited, the kernel has
/// cancelled its operations (they report -ECANCELED) and the move is fine.
///
/// Destroying a suspended task (dropping the Task, or ~Loop tearing down what
/// is left) is safe at any point of its wait, including after its wake was
/// delivered but before it resumed: its loop forgets the pending resumption.
///
/// Memory ordering: everything a thread does before `post(fn)`
/// happens-before `fn` runs on the loop thread, and everything it does
/// before `stop()` happens-before the return of the run() or
/// run_until_idle() that the stop ends (the remote queue is guarded by a
/// mutex, and the stop flag is stored with release and taken with acquire).
/// The loop does not order one run against the next: handing a loop from
/// one thread to another between runs needs its own synchronization (joining
/// the thread, a mutex, ...), which the rule that runs must not overlap
/// calls for anyway. The wakes of Semaphore, Mutex, Condvar and Event carry
/// their own promises (see their headers). stats() orders nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <sync/detail/timer_node.hpp>
#include <sync/export.hpp>
#include <sync/task.hpp>
#include <sync/tier.hpp>

namespace libsync {

/// The clock of every libsync deadline (timed waits, sleeps, timers).
using Clock = std::chrono::steady_clock;

/// `Clock::now() + d`, saturating: a huge timeout (nanoseconds::max()) means
/// "no deadline" (Clock::time_point::max()), never an overflow into the past;
/// a zero or negative `d` gives now. Reads the clock once; any thread; O(1).
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

/// What Loop::idle_spin_stats() returns: counters that only grow, like
/// LoopStats (a separate struct so that LoopStats keeps its layout).
struct LIBSYNC_API IdleSpinStats {
  /// Spins begun: times the loop, about to sleep, watched its remote queue
  /// first (LoopOptions::idle_spin).
  std::uint64_t spins = 0;
  /// Spins a wake from another thread ended, so the loop did not sleep (and
  /// its waker made no syscall). spins - spin_wakes ended at their limit or
  /// at a timer's deadline.
  std::uint64_t spin_wakes = 0;
};

/// Counters a loop keeps about itself, as returned by Loop::stats().
///
/// Each counter only grows, from 0 when the loop is made; they are updated
/// with relaxed atomics, for statistics and tests, and order nothing. A
/// LoopStats is a plain copy: each field was read atomically, but the fields
/// were not read at one instant, so on a running loop two of them may
/// disagree by the work done in between.
struct LIBSYNC_API LoopStats {
  /// Iterations of the loop (see the file comment), counted as each begins.
  std::uint64_t iterations = 0;
  /// Coroutine resumptions from the ready queue: tasks started or continued
  /// (a resumption dropped because its task was destroyed first still counts).
  std::uint64_t resumes = 0;
  /// Synchronization wakes (semaphore, mutex, condvar, event) delivered to a
  /// task of this loop by code running on this loop's own thread: straight
  /// onto the ready queue, with no remote queue and no syscall.
  std::uint64_t local_wakes = 0;
  /// Task resumptions received through the remote queue: wakes sent from
  /// other threads. Posted functions are not counted, nor, on the iocp tier,
  /// wakes that arrive as completion packets of their own.
  std::uint64_t remote_wakes = 0;
  /// Times the loop blocked in its backend (epoll_wait, io_uring_enter with a
  /// wait, GetQueuedCompletionStatusEx, or on the uring-futex tier with no
  /// I/O in flight and no timer a futex wait on its doorbell) because it had
  /// nothing to run.
  std::uint64_t waits = 0;
  /// Non-blocking backend polls made by a busy loop: at once when work is
  /// queued for the kernel (io_uring submissions), otherwise every 8th busy
  /// iteration while I/O is outstanding.
  std::uint64_t polls = 0;
  /// Pokes of this loop while it was parked (blocked or about to block), to
  /// make it take its remote queue (wakes from other threads, posted
  /// functions, stop()), counted on this loop whichever thread sent them:
  /// eventfd writes (generic tier on Linux), doorbell futex wakes
  /// (uring-futex), notify packets (IOCP). At most one per parked period.
  std::uint64_t notifier_writes = 0;
  /// Notifier wakes this loop consumed: eventfd reads (generic tier on
  /// Linux, epoll and uring backends) and notify packets (IOCP).
  std::uint64_t notifier_reads = 0;
  /// Futex waits on this loop's doorbell (uring-futex tier), at most one per
  /// parked period: FUTEX_WAIT submissions on its ring while it has I/O in
  /// flight or a timer pending, futex(2) waits otherwise; 0 on other tiers.
  std::uint64_t futex_waits_armed = 0;
  /// Doorbell FUTEX_WAIT completions (uring-futex tier): wakes that arrived
  /// as completions on the loop's ring; 0 on other tiers. A futex(2) wait
  /// (no I/O in flight, no timer) has no completion and is not counted here.
  std::uint64_t futex_wait_cqes = 0;
  /// Always 0 in this version. It counted FUTEX_WAKE submissions this loop
  /// made for other loops' waiters; a loop is now woken through its single
  /// doorbell, counted as that loop's notifier_writes. Kept so that code
  /// reading the field keeps compiling.
  std::uint64_t futex_wake_sqes = 0;
  /// Always 0 in this version. It counted per-waiter futex wake syscalls made
  /// here; a loop's wake is now its notifier_writes. Kept so that code
  /// reading the field keeps compiling.
  std::uint64_t futex_wake_syscalls = 0;
  /// I/O operations handed to the backend: every socket or descriptor
  /// operation started (io.hpp), including ones that finished at once, and
  /// each multishot accept request armed (uring).
  std::uint64_t io_submitted = 0;
  /// I/O completions the backend received. Operations that finished inside
  /// the call that started them are not all counted (epoll counts only
  /// completions after a wait for readiness; IOCP counts immediate results;
  /// uring counts every completion, one per accepted connection for a
  /// multishot accept), so compare it with io_submitted only on one backend.
  std::uint64_t io_completed = 0;
  /// System calls the loop's own machinery made on its thread: blocking
  /// waits and polls, I/O syscalls and registrations (epoll, IOCP), notifier
  /// reads, submissions forced by a full io_uring queue, and (IOCP) wake
  /// packets it posted for other loops. A wake of this loop sent from another
  /// thread is counted in notifier_writes, not here.
  std::uint64_t syscalls = 0;
};

/// A single-threaded event loop for tasks; see sync/loop.hpp for what one
/// iteration does, the thread rules and the memory ordering.
///
/// Thread safety, in short: stop(), post() and stats() may be called from
/// any thread at any time, and tier(), backend_kind() and selection_reason()
/// read what construction fixed. Every other member belongs to the thread
/// running the loop, or between runs to whichever thread holds it; only one
/// thread runs a loop at a time. Not copyable, not movable (tasks and
/// awaiters refer to it by address).
class LIBSYNC_API Loop {
 public:
  /// Chooses the tier and backend (select_tier(): `opts`, then SYNC_TIER /
  /// SYNC_BACKEND when `opts.use_environment`), and sets up the backend (an
  /// epoll instance and eventfd, an io_uring ring, or an I/O completion
  /// port). The first automatic choice in a process also runs the probe and
  /// the tiers' live self-tests (sync/tier.hpp), which takes a moment; their
  /// results are cached. Any thread; allocates.
  /// \throws TierUnavailable when a forced tier or backend cannot run here,
  ///         or SYNC_TIER / SYNC_BACKEND names none.
  /// \throws std::invalid_argument when SYNC_IDLE_SPIN_US is set but not a
  ///         whole number of microseconds from 0 to 1000000 (see
  ///         LoopOptions::idle_spin).
  /// \throws std::runtime_error when the backend cannot be set up (the
  ///         message names the failing call and its error).
  explicit Loop(LoopOptions opts = {});
  /// Destroys every task still on the loop (spawned tasks, suspended or
  /// ready), the most recently spawned first, so a task that owns a
  /// primitive and spawned the tasks that use it outlives them (as a scope
  /// destroys its locals in reverse). Their awaiters leave the wait queues
  /// they are in and cancel their I/O, waiting until the kernel has let go
  /// of each operation's memory, so this may block briefly. Functions posted but never run are
  /// destroyed without running. Call it on a thread that may hold the loop
  /// (see the thread rules), never while the loop runs, and only once
  /// nothing else will wake, post to or stop it. On the uring backend, when
  /// it cannot take the ring over safely (socket operations still in flight
  /// on a ring owned by another thread that is still alive), it prints why
  /// on stderr and aborts.
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  /// The loop this thread is running: inside run(), run_until_idle() or
  /// block_on() (so in every task and awaiter it resumes), and while ~Loop
  /// destroys its tasks; nullptr anywhere else. A thread-local read: any
  /// thread, O(1).
  static Loop* current() noexcept;

  /// The tier this loop runs, never Tier::automatic. Fixed at construction;
  /// any thread.
  Tier tier() const noexcept;
  /// The backend this loop runs, never BackendKind::automatic. Fixed at
  /// construction; any thread.
  BackendKind backend_kind() const noexcept;
  /// Why this tier and backend, in words (forced by what, or auto's
  /// reasoning, as in Selection::reason). Fixed at construction; any thread.
  const std::string& selection_reason() const noexcept;

  /// Runs `t` to completion on the calling thread, running everything else
  /// on the loop meanwhile (spawned tasks, timers, I/O, posted functions),
  /// and returns its result. Rethrows what the task threw.
  ///
  /// Blocks the calling thread until the task finishes; stop() does not end
  /// it (a stop() pending when it starts, or arriving while it runs, is used
  /// up and ignored: the task decides when it is finished). It returns at
  /// the end of the iteration in which the task finished; other tasks stay
  /// on the loop, suspended or ready, and go on at its next run (or are
  /// destroyed by ~Loop). Allocates the task's root frames (from the
  /// per-thread frame cache, see sync/task.hpp).
  /// \throws std::logic_error when called while this loop runs (from one of
  ///         its tasks, say), while ~Loop destroys it (from a destructor it
  ///         runs) or while another loop runs on this thread; on the uring
  ///         backend also when the loop has moved threads with I/O in
  ///         flight (see the thread rules). `t` never runs then.
  /// \throws whatever a posted function threw, or the backend's
  ///         std::runtime_error if it failed: `t` is destroyed unfinished
  ///         first (its frame refers to this call's locals).
  template <class T>
  T block_on(Task<T> t);

  /// Starts `t` on this loop; the loop owns it until it finishes, then
  /// destroys it. Does not run it: it is queued to start at the next
  /// iteration (so at the next run, if the loop is not running). Safe from
  /// the loop's own thread only (use post() from elsewhere), or between runs
  /// from the thread holding the loop. An exception escaping a spawned task
  /// is reported on stderr and terminates the process. O(1) amortized;
  /// allocates the root coroutine frame and a slot in the loop's task set.
  /// \throws std::bad_alloc when out of memory; `t` is destroyed unstarted
  ///         then, and nothing of it stays on the loop.
  void spawn(Task<void> t);

  /// Runs until stop() is called: blocks the calling thread, running
  /// iterations and sleeping in the backend whenever nothing is ready, even
  /// with no task left. A stop() that came while the loop was not running
  /// makes it return at once.
  /// \throws std::logic_error when called while this loop runs, while ~Loop
  ///         destroys it, or while another loop runs on this thread, or
  ///         (uring) when the loop has moved threads with I/O in flight.
  /// \throws whatever a posted function threw (after every function posted
  ///         with it has run), or the backend's std::runtime_error. After a
  ///         posted function threw, the loop may be run again; its tasks
  ///         stay where they were.
  void run();
  /// Runs until no spawned task is left and nothing is ready (or stop()):
  /// blocks the calling thread while tasks are suspended, so a task that
  /// waits forever keeps it running. Returns at once when the loop has no
  /// task. A function posted but not yet taken when the last task finishes
  /// is left for the next run. Throws as run() does.
  void run_until_idle();
  /// Makes run() / run_until_idle() return at the start of the next
  /// iteration, after the current one finishes, waking the loop if it is
  /// parked. Tasks are neither cancelled nor destroyed: they go on at the
  /// next run. If the loop is not running, the next run() or
  /// run_until_idle() returns at once. block_on() ignores it and leaves it
  /// pending, so a stop() made before or during a block_on() ends the next
  /// run() or run_until_idle() at once. Any thread;
  /// takes the loop's remote-queue lock briefly, never allocates.
  void stop() noexcept;

  /// Runs `fn` on the loop thread at the start of its next iteration (or of
  /// its next run, if it is not running), waking the loop if it is parked.
  /// Functions run in the order they were posted. If one throws, the others
  /// posted with it still run, then the first exception propagates out of
  /// run(), run_until_idle() or block_on(). Functions still queued when the
  /// loop is destroyed are destroyed without running. Any thread. Allocates
  /// (the std::function and its queue slot): meant for control messages,
  /// not hot paths.
  /// \throws std::bad_alloc when out of memory; nothing is queued then.
  void post(std::function<void()> fn);

  /// How many spawned tasks are alive on this loop (a block_on() task
  /// counts while it runs). Loop thread, or the thread holding the loop
  /// between runs; O(1).
  std::size_t spawned_tasks() const noexcept;
  /// A copy of the loop's counters (see LoopStats). Any thread, at any time;
  /// O(1), never allocates; orders nothing.
  LoopStats stats() const noexcept;

  /// Changes LoopOptions::idle_spin, the longest this loop spins before it
  /// sleeps (zero or less: never; more than kMaxIdleSpin: kMaxIdleSpin). Any
  /// thread; a spin under way ends, and the next one uses the new value.
  void set_idle_spin(std::chrono::nanoseconds max) noexcept;
  /// The current idle spin maximum (LoopOptions::idle_spin, SYNC_IDLE_SPIN_US
  /// or set_idle_spin()). Any thread.
  std::chrono::nanoseconds idle_spin() const noexcept;
  /// How often this loop spun before sleeping, and how many of those spins
  /// a wake ended (see LoopOptions::idle_spin). Any thread; relaxed reads,
  /// as stats().
  IdleSpinStats idle_spin_stats() const noexcept;

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

// Stores what the task returned, so that block_on can hand it back.
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

// The awaiter of sleep_for / sleep_until; defined in sync/detail/sleep.hpp.
struct SleepAwaiter;
/// `co_await sleep_for(d)` suspends the current task for `d` on its loop's
/// timer heap, then yields WaitStatus::acquired. With a stop token, it
/// yields WaitStatus::cancelled early when stop is requested, from any
/// thread: the cancellation itself runs on the task's loop, posted there
/// (see Loop::post) when the stop comes from another thread.
///
/// The deadline is `deadline_after(d)`, taken when sleep_for is called;
/// nanoseconds::max() means no deadline, so only the token ends the sleep.
/// It does not suspend when `d` <= 0 or the token is already stopped
/// (cancelled wins when both hold). The task resumes on its own loop, never
/// before the deadline; how much later depends on what else the loop runs
/// (and the backend's timeout granularity: whole milliseconds on epoll when
/// the kernel lacks epoll_pwait2). Destroying the task while it sleeps
/// removes its timer. The timer lives in the awaiter (the coroutine frame);
/// adding and removing it is O(log n) in the loop's timers, and allocates
/// only when the loop's timer heap or cancel table has to grow.
/// \throws std::logic_error from the co_await if it must suspend and the
///         coroutine is not running on a Loop; std::bad_alloc if the timer
///         heap or cancel table cannot grow.
LIBSYNC_API SleepAwaiter sleep_for(std::chrono::nanoseconds d, std::stop_token st = {});
/// sleep_for() with an absolute deadline on Clock: suspends until `tp`
/// (Clock::time_point::max(): no deadline), yielding acquired, or until the
/// token's stop, yielding cancelled. Does not suspend when `tp` has passed or
/// the token is already stopped. Same costs and exceptions as sleep_for().
LIBSYNC_API SleepAwaiter sleep_until(Clock::time_point tp, std::stop_token st = {});

/// The awaiter behind yield(): the coroutine protocol, called by `co_await`,
/// not by hand. Not copyable.
struct LIBSYNC_API YieldAwaiter {
  /// An awaiter that has queued nothing yet.
  YieldAwaiter() = default;
  YieldAwaiter(const YieldAwaiter&) = delete;
  /// If the task is destroyed while its resumption is queued, drops that
  /// resumption (a scan of the loop's queues: the rare path).
  ~YieldAwaiter();
  /// Always false: a yield always suspends.
  bool await_ready() const noexcept { return false; }
  /// Queues `h` at the back of the current loop's ready queue.
  /// \throws std::logic_error when the coroutine is not running on a Loop;
  ///         std::bad_alloc if the ready queue cannot grow.
  void await_suspend(std::coroutine_handle<> h);
  /// Returns nothing; the resumption is no longer queued.
  void await_resume() noexcept { loop_ = nullptr; }

 private:
  Loop* loop_ = nullptr;  // set while a resumption is queued
  std::coroutine_handle<> handle_;
};

/// `co_await yield()` gives other ready tasks on this loop a turn: the task
/// goes to the back of the ready queue and resumes in the loop's next
/// iteration: every other task that is ready now runs first, and timers
/// that are due fire before it resumes. It does not make the loop wait for
/// I/O, and need not make it poll (a busy loop polls the backend every few
/// iterations, see LoopStats::polls). From a task on a Loop only; O(1), no
/// allocation unless the ready queue grows.
inline YieldAwaiter yield() noexcept {
  return {};
}

}  // namespace libsync

#include <sync/detail/sleep.hpp>
