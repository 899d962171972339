// The uring-futex tier: a loop sleeps as one IORING_OP_FUTEX_WAIT on its
// doorbell word, on its own ring, beside its socket I/O; a wake from any
// other thread is a futex wake of that word. No eventfd, no helper thread:
// sync wakeups and I/O completions come back on one completion queue.
//
// There is one kernel wait per loop, not one per waiting task. A woken task
// travels through the waiter loop's remote queue like any cross-thread wake
// (Loop::schedule_remote); the tier only decides how a parked loop is woken:
//
//   loop, parking:   parked = true; doorbell = 0; arm FUTEX_WAIT(doorbell, 0)
//                    unless one is still armed; re-check remote_pending;
//                    block in io_uring_enter
//                    (or, with nothing else in the ring: re-check, then
//                    futex_wait(doorbell, 0) as a plain syscall)
//   waker (locked):  push; remote_pending = true; if parked and not yet
//                    notified this period: notified = true, and if the
//                    doorbell's exchange to 1 returns 0, futex-wake it after
//                    unlocking
//
// The kernel's compare-and-sleep closes the last gap: a wake that lands
// between the loop's re-check and its FUTEX_WAIT reaching the kernel finds
// the doorbell at 1, so the wait completes at once (-EAGAIN). At most one
// futex wake is made per parked period of a loop, however many tasks a batch
// wakes there. The protocol is model-checked (tests/model).
//
// A loop with nothing in its ring (no socket I/O in flight, no doorbell wait
// still armed) and no timer pending has nothing for the ring to unify, and
// no deadline that futex(2) would keep late (the kernel adds the thread's
// timer slack, 50 us by default, to a futex timeout): it sleeps on the same
// doorbell with the futex syscall instead, the same compare-and-sleep on the
// same word, woken by the same futex wake. That sleep is cheaper: on Linux
// 6.18 a same-CPU ping-pong costs about 1.9 us per hand-off with futex(2) and
// 2.5 us with io_uring FUTEX_WAIT, whose wake runs as task work on the ring.
// A loop with I/O in flight keeps sleeping in the ring, so a wake and its
// completions arrive on one completion queue.
//
// The waker makes the futex_wake syscall itself, at once, never as a queued
// SQE: a wake must have reached the kernel before release() returns, because
// the waker's next statement may block its thread. The address it wakes is a
// pool-owned doorbell word (uring_backend.hpp), so the syscall after the lock
// is dropped is safe even if the loop is being destroyed meanwhile.
#include <climits>

#include "linux/futex.hpp"
#include "linux/uring_backend.hpp"
#include "loop_core.hpp"
#include "loop_counters.hpp"
#include "parker.hpp"
#include "tier_table.hpp"
#include "wake_path.hpp"

namespace libsync::detail {
namespace {

void ring_doorbell(const std::atomic<std::uint32_t>* word) noexcept {
  futex_wake(word, INT_MAX);
}

class FutexWakePath final : public WakePath {
 public:
  explicit FutexWakePath(Loop& loop)
      : loop_(loop), ring_(static_cast<UringBackend&>(detail::core(loop).backend())) {}
  Tier tier() const noexcept override { return Tier::uring_futex; }

  void deliver(WaiterNode& n) noexcept override {
    Loop* target = n.loop;
    if (Loop::current() == target) {
      n.word.store(kWordWoken, std::memory_order_release);
      bump(detail::core(*target).counters().local_wakes);
      detail::core(*target).schedule(n.handle);
      return;
    }
    detail::core(*target).schedule_remote(n.handle, &n.word);
  }

  void deliver_run(WaiterNode& first, std::size_t count) noexcept override {
    detail::core(*first.loop).schedule_remote_run(first, count);
  }

  bool prepare_sleep(bool timed) noexcept override {
    ring_.doorbell().store(0, std::memory_order_seq_cst);
    // Only an untimed sleep goes direct: the kernel adds the thread's timer
    // slack (50 us by default) to a futex timeout, not to the ring's, so a
    // loop waiting for a timer sleeps in its ring and its timers stay prompt.
    direct_ = direct_allowed_ && !timed && ring_.ring_is_idle();
    if (direct_) return true;
    try {
      ring_.arm_doorbell();
    } catch (...) {
      return false;  // cannot sleep safely without the doorbell: poll instead
    }
    return true;
  }

  bool sleep(std::optional<std::chrono::nanoseconds> timeout) noexcept override {
    if (!direct_) return false;
    direct_ = false;
    LoopCounters& c = detail::core(loop_).counters();
    bump(c.syscalls);
    bump(c.futex_waits_armed);
    std::optional<Clock::time_point> deadline;
    if (timeout) deadline = deadline_after(*timeout);
    park(ring_.doorbell(), 0, deadline);  // returns at once if a waker rang first
    return true;
  }

  void allow_direct_sleep(bool on) noexcept override { direct_allowed_ = on; }

  // Counted once, as the target loop's notifier_writes, so a ring is never
  // counted again as a syscall of the waker.
  DeferredWake notify_loop_locked() noexcept override {
    bump(detail::core(loop_).counters().notifier_writes);
    std::atomic<std::uint32_t>& bell = ring_.doorbell();
    if (bell.exchange(1, std::memory_order_seq_cst) != 0) return {};  // already rung
    return {&ring_doorbell, &bell};
  }

 private:
  Loop& loop_;
  UringBackend& ring_;
  bool direct_allowed_ = true;
  bool direct_ = false;  // this sleep is a plain futex wait (prepare_sleep decided)
};

std::unique_ptr<WakePath> make_futex_wake_path(Loop& loop) {
  return std::make_unique<FutexWakePath>(loop);
}

TierAvailability uring_futex_availability(const Capabilities& caps, const BackendStatus& uring) {
  if (!uring.available) return {false, "needs the uring backend: " + uring.reason};
  if (!caps.io_uring.futex_wait || !caps.io_uring.futex_wake)
    return {false, "kernel " + caps.kernel.release +
                       " lacks IORING_OP_FUTEX_WAIT/WAKE in the io_uring opcode probe (needs Linux >= 6.7)"};
  return {true, "io_uring FUTEX_WAIT/WAKE supported (kernel " + caps.kernel.release + ")"};
}

// Every futex word of the process follows one choice (futex.hpp); the report
// says what keeps private waits safe.
void uring_futex_annotate(TierReport& r) {
  r.futex_hash_mitigation = futex_mode().mitigation;
}

}  // namespace

const TierEntry uring_futex_tier{Tier::uring_futex, BackendKind::uring, &uring_futex_availability,
                                 &make_futex_wake_path, &uring_futex_annotate};

}  // namespace libsync::detail
