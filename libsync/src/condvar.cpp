// Condvar: queue first, then unlock, then sleep; re-lock on the way out.
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <sync/condvar.hpp>

namespace libsync {

Condvar::~Condvar() {
#ifndef NDEBUG
  if (waiters() != 0) {
    std::fprintf(stderr, "libsync: Condvar destroyed with %zu waiter(s)\n", waiters());
    std::abort();
  }
#endif
}

// A completed node's `granted` tells how it was notified: 1 by a notify_one
// (owed to some waiter, so passed on if this one goes away), 0 otherwise.
namespace {
constexpr std::size_t kByNotifyOne = 1;
}

void Condvar::enqueue(detail::WaiterNode& n) noexcept {
  n.granted = 0;
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

// A notify_one completed `n`, but its waiter was destroyed before it ran.
void Condvar::abandon_waiter(detail::WaiterNode& n) noexcept {
  if (n.status == WaitStatus::acquired && n.granted == kByNotifyOne) {
    n.granted = 0;
    notify_one();
  }
}

void Condvar::notify_one() noexcept {
  detail::WaiterNode* w;
  {
    std::lock_guard lk(queue_.mutex());
    w = queue_.pop_front();
    if (w) {
      w->status = WaitStatus::acquired;
      w->granted = kByNotifyOne;
    }
  }
  if (w) detail::deliver_wake(*w);
}

void Condvar::notify_all() noexcept {
  detail::WakeBatch batch;
  {
    std::lock_guard lk(queue_.mutex());
    while (detail::WaiterNode* w = queue_.pop_front()) {
      w->status = WaitStatus::acquired;
      w->granted = 0;
      batch.add(*w);
    }
  }
  batch.deliver();
}

// Waits for a notify: the node is queued before the guard is released.
class Condvar::NotifyAwaiter {
 public:
  NotifyAwaiter(Condvar& cv, MutexGuard& g, std::optional<Clock::time_point> d, std::stop_token st,
                bool& by_notify_one)
      : cv_(cv), guard_(g), wait_(cv, d, std::move(st)), by_notify_one_(by_notify_one) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    wait_.bind(h);
    cv_.enqueue(wait_.node);
    guard_.unlock();
    wait_.arm();
    return true;
  }
  WaitStatus await_resume() noexcept {
    WaitStatus s = wait_.finish();
    by_notify_one_ = s == WaitStatus::acquired && wait_.node.granted == kByNotifyOne;
    return s;
  }

 private:
  Condvar& cv_;
  MutexGuard& guard_;
  detail::AsyncWait wait_;
  bool& by_notify_one_;
};

// Lives in the wait's frame from the notify until the wait returns: if the
// frame is destroyed in between (while re-locking), the notify_one this
// wait took is handed to the next waiter.
struct Condvar::PassOn {
  Condvar* cv = nullptr;
  ~PassOn() {
    if (cv) cv->notify_one();
  }
};

static void require_locked(const MutexGuard& g) {
  if (!g.owns_lock() || !g.mutex())
    throw std::logic_error("libsync: Condvar::wait needs a MutexGuard that holds its mutex");
}

Task<WaitStatus> Condvar::wait_impl(MutexGuard& guard, std::optional<Clock::time_point> deadline,
                                    std::stop_token st) {
  require_locked(guard);
  Mutex& m = *guard.mutex();
  bool by_notify_one = false;
  WaitStatus s = co_await NotifyAwaiter(*this, guard, deadline, std::move(st), by_notify_one);
  PassOn pass{by_notify_one ? this : nullptr};
  auto relocked = co_await m.lock();
  pass.cv = nullptr;
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
