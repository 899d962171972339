// The iocp tier: a wake from another thread to a loop blocked in its port is
// a completion packet posted to that port, carrying the WaiterNode's address
// under its own completion key. The loop dequeues it with the same
// GetQueuedCompletionStatusEx that returns its socket completions, so I/O and
// synchronization wakeups reach a task through one queue, with no
// remote-queue lock and no separate notifier.
//
// A packet is only needed when the loop sleeps, so nodes are armed lazily,
// just before the loop blocks (the protocol is in lazy_arming.hpp): a loop
// that is busy, or on its way to sleep, is never sent a packet, and a
// same-loop wake never makes a syscall.
//
// The node's life, and why the packet can carry a bare pointer:
//   - The node's armed mark (iocp_armed(), loop thread only) means "a packet
//     may name this node". Set by prepare_sleep(), cleared when the packet
//     is dequeued or a same-loop wake takes the node instead.
//   - After its exchange the waker never reads the node again, as
//     waiter_queue.hpp requires; the post uses the address as a value only.
//     The loop cannot be gone before that post: it either resumes the task
//     (which needs this very packet) or destroys the frame, and then forget()
//     waits for the packet.
//   - Until the packet is dequeued nothing else resumes the task, so the node
//     is alive when the loop reads it.
//   - If the frame is destroyed first (loop teardown), AsyncWait's destructor
//     waits for kWordWoken and calls forget(): an armed, woken node's packet
//     is posted or about to be, and forget() dequeues until it arrives
//     (handling everything else as usual), so no packet naming freed memory
//     is left in the port. A node still reading kWordWaiting or kWordArmed
//     was taken out of its queue by the destructor itself and has no packet.
#include <algorithm>
#include <vector>

#include "loop_core.hpp"
#include "loop_counters.hpp"
#include "tier_table.hpp"
#include "wake_path.hpp"
#include "windows/iocp_backend.hpp"
#include "windows/lazy_arming.hpp"

namespace libsync::detail {
namespace {

class IocpWakePath final : public WakePath {
 public:
  explicit IocpWakePath(Loop& loop)
      : loop_(loop), port_(static_cast<IocpBackend&>(detail::core(loop).backend())), lazy_(loop) {}
  Tier tier() const noexcept override { return Tier::iocp; }

  void on_suspend(WaiterNode& n) noexcept override {
    set_iocp_armed(n, false);
    lazy_.add(n, [](WaiterNode& w) { set_iocp_armed(w, true); });
  }

  void deliver(WaiterNode& n) noexcept override {
    if (Loop::current() == &loop_) {
      // Same loop, so the node is ours to read until kWordWoken, and no
      // packet is pending for it unless it is armed.
      bump(detail::core(loop_).counters().local_wakes);
      if (iocp_armed(n)) {
        // Armed while the loop slept, woken now by a task or timer of this
        // loop: resume it directly; nobody else will post for it.
        std::coroutine_handle<> h = n.handle;
        set_iocp_armed(n, false);
        n.word.store(kWordWoken, std::memory_order_release);
        detail::core(loop_).schedule(h);
        return;
      }
      n.word.store(kWordWoken, std::memory_order_release);  // poll() picks it up
      return;
    }
    std::uint32_t prev = n.word.exchange(kWordWoken, std::memory_order_acq_rel);
    // From here on only the node's address is used.
    if (prev == kWordArmed) port_.post_wake(&n);
  }

  // Cross-thread wakes are completion packets on the port.
  bool wakes_through_remote_queue() const noexcept override { return false; }

  void poll() noexcept override { lazy_.poll(); }

  bool prepare_sleep(bool) noexcept override {
    return lazy_.arm_all([](WaiterNode& w) { set_iocp_armed(w, true); });
  }

  void forget(WaiterNode& n) noexcept override {
    if (lazy_.remove(n)) return;  // never armed: no waker posts for it
    if (!iocp_armed(n)) return;   // not armed, or its packet already came
    set_iocp_armed(n, false);
    if (n.word.load(std::memory_order_acquire) != kWordWoken) return;  // never woken: no packet
    port_.drain_wake(n);
  }

  // A loop parked in its port is woken by a packet posted after the remote
  // lock is dropped (LoopCore::begin_notify): posted under the lock, the
  // packet can wake the loop, on another CPU, straight into that lock.
  DeferredWake notify_loop_locked() noexcept override {
    bump(detail::core(loop_).counters().notifier_writes);
    return detail::core(loop_).begin_notify();
  }

 private:
  Loop& loop_;
  IocpBackend& port_;
  LazyArming lazy_;
};

}  // namespace

namespace {

std::unique_ptr<WakePath> make_iocp_wake_path(Loop& loop) {
  return std::make_unique<IocpWakePath>(loop);
}

TierAvailability iocp_availability(const Capabilities& caps, const BackendStatus&) {
  if (!caps.windows.iocp) return {false, "IOCP not available"};
  return {true, "I/O completion port available"};
}

}  // namespace

const TierEntry iocp_tier{Tier::iocp, BackendKind::iocp, &iocp_availability, &make_iocp_wake_path};

}  // namespace libsync::detail
