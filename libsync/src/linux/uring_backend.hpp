// The io_uring backend: one ring per loop.
//
// Ring set-up asks for SINGLE_ISSUER | DEFER_TASKRUN (completions are run as
// task work only when this loop enters the kernel, so other threads never
// interrupt it), falling back to COOP_TASKRUN, then to a plain ring. The ring
// is created disabled and enabled on first use by the thread that runs the
// loop, because SINGLE_ISSUER binds a ring to the thread that enables it and
// a loop is often built on one thread and run on another.
//
// user_data carries a tag in its low three bits and above it a pointer (an
// IoOp, the futex doorbell, a multishot accept) or, for a waiter's
// FUTEX_WAIT, the index of a slot in this ring's table. The slot, not the
// node, is what the kernel's completion names: a wait whose task already
// resumed (woken on this loop, or destroyed) is *orphaned* by clearing its
// slot, so its late completion finds nothing to touch. Orphans are retired by
// a FUTEX_WAKE of every waiter on their word, and every node wake wakes all
// waiters on the word too, so a stale orphan can never swallow a wake meant
// for a newer waiter whose node reuses the same memory.
#pragma once

#include "backend.hpp"

#include <sync/waiter_queue.hpp>

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <vector>

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
  bool needs_flush() const noexcept override { return io_uring_sq_ready(&ring_) > lazy_sqes_; }
  void notify() noexcept override;
  bool start_multishot_accept(MultishotAccept& ms) override;
  void stop_multishot_accept(MultishotAccept& ms) noexcept override;

  // ---- uring-futex tier ----
  // FUTEX_WAIT on n.word, expecting kWordArmed.
  void arm_futex_wait(WaiterNode& n);
  // FUTEX_WAKE of every waiter on `word`. Urgent: the loop hands it to the
  // kernel at its next iteration (another loop's task is waiting on it).
  void queue_futex_wake(const std::atomic<std::uint32_t>* word);
  // Detaches n from its FUTEX_WAIT (if one is in the kernel) and queues a
  // lazy FUTEX_WAKE to retire it; n may be freed as soon as this returns.
  void orphan_futex_wait(WaiterNode& n) noexcept;
  // FUTEX_WAIT on the loop's doorbell word, expecting 0, if not already armed.
  void arm_doorbell(std::atomic<std::uint32_t>& word);

  unsigned setup_flags() const noexcept { return setup_flags_; }
  bool uses_eventfd() const noexcept { return efd_ >= 0; }

 private:
  io_uring_sqe* get_sqe();
  void enable_if_needed();
  void reap();
  void submit_wait_reap();
  void handle_cqe(std::uint64_t data, int res, unsigned flags);
  void on_multishot_accept(MultishotAccept& ms, int res, bool more);
  void cancel_multishot(MultishotAccept& ms) noexcept;
  void arm_eventfd_read();

  Loop& loop_;
  io_uring ring_{};
  unsigned setup_flags_ = 0;
  bool enabled_ = false;
  int efd_ = -1;  // generic tier notifier; -1 in the futex tier
  std::uint64_t efd_value_ = 0;
  bool efd_armed_ = false;
  bool doorbell_armed_ = false;
  std::size_t ops_in_flight_ = 0;
  std::size_t futex_waits_in_kernel_ = 0;  // orphans included, until their CQE
  unsigned lazy_sqes_ = 0;                // queued SQEs that may wait for the next enter
  std::vector<WaiterNode*> slots_;        // FUTEX_WAIT slot -> node (null: orphan)
  std::vector<std::uint32_t> free_slots_;
  const void* draining_ = nullptr;        // the op abandon() waits for
};

}  // namespace libsync::detail
