/// \file
/// Semaphore: an async counting semaphore with strict FIFO hand-off, for
/// tasks on a Loop and for plain threads alike.
///
/// Permits are counted in one atomic word; waiters queue in a WaiterQueue.
/// The rules that make it fair and lossless:
///
///  * Strict FIFO with direct hand-off (the default, HandOff::fifo).
///    `release` gives permits to queued waiters, in order, before anything
///    is added back to the free count; a waiter at the head that needs more
///    than is free takes what there is and keeps waiting for the rest. So
///    while anyone waits the free count is 0 and `try_acquire` cannot barge
///    past the queue. Tasks and blocked threads share the one queue.
///  * Or, chosen at construction, loop-local hand-off with a fairness bound
///    (HandOff::loop_local): permits a task returns may go to a later waiter
///    of the same loop instead of the head, which keeps tasks that contend
///    across loops from passing the permits, and the semaphore's waiters,
///    between CPUs on every hand-off. The head of the queue is passed over
///    at most a fixed number of times, so nobody starves, and nobody barges:
///    the free count is still 0 while anyone waits.
///  * Nothing is lost. A waiter that times out or is cancelled after it was
///    handed some permits gives them back, and they go to the next waiters.
///    A task destroyed while waiting does the same.
///  * `close()` wakes every waiter with WaitStatus::closed and stays closed:
///    adding or forgetting permits never reopens it. Permits held when it
///    closed can still be released, so `available() == max()` once all are back.
///
/// Uncontended, `try_acquire` + release is one CAS and one CAS on the state
/// word; an `acquire` that must wait takes the queue lock once. No wait
/// allocates: the waiter's node lives in the awaiter (so in the coroutine
/// frame) or on the blocked thread's stack.
///
/// A `Permit` returns its permits when destroyed. It must not outlive its
/// semaphore (debug builds abort if a semaphore dies with permits out); use
/// `acquire_owned` for an `OwnedPermit` that keeps the semaphore alive. Only
/// the semaphore makes Permits, so a Permit always stands for permits really
/// taken from it.
///
/// The count, and what happens at its bound:
///
///  * `max()` is every permit the semaphore has: free ones, ones handed to
///    queued waiters, and ones out (in Permits, or detached). The constructor
///    and `add_permits` set it; `forget` and `forget_permits` shrink it.
///  * `release(n)` returns n permits. The semaphore cannot tell whose permits
///    come back, so a release counts against the permits that are out first;
///    whatever exceeds them is new, and `max()` grows by it, as `add_permits`
///    would have done. (So `Semaphore(0)` plus `release()` is a signal that
///    leaves `max() == 1`; `Semaphore(1).release(1000)` leaves 1001.) If
///    permits a release was counted against are later forgotten, that
///    release is the one that added permits: max() keeps them. A release of
///    permits that were not out, racing on another thread with a Permit's
///    return or forget, may be counted a step late (available() or max()
///    briefly off by the permits in flight); the counts never wrap and never
///    pass kMaxPermits.
///  * No count ever exceeds `kMaxPermits`. A constructor, `add_permits` or
///    `release` that would take `max()` past it throws std::length_error and
///    changes nothing; so does starting a wait (`acquire*`) for more than
///    kMaxPermits, which could never be served. `try_acquire` of more is
///    noexcept and reports would_block. A Permit's own return can never cross
///    the bound unless a raw `release` earlier over-returned; if it would, the
///    process aborts with a message (a destructor cannot throw).
///
/// Memory ordering: for any threads X and Y, if X returns permits (a
/// Permit's release or destruction, `release()`, `add_permits()`) and Y then
/// acquires permits from the same semaphore (any `acquire*` or `try_acquire*`
/// that returns acquired, with the permits X returned or with ones returned
/// after them), everything X did before the return happens-before everything
/// Y does after its acquire. Every change of the count is a read-modify-write
/// of the one state word, release on the returning side and acquire on the
/// taking side, and a waiter that is handed permits is woken by a delivery
/// that is itself release/acquire, whether it is a task (on any tier) or a
/// plain thread. A wait woken by `close()` is likewise ordered after the
/// close, and so is an `is_closed()` that reads true. Two results order
/// nothing: an acquire of 0 permits, and an acquire that finds the semaphore
/// already closed without waiting (both read the state word relaxed).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stop_token>
#include <sync/detail/async_wait.hpp>
#include <sync/detail/waiter_queue.hpp>
#include <sync/export.hpp>
#include <sync/loop.hpp>

namespace libsync {

class Semaphore;

/// Ownership of `count()` permits of one semaphore; returns them when
/// destroyed.
///
/// [[nodiscard]]: a Permit dropped where it is made returns its permits at
/// once. Movable, not copyable. A Permit is a plain value: one object must
/// not be used from two threads at once, but it may be moved to, and
/// released on, any thread. It must not outlive its Semaphore (use
/// OwnedPermit for that).
class [[nodiscard]] LIBSYNC_API Permit {
 public:
  /// An empty permit: count() == 0, semaphore() == nullptr.
  Permit() noexcept = default;
  /// Takes over `o`'s permits; `o` is left empty.
  Permit(Permit&& o) noexcept : sem_(o.sem_), n_(o.n_) {
    o.sem_ = nullptr;
    o.n_ = 0;
  }
  /// Returns this permit's own permits first (as release() does), then takes
  /// over `o`'s; `o` is left empty. Self-assignment does nothing.
  Permit& operator=(Permit&& o) noexcept;
  Permit(const Permit&) = delete;
  Permit& operator=(const Permit&) = delete;
  /// Returns the permits, as release() does.
  ~Permit() { release(); }

  /// How many permits this object holds (0 once released, forgotten,
  /// detached or moved from).
  std::size_t count() const noexcept { return n_; }
  /// True while it holds at least one permit.
  explicit operator bool() const noexcept { return n_ != 0; }
  /// The semaphore the permits belong to; nullptr when empty.
  Semaphore* semaphore() const noexcept { return sem_; }

  /// Returns the permits now instead of at destruction; the Permit becomes
  /// empty. Idempotent. Queued waiters are served first, in FIFO order, and
  /// are woken after the semaphore's lock is dropped; a woken task resumes
  /// later on its own loop, never inside this call. Never blocks beyond that
  /// short lock (taken when someone waits); O(1) when nobody waits,
  /// otherwise O(number of waiters it completes).
  inline void release() noexcept;
  /// The permits are gone for good: the semaphore's max() shrinks by count()
  /// and the Permit becomes empty. Takes the semaphore's queue lock; O(1).
  void forget() noexcept;
  /// Gives up ownership without releasing and returns how many permits it
  /// held; the Permit becomes empty. The caller must later call
  /// Semaphore::release(returned count). Until then the permits count as out
  /// (in_use()); to consume permits for good, use forget() instead.
  std::size_t detach() noexcept;
  /// Moves `k` of this permit's permits into a new Permit of the same
  /// semaphore (this one keeps count() - k; split(count()) empties it).
  /// split(0) returns an empty Permit. O(1); touches no shared state.
  /// \throws std::out_of_range when k > count(); nothing changes then.
  Permit split(std::size_t k);

 private:
  friend class Semaphore;
  // Adopts `n` permits the caller has just taken from `s`.
  Permit(Semaphore& s, std::size_t n) noexcept : sem_(n ? &s : nullptr), n_(n) {}

  Semaphore* sem_ = nullptr;
  std::size_t n_ = 0;
};

/// A Permit that also shares ownership of its semaphore, so it may outlive
/// every other reference to it. Made by Semaphore::acquire_owned,
/// acquire_owned_for and try_acquire_owned.
///
/// [[nodiscard]] and thread rules as for Permit.
class [[nodiscard]] LIBSYNC_API OwnedPermit {
 public:
  /// An empty permit with no semaphore.
  OwnedPermit() noexcept = default;
  /// Adopts `p`, which must hold permits of `*s` (or be empty); not checked.
  OwnedPermit(std::shared_ptr<Semaphore> s, Permit p) noexcept : sem_(std::move(s)), p_(std::move(p)) {}
  /// Takes over `o`'s permits and semaphore reference; `o` is left empty.
  OwnedPermit(OwnedPermit&&) noexcept = default;
  /// Returns this object's own permits first, then takes over `o`'s permits
  /// and semaphore reference.
  OwnedPermit& operator=(OwnedPermit&& o) noexcept {
    p_ = std::move(o.p_);  // release ours before dropping our semaphore reference
    sem_ = std::move(o.sem_);
    return *this;
  }
  /// Returns the permits, then drops the semaphore reference (which may
  /// destroy the semaphore).
  ~OwnedPermit() { p_.release(); }

  /// How many permits this object holds.
  std::size_t count() const noexcept { return p_.count(); }
  /// True while it holds at least one permit.
  explicit operator bool() const noexcept { return static_cast<bool>(p_); }
  /// The semaphore this permit keeps alive (still set after release() or
  /// forget(); null only for a default-constructed or moved-from object).
  const std::shared_ptr<Semaphore>& semaphore() const noexcept { return sem_; }
  /// Returns the permits now; see Permit::release(). The semaphore reference
  /// is kept until destruction.
  void release() noexcept { p_.release(); }
  /// Consumes the permits for good; see Permit::forget().
  void forget() noexcept { p_.forget(); }
  /// Moves `k` permits into a new OwnedPermit that shares the semaphore.
  /// \throws std::out_of_range when k > count(); nothing changes then.
  OwnedPermit split(std::size_t k) { return OwnedPermit(sem_, p_.split(k)); }

 private:
  std::shared_ptr<Semaphore> sem_;
  Permit p_;
};

/// How an acquire ended, and the permits it got.
///
/// [[nodiscard]]: discarding it discards the permit it carries (the permits
/// go straight back).
/// \tparam P Permit or OwnedPermit.
template <class P>
struct [[nodiscard]] BasicAcquireResult {
  /// acquired, or why not: would_block (try_* only), timed_out, cancelled
  /// or closed.
  WaitStatus status = WaitStatus::would_block;
  /// The permits asked for when status is acquired; empty otherwise.
  P permit;
  /// True when status is acquired.
  explicit operator bool() const noexcept { return status == WaitStatus::acquired; }
};
/// What acquire, try_acquire and acquire_blocking* return.
using AcquireResult = BasicAcquireResult<Permit>;
/// What acquire_owned* and try_acquire_owned return.
using OwnedAcquireResult = BasicAcquireResult<OwnedPermit>;

/// Which queued waiter a Semaphore hands returned permits to.
enum class HandOff : std::uint8_t {
  /// Strict FIFO: always the waiter that has queued longest (the default).
  fifo,
  /// Loop-local, with a bound. When a task on loop L returns permits while
  /// the queue's head waits elsewhere (on another loop, or a plain thread),
  /// they go to the earliest waiter of L among the 32 queued right behind the
  /// head, if one is there and its whole request fits; otherwise, and once
  /// the head has been passed over 32 times, to the head, as under fifo. So
  /// a waiter that reaches the head is served within 33 hand-offs, nobody
  /// starves, and waiters of one loop keep their order among themselves.
  /// Returns made on a plain thread, cancellations and timeouts serve the
  /// head. Worth it where many tasks on several loops contend for few
  /// permits: the permits, and the waiters they wake, then mostly stay on
  /// one CPU (syncbench's contended/throughput row). Use fifo where the
  /// order of service is part of what the semaphore is for.
  loop_local,
};

/// An async counting semaphore with direct hand-off, strict FIFO unless
/// constructed with HandOff::loop_local; see sync/semaphore.hpp for the
/// rules on counting, closing and memory ordering.
///
/// Every member may be called from any thread at any time. The awaitable
/// waits (`acquire*`) are for tasks running on a Loop; the blocking waits
/// (`acquire_blocking*`) are for plain threads. \note Waits are served in
/// FIFO order, tasks and threads alike, and a larger request at the head
/// holds back smaller ones behind it. A Semaphore is 64 bytes on 64-bit
/// systems: declared `alignas(64)` where that alignment is honoured (a
/// static, a heap object or a member of one), its state word, queue lock and
/// queue ends, which every contended acquire and release touches, move
/// between CPUs as one cache line. The class does not demand the alignment
/// itself: built with GCC 12, a libsync task's frame did not put an
/// over-aligned local on a 64-byte boundary, and code compiled for the
/// stricter type may rely on it.
class LIBSYNC_API Semaphore final : private detail::Waitable {
 public:
  /// The largest count a semaphore can hold: 2^61 - 1 with a 64-bit size_t
  /// (2^29 - 1 with a 32-bit one).
  ///
  /// Why three bits short of the word: the state word keeps the free count
  /// shifted left past two flag bits (closed, waiters), so a count must fit
  /// in 62 bits; one bit more is kept spare so that the sum of two valid
  /// counts (free + n) still fits the word and can be compared with the
  /// bound before anything is stored, with no wider arithmetic and no
  /// wrap-around. No real program comes near it; it exists so that overflow
  /// is a clean std::length_error instead of a corrupted count.
  static constexpr std::size_t kMaxPermits = static_cast<std::size_t>(-1) >> 3;

  /// A semaphore with `permits` free permits; max() == permits; strict
  /// FIFO hand-off.
  /// \throws std::length_error when permits > kMaxPermits.
  explicit Semaphore(std::size_t permits);
  /// A semaphore with `permits` free permits that hands returned permits to
  /// waiters as `order` says (see HandOff); fixed for its life.
  /// \throws std::length_error when permits > kMaxPermits.
  Semaphore(std::size_t permits, HandOff order);
  /// Destroys the semaphore. Nothing may wait on it and no Permit of it may
  /// be left: debug builds check and abort with a message (a Permit that
  /// outlived it would release into freed memory); release builds do not.
  /// Whoever saw it closed (is_closed() true) may destroy it at once, even
  /// while the close() is still returning on another thread: the destructor
  /// waits that call out.
  ~Semaphore();
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  class AcquireAwaiter;

  /// `co_await sem.acquire(n)` waits for `n` permits and yields an
  /// AcquireResult.
  ///
  /// If the permits are free and nobody is queued, it completes without
  /// suspending (whatever the stop token says). Otherwise the task suspends,
  /// queued in FIFO order, until the permits are handed to it (acquired),
  /// the semaphore is closed (closed) or `st` is stopped (cancelled); a
  /// token already stopped then returns cancelled without queueing. The
  /// task resumes on its own loop. Permits it was handed before a
  /// cancellation or timeout go to the next waiters. Waiting allocates
  /// nothing. acquire(0) completes at once (closed if the semaphore is).
  /// \param n  permits wanted, at most kMaxPermits.
  /// \param st cancels the wait when stopped (from any thread).
  /// \return an awaiter; nothing happens until it is co_awaited.
  /// \throws std::length_error when n > kMaxPermits (from this call).
  /// \throws std::logic_error from the co_await if it must wait and the
  ///         awaiting coroutine is not running on a Loop.
  AcquireAwaiter acquire(std::size_t n = 1, std::stop_token st = {});
  /// acquire() that also gives up after `timeout` (timed_out). The deadline
  /// is fixed when this is called and is checked on the loop's timer heap;
  /// a timeout of zero or less still gets permits that are free at once.
  /// A timed wait may grow the loop's timer heap (std::bad_alloc).
  /// \param timeout how long to wait; nanoseconds::max() means no deadline.
  /// \param n       permits wanted, at most kMaxPermits.
  /// \param st      cancels the wait when stopped.
  /// \throws std::length_error when n > kMaxPermits.
  AcquireAwaiter acquire_for(std::chrono::nanoseconds timeout, std::size_t n = 1, std::stop_token st = {});
  /// acquire() that gives up at `deadline` (timed_out);
  /// Clock::time_point::max() means never. Otherwise as acquire_for().
  /// \param deadline when to give up.
  /// \param n        permits wanted, at most kMaxPermits.
  /// \param st       cancels the wait when stopped.
  /// \throws std::length_error when n > kMaxPermits.
  AcquireAwaiter acquire_until(Clock::time_point deadline, std::size_t n = 1, std::stop_token st = {});

  /// Takes `n` permits if they are free now; never waits and never barges:
  /// would_block while others are queued, and for n > kMaxPermits.
  /// Lock-free: one CAS loop on the state word. Returns closed on a closed
  /// semaphore; try_acquire(0) returns acquired with an empty Permit.
  AcquireResult try_acquire(std::size_t n = 1) noexcept;

  /// Blocks the calling thread until `n` permits are handed to it, the
  /// semaphore closes or `st` is stopped; the thread sleeps on a futex
  /// (WaitOnAddress on Windows) in the same FIFO queue as the tasks.
  ///
  /// For plain threads: never call it on a loop thread, where it blocks the
  /// whole loop and deadlocks if a task of that loop holds the permits.
  /// Free permits (with nobody queued) are taken without sleeping; a token
  /// already stopped then returns cancelled.
  /// \throws std::length_error when n > kMaxPermits.
  AcquireResult acquire_blocking(std::size_t n = 1, std::stop_token st = {});
  /// acquire_blocking() that gives up after `timeout` (timed_out);
  /// nanoseconds::max() means no deadline; zero or less gets only permits
  /// that are free at once.
  /// \throws std::length_error when n > kMaxPermits.
  AcquireResult acquire_blocking_for(std::chrono::nanoseconds timeout, std::size_t n = 1,
                                     std::stop_token st = {});

  class OwnedAcquireAwaiter;
  /// acquire() that yields an OwnedAcquireResult: the permit holds a
  /// reference to `self`, so the semaphore lives as long as the permit (and
  /// as long as the wait).
  /// \param self the semaphore; must not be null.
  /// \param n    permits wanted, at most kMaxPermits.
  /// \param st   cancels the wait when stopped.
  /// \throws std::length_error when n > kMaxPermits.
  static OwnedAcquireAwaiter acquire_owned(std::shared_ptr<Semaphore> self, std::size_t n = 1,
                                           std::stop_token st = {});
  /// acquire_for() that yields an OwnedAcquireResult; see acquire_owned().
  /// \param self    the semaphore; must not be null.
  /// \param timeout how long to wait; nanoseconds::max() means no deadline.
  /// \param n       permits wanted, at most kMaxPermits.
  /// \param st      cancels the wait when stopped.
  /// \throws std::length_error when n > kMaxPermits.
  static OwnedAcquireAwaiter acquire_owned_for(std::shared_ptr<Semaphore> self,
                                               std::chrono::nanoseconds timeout, std::size_t n = 1,
                                               std::stop_token st = {});
  /// try_acquire() that yields an OwnedAcquireResult; `self` must not be null.
  static OwnedAcquireResult try_acquire_owned(const std::shared_ptr<Semaphore>& self,
                                              std::size_t n = 1) noexcept;

  /// Returns `n` permits (taken by Permit::detach(), say); queued waiters are
  /// served first, in FIFO order, and woken after the queue lock is dropped
  /// (a woken task resumes later, on its own loop). Permits beyond those out
  /// are new and grow max(). release(0) does nothing. Works on a closed
  /// semaphore too. Lock-free when nobody waits and the permits fit under
  /// max(); otherwise takes the queue lock once, O(waiters it completes).
  /// \throws std::length_error, changing nothing, if max() would pass
  ///         kMaxPermits.
  void release(std::size_t n = 1);
  /// Grows the semaphore by `n` permits: max() rises by n and the permits are
  /// released (queued waiters are served first). Does not reopen a closed
  /// semaphore.
  /// \throws std::length_error, changing nothing, if max() would pass
  ///         kMaxPermits.
  void add_permits(std::size_t n);
  /// Removes up to `n` free permits for good (max() shrinks by as many) and
  /// returns how many it removed; 0 while waiters are queued, since the free
  /// count is then 0. Takes the queue lock; O(1).
  std::size_t forget_permits(std::size_t n) noexcept;
  /// Wakes every waiter with `closed` and marks the semaphore closed for
  /// good: later acquires and try_acquires return closed. Permits already
  /// handed to queued waiters go back to the free count; Permits held
  /// elsewhere can still be released. Idempotent; O(waiters).
  void close() noexcept;

  /// True once close() has been called (an acquire load).
  bool is_closed() const noexcept { return state_.load(std::memory_order_acquire) & kClosed; }
  /// Free permits right now: 0 whenever anyone is queued. A snapshot.
  std::size_t available() const noexcept { return state_.load(std::memory_order_acquire) >> kShift; }
  /// Every permit the semaphore has (free, handed to waiters, and out). A
  /// snapshot.
  std::size_t max() const noexcept { return max_.load(std::memory_order_acquire); }
  /// Permits held by Permits (max minus free minus those already handed to
  /// waiters that are still queued for more). A snapshot for statistics: it
  /// reads three counters separately, so under concurrent change it can be
  /// off for a moment.
  std::size_t in_use() const noexcept;
  /// How many tasks and threads are queued. A snapshot for statistics (a
  /// relaxed load); it orders nothing.
  std::size_t waiters() const noexcept { return queue_.size(); }
  /// The hand-off order it was constructed with.
  HandOff hand_off() const noexcept { return queue_.local_hand_off() ? HandOff::loop_local : HandOff::fifo; }

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
  // the free count. `here`: the loop returning them, when a waiter of that
  // loop may go first (HandOff::loop_local), else null (strict FIFO).
  void hand_out_locked(std::size_t n, detail::WakeBatch& batch, const Loop* here = nullptr) noexcept;
  void forget_held(std::size_t n) noexcept;
  // Under the queue lock, the only writer of reserved_: a plain load and
  // store, no locked add (readers outside the lock take a snapshot). Most
  // contended waits and hand-offs reserve nothing, and then nothing is written.
  void reserve_locked(std::size_t n) noexcept {
    if (n) reserved_.store(reserved_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void unreserve_locked(std::size_t n) noexcept {
    if (n) reserved_.store(reserved_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  void shrink_max_locked(std::size_t n) noexcept;

  bool remove_waiter(detail::WaiterNode& n, WaitStatus why) noexcept override;
  void abandon_waiter(detail::WaiterNode& n) noexcept override;

  std::atomic<std::size_t> state_;  // free << 2 | kWaiters | kClosed
  std::atomic<std::size_t> max_;
  std::atomic<std::size_t> reserved_{0};  // handed to queued waiters (lock held to write)
  detail::WaiterQueue queue_;
};

/// The awaiter behind acquire(), acquire_for() and acquire_until(): the C++
/// coroutine protocol, called by `co_await`, not by hand.
///
/// [[nodiscard]]: an awaiter that is not co_awaited never waits. Its result
/// is [[nodiscard]] too; note that g++ 12 does not diagnose a discarded
/// co_await result (clang does), only a discarded call. Await it once, on
/// the thread running the awaiting task's loop.
class [[nodiscard]] LIBSYNC_API Semaphore::AcquireAwaiter {
 public:
  /// A wait for `n` permits of `s`, until `deadline` if given, cancelled by
  /// `st`. Prefer Semaphore::acquire* to calling this directly.
  /// \throws std::length_error when n > kMaxPermits.
  AcquireAwaiter(Semaphore& s, std::size_t n, std::optional<Clock::time_point> deadline, std::stop_token st)
      : sem_(s), n_(n), deadline_(deadline), stop_(std::move(st)) {
    if (n > kMaxPermits)
      throw_too_many("libsync: Semaphore::acquire asked for more than kMaxPermits permits");
  }

  /// Takes the permits without suspending when they are free and nobody
  /// waits (or finds the semaphore closed, or the token stopped): true
  /// then. Lock-free.
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
  /// Under the queue lock, takes what is free and queues for the rest;
  /// returns false (do not suspend) if that already settled the wait, else
  /// arms the deadline and stop token and returns true.
  /// \throws std::logic_error when the awaiting coroutine is not running on
  ///         a Loop; std::bad_alloc if a timed wait cannot grow the loop's
  ///         timer heap. Nothing is queued then.
  bool await_suspend(std::coroutine_handle<> h);
  /// The outcome: acquired with a Permit of `n` permits, or the status
  /// that ended the wait with an empty Permit.
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

// The factories are inline so that an uncontended `co_await acquire()`
// compiles to the state-word CAS with no call in front of it.
inline Semaphore::AcquireAwaiter Semaphore::acquire(std::size_t n, std::stop_token st) {
  return AcquireAwaiter(*this, n, std::nullopt, std::move(st));
}
inline Semaphore::AcquireAwaiter Semaphore::acquire_for(std::chrono::nanoseconds d, std::size_t n,
                                                        std::stop_token st) {
  return AcquireAwaiter(*this, n, deadline_after(d), std::move(st));
}
inline Semaphore::AcquireAwaiter Semaphore::acquire_until(Clock::time_point tp, std::size_t n,
                                                          std::stop_token st) {
  return AcquireAwaiter(*this, n, tp, std::move(st));
}

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
  if (!release_slow(n))
    throw_too_many("libsync: Semaphore::release would take the semaphore past kMaxPermits");
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

/// The awaiter behind acquire_owned() and acquire_owned_for(): an
/// AcquireAwaiter that holds a reference to the semaphore for the whole
/// wait and hands it on to the OwnedPermit. Called by `co_await`, not by hand.
class [[nodiscard]] LIBSYNC_API Semaphore::OwnedAcquireAwaiter {
 public:
  /// A wait for `n` permits of `*s` (which must not be null), cancelled by
  /// `st`, until `deadline` if given.
  /// \throws std::length_error when n > kMaxPermits.
  OwnedAcquireAwaiter(std::shared_ptr<Semaphore> s, std::size_t n, std::stop_token st,
                      std::optional<Clock::time_point> deadline = std::nullopt)
      : sem_(std::move(s)), inner_(*sem_, n, deadline, std::move(st)) {}
  /// As AcquireAwaiter::await_ready().
  bool await_ready() noexcept { return inner_.await_ready(); }
  /// As AcquireAwaiter::await_suspend(), with the same exceptions.
  bool await_suspend(std::coroutine_handle<> h) { return inner_.await_suspend(h); }
  /// The outcome, as AcquireAwaiter::await_resume(), with the permit bound
  /// to the shared semaphore.
  [[nodiscard]] OwnedAcquireResult await_resume() noexcept {
    auto r = inner_.await_resume();
    return {r.status, OwnedPermit(sem_, std::move(r.permit))};
  }

 private:
  std::shared_ptr<Semaphore> sem_;
  AcquireAwaiter inner_;
};

}  // namespace libsync
