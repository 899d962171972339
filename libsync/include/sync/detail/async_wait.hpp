// AsyncWait and block_until_woken: the parts of a wait that are the same for
// every primitive.
//
// A primitive's awaiter owns an AsyncWait. In await_suspend it calls bind()
// (the node learns its loop and coroutine), enqueues the node under its own
// lock, and after unlocking calls arm(), which registers the node with the
// loop's wake path and starts the optional deadline and stop_token. Whoever
// completes the node first (a waker, the deadline, the stop) decides the
// outcome under the primitive's lock; the others find the node gone and do
// nothing. await_resume() calls finish() to disarm what is left.
//
// If the coroutine frame is destroyed while suspended (its loop was torn
// down), the destructor takes the node out of the queue, or, if a waker got
// there first, waits for that waker to finish with the node and hands back
// what it was given. Either way the primitive stays consistent.
#pragma once

#include <optional>
#include <stop_token>
#include <sync/detail/waiter_queue.hpp>
#include <sync/export.hpp>
#include <sync/loop.hpp>

namespace libsync::detail {

class LIBSYNC_API AsyncWait {
 public:
  AsyncWait(Waitable& owner, std::optional<Clock::time_point> deadline, std::stop_token st) noexcept
      : owner_(&owner), deadline_(deadline), stop_(std::move(st)) {
    node.owner = &owner;
    if (deadline_ && *deadline_ == Clock::time_point::max()) deadline_.reset();  // never
  }
  AsyncWait(const AsyncWait&) = delete;
  AsyncWait& operator=(const AsyncWait&) = delete;
  ~AsyncWait();

  // True when the wait should not even start (stop already requested).
  bool stop_requested() const noexcept { return stop_.stop_requested(); }
  // Before enqueueing. Throws std::logic_error when not running on a loop.
  void bind(std::coroutine_handle<> h);
  // After enqueueing and dropping the primitive's lock.
  void arm();
  // In await_resume.
  WaitStatus finish() noexcept;

  WaiterNode node;

 private:
  struct StopFn {
    AsyncWait* self;
    void operator()() noexcept;
  };
  static void on_timer(TimerNode& t) noexcept;

  Waitable* owner_;
  std::optional<Clock::time_point> deadline_;
  std::stop_token stop_;
  TimerNode timer_;
  std::optional<std::stop_callback<StopFn>> stop_cb_;
  bool armed_ = false;
  bool finished_ = false;
};

// A plain thread's side of a wait. The caller has enqueued `n` with
// n.loop == nullptr; this parks the thread until the node is completed, the
// deadline passes or stop is requested, and returns the outcome.
LIBSYNC_API WaitStatus block_until_woken(Waitable& owner, WaiterNode& n,
                                         std::optional<Clock::time_point> deadline,
                                         const std::stop_token& st);

}  // namespace libsync::detail
