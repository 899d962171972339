// Semaphore: an async counting semaphore with strict FIFO hand-off.
//
// Permits are counted in one atomic word; waiters queue in a WaiterQueue.
// The rules that make it fair and lossless:
//
//  * Strict FIFO with direct hand-off. `release` gives permits to queued
//    waiters, in order, before anything is added back to the free count; a
//    waiter at the head that needs more than is free takes what there is and
//    keeps waiting for the rest. So while anyone waits the free count is 0
//    and `try_acquire` cannot barge past the queue.
//  * Nothing is lost. A waiter that times out or is cancelled after it was
//    handed some permits gives them back, and they go to the next waiters.
//    A task destroyed while waiting does the same.
//  * `close()` wakes every waiter with WaitStatus::closed and stays closed:
//    adding or forgetting permits never reopens it. Permits held when it
//    closed can still be released, so `available() == max()` once all are back.
//
// Uncontended, `try_acquire` + release is one CAS and one CAS on the state
// word; an `acquire` that must wait takes the queue lock once.
//
// A `Permit` returns its permits when destroyed. It must not outlive its
// semaphore (debug builds abort if a semaphore dies with permits out); use
// `acquire_owned` for an `OwnedPermit` that keeps the semaphore alive.
#pragma once

#include <sync/export.hpp>

#include <sync/detail/async_wait.hpp>
#include <sync/loop.hpp>
#include <sync/waiter_queue.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stop_token>

namespace libsync {

class Semaphore;

// Ownership of `count()` permits of one semaphore.
class LIBSYNC_API Permit {
 public:
  Permit() noexcept = default;
  Permit(Semaphore& s, std::size_t n) noexcept : sem_(n ? &s : nullptr), n_(n) {}
  Permit(Permit&& o) noexcept : sem_(o.sem_), n_(o.n_) { o.sem_ = nullptr; o.n_ = 0; }
  Permit& operator=(Permit&& o) noexcept;
  Permit(const Permit&) = delete;
  Permit& operator=(const Permit&) = delete;
  ~Permit() { release(); }

  std::size_t count() const noexcept { return n_; }
  explicit operator bool() const noexcept { return n_ != 0; }
  Semaphore* semaphore() const noexcept { return sem_; }

  // Returns the permits now instead of at destruction.
  inline void release() noexcept;
  // The permits are gone for good: the semaphore's max() shrinks by count().
  void forget() noexcept;
  // Gives up ownership without releasing; the caller must later call
  // Semaphore::release(returned count).
  std::size_t detach() noexcept;
  // Moves `k` of this permit's permits into a new Permit. Throws
  // std::out_of_range when k > count().
  Permit split(std::size_t k);

 private:
  Semaphore* sem_ = nullptr;
  std::size_t n_ = 0;
};

// Like Permit, but shares ownership of the semaphore.
class LIBSYNC_API OwnedPermit {
 public:
  OwnedPermit() noexcept = default;
  OwnedPermit(std::shared_ptr<Semaphore> s, Permit p) noexcept : sem_(std::move(s)), p_(std::move(p)) {}
  OwnedPermit(OwnedPermit&&) noexcept = default;
  OwnedPermit& operator=(OwnedPermit&& o) noexcept {
    p_ = std::move(o.p_);  // release ours before dropping our semaphore reference
    sem_ = std::move(o.sem_);
    return *this;
  }
  ~OwnedPermit() { p_.release(); }

  std::size_t count() const noexcept { return p_.count(); }
  explicit operator bool() const noexcept { return static_cast<bool>(p_); }
  const std::shared_ptr<Semaphore>& semaphore() const noexcept { return sem_; }
  void release() noexcept { p_.release(); }
  void forget() noexcept { p_.forget(); }
  OwnedPermit split(std::size_t k) { return OwnedPermit(sem_, p_.split(k)); }

 private:
  std::shared_ptr<Semaphore> sem_;
  Permit p_;
};

template <class P>
struct BasicAcquireResult {
  WaitStatus status = WaitStatus::would_block;
  P permit;
  explicit operator bool() const noexcept { return status == WaitStatus::acquired; }
};
using AcquireResult = BasicAcquireResult<Permit>;
using OwnedAcquireResult = BasicAcquireResult<OwnedPermit>;

class LIBSYNC_API Semaphore final : private detail::Waitable {
 public:
  // The largest count a semaphore can hold.
  static constexpr std::size_t kMaxPermits = static_cast<std::size_t>(-1) >> 3;

  explicit Semaphore(std::size_t permits);
  ~Semaphore();
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  class AcquireAwaiter;

  // co_await: waits for `n` permits (FIFO). With a deadline or a stop token
  // the result may be timed_out / cancelled; closed when the semaphore closes.
  AcquireAwaiter acquire(std::size_t n = 1, std::stop_token st = {});
  AcquireAwaiter acquire_for(std::chrono::nanoseconds timeout, std::size_t n = 1,
                             std::stop_token st = {});
  AcquireAwaiter acquire_until(Clock::time_point deadline, std::size_t n = 1,
                               std::stop_token st = {});

  // Never waits and never barges: would_block while others are queued.
  AcquireResult try_acquire(std::size_t n = 1) noexcept;

  // Blocking variants for plain threads (never call these on a loop thread:
  // they block the whole loop).
  AcquireResult acquire_blocking(std::size_t n = 1, std::stop_token st = {});
  AcquireResult acquire_blocking_for(std::chrono::nanoseconds timeout, std::size_t n = 1,
                                     std::stop_token st = {});

  class OwnedAcquireAwaiter;
  static OwnedAcquireAwaiter acquire_owned(std::shared_ptr<Semaphore> self, std::size_t n = 1,
                                           std::stop_token st = {});
  static OwnedAcquireAwaiter acquire_owned_for(std::shared_ptr<Semaphore> self, std::chrono::nanoseconds timeout,
                                               std::size_t n = 1, std::stop_token st = {});
  static OwnedAcquireResult try_acquire_owned(const std::shared_ptr<Semaphore>& self,
                                              std::size_t n = 1) noexcept;

  // Returns `n` permits taken by Permit::detach().
  void release(std::size_t n = 1) noexcept;
  // Grows the semaphore by `n` permits (queued waiters are served first).
  void add_permits(std::size_t n) noexcept;
  // Removes up to `n` free permits for good; returns how many it removed.
  std::size_t forget_permits(std::size_t n) noexcept;
  // Wakes every waiter with `closed`; later acquires fail with `closed`.
  void close() noexcept;

  bool is_closed() const noexcept { return state_.load(std::memory_order_acquire) & kClosed; }
  std::size_t available() const noexcept { return state_.load(std::memory_order_acquire) >> kShift; }
  std::size_t max() const noexcept { return max_.load(std::memory_order_acquire); }
  // Permits held by Permits (max minus free minus those already handed to
  // waiters that are still queued for more). A snapshot for statistics: it
  // reads three counters separately, so under concurrent change it can be
  // off for a moment.
  std::size_t in_use() const noexcept;
  std::size_t waiters() const noexcept { return queue_.size(); }

 private:
  friend class Permit;
  static constexpr std::size_t kClosed = 1;
  static constexpr std::size_t kWaiters = 2;
  static constexpr unsigned kShift = 2;

  enum class Enqueue { done, queued };
  // Lock-free: take `n` free permits if nobody is queued.
  WaitStatus take_fast(std::size_t n) noexcept;
  // Under the queue lock: take what is free for `n`, queue it if short.
  Enqueue take_or_enqueue(detail::WaiterNode& n) noexcept;
  // Under the queue lock: hand `n` permits to the queue head(s), the rest to
  // the free count.
  void hand_out_locked(std::size_t n, detail::WakeBatch& batch) noexcept;
  void release_slow(std::size_t n) noexcept;
  void forget_held(std::size_t n) noexcept;

  bool remove_waiter(detail::WaiterNode& n, WaitStatus why) noexcept override;
  void abandon_waiter(detail::WaiterNode& n) noexcept override;

  std::atomic<std::size_t> state_;  // free << 2 | kWaiters | kClosed
  std::atomic<std::size_t> max_;
  std::atomic<std::size_t> reserved_{0};  // handed to queued waiters (lock held to write)
  detail::WaiterQueue queue_;
};

class LIBSYNC_API Semaphore::AcquireAwaiter {
 public:
  AcquireAwaiter(Semaphore& s, std::size_t n, std::optional<Clock::time_point> deadline,
                 std::stop_token st) noexcept
      : sem_(s), n_(n), deadline_(deadline), stop_(std::move(st)) {}

  // The uncontended path stays in this header: no out-of-line call and no
  // waiter state is built unless the task really has to wait.
  bool await_ready() noexcept {
    if (n_ > kMaxPermits) {
      early_ = WaitStatus::would_block;
      return true;
    }
    WaitStatus s = sem_.take_fast(n_);
    if (s == WaitStatus::would_block) {
      if (!stop_.stop_requested()) return false;
      s = WaitStatus::cancelled;
    }
    early_ = s;
    return true;
  }
  bool await_suspend(std::coroutine_handle<> h);
  AcquireResult await_resume() noexcept {
    WaitStatus s = early_ ? *early_ : wait_->finish();
    if (s == WaitStatus::acquired) return {s, Permit(sem_, n_)};
    return {s, Permit()};
  }

 private:
  Semaphore& sem_;
  std::size_t n_;
  std::optional<Clock::time_point> deadline_;
  std::stop_token stop_;
  std::optional<detail::AsyncWait> wait_;
  std::optional<WaitStatus> early_;
};

inline WaitStatus Semaphore::take_fast(std::size_t n) noexcept {
  std::size_t s = state_.load(std::memory_order_relaxed);
  if (n == 0) return (s & kClosed) ? WaitStatus::closed : WaitStatus::acquired;
  for (;;) {
    if (s & kClosed) return WaitStatus::closed;
    if ((s & kWaiters) || (s >> kShift) < n) return WaitStatus::would_block;
    if (state_.compare_exchange_weak(s, s - (n << kShift), std::memory_order_acquire,
                                     std::memory_order_relaxed))
      return WaitStatus::acquired;
  }
}

inline AcquireResult Semaphore::try_acquire(std::size_t n) noexcept {
  WaitStatus s = take_fast(n);
  return {s, s == WaitStatus::acquired ? Permit(*this, n) : Permit()};
}

inline void Semaphore::release(std::size_t n) noexcept {
  if (n == 0) return;
  std::size_t s = state_.load(std::memory_order_relaxed);
  while (!(s & kWaiters)) {
    if (state_.compare_exchange_weak(s, s + (n << kShift), std::memory_order_release,
                                     std::memory_order_relaxed))
      return;
  }
  release_slow(n);
}

inline void Permit::release() noexcept {
  if (sem_ && n_) sem_->release(n_);
  sem_ = nullptr;
  n_ = 0;
}

class LIBSYNC_API Semaphore::OwnedAcquireAwaiter {
 public:
  OwnedAcquireAwaiter(std::shared_ptr<Semaphore> s, std::size_t n, std::stop_token st,
                      std::optional<Clock::time_point> deadline = std::nullopt)
      : sem_(std::move(s)), inner_(*sem_, n, deadline, std::move(st)) {}
  bool await_ready() noexcept { return inner_.await_ready(); }
  bool await_suspend(std::coroutine_handle<> h) { return inner_.await_suspend(h); }
  OwnedAcquireResult await_resume() noexcept {
    auto r = inner_.await_resume();
    return {r.status, OwnedPermit(sem_, std::move(r.permit))};
  }

 private:
  std::shared_ptr<Semaphore> sem_;
  AcquireAwaiter inner_;
};

}  // namespace libsync
