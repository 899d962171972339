// The io_uring backend: one ring per loop.
//
// Ring set-up asks for SINGLE_ISSUER | DEFER_TASKRUN (completions are run as
// task work only when this loop enters the kernel, so other threads never
// interrupt it), falling back to COOP_TASKRUN, then to a plain ring. The ring
// is created disabled and enabled on first use by the thread that runs the
// loop, because SINGLE_ISSUER binds a ring to the thread that enables it and
// a loop is often built on one thread and run on another.
//
// user_data carries a pointer with a tag in its low three bits: an IoOp, a
// WaiterNode sleeping in FUTEX_WAIT, the futex doorbell, the eventfd read
// (generic tier), or an SQE whose completion needs no action (FUTEX_WAKE,
// ASYNC_CANCEL).
#pragma once

#include "backend.hpp"

#include <sync/waiter_queue.hpp>

#include <liburing.h>

#include <atomic>
#include <cstdint>

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
  bool needs_flush() const noexcept override { return io_uring_sq_ready(&ring_) != 0; }
  void notify() noexcept override;
  bool start_multishot_accept(MultishotAccept& ms) override;
  void stop_multishot_accept(MultishotAccept& ms) noexcept override;

  // ---- uring-futex tier ----
  // FUTEX_WAIT on n.word, expecting kWordArmed.
  void arm_futex_wait(WaiterNode& n);
  // FUTEX_WAKE of one waiter on `word`, sent with this ring's next submit.
  void queue_futex_wake(const std::atomic<std::uint32_t>* word);
  // Cancels n's FUTEX_WAIT and reaps until its completion has arrived.
  void cancel_futex_wait_sync(WaiterNode& n) noexcept;
  // FUTEX_WAIT on the loop's doorbell word, expecting 0, if not already armed.
  void arm_doorbell(std::atomic<std::uint32_t>& word);

  unsigned setup_flags() const noexcept { return setup_flags_; }
  bool uses_eventfd() const noexcept { return efd_ >= 0; }

 private:
  io_uring_sqe* get_sqe();
  void enable_if_needed();
  void reap();
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
  std::size_t futex_waits_in_kernel_ = 0;
  const void* draining_ = nullptr;  // the op / node abandon waits for
};

}  // namespace libsync::detail
