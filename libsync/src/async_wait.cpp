// The shared halves of a wait: AsyncWait (a task) and block_until_woken (a
// plain thread).
#include <stdexcept>
#include <sync/detail/async_wait.hpp>
#include <thread>

#include "loop_core.hpp"
#include "parker.hpp"
#include "wake_path.hpp"

namespace libsync::detail {

void AsyncWait::bind(std::coroutine_handle<> h) {
  Loop* loop = Loop::current();
  if (!loop) throw std::logic_error("libsync: co_await on a primitive outside a running Loop");
  if (deadline_) detail::core(*loop).reserve_timer();  // arm() runs after enqueueing and must not throw
  node.loop = loop;
  node.handle = h;
  node.word.store(kWordWaiting, std::memory_order_relaxed);
}

void AsyncWait::arm() {
  armed_ = true;
  Loop& loop = *node.loop;
  detail::core(loop).wake_path().on_suspend(node);
  if (deadline_) {
    timer_.deadline = *deadline_;
    timer_.fire = &AsyncWait::on_timer;
    timer_.context = this;
    detail::core(loop).add_timer(timer_);
  }
  if (stop_.stop_possible()) stop_cb_.emplace(stop_, StopFn{this});
}

void AsyncWait::on_timer(TimerNode& t) noexcept {
  auto* self = static_cast<AsyncWait*>(t.context);
  if (self->owner_->remove_waiter(self->node, WaitStatus::timed_out)) deliver_wake(self->node);
}

void AsyncWait::StopFn::operator()() noexcept {
  if (self->owner_->remove_waiter(self->node, WaitStatus::cancelled)) deliver_wake(self->node);
}

WaitStatus AsyncWait::finish() noexcept {
  finished_ = true;
  if (!armed_) return node.status;
  stop_cb_.reset();  // waits for a stop callback running on another thread
  detail::core(*node.loop).cancel_timer(timer_);
  return node.status;
}

AsyncWait::~AsyncWait() {
  if (!armed_ || finished_) return;
  // The frame is being destroyed while this wait is suspended.
  stop_cb_.reset();
  Loop& loop = *node.loop;
  detail::core(loop).cancel_timer(timer_);
  if (!owner_->remove_waiter(node, WaitStatus::cancelled)) {
    // A waker completed the node first. It is done with the node once the
    // word reads kWordWoken (an iocp node may also show kWordArmed until its
    // waker's exchange lands; both end at kWordWoken).
    while (node.word.load(std::memory_order_acquire) != kWordWoken) std::this_thread::yield();
    owner_->abandon_waiter(node);
    // Its resumption is queued on the loop (ready or remote queue): the
    // frame is going away, so it must not run.
    detail::core(loop).wake_path().forget(node);
    detail::core(loop).unschedule(node.handle);
    return;
  }
  detail::core(loop).wake_path().forget(node);
}

WaitStatus block_until_woken(Waitable& owner, WaiterNode& n, std::optional<Clock::time_point> deadline,
                             const std::stop_token& st) {
  if (deadline && *deadline == Clock::time_point::max()) deadline.reset();
  struct OnStop {
    Waitable* owner;
    WaiterNode* node;
    void operator()() noexcept {
      if (owner->remove_waiter(*node, WaitStatus::cancelled)) deliver_wake(*node);
    }
  };
  std::optional<std::stop_callback<OnStop>> cb;
  if (st.stop_possible()) cb.emplace(st, OnStop{&owner, &n});
  for (;;) {
    if (n.word.load(std::memory_order_acquire) == kWordWoken) break;
    if (deadline && Clock::now() >= *deadline) {
      if (owner.remove_waiter(n, WaitStatus::timed_out)) break;
      // Completed concurrently: its wake is on the way.
      while (n.word.load(std::memory_order_acquire) != kWordWoken) park(n.word, kWordWaiting, std::nullopt);
      break;
    }
    park(n.word, kWordWaiting, deadline);
  }
  cb.reset();
  return n.status;
}

}  // namespace libsync::detail
