// The iocp tier: a wake from another thread is a completion packet posted to
// the waiter loop's port, carrying the WaiterNode's address under its own
// completion key. The loop dequeues it with the same
// GetQueuedCompletionStatusEx that returns its socket completions, so I/O
// and synchronization wakeups reach a task through one queue, with no
// remote-queue lock and no separate notifier. A wake on the waiter's own
// loop thread only pushes the task onto the ready queue: no syscall.
//
// The node's life, and why the packet can carry a bare pointer:
//
//   - on_suspend (loop thread) sets n.in_kernel: "a packet naming n may be
//     on its way". Only the loop thread reads or writes that flag.
//   - A remote waker copies nothing from the node it still needs after the
//     wake, stores kWordWoken (release), and then posts the node's address.
//     Storing kWordWoken is its last touch of the node, as waiter_queue.hpp
//     requires; the post uses the address as a value only. The waiter's loop
//     cannot go away in between: it either resumes the task (which needs
//     this very packet) or destroys the frame, and then forget() waits for
//     the packet (below).
//   - The loop dequeues the packet, clears in_kernel and resumes the task.
//     Until then nothing else resumes it, so the node is alive when the
//     packet is read.
//   - If the frame is destroyed while a wake is pending (loop teardown),
//     AsyncWait's destructor first waits for kWordWoken and then calls
//     forget(). With in_kernel still set the packet is posted or about to be;
//     forget() dequeues until it arrives (handling everything else as usual),
//     so no packet naming freed memory is left in the port. A node that was
//     never woken (the destructor took it out of its queue itself) still reads
//     kWordWaiting and has no packet.
#include "loop_counters.hpp"
#include "wake_path.hpp"
#include "windows/iocp_backend.hpp"

namespace libsync::detail {
namespace {

class IocpWakePath final : public WakePath {
 public:
  explicit IocpWakePath(Loop& loop)
      : loop_(loop), port_(static_cast<IocpBackend&>(loop.backend())) {}
  Tier tier() const noexcept override { return Tier::iocp; }

  void on_suspend(WaiterNode& n) noexcept override { n.in_kernel = true; }

  void deliver(WaiterNode& n) noexcept override {
    if (Loop::current() == &loop_) {
      // Same loop: the node is ours to touch until kWordWoken, and no packet
      // will name it.
      std::coroutine_handle<> h = n.handle;
      n.in_kernel = false;
      n.word.store(kWordWoken, std::memory_order_release);
      bump(loop_.counters().local_wakes);
      loop_.schedule(h);
      return;
    }
    n.word.store(kWordWoken, std::memory_order_release);
    // From here on only the node's address is used.
    port_.post_wake(&n);
  }

  void forget(WaiterNode& n) noexcept override {
    if (!n.in_kernel) return;  // woken on this thread, or its packet already came
    n.in_kernel = false;
    if (n.word.load(std::memory_order_acquire) != kWordWoken) return;  // never woken: no packet
    port_.drain_wake(n);
  }

  void notify_loop() noexcept override {
    bump(loop_.counters().notifier_writes);
    port_.notify();
  }

 private:
  Loop& loop_;
  IocpBackend& port_;
};

}  // namespace

std::unique_ptr<WakePath> make_iocp_wake_path(Loop& loop) { return std::make_unique<IocpWakePath>(loop); }

}  // namespace libsync::detail
