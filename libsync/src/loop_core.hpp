// LoopCore: a loop's engine room. Loop (sync/loop.hpp) shows users only what
// they call and owns one LoopCore; everything else a loop has lives here:
// the ready and remote queues, the timer heap, the cancel table, the backend
// and the wake path, and the hooks through which awaitables, backends and
// wake paths reach them. detail::core(loop) gets from one to the other.
//
// Threads: the loop thread (the one running the loop, see loop.hpp) owns
// everything here except what is marked "any thread", which goes through
// the remote queue and its lock.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <sync/detail/queue_lock.hpp>
#include <sync/loop.hpp>
#include <unordered_map>
#include <vector>

#include "backend.hpp"
#include "cancel_table.hpp"
#include "idle_spin_policy.hpp"
#include "loop_counters.hpp"
#include "timer_heap.hpp"
#include "wake_path.hpp"

namespace libsync::detail {

class LoopCore {
 public:
  explicit LoopCore(Loop& self) noexcept : self_(self) {}
  LoopCore(const LoopCore&) = delete;
  LoopCore& operator=(const LoopCore&) = delete;
  ~LoopCore();

  // Chooses the tier and builds the backend and wake path. Separate from
  // the constructor because both may already reach this core through
  // core(loop).
  void init(const LoopOptions& opts);
  // ~Loop's first step: destroys every task left, while the backend and the
  // wake path still exist.
  void teardown() noexcept;
  // ~Loop's second step: destroys the wake path, then the backend (the order
  // of their members), which may still reach this core through core(loop).
  // Nothing left in the core does, so ~LoopCore may then run with
  // Loop::core_ already cleared, as libc++'s ~unique_ptr does.
  void release_engine() noexcept;

  Loop& loop() noexcept { return self_; }
  bool on_loop_thread() const noexcept { return Loop::current() == &self_; }
  Backend& backend() noexcept { return *backend_; }
  WakePath& wake_path() noexcept { return *wake_path_; }
  LoopCounters& counters() noexcept { return counters_; }

  // ---- for awaitables, backends and wake paths (loop thread unless noted) ----

  // Queues `h` to resume in this loop's next round. A no-op during teardown.
  void schedule(std::coroutine_handle<> h);
  // Any thread. If `woken` is given, stores kWordWoken to it under the
  // remote lock, after the push (see GenericWakePath).
  void schedule_remote(std::coroutine_handle<> h, std::atomic<std::uint32_t>* woken = nullptr) noexcept;
  // Any thread: schedule_remote() for `count` completed nodes linked through
  // `next` from `first`, under one lock and with at most one wake.
  void schedule_remote_run(WaiterNode& first, std::size_t count) noexcept;
  // `h` was scheduled (it is in the ready or remote queue) but its frame is
  // being destroyed before it resumed: drop that resumption. Costs a scan of
  // the queues (this is the rare path: a task destroyed between its wake and
  // its resumption); free while the loop is being torn down, when nothing
  // queued runs again anyway.
  void unschedule(std::coroutine_handle<> h) noexcept;

  void add_timer(TimerNode& t) { timers_.add(t); }
  void reserve_timer() { timers_.reserve(); }
  void cancel_timer(TimerNode& t) noexcept { timers_.cancel(t); }

  std::uint32_t add_cancel(CancelTable::Fn fn, void* ctx, std::uint64_t& generation) {
    return cancels_.add(fn, ctx, generation);
  }
  void remove_cancel(std::uint32_t slot) noexcept { cancels_.remove(slot); }
  void run_cancel(std::uint32_t slot, std::uint64_t generation) noexcept { cancels_.run(slot, generation); }

  // ---- what Loop's own members do ----
  Tier tier() const noexcept { return tier_; }
  BackendKind backend_kind() const noexcept { return backend_kind_; }
  const std::string& selection_reason() const noexcept { return reason_; }
  std::size_t spawned_tasks() const noexcept { return tasks_.size(); }
  LoopStats stats() const noexcept;
  void post(std::function<void()> fn);  // any thread
  void stop() noexcept;                 // any thread
  void run_loop(const std::atomic<bool>* done);
  void set_idle_exit(bool on) noexcept { idle_exit_ = on; }
  // Clamped to [0, kMaxIdleSpin].
  void set_idle_spin(std::chrono::nanoseconds max) noexcept {
    const std::int64_t ns = std::clamp<std::int64_t>(max.count(), 0, kMaxIdleSpin.count());
    spin_max_ns_.store(ns, std::memory_order_relaxed);
  }
  std::chrono::nanoseconds idle_spin() const noexcept {
    return std::chrono::nanoseconds(spin_max_ns_.load(std::memory_order_relaxed));
  }
  void check_can_run() const;
  void start_root(std::coroutine_handle<> root);
  void finish_root(std::coroutine_handle<> root) noexcept;
  void abandon_root(std::coroutine_handle<> root) noexcept;

  // Under remote_mu_: a write to the backend's notifier that the caller
  // makes once it has dropped the lock (DeferredWake::notify). Waking the
  // loop while still holding its lock would let the woken loop run into
  // that lock at once (on one CPU it preempts the waker, spins in vain and
  // sleeps), and the notifier stays open until every such write is done:
  // teardown waits for them.
  DeferredWake begin_notify() noexcept {
    notifies_in_flight_.fetch_add(1, std::memory_order_relaxed);
    return DeferredWake{nullptr, nullptr, this};
  }
  // After the lock: the write, then the last touch of this loop.
  void finish_notify() noexcept;

 private:
  void run_once(const std::atomic<bool>* done);
  // Before parking: watches the remote queue for up to the current spin
  // limit (see Loop::set_idle_spin). True when the loop must not park:
  // a wake arrived, or a timer fell due.
  bool spin_for_wake() noexcept;
  // The handshake with wakers, then a block in the backend until a wake,
  // a completion or the next timer; tells the spin policy whether a wake
  // ended the sleep. False when the handshake found work, so the loop did
  // not block.
  bool park();
  // park()'s sleep: the tier's own if it has one for this period
  // (WakePath::sleep), else the backend's wait.
  void sleep_until_woken(std::optional<std::chrono::nanoseconds> timeout);
  void drain_remote();
  DeferredWake poke_locked() noexcept;

  Loop& self_;
  Tier tier_{};
  BackendKind backend_kind_{};
  std::string reason_;
  LoopCounters counters_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<WakePath> wake_path_;

  std::vector<std::coroutine_handle<>> ready_;
  std::vector<std::coroutine_handle<>> running_;
  TimerHeap timers_;
  CancelTable cancels_;
  // Live spawned roots: frame address -> spawn order (teardown destroys the
  // newest first).
  std::unordered_map<void*, std::uint64_t> tasks_;
  std::uint64_t next_root_ = 0;

  // Loop-thread state written on every iteration: kept off the lines other
  // threads touch to wake the loop (below), so a waker's read of parked_
  // does not pull a line the loop is writing on every resume.
  bool tearing_down_ = false;
  std::size_t run_pos_ = 0;  // index in running_ of the task being resumed
  bool running_loop_ = false;
  bool idle_exit_ = false;
  unsigned busy_ticks_ = 0;

  // Remote queue: handles and posted functions from other threads. What a
  // waker touches (the lock, the pending and parked flags, the handle
  // vector) starts on its own cache line.
  alignas(64) QueueLock remote_mu_;
  std::atomic<bool> remote_pending_{false};
  std::atomic<bool> parked_{false};
  bool notified_ = false;  // guarded by remote_mu_
  std::atomic<bool> stop_requested_{false};
  // A stop() that a block_on() saw: kept for the next run() or
  // run_until_idle(), which returns at once. Loop thread only.
  bool stop_deferred_ = false;
  std::vector<std::coroutine_handle<>> remote_handles_;
  std::atomic<std::uint32_t> notifies_in_flight_{0};  // see begin_notify
  std::vector<std::function<void()>> remote_fns_;
  alignas(64) std::vector<std::coroutine_handle<>> remote_swap_;
  std::vector<std::function<void()>> remote_fns_swap_;
  // Idle spin: the configured maximum (any thread writes it) and the
  // adaptive limit of the next spin (loop thread), both in nanoseconds.
  std::atomic<std::int64_t> spin_max_ns_{kDefaultIdleSpin.count()};
  IdleSpinPolicy spin_{kDefaultIdleSpin.count()};  // follows spin_max_ns_
};

class LoopAccess {
 public:
  static LoopCore& core(Loop& l) noexcept { return *l.core_; }
  static const LoopCore& core(const Loop& l) noexcept { return *l.core_; }
};

inline LoopCore& core(Loop& l) noexcept {
  return LoopAccess::core(l);
}

}  // namespace libsync::detail
