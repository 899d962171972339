// Condvar: queue first, then unlock, then sleep; re-lock on the way out.
#include <sync/condvar.hpp>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace libsync {

Condvar::~Condvar() {
#ifndef NDEBUG
  if (waiters() != 0) {
    std::fprintf(stderr, "libsync: Condvar destroyed with %zu waiter(s)\n", waiters());
    std::abort();
  }
#endif
}

void Condvar::enqueue(detail::WaiterNode& n) noexcept {
  std::lock_guard lk(queue_.mutex());
  queue_.push_back(n);
}

bool Condvar::remove_waiter(detail::WaiterNode& n, WaitStatus why) noexcept {
  std::lock_guard lk(queue_.mutex());
  if (!n.queued) return false;
  queue_.erase(n);
  n.status = why;
  return true;
}

void Condvar::notify_one() noexcept {
  detail::WaiterNode* w;
  {
    std::lock_guard lk(queue_.mutex());
    w = queue_.pop_front();
    if (w) w->status = WaitStatus::acquired;
  }
  if (w) detail::deliver_wake(*w);
}

void Condvar::notify_all() noexcept {
  detail::WakeBatch batch;
  {
    std::lock_guard lk(queue_.mutex());
    while (detail::WaiterNode* w = queue_.pop_front()) {
      w->status = WaitStatus::acquired;
      batch.add(*w);
    }
  }
  batch.deliver();
}

// Waits for a notify: the node is queued before the guard is released.
class Condvar::NotifyAwaiter {
 public:
  NotifyAwaiter(Condvar& cv, MutexGuard& g, std::optional<Clock::time_point> d, std::stop_token st)
      : cv_(cv), guard_(g), wait_(cv, d, std::move(st)) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    wait_.bind(h);
    cv_.enqueue(wait_.node);
    guard_.unlock();
    wait_.arm();
    return true;
  }
  WaitStatus await_resume() noexcept { return wait_.finish(); }

 private:
  Condvar& cv_;
  MutexGuard& guard_;
  detail::AsyncWait wait_;
};

static void require_locked(const MutexGuard& g) {
  if (!g.owns_lock() || !g.mutex())
    throw std::logic_error("libsync: Condvar::wait needs a MutexGuard that holds its mutex");
}

Task<WaitStatus> Condvar::wait(MutexGuard& guard, std::stop_token st) {
  require_locked(guard);
  Mutex& m = *guard.mutex();
  WaitStatus s = co_await NotifyAwaiter(*this, guard, std::nullopt, std::move(st));
  auto relocked = co_await m.lock();
  guard = std::move(relocked.guard);
  co_return s;
}

Task<WaitStatus> Condvar::wait_until(MutexGuard& guard, Clock::time_point deadline, std::stop_token st) {
  require_locked(guard);
  Mutex& m = *guard.mutex();
  WaitStatus s = co_await NotifyAwaiter(*this, guard, deadline, std::move(st));
  auto relocked = co_await m.lock();
  guard = std::move(relocked.guard);
  co_return s;
}

WaitStatus Condvar::wait_blocking(MutexGuard& guard, std::optional<Clock::time_point> deadline,
                                  std::stop_token st) {
  require_locked(guard);
  Mutex& m = *guard.mutex();
  detail::WaiterNode node;
  node.owner = this;
  enqueue(node);
  guard.unlock();
  WaitStatus s = detail::block_until_woken(*this, node, deadline, st);
  guard = m.lock_blocking().guard;
  return s;
}

}  // namespace libsync
