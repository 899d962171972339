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
// `acquire_owned` for an `OwnedPermit` that keeps the semaphore alive. Only
// the semaphore makes Permits, so a Permit always stands for permits really
// taken from it.
//
// The count, and what happens at its bound:
//
//  * `max()` is every permit the semaphore has: free ones, ones handed to
//    queued waiters, and ones out (in Permits, or detached). The constructor
//    and `add_permits` set it; `forget` and `forget_permits` shrink it.
//  * `release(n)` returns n permits. The semaphore cannot tell whose permits
//    come back, so a release counts against the permits that are out first;
//    whatever exceeds them is new, and `max()` grows by it, as `add_permits`
//    would have done. (So `Semaphore(0)` plus `release()` is a signal that
//    leaves `max() == 1`; `Semaphore(1).release(1000)` leaves 1001.) If
//    permits a release was counted against are later forgotten, that
//    release is the one that added permits: max() keeps them. A release of
//    permits that were not out, racing on another thread with a Permit's
//    return or forget, may be counted a step late (available() briefly
//    above max()); the counts never wrap and never pass kMaxPermits.
//  * No count ever exceeds `kMaxPermits`. A constructor, `add_permits` or
//    `release` that would take `max()` past it throws std::length_error and
//    changes nothing; so does starting a wait (`acquire*`) for more than
//    kMaxPermits, which could never be served. `try_acquire` of more is
//    noexcept and reports would_block. A Permit's own return can never cross
//    the bound unless a raw `release` earlier over-returned; if it would, the
//    process aborts with a message (a destructor cannot throw).
#pragma once

#include <sync/export.hpp>

#include <sync/detail/async_wait.hpp>
#include <sync/loop.hpp>
#include <sync/detail/waiter_queue.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stop_token>

namespace libsync {

class Semaphore;

// Ownership of `count()` permits of one semaphore. [[nodiscard]]: a Permit
// dropped where it is made returns its permits at once.
class [[nodiscard]] LIBSYNC_API Permit {
 public:
  Permit() noexcept = default;
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
  // Semaphore::release(returned count). Until then the permits count as out
  // (in_use()); to consume permits for good, use forget() instead.
  std::size_t detach() noexcept;
  // Moves `k` of this permit's permits into a new Permit. Throws
  // std::out_of_range when k > count().
  Permit split(std::size_t k);

 private:
  friend class Semaphore;
  // Adopts `n` permits the caller has just taken from `s`.
  Permit(Semaphore& s, std::size_t n) noexcept : sem_(n ? &s : nullptr), n_(n) {}

  Semaphore* sem_ = nullptr;
  std::size_t n_ = 0;
};

// Like Permit, but shares ownership of the semaphore.
class [[nodiscard]] LIBSYNC_API OwnedPermit {
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

// [[nodiscard]]: discarding it discards the permit it carries.
template <class P>
struct [[nodiscard]] BasicAcquireResult {
  WaitStatus status = WaitStatus::would_block;
  P permit;
  explicit operator bool() const noexcept { return status == WaitStatus::acquired; }
};
using AcquireResult = BasicAcquireResult<Permit>;
using OwnedAcquireResult = BasicAcquireResult<OwnedPermit>;

class LIBSYNC_API Semaphore final : private detail::Waitable {
 public:
  // The largest count a semaphore can hold: 2^61 - 1 with a 64-bit size_t.
  // The state word keeps the free count shifted left past two flag bits, so
  // a count must fit in 62 bits; one bit more is kept spare so that the sum
  // of two valid counts (free + n) still fits the word and can be compared
  // with the bound before anything is stored, with no wider arithmetic.
  static constexpr std::size_t kMaxPermits = static_cast<std::size_t>(-1) >> 3;

  // Throws std::length_error when permits > kMaxPermits.
  explicit Semaphore(std::size_t permits);
  ~Semaphore();
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  class AcquireAwaiter;

  // co_await: waits for `n` permits (FIFO). With a deadline or a stop token
  // the result may be timed_out / cancelled; closed when the semaphore closes.
  // Throws std::length_error when n > kMaxPermits.
  AcquireAwaiter acquire(std::size_t n = 1, std::stop_token st = {});
  AcquireAwaiter acquire_for(std::chrono::nanoseconds timeout, std::size_t n = 1,
                             std::stop_token st = {});
  AcquireAwaiter acquire_until(Clock::time_point deadline, std::size_t n = 1,
                               std::stop_token st = {});

  // Never waits and never barges: would_block while others are queued (and
  // for n > kMaxPermits).
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

  // Returns `n` permits (taken by Permit::detach(), say); queued waiters are
  // served first. Permits beyond those out are new and grow max(). Throws
  // std::length_error, changing nothing, if max() would pass kMaxPermits.
  void release(std::size_t n = 1);
  // Grows the semaphore by `n` permits (queued waiters are served first).
  // Throws std::length_error, changing nothing, if max() would pass
  // kMaxPermits.
  void add_permits(std::size_t n);
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
  [[noreturn]] static void throw_too_many(const char* what);
  // Lock-free: adds `n` to the free count if nobody is queued and the count
  // stays within max(); false when the slow path must decide.
  bool release_fast(std::size_t n) noexcept;
  // Under the queue lock: grows max() by whatever of `n` exceeds the permits
  // out, then hands `n` out. False, changing nothing, past kMaxPermits.
  bool release_slow(std::size_t n) noexcept;
  // release() for a Permit's own permits and abandoned grants: cannot throw.
  inline void give_back(std::size_t n) noexcept;
  [[noreturn]] static void die_past_bound(std::size_t n) noexcept;
  static Permit make_permit(Semaphore& s, std::size_t n) noexcept { return Permit(s, n); }
  // Lock-free: take `n` free permits if nobody is queued.
  WaitStatus take_fast(std::size_t n) noexcept;
  // Under the queue lock: take what is free for `n`, queue it if short.
  Enqueue take_or_enqueue(detail::WaiterNode& n) noexcept;
  // Under the queue lock: hand `n` permits to the queue head(s), the rest to
  // the free count.
  void hand_out_locked(std::size_t n, detail::WakeBatch& batch) noexcept;
  void forget_held(std::size_t n) noexcept;
  void shrink_max_locked(std::size_t n) noexcept;

  bool remove_waiter(detail::WaiterNode& n, WaitStatus why) noexcept override;
  void abandon_waiter(detail::WaiterNode& n) noexcept override;

  std::atomic<std::size_t> state_;  // free << 2 | kWaiters | kClosed
  std::atomic<std::size_t> max_;
  std::atomic<std::size_t> reserved_{0};  // handed to queued waiters (lock held to write)
  detail::WaiterQueue queue_;
};

// [[nodiscard]]: an awaiter that is not co_awaited never waits. Its result
// is [[nodiscard]] too; note that g++ 12 does not diagnose a discarded
// co_await result (clang does), only a discarded call.
class [[nodiscard]] LIBSYNC_API Semaphore::AcquireAwaiter {
 public:
  // Throws std::length_error when n > kMaxPermits.
  AcquireAwaiter(Semaphore& s, std::size_t n, std::optional<Clock::time_point> deadline,
                 std::stop_token st)
      : sem_(s), n_(n), deadline_(deadline), stop_(std::move(st)) {
    if (n > kMaxPermits) throw_too_many("libsync: Semaphore::acquire asked for more than kMaxPermits permits");
  }

  // The uncontended path stays in this header: no out-of-line call and no
  // waiter state is built unless the task really has to wait.
  bool await_ready() noexcept {
    WaitStatus s = sem_.take_fast(n_);
    if (s == WaitStatus::would_block) {
      if (!stop_.stop_requested()) return false;
      s = WaitStatus::cancelled;
    }
    early_ = s;
    return true;
  }
  bool await_suspend(std::coroutine_handle<> h);
  [[nodiscard]] AcquireResult await_resume() noexcept {
    WaitStatus s = early_ ? *early_ : wait_->finish();
    if (s == WaitStatus::acquired) return {s, make_permit(sem_, n_)};
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
  WaitStatus s = take_fast(n);  // n > kMaxPermits: more than can be free, so would_block
  return {s, s == WaitStatus::acquired ? Permit(*this, n) : Permit()};
}

inline bool Semaphore::release_fast(std::size_t n) noexcept {
  std::size_t s = state_.load(std::memory_order_relaxed);
  while (!(s & kWaiters)) {
    // Within max() (itself at most kMaxPermits) the new count cannot pass
    // the bound; anything else, including n > kMaxPermits, goes slow.
    std::size_t free = s >> kShift;
    std::size_t m = max_.load(std::memory_order_relaxed);
    if (free > m || n > m - free) return false;
    if (state_.compare_exchange_weak(s, s + (n << kShift), std::memory_order_release,
                                     std::memory_order_relaxed))
      return true;
  }
  return false;
}

inline void Semaphore::release(std::size_t n) {
  if (n == 0 || release_fast(n)) return;
  if (!release_slow(n)) throw_too_many("libsync: Semaphore::release would take the semaphore past kMaxPermits");
}

inline void Semaphore::give_back(std::size_t n) noexcept {
  if (n == 0 || release_fast(n)) return;
  if (!release_slow(n)) die_past_bound(n);
}

inline void Permit::release() noexcept {
  if (sem_ && n_) sem_->give_back(n_);
  sem_ = nullptr;
  n_ = 0;
}

class [[nodiscard]] LIBSYNC_API Semaphore::OwnedAcquireAwaiter {
 public:
  OwnedAcquireAwaiter(std::shared_ptr<Semaphore> s, std::size_t n, std::stop_token st,
                      std::optional<Clock::time_point> deadline = std::nullopt)
      : sem_(std::move(s)), inner_(*sem_, n, deadline, std::move(st)) {}
  bool await_ready() noexcept { return inner_.await_ready(); }
  bool await_suspend(std::coroutine_handle<> h) { return inner_.await_suspend(h); }
  [[nodiscard]] OwnedAcquireResult await_resume() noexcept {
    auto r = inner_.await_resume();
    return {r.status, OwnedPermit(sem_, std::move(r.permit))};
  }

 private:
  std::shared_ptr<Semaphore> sem_;
  AcquireAwaiter inner_;
};

}  // namespace libsync
