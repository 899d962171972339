// The uring-futex tier: a waiting task sleeps as an IORING_OP_FUTEX_WAIT on
// its own loop's ring, and any thread wakes it with a futex wake on the
// waiter's word. No eventfd, no remote queue, no helper thread carries a
// synchronization wakeup.
//
// Arming is lazy. A node starts at kWordWaiting and sits on the loop's
// pending list; only when the loop is about to block does it CAS each
// pending node to kWordArmed and submit its FUTEX_WAIT (expecting kArmed).
// A waker exchanges the word to kWordWoken and issues a futex wake only if it
// saw kWordArmed. So:
//   - a wake before arming costs the waker nothing, and the loop finds it in
//     poll() or prepare_sleep() (a same-loop hand-off never leaves user space);
//   - a wake between the CAS and the kernel seeing the SQE makes the
//     FUTEX_WAIT fail with -EAGAIN at once (the word changed), which the
//     backend treats as the wake;
//   - a wake after that is an ordinary futex wake of a sleeping waiter; if
//     the waker is on the waiter's own loop, the task is scheduled at once and
//     its FUTEX_WAIT is orphaned and retired in the background (see
//     uring_backend.hpp), so even then a same-loop wake makes no syscall.
// No interleaving leaves a kWordWoken node asleep in the kernel.
//
// The waker's futex wake goes out as a FUTEX_WAKE SQE on its own ring when
// it runs on a uring loop (batched into that loop's next submit), and as a
// futex_wake syscall otherwise.
//
// Remote posts (Loop::post, stop) ring a doorbell: a futex word with its own
// FUTEX_WAIT armed while the loop sleeps.
#include "linux/futex.hpp"
#include "lazy_arming.hpp"
#include "linux/uring_backend.hpp"
#include "loop_counters.hpp"
#include "wake_path.hpp"

#include <algorithm>
#include <vector>

namespace libsync::detail {
namespace {

class FutexWakePath final : public WakePath {
 public:
  explicit FutexWakePath(Loop& loop)
      : loop_(loop), ring_(static_cast<UringBackend&>(loop.backend())), lazy_(loop) {}
  Tier tier() const noexcept override { return Tier::uring_futex; }

  void on_suspend(WaiterNode& n) noexcept override {
    lazy_.add(n, [this](WaiterNode& w) { arm_now(w); });
  }

  void deliver(WaiterNode& n) noexcept override {
    Loop* target = n.loop;
    Loop* cur = Loop::current();
    std::uint32_t prev = n.word.exchange(kWordWoken, std::memory_order_acq_rel);
    if (cur == target) {
      // On the waiter's own loop the node cannot go away under us (its task
      // resumes only on this thread, later), so the task is scheduled now; an
      // armed FUTEX_WAIT is left to retire in the background.
      bump(target->counters().local_wakes);
      if (prev == kWordArmed) {
        ring_.orphan_futex_wait(n);
        loop_.schedule(n.handle);
      }
      // Not yet armed: poll() / prepare_sleep() find it on the pending list.
      return;
    }
    // Another thread: from here on only the word's address is used.
    if (prev != kWordArmed) return;  // the target loop finds it before it next blocks
    if (cur && cur->backend_kind() == BackendKind::uring) {
      try {
        static_cast<UringBackend&>(cur->backend()).queue_futex_wake(&n.word);
        return;
      } catch (...) {
      }
    }
    if (cur) {
      bump(cur->counters().futex_wake_syscalls);
      bump(cur->counters().syscalls);
    }
    // Wake every waiter on the word: besides this node's wait there can only
    // be orphans (see uring_backend.hpp), which must not take the wake.
    linux_detail::futex_wake(&n.word, 0x7fffffff);
  }

  void poll() noexcept override { lazy_.poll(); }

  bool prepare_sleep() noexcept override {
    bool found = !lazy_.arm_all([this](WaiterNode& w) { arm_now(w); });
    doorbell_.store(0, std::memory_order_seq_cst);
    try {
      ring_.arm_doorbell(doorbell_);
    } catch (...) {
      found = true;  // cannot sleep safely without the doorbell: poll instead
    }
    return !found;
  }

  void forget(WaiterNode& n) noexcept override {
    if (!lazy_.remove(n)) ring_.orphan_futex_wait(n);
  }

  void notify_loop() noexcept override {
    if (doorbell_.exchange(1, std::memory_order_seq_cst) == 0) {
      bump(loop_.counters().notifier_writes);
      linux_detail::futex_wake(&doorbell_, 1);
    }
  }

 private:
  void arm_now(WaiterNode& n) noexcept {
    try {
      ring_.arm_futex_wait(n);
    } catch (...) {
      std::abort();  // the ring is unusable; nothing can wake this task
    }
  }

  Loop& loop_;
  UringBackend& ring_;
  LazyArming lazy_;
  alignas(8) std::atomic<std::uint32_t> doorbell_{0};
};

}  // namespace

std::unique_ptr<WakePath> make_futex_wake_path(Loop& loop) {
  return std::make_unique<FutexWakePath>(loop);
}

}  // namespace libsync::detail
