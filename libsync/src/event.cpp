// Event: a flag plus a queue; set() raises the flag and releases everyone.
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sync/event.hpp>

namespace libsync {

Event::~Event() {
#ifndef NDEBUG
  if (waiters() != 0) {
    std::fprintf(stderr, "libsync: Event destroyed with %zu waiter(s)\n", waiters());
    std::abort();
  }
#endif
  // Whoever saw the flag up may destroy the event at once (a one-shot
  // signal), but the set() that raised it holds the queue lock until it is
  // done with the event: the flag is raised under the lock, so that no wait
  // can queue between the check and the raise. Taking the lock once waits
  // that set() out; after its unlock it touches only the nodes it woke and
  // the lock word's address.
  std::lock_guard lk(queue_.mutex());
}

bool Event::check_or_enqueue(detail::WaiterNode& n) noexcept {
  if (set_.load(std::memory_order_acquire)) {
    n.status = WaitStatus::acquired;
    return true;
  }
  queue_.push_back(n);
  return false;
}

void Event::set() noexcept {
  detail::WakeBatch batch;
  {
    std::lock_guard lk(queue_.mutex());
    set_.store(true, std::memory_order_release);
    while (detail::WaiterNode* w = queue_.pop_front()) {
      w->status = WaitStatus::acquired;
      batch.add(*w);
    }
  }
  batch.deliver();
}

bool Event::remove_waiter(detail::WaiterNode& n, WaitStatus why) noexcept {
  std::lock_guard lk(queue_.mutex());
  if (!n.queued) return false;
  queue_.erase(n);
  n.status = why;
  return true;
}

bool Event::WaitAwaiter::await_ready() noexcept {
  if (e_.is_set()) {
    early_ = WaitStatus::acquired;
    return true;
  }
  if (wait_.stop_requested()) {
    early_ = WaitStatus::cancelled;
    return true;
  }
  return false;
}

bool Event::WaitAwaiter::await_suspend(std::coroutine_handle<> h) {
  wait_.bind(h);
  {
    std::lock_guard lk(e_.queue_.mutex());
    if (e_.check_or_enqueue(wait_.node)) {
      early_ = WaitStatus::acquired;
      return false;
    }
  }
  wait_.arm();
  return true;
}

WaitStatus Event::WaitAwaiter::await_resume() noexcept {
  return early_ ? *early_ : wait_.finish();
}

WaitStatus Event::wait_blocking(std::stop_token st) {
  return wait_blocking_for(std::chrono::nanoseconds::max(), std::move(st));
}

WaitStatus Event::wait_blocking_for(std::chrono::nanoseconds d, std::stop_token st) {
  if (is_set()) return WaitStatus::acquired;
  if (st.stop_requested()) return WaitStatus::cancelled;
  std::optional<Clock::time_point> deadline;
  if (d != std::chrono::nanoseconds::max()) deadline = deadline_after(d);
  detail::WaiterNode node;
  node.owner = this;
  {
    std::lock_guard lk(queue_.mutex());
    if (check_or_enqueue(node)) return WaitStatus::acquired;
  }
  return detail::block_until_woken(*this, node, deadline, st);
}

}  // namespace libsync
