// The loop: ready queue, remote queue, timer heap, and the iteration that ties
// them to the backend and the wake path. Loop's public members forward to
// its LoopCore (loop_core.hpp), which holds all of it.
//
// One iteration: take what other threads queued, resume every ready task
// (once each), fire due timers, let the wake path pick up wakes, then either
// poll the backend (there is more to run) or block in it until the next
// timer. Blocking uses a Dekker-style handshake with remote wakers: the loop
// publishes `parked_` and then re-checks `remote_pending_`; a waker publishes
// `remote_pending_` and then checks `parked_`; with sequentially consistent
// ordering at least one of them sees the other, so either the loop does not
// block or the waker pokes it.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <sync/detail/loop_cancel.hpp>
#include <sync/detail/waiter_queue.hpp>
#include <thread>

#include "backend.hpp"
#include "cpu_pause.hpp"
#include "loop_core.hpp"
#include "parker.hpp"
#include "selector.hpp"
#include "wake_path.hpp"

namespace libsync {

namespace {
thread_local Loop* t_current = nullptr;

struct CurrentScope {
  Loop* saved;
  explicit CurrentScope(Loop* l) : saved(t_current) { t_current = l; }
  ~CurrentScope() { t_current = saved; }
};

// Where nothing may stay queued for the kernel (leaving run(), teardown):
// a submission may take fewer SQEs than it was handed, so a few more tries,
// each a zero-timeout wait, hand over the rest.
void hand_over_submissions(detail::Backend& b) {
  for (int i = 0; i < 8 && b.has_unsubmitted(); ++i) b.wait(std::chrono::nanoseconds::zero());
}
}  // namespace

Loop* Loop::current() noexcept {
  return t_current;
}

// ---- Loop: what users call ----

Loop::Loop(LoopOptions opts) : core_(std::make_unique<detail::LoopCore>(*this)) {
  detail::prepare_parking();
  core_->init(opts);
}

Loop::~Loop() {
  core_->teardown();
  core_->release_engine();
}

Tier Loop::tier() const noexcept {
  return core_->tier();
}
BackendKind Loop::backend_kind() const noexcept {
  return core_->backend_kind();
}
const std::string& Loop::selection_reason() const noexcept {
  return core_->selection_reason();
}
std::size_t Loop::spawned_tasks() const noexcept {
  return core_->spawned_tasks();
}
LoopStats Loop::stats() const noexcept {
  return core_->stats();
}
void Loop::post(std::function<void()> fn) {
  core_->post(std::move(fn));
}
void Loop::stop() noexcept {
  core_->stop();
}

void Loop::spawn(Task<void> t) {
  auto root = detail::make_root(std::move(t));
  root.handle.promise().loop = this;
  core_->start_root(root.handle);
}

// Both check before they set the idle-exit mode: a call refused because the
// loop is already running (from one of its own tasks) must leave the mode of
// the run in progress alone.
void Loop::run() {
  core_->check_can_run();
  core_->set_idle_exit(false);
  core_->run_loop(nullptr);
}

void Loop::run_until_idle() {
  core_->check_can_run();
  core_->set_idle_exit(true);
  struct Reset {
    detail::LoopCore& c;
    ~Reset() { c.set_idle_exit(false); }
  } reset{*core_};
  core_->run_loop(nullptr);
}

void Loop::set_idle_spin(std::chrono::nanoseconds max) noexcept {
  core_->set_idle_spin(max);
}
std::chrono::nanoseconds Loop::idle_spin() const noexcept {
  return core_->idle_spin();
}
IdleSpinStats Loop::idle_spin_stats() const noexcept {
  const detail::LoopCounters& c = core_->counters();
  return {c.idle_spins.load(std::memory_order_relaxed), c.spin_wakes.load(std::memory_order_relaxed)};
}

void Loop::check_can_run() const {
  core_->check_can_run();
}
void Loop::start_root(std::coroutine_handle<> root) {
  core_->start_root(root);
}
void Loop::run_loop(const std::atomic<bool>* done) {
  core_->run_loop(done);
}
void Loop::abandon_root(std::coroutine_handle<> root) noexcept {
  core_->abandon_root(root);
}

namespace detail {

// ---- construction and teardown ----

namespace {

// SYNC_IDLE_SPIN_US: whole microseconds, from 0 to kMaxIdleSpin.
std::optional<std::chrono::nanoseconds> idle_spin_from_environment() {
  constexpr auto kMaxUs = static_cast<unsigned long long>(
      std::chrono::duration_cast<std::chrono::microseconds>(kMaxIdleSpin).count());
  const char* v = std::getenv("SYNC_IDLE_SPIN_US");
  if (!v || !*v) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const unsigned long long us = std::strtoull(v, &end, 10);
  if (*v == '-' || *v == '+' || *end != '\0' || errno == ERANGE || us > kMaxUs)
    throw std::invalid_argument(std::string("libsync: SYNC_IDLE_SPIN_US=") + v +
                                " is not a whole number of microseconds from 0 to " + std::to_string(kMaxUs));
  return std::chrono::microseconds(us);
}

}  // namespace

void LoopCore::init(const LoopOptions& opts) {
  set_idle_spin(opts.idle_spin);
  if (opts.use_environment)
    if (const auto spin = idle_spin_from_environment()) set_idle_spin(*spin);
  Selection sel = select_tier(opts);
  tier_ = sel.tier;
  backend_kind_ = sel.backend;
  reason_ = std::move(sel.reason);
  try {
    backend_ = make_backend(self_, sel, opts);
    wake_path_ = make_wake_path(self_, sel);
    ready_.reserve(64);
    running_.reserve(64);
  } catch (...) {
    release_engine();
    throw;
  }
}

LoopCore::~LoopCore() = default;

// The wake path and the backend reach this core through core(loop) as they
// go (a uring backend reaps its doorbell's cancellation and counts it), so
// they are destroyed while Loop::core_ still points here: by the time
// ~unique_ptr runs ~LoopCore that pointer may already be null (libc++
// clears it first), and either way the unique_ptr's own lifetime has ended.
void LoopCore::release_engine() noexcept {
  wake_path_.reset();
  backend_.reset();
}

void LoopCore::teardown() noexcept {
  // Tear down suspended tasks while the backend and wake path still exist:
  // their awaiters take themselves out of wait queues and cancel I/O. Every
  // task of this loop dies here, so queued resumptions are simply dropped
  // (tearing_down_ makes unschedule() free and schedule() a no-op).
  CurrentScope scope(&self_);
  if (!backend_->prepare_teardown()) {
    // Operations the kernel ties to another, still running, thread: neither
    // waiting for them nor freeing their memory is possible here, and
    // leaking the tasks would leave their waits pointing at a dead loop.
    std::fprintf(stderr, "libsync: fatal: ~Loop cannot tear down this loop safely on this thread\n");
    std::abort();
  }
  tearing_down_ = true;
  // The destructors run here are the user's, and may hand the loop more to
  // destroy: a frame's may spawn onto it (Loop::current() is this loop
  // meanwhile), a posted function's may post to it or stop it. Each round
  // destroys what the last one left; posted functions are destroyed outside
  // the remote lock, which their destructors may take.
  for (;;) {
    ready_.clear();
    if (!tasks_.empty()) {
      // Newest first, as a scope unwinds: a task that made a semaphore or
      // an event in its frame and then spawned the tasks that wait on it
      // outlives them, so their awaiters and permits still find it.
      std::vector<std::pair<std::uint64_t, void*>> roots;
      roots.reserve(tasks_.size());
      for (const auto& [frame, order] : tasks_) roots.emplace_back(order, frame);
      tasks_.clear();
      std::sort(roots.begin(), roots.end(), std::greater<>());  // spawn orders are unique
      for (const auto& root : roots) std::coroutine_handle<>::from_address(root.second).destroy();
      continue;
    }
    std::vector<std::function<void()>> fns;
    {
      std::lock_guard lk(remote_mu_);
      remote_handles_.clear();
      fns.swap(remote_fns_);
    }
    if (fns.empty()) break;
    fns.clear();
  }
  // Tearing tasks down can wake waiters elsewhere (permits handed back); a
  // wake queued as an SQE on this ring must reach the kernel before it closes.
  hand_over_submissions(*backend_);
  // A waker that poked this loop under the lock may still be writing its
  // notifier: the backend (and the descriptor) must outlive that write.
  // Each is one syscall away from done; no new one can start now.
  while (notifies_in_flight_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
}

void LoopCore::finish_notify() noexcept {
  backend_->notify();
  notifies_in_flight_.fetch_sub(1, std::memory_order_release);  // the last touch of this loop
}

void finish_deferred_notify(LoopCore* core) noexcept {
  core->finish_notify();
}

LoopStats LoopCore::stats() const noexcept {
  const LoopCounters& c = counters_;
  auto r = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  LoopStats s;
  s.iterations = r(c.iterations);
  s.resumes = r(c.resumes);
  s.local_wakes = r(c.local_wakes);
  s.remote_wakes = r(c.remote_wakes);
  s.waits = r(c.waits);
  s.polls = r(c.polls);
  s.notifier_writes = r(c.notifier_writes);
  s.notifier_reads = r(c.notifier_reads);
  s.futex_waits_armed = r(c.futex_waits_armed);
  s.futex_wait_cqes = r(c.futex_wait_cqes);
  s.futex_wake_sqes = r(c.futex_wake_sqes);
  s.futex_wake_syscalls = r(c.futex_wake_syscalls);
  s.io_submitted = r(c.io_submitted);
  s.io_completed = r(c.io_completed);
  s.syscalls = r(c.syscalls);
  return s;
}

// ---- roots ----

void RootTask::promise_type::Final::await_suspend(std::coroutine_handle<promise_type> h) noexcept {
  promise_type& p = h.promise();
  Loop* loop = p.loop;
  if (p.done) p.done->store(true, std::memory_order_release);
  core(*loop).finish_root(h);
}

void RootTask::promise_type::unhandled_exception() noexcept {
  if (error) {
    *error = std::current_exception();
    return;
  }
  try {
    throw;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "libsync: exception escaped a spawned task: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "libsync: unknown exception escaped a spawned task\n");
  }
  std::terminate();
}

RootTask make_root(Task<void> t) {
  co_await std::move(t);
}

// Nobody else holds the root yet (spawn and block_on only rethrow): one that
// cannot be both recorded and queued is destroyed here, unstarted.
void LoopCore::start_root(std::coroutine_handle<> root) {
  try {
    tasks_.emplace(root.address(), next_root_++);
  } catch (...) {
    root.destroy();
    throw;
  }
  try {
    schedule(root);
  } catch (...) {
    tasks_.erase(root.address());
    root.destroy();
    throw;
  }
}

void LoopCore::finish_root(std::coroutine_handle<> root) noexcept {
  tasks_.erase(root.address());
  root.destroy();
}

void LoopCore::abandon_root(std::coroutine_handle<> root) noexcept {
  CurrentScope scope(&self_);  // its awaiters unregister from this loop
  tasks_.erase(root.address());
  // start_root queued the root itself, and nothing awaits on its behalf
  // until it first runs: a run that failed before resuming it (a posted
  // function threw, the ring could not be taken over) leaves it queued.
  unschedule(root);
  root.destroy();
}

// ---- queues ----

void LoopCore::schedule(std::coroutine_handle<> h) {
  if (tearing_down_) return;
  ready_.push_back(h);
}

void LoopCore::unschedule(std::coroutine_handle<> h) noexcept {
  if (tearing_down_ || !h) return;
  const std::coroutine_handle<> none = std::noop_coroutine();
  for (auto& r : ready_)
    if (r == h) r = none;
  for (std::size_t i = run_pos_ + 1; i < running_.size(); ++i)
    if (running_[i] == h) running_[i] = none;
  std::lock_guard lk(remote_mu_);
  for (auto& r : remote_handles_)
    if (r == h) r = none;
}

// Everything a remote waker does to this loop happens under remote_mu_, and
// ~Loop takes remote_mu_ last: a waker that has started cannot still be
// touching the loop (its counters, its notifier) once the woken task has
// finished and the loop is being destroyed. After unlocking a waker makes at
// most two wakes, and reads nothing else: the lock's own (QueueLock::unlock
// wakes its sleepers, if any, through the word's address, which may be freed
// memory by then and at worst wakes someone spuriously), and either the
// futex wake of a pool-owned doorbell word, an address that stays valid
// whatever happens to the loop, or a write to the loop's backend notifier,
// which teardown waits for (begin_notify).
void LoopCore::schedule_remote(std::coroutine_handle<> h, std::atomic<std::uint32_t>* woken) noexcept {
  DeferredWake wake;
  {
    std::lock_guard lk(remote_mu_);
    try {
      remote_handles_.push_back(h);
    } catch (...) {
      std::fprintf(stderr, "libsync: fatal: out of memory queueing a wake for another loop\n");
      std::abort();
    }
    if (woken) woken->store(kWordWoken, std::memory_order_release);
    remote_pending_.store(true, std::memory_order_seq_cst);
    wake = poke_locked();
  }
  wake();  // the loop may be gone by now: only the deferred wake runs
}

void LoopCore::schedule_remote_run(WaiterNode& first, std::size_t count) noexcept {
  DeferredWake wake;
  {
    std::lock_guard lk(remote_mu_);
    try {
      remote_handles_.reserve(remote_handles_.size() + count);
    } catch (...) {
      std::fprintf(stderr, "libsync: fatal: out of memory queueing wakes for another loop\n");
      std::abort();
    }
    WaiterNode* n = &first;
    for (std::size_t i = 0; i < count; ++i) {
      WaiterNode* next = n->next;  // before kWordWoken: after it the node may go
      remote_handles_.push_back(n->handle);
      n->word.store(kWordWoken, std::memory_order_release);
      n = next;
    }
    remote_pending_.store(true, std::memory_order_seq_cst);
    wake = poke_locked();
  }
  wake();  // the loop may be gone by now: only the deferred wake runs
}

// One notification per parked period is enough: the loop takes everything
// queued when it wakes, and clears `notified_` when it does. The order
// matters (tests/model checks it): remote_pending_ is published before
// parked_ is read, mirroring the loop, which publishes parked_ before it
// re-reads remote_pending_.
DeferredWake LoopCore::poke_locked() noexcept {
  if (parked_.load(std::memory_order_seq_cst) && !notified_) {
    notified_ = true;
    return wake_path_->notify_loop_locked();
  }
  return {};
}

void LoopCore::post(std::function<void()> fn) {
  DeferredWake wake;
  {
    std::lock_guard lk(remote_mu_);
    remote_fns_.push_back(std::move(fn));
    remote_pending_.store(true, std::memory_order_seq_cst);
    wake = poke_locked();
  }
  wake();  // the loop may be gone by now: only the deferred wake runs
}

void LoopCore::stop() noexcept {
  DeferredWake wake;
  {
    std::lock_guard lk(remote_mu_);
    stop_requested_.store(true, std::memory_order_seq_cst);
    remote_pending_.store(true, std::memory_order_seq_cst);
    wake = poke_locked();
  }
  wake();  // the loop may be gone by now: only the deferred wake runs
}

void LoopCore::drain_remote() {
  if (!remote_pending_.load(std::memory_order_acquire)) return;
  {
    std::lock_guard lk(remote_mu_);
    remote_pending_.store(false, std::memory_order_relaxed);
    notified_ = false;
    remote_swap_.swap(remote_handles_);
    remote_fns_swap_.swap(remote_fns_);
  }
  bump(counters_.remote_wakes, remote_swap_.size());
  for (auto h : remote_swap_) ready_.push_back(h);
  remote_swap_.clear();
  // Take them out first: if one throws, none of them runs twice. Every one
  // runs even if an earlier one threw (a posted stop-token cancellation must
  // not be lost to an unrelated failure); the first exception is rethrown
  // after the rest have run.
  std::vector<std::function<void()>> fns;
  fns.swap(remote_fns_swap_);
  std::exception_ptr first;
  for (auto& fn : fns) {
    try {
      fn();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

// ---- the iteration ----

void LoopCore::run_once(const std::atomic<bool>* done) {
  bump(counters_.iterations);
  drain_remote();

  running_.swap(ready_);
  for (run_pos_ = 0; run_pos_ < running_.size(); ++run_pos_) running_[run_pos_].resume();
  bump(counters_.resumes, running_.size());
  running_.clear();
  run_pos_ = 0;

  if (!timers_.empty()) timers_.fire_due(Clock::now());
  wake_path_->poll();

  bool block = ready_.empty() && !stop_requested_.load(std::memory_order_relaxed) &&
               !(done && done->load(std::memory_order_acquire)) && !(idle_exit_ && tasks_.empty());
  if (block && spin_for_wake()) block = false;
  if (block) block = park();
  if (!block) {
    // A busy loop hands queued SQEs over at once, but looks for completions
    // only every kBusyPollInterval iterations: checking costs a syscall, and
    // ready tasks are work too.
    constexpr unsigned kBusyPollInterval = 8;
    bool flush = backend_->needs_flush();
    if (flush || (backend_->has_outstanding() && ++busy_ticks_ % kBusyPollInterval == 0)) {
      bump(counters_.polls);
      backend_->wait(std::chrono::nanoseconds::zero());
    }
  }
}

bool LoopCore::spin_for_wake() noexcept {
  const std::int64_t max = spin_max_ns_.load(std::memory_order_relaxed);
  if (max != spin_.max_ns()) spin_.reset(max);  // set_idle_spin() was called
  if (spin_.limit_ns() == 0) return false;
  // Socket completions only show up by entering the kernel, and IOCP wakes
  // never pass through the remote queue: either way spinning sees nothing.
  if (backend_->has_outstanding() || !wake_path_->wakes_through_remote_queue()) return false;
  // A wake already queued says nothing about whether spinning pays: the
  // loop takes it without counting a spin or telling the policy.
  if (remote_pending_.load(std::memory_order_acquire)) return true;
  const Clock::time_point start = Clock::now();
  Clock::time_point end = start + std::chrono::nanoseconds(spin_.limit_ns());
  bool timer_first = false;
  if (const auto t = timers_.next_timeout(start); t && start + *t <= end) {
    end = start + *t;
    timer_first = true;
  }
  bump(counters_.idle_spins);
  // Pauses only, never a yield: a spinning loop that gave its CPU to some
  // other busy thread would see a wake or its timer only when the scheduler
  // gave the CPU back, a time slice later, where a sleeping loop is woken
  // ahead of that thread. Spinning costs a partner on the same CPU at most
  // the spin, and IdleSpinPolicy soon stops it.
  for (unsigned i = 1;; ++i) {
    if (remote_pending_.load(std::memory_order_acquire)) {
      bump(counters_.spin_wakes);
      spin_.on_caught();
      return true;
    }
    cpu_pause();
    if (i % 16 == 0) {
      if (Clock::now() >= end) break;
      if (spin_max_ns_.load(std::memory_order_relaxed) != max) {  // set_idle_spin() meanwhile
        timer_first = false;
        break;
      }
    }
  }
  if (timer_first)
    spin_.on_timer();
  else
    spin_.on_empty();
  return timer_first;  // a due timer: run it now rather than park
}

bool LoopCore::park() {
  parked_.store(true, std::memory_order_seq_cst);
  const std::optional<std::chrono::nanoseconds> timeout = timers_.next_timeout(Clock::now());
  bool block = wake_path_->prepare_sleep(timeout.has_value());
  if (remote_pending_.load(std::memory_order_seq_cst)) block = false;
  if (block) {
    bump(counters_.waits);
    sleep_until_woken(timeout);
    if (remote_pending_.load(std::memory_order_acquire)) spin_.on_woken();
  }
  parked_.store(false, std::memory_order_relaxed);
  return block;
}

void LoopCore::sleep_until_woken(std::optional<std::chrono::nanoseconds> timeout) {
  if (!wake_path_->sleep(timeout)) backend_->wait(timeout);
}

void LoopCore::check_can_run() const {
  if (running_loop_) throw std::logic_error("libsync: Loop::run/block_on called re-entrantly");
  // From a destructor that ~Loop runs: nothing can be scheduled any more.
  if (tearing_down_) throw std::logic_error("libsync: Loop::run/block_on called while the loop is destroyed");
  if (t_current != nullptr && t_current != &self_)
    throw std::logic_error("libsync: another loop is already running on this thread");
}

void LoopCore::run_loop(const std::atomic<bool>* done) {
  check_can_run();
  backend_->bind_to_current_thread();
  CurrentScope scope(&self_);
  running_loop_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{running_loop_};
  // Leaving the loop must not strand wakes queued for the kernel (a
  // FUTEX_WAKE SQE for another loop's waiter, say).
  struct Flush {
    Backend& b;
    ~Flush() { hand_over_submissions(b); }
  } flush{*backend_};
  for (;;) {
    if (done && done->load(std::memory_order_acquire)) return;
    const bool stop = stop_requested_.exchange(false, std::memory_order_acq_rel);
    if (done) {
      // block_on ignores stop(): its task decides when it is finished. The
      // stop is for the next run() or run_until_idle().
      stop_deferred_ = stop_deferred_ || stop;
    } else if (stop || stop_deferred_) {
      stop_deferred_ = false;
      return;
    }
    if (!done && tasks_.empty() && ready_.empty() && idle_exit_) return;
    run_once(done);
  }
}

}  // namespace detail

// ---- small awaitables ----

void YieldAwaiter::await_suspend(std::coroutine_handle<> h) {
  Loop* l = Loop::current();
  if (!l) throw std::logic_error("libsync: yield() outside a loop");
  detail::core(*l).schedule(h);
  loop_ = l;
  handle_ = h;
}

YieldAwaiter::~YieldAwaiter() {
  if (loop_) detail::core(*loop_).unschedule(handle_);
}

void SleepAwaiter::await_suspend(std::coroutine_handle<> h) {
  loop_ = Loop::current();
  if (!loop_) throw std::logic_error("libsync: sleep outside a loop");
  handle_ = h;
  timer_.deadline = deadline;
  timer_.fire = &SleepAwaiter::on_timer;
  timer_.context = this;
  detail::core(*loop_).add_timer(timer_);
  cancel_.arm(*loop_, stop, &SleepAwaiter::on_cancel, this);
}

void SleepAwaiter::on_timer(detail::TimerNode& t) noexcept {
  auto* self = static_cast<SleepAwaiter*>(t.context);
  self->cancel_.disarm();
  self->scheduled_ = true;
  detail::core(*self->loop_).schedule(self->handle_);
}

void SleepAwaiter::on_cancel(void* p) noexcept {
  auto* self = static_cast<SleepAwaiter*>(p);
  if (!self->timer_.armed()) return;  // already fired
  detail::core(*self->loop_).cancel_timer(self->timer_);
  self->cancelled_ = true;
  self->scheduled_ = true;
  detail::core(*self->loop_).schedule(self->handle_);
}

WaitStatus SleepAwaiter::await_resume() noexcept {
  scheduled_ = false;
  cancel_.disarm();
  if (!loop_) return stop.stop_requested() ? WaitStatus::cancelled : WaitStatus::acquired;
  return cancelled_ ? WaitStatus::cancelled : WaitStatus::acquired;
}

SleepAwaiter::~SleepAwaiter() {
  cancel_.disarm();
  if (loop_) detail::core(*loop_).cancel_timer(timer_);
  if (scheduled_) detail::core(*loop_).unschedule(handle_);
}

namespace detail {

void LoopCancel::arm(Loop& loop, const std::stop_token& st, Fn fn, void* ctx) {
  if (!st.stop_possible()) return;
  std::uint64_t generation = 0;
  slot_ = core(loop).add_cancel(fn, ctx, generation);
  loop_ = &loop;
  cb_.emplace(st, Callback{&loop, slot_, generation});
}

void LoopCancel::disarm() noexcept {
  cb_.reset();  // waits for a callback running on another thread
  if (loop_) {
    core(*loop_).remove_cancel(slot_);
    loop_ = nullptr;
  }
}

void LoopCancel::Callback::operator()() noexcept {
  if (core(*loop).on_loop_thread()) {
    core(*loop).run_cancel(slot, generation);
    return;
  }
  try {
    loop->post([l = loop, s = slot, g = generation] { core(*l).run_cancel(s, g); });
  } catch (...) {
    // Out of memory while posting a cancellation: the operation simply runs
    // to its normal end.
  }
}

}  // namespace detail
}  // namespace libsync
