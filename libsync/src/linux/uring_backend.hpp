// The io_uring backend: one ring per loop.
//
// Ring set-up asks for SINGLE_ISSUER | DEFER_TASKRUN (completions are run as
// task work only when this loop enters the kernel, so other threads never
// interrupt it), falling back to COOP_TASKRUN, then to a plain ring. The ring
// is created disabled and enabled by the first thread that uses it, because
// SINGLE_ISSUER binds a ring to the thread that enables it and a loop is
// often built on one thread and run on another.
//
// Moving between threads. A loop is run by one thread at a time, but not
// always the same one. When it runs (or is destroyed) on a thread other than
// the ring's owner, bind_to_current_thread() decides:
//   - nothing in flight: the ring is replaced by a fresh one owned by this
//     thread (about as costly as creating a loop);
//   - the owner has exited: as it exited, it cancelled and reaped what was
//     still in flight (an exit hook on its ThreadToken, run on the owner
//     itself, the only thread allowed to); those operations report
//     -ECANCELED when their tasks next run, and the ring is replaced;
//   - the owner is alive and operations are in flight: this thread cannot
//     submit to the ring nor cancel them, so run() throws std::logic_error
//     saying so, and ~Loop reports it and aborts (it can neither wait for
//     those operations nor free the memory the kernel may still write).
//
// The doorbell. In the uring-futex tier the loop sleeps on one futex word,
// the doorbell, with one FUTEX_WAIT armed on this ring while the loop is
// parked; every cross-thread wake of the loop is a futex wake of that word.
// The word comes from a process-wide pool and goes back to it only after the
// kernel has provably let go of it (its wait completed or was cancelled and
// reaped), so no kernel wait ever names freed memory, not even in a forked
// child that keeps the ring open.
//
// user_data carries a tag in its low three bits and above it a pointer (an
// IoOp, a multishot accept) or nothing.
#pragma once

#include <liburing.h>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend.hpp"
#include "thread_token.hpp"

namespace libsync::detail {

class UringBackend final : public Backend {
 public:
  UringBackend(Loop& loop, unsigned entries, bool futex_tier);
  ~UringBackend() override;

  BackendKind kind() const noexcept override { return BackendKind::uring; }
  bool start(IoOp& op) override;
  void cancel(IoOp& op) noexcept override;
  void abandon(IoOp& op) noexcept override;
  void wait(std::optional<std::chrono::nanoseconds> timeout) override;
  bool has_outstanding() const noexcept override;
  // SQEs prepared since the last io_uring_enter. Read from liburing's own
  // copies (sqe_tail, sqe_head) rather than the kernel's head in the shared
  // ring: a busy loop asks on every iteration, and the same-loop hand-off
  // ran 5-10% slower on this backend than on epoll with the shared-ring
  // load. SQEs a short submission left in the ring (the kernel took fewer
  // than were flushed) are not seen here: an I/O one still counts in
  // ops_in_flight_ and goes at the next poll, any other at the next enter,
  // and ring_is_idle() (the check before a sleep that bypasses the ring)
  // and has_unsubmitted() (leaving run(), teardown) read the kernel's head.
  bool needs_flush() const noexcept override { return ring_.sq.sqe_tail != ring_.sq.sqe_head; }
  bool has_unsubmitted() const noexcept override { return needs_flush() || io_uring_sq_ready(&ring_) != 0; }
  void notify() noexcept override;
  bool start_multishot_accept(MultishotAccept& ms) override;
  void stop_multishot_accept(MultishotAccept& ms) noexcept override;
  void bind_to_current_thread() override;
  bool prepare_teardown() noexcept override;

  // ---- uring-futex tier ----
  // The loop's doorbell word; valid for the backend's whole life.
  std::atomic<std::uint32_t>& doorbell() noexcept { return *bell_; }
  // Arms the FUTEX_WAIT on the doorbell (expecting 0) unless one is armed.
  void arm_doorbell();
  // Nothing of the loop's is in the kernel through this ring: no operation
  // in flight, no doorbell wait armed, no eventfd read, no SQE queued.
  // Sleeping in the ring would then only wait for the doorbell, which a
  // plain futex wait on it does for less.
  bool ring_is_idle() const noexcept {
    return ops_in_flight_ == 0 && !doorbell_armed_ && !efd_armed_ && io_uring_sq_ready(&ring_) == 0;
  }

  unsigned setup_flags() const noexcept { return setup_flags_; }
  bool uses_eventfd() const noexcept { return efd_ >= 0; }

 private:
  void create_ring();
  void replace_ring();
  io_uring_sqe* get_sqe();
  void enable_if_needed();
  void reap();
  int submit(unsigned wait_nr, const __kernel_timespec* ts);
  void submit_wait_reap() noexcept;
  void collect_cancelled_completions();
  void handle_cqe(std::uint64_t data, int res, unsigned flags);
  // Queues a completed operation's task on the loop.
  void resume(std::coroutine_handle<> h);
  void on_multishot_accept(MultishotAccept& ms, int res, bool more);
  void cancel_multishot(MultishotAccept& ms) noexcept;
  void arm_eventfd_read();
  void release_doorbell() noexcept;
  void take_ownership();  // with hook_->mu held
  static void on_owner_exit(void* self, const ThreadToken* exiting) noexcept;

  Loop& loop_;
  io_uring ring_{};
  bool ring_open_ = false;
  unsigned first_attempt_ = 0;
  unsigned setup_flags_ = 0;
  unsigned entries_ = 0;
  bool enabled_ = false;
  std::shared_ptr<ThreadToken> owner_;  // the thread that enabled the ring (guarded by hook_->mu)
  std::shared_ptr<ExitHook> hook_ = std::make_shared<ExitHook>();
  bool owner_exiting_ = false;  // on_owner_exit is cancelling everything
  int cancel_all_result_ = 0;   // its cancel-everything request's answer
  int efd_ = -1;                // generic tier notifier; -1 in the futex tier
  std::uint64_t efd_value_ = 0;
  bool efd_armed_ = false;
  std::atomic<std::uint32_t>* bell_ = nullptr;  // the doorbell (pool-owned)
  bool doorbell_armed_ = false;
  std::size_t ops_in_flight_ = 0;   // IoOps and multishot accepts
  const void* draining_ = nullptr;  // the op abandon() waits for
  // Multishot accepts armed on this ring, so that a backend destroyed
  // before its Acceptors (an Acceptor that outlives its loop) can tell them
  // that the closed ring ended their requests.
  std::vector<MultishotAccept*> armed_accepts_;
};

}  // namespace libsync::detail
