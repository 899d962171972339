// Semaphore: the state word, the queue discipline and the awaiters.
//
// state_ = free << 2 | kWaiters | kClosed.
//
// Invariant (with the queue lock held): kWaiters is set exactly when the
// queue is non-empty, and then free == 0. Everything that queues, dequeues or
// hands permits to waiters holds the lock; the lock-free fast paths only run
// while kWaiters is clear, so they can neither barge past a queued waiter nor
// add permits that a queued waiter would then never see.
//
// max_ = free + reserved_ + permits out. Only the constructor, add_permits,
// a release of more than is out, and the two forgets change it; each is
// checked against kMaxPermits before anything is stored. Everything but
// add_permits does so under the queue lock, which is what lets a release
// tell returned permits from new ones: the lock-free fast path only takes a
// release that fits under max_, and leaves the rest to release_slow.
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <sync/semaphore.hpp>

namespace libsync {

// The hot fields fit one cache line (see the class comment); a new member
// that pushes the object past it should be a deliberate choice.
static_assert(sizeof(void*) != 8 || sizeof(Semaphore) == 64, "Semaphore no longer fits one cache line");

// ---- Permit ----

Permit& Permit::operator=(Permit&& o) noexcept {
  if (this != &o) {
    release();
    sem_ = o.sem_;
    n_ = o.n_;
    o.sem_ = nullptr;
    o.n_ = 0;
  }
  return *this;
}

void Permit::forget() noexcept {
  if (sem_ && n_) sem_->forget_held(n_);
  sem_ = nullptr;
  n_ = 0;
}

std::size_t Permit::detach() noexcept {
  std::size_t n = n_;
  sem_ = nullptr;
  n_ = 0;
  return n;
}

Permit Permit::split(std::size_t k) {
  if (k > n_) throw std::out_of_range("libsync: Permit::split asked for more permits than it holds");
  if (k == 0) return Permit();
  n_ -= k;
  Permit p(*sem_, k);
  if (n_ == 0) sem_ = nullptr;
  return p;
}

// ---- Semaphore ----

// Out of line, as before HandOff existed: binaries built against the older
// header call it.
Semaphore::Semaphore(std::size_t permits) : Semaphore(permits, HandOff::fifo) {}

Semaphore::Semaphore(std::size_t permits, HandOff order) : state_(0), max_(permits) {
  if (permits > kMaxPermits)
    throw_too_many("libsync: Semaphore constructed with more than kMaxPermits permits");
  state_.store(permits << kShift, std::memory_order_relaxed);
  if (order == HandOff::loop_local) queue_.allow_local_hand_off();
}

void Semaphore::throw_too_many(const char* what) {
  throw std::length_error(what);
}

void Semaphore::die_past_bound(std::size_t n) noexcept {
  std::fprintf(stderr,
               "libsync: returning %zu permit(s) would take a Semaphore past kMaxPermits; an earlier "
               "release() returned permits that were still out\n",
               n);
  std::abort();
}

Semaphore::~Semaphore() {
#ifndef NDEBUG
  // A Permit that outlives its semaphore would release into freed memory.
  std::size_t held = in_use();
  if (held != 0 || waiters() != 0) {
    std::fprintf(stderr,
                 "libsync: Semaphore destroyed with %zu permit(s) still held and %zu waiter(s); "
                 "a Permit must not outlive its Semaphore (use acquire_owned)\n",
                 held, waiters());
    std::abort();
  }
#endif
  // Whoever saw the semaphore closed (is_closed() true, which the header
  // orders after the close) may destroy it at once, but close() sets the
  // flag under the queue lock and drops the lock afterwards. Taking the
  // lock once waits that call out; after its unlock it touches only the
  // nodes it woke and the lock word's address.
  std::lock_guard lk(queue_.mutex());
}

std::size_t Semaphore::in_use() const noexcept {
  std::size_t m = max_.load(std::memory_order_acquire);
  std::size_t free = available();
  std::size_t reserved = reserved_.load(std::memory_order_acquire);
  std::size_t not_held = free + reserved;
  return m > not_held ? m - not_held : 0;
}

OwnedAcquireResult Semaphore::try_acquire_owned(const std::shared_ptr<Semaphore>& self,
                                                std::size_t n) noexcept {
  auto r = self->try_acquire(n);
  return {r.status, OwnedPermit(self, std::move(r.permit))};
}

bool Semaphore::release_slow(std::size_t n) noexcept {
  if (n > kMaxPermits) return false;
  // Under HandOff::loop_local a waiter of the returning task's own loop may
  // be served before the head, if its whole request fits (WaiterQueue::pick).
  const Loop* const here = queue_.local_hand_off() ? Loop::current() : nullptr;
  detail::WakeBatch batch;
  std::size_t grown = 0;  // what this call has added to max_ so far
  for (;;) {
    std::size_t s;
    {
      std::lock_guard lk(queue_.mutex());
      s = state_.load(std::memory_order_acquire);
      std::size_t m = max_.load(std::memory_order_acquire);
      for (;;) {
        // reserved_ is exact under the lock; both terms are <= kMaxPermits.
        std::size_t counted = (s >> kShift) + reserved_.load(std::memory_order_relaxed);
        if (counted > kMaxPermits || n > kMaxPermits - counted) {
          if (grown) max_.fetch_sub(grown, std::memory_order_acq_rel);
          return false;
        }
        std::size_t excess = counted + n > m ? counted + n - m : 0;  // permits beyond those out
        if (excess == 0) break;
        // max_ first, the permits after: until they are visible they count
        // as out. max_ may move meanwhile (add_permits), hence the CAS; the
        // cap only matters if one raced with this release.
        const std::size_t next = std::min(m + excess, kMaxPermits);
        if (max_.compare_exchange_weak(m, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
          grown += next - m;
          m = next;
        }
      }
      if (s & kWaiters) {
        // The free count is 0 and only lock holders change the state word
        // now. The waiters are handed the permits here and woken after the
        // lock is dropped.
        hand_out_locked(n, batch, here);
        break;
      }
    }
    // Nobody waited. The permits are published only now, with the lock
    // dropped: whoever takes them may destroy the semaphore at once (a
    // Semaphore(0) used as a one-shot signal), so this CAS is this call's
    // last access to it. If the word moved meanwhile, decide again under the
    // lock: a second pass finds max_ already grown by this call's excess.
    if (state_.compare_exchange_strong(s, s + (n << kShift), std::memory_order_acq_rel,
                                       std::memory_order_relaxed))
      return true;
  }
  batch.deliver();
  return true;
}

void Semaphore::hand_out_locked(std::size_t n, detail::WakeBatch& batch, const Loop* here) noexcept {
  while (n != 0) {
    detail::WaiterNode* w =
        queue_.pick(here, [n](const detail::WaiterNode& c) { return c.need - c.granted <= n; });
    if (!w) break;
    std::size_t give = std::min(n, w->need - w->granted);
    w->granted += give;
    n -= give;
    if (w->granted == w->need) {
      queue_.erase(*w);
      unreserve_locked(w->need - give);
      w->status = WaitStatus::acquired;
      batch.add(*w);
    } else {
      reserve_locked(give);
    }
  }
  // What is left goes to the free count; the waiters flag follows the queue.
  std::size_t s = state_.load(std::memory_order_relaxed);
  const bool waiting = !queue_.empty();
  // Nothing left over and the flag already right (a waiter that timed out
  // or was cancelled with others still queued): the word stays as it is.
  // Only lock holders change it while the flag is set, so this cannot miss.
  if (n == 0 && waiting && (s & kWaiters)) return;
  for (;;) {
    std::size_t ns = s + (n << kShift);
    ns = waiting ? (ns | kWaiters) : (ns & ~kWaiters);
    if (state_.compare_exchange_weak(s, ns, std::memory_order_acq_rel, std::memory_order_relaxed)) break;
  }
}

Semaphore::Enqueue Semaphore::take_or_enqueue(detail::WaiterNode& node) noexcept {
  std::size_t s = state_.load(std::memory_order_relaxed);
  std::size_t take;
  for (;;) {
    if (s & kClosed) {
      node.status = WaitStatus::closed;
      return Enqueue::done;
    }
    take = std::min(s >> kShift, node.need);
    std::size_t ns = s - (take << kShift);
    if (take < node.need) ns |= kWaiters;
    if (state_.compare_exchange_weak(s, ns, std::memory_order_acq_rel, std::memory_order_relaxed)) break;
  }
  node.granted = take;
  if (take == node.need) {
    node.status = WaitStatus::acquired;
    return Enqueue::done;
  }
  reserve_locked(take);
  queue_.push_back(node);
  return Enqueue::queued;
}

bool Semaphore::remove_waiter(detail::WaiterNode& node, WaitStatus why) noexcept {
  detail::WakeBatch batch;
  {
    std::lock_guard lk(queue_.mutex());
    if (!node.queued) return false;
    queue_.erase(node);
    std::size_t back = node.granted;
    node.granted = 0;
    node.status = why;
    unreserve_locked(back);
    // Whatever it had been handed goes to the next in line (or back to free);
    // this also clears kWaiters if the queue is now empty.
    hand_out_locked(back, batch);
  }
  batch.deliver();
  return true;
}

void Semaphore::abandon_waiter(detail::WaiterNode& node) noexcept {
  if (node.status == WaitStatus::acquired && node.granted != 0) {
    std::size_t n = node.granted;
    node.granted = 0;
    give_back(n);
  }
}

void Semaphore::add_permits(std::size_t n) {
  if (n == 0) return;
  // max_ first, so the release below finds the permits already counted.
  std::size_t m = max_.load(std::memory_order_relaxed);
  do {
    if (n > kMaxPermits - std::min(m, kMaxPermits))
      throw_too_many("libsync: Semaphore::add_permits would take the semaphore past kMaxPermits");
  } while (!max_.compare_exchange_weak(m, m + n, std::memory_order_acq_rel, std::memory_order_relaxed));
  give_back(n);
}

std::size_t Semaphore::forget_permits(std::size_t n) noexcept {
  std::lock_guard lk(queue_.mutex());  // in step with release_slow's count of max_
  std::size_t s = state_.load(std::memory_order_relaxed);
  std::size_t take;
  do {
    take = std::min(s >> kShift, n);
    if (take == 0) return 0;
  } while (!state_.compare_exchange_weak(s, s - (take << kShift), std::memory_order_acq_rel,
                                         std::memory_order_relaxed));
  shrink_max_locked(take);
  return take;
}

void Semaphore::forget_held(std::size_t n) noexcept {
  std::lock_guard lk(queue_.mutex());
  shrink_max_locked(n);
}

void Semaphore::shrink_max_locked(std::size_t n) noexcept {
  // max_ never drops below the permits it visibly counts (free and handed
  // to waiters). It would only if a release had earlier been counted as
  // returning the very permits now forgotten; that release then added
  // permits, and max_ keeps them.
  std::size_t m = max_.load(std::memory_order_relaxed);
  std::size_t next;
  do {
    std::size_t floor = available() + reserved_.load(std::memory_order_relaxed);
    next = std::max(m - std::min(m, n), floor);
  } while (!max_.compare_exchange_weak(m, next, std::memory_order_acq_rel, std::memory_order_relaxed));
}

void Semaphore::close() noexcept {
  detail::WakeBatch batch;
  {
    std::lock_guard lk(queue_.mutex());
    std::size_t returned = 0;
    while (detail::WaiterNode* w = queue_.pop_front()) {
      returned += w->granted;
      w->granted = 0;
      w->status = WaitStatus::closed;
      batch.add(*w);
    }
    unreserve_locked(returned);
    std::size_t s = state_.load(std::memory_order_relaxed);
    while (!state_.compare_exchange_weak(s, ((s + (returned << kShift)) | kClosed) & ~kWaiters,
                                         std::memory_order_acq_rel, std::memory_order_relaxed)) {
    }
  }
  batch.deliver();
}

// ---- waiting ----

Semaphore::OwnedAcquireAwaiter Semaphore::acquire_owned(std::shared_ptr<Semaphore> self, std::size_t n,
                                                        std::stop_token st) {
  return OwnedAcquireAwaiter(std::move(self), n, std::move(st));
}
Semaphore::OwnedAcquireAwaiter Semaphore::acquire_owned_for(std::shared_ptr<Semaphore> self,
                                                            std::chrono::nanoseconds d, std::size_t n,
                                                            std::stop_token st) {
  return OwnedAcquireAwaiter(std::move(self), n, std::move(st), deadline_after(d));
}

bool Semaphore::AcquireAwaiter::await_suspend(std::coroutine_handle<> h) {
  wait_.emplace(static_cast<detail::Waitable&>(sem_), deadline_, std::move(stop_));
  detail::AsyncWait& w = *wait_;
  w.bind(h);
  w.node.need = n_;
  {
    std::lock_guard lk(sem_.queue_.mutex());
    if (sem_.take_or_enqueue(w.node) == Enqueue::done) {
      early_ = w.node.status;
      return false;
    }
  }
  w.arm();
  return true;
}

AcquireResult Semaphore::acquire_blocking(std::size_t n, std::stop_token st) {
  return acquire_blocking_for(std::chrono::nanoseconds::max(), n, std::move(st));
}

AcquireResult Semaphore::acquire_blocking_for(std::chrono::nanoseconds d, std::size_t n, std::stop_token st) {
  if (n > kMaxPermits)
    throw_too_many("libsync: Semaphore::acquire_blocking asked for more than kMaxPermits permits");
  auto r = try_acquire(n);
  if (r.status != WaitStatus::would_block) return r;
  if (st.stop_requested()) return {WaitStatus::cancelled, Permit()};
  std::optional<Clock::time_point> deadline;
  if (d != std::chrono::nanoseconds::max()) deadline = deadline_after(d);
  detail::WaiterNode node;
  node.owner = this;
  node.need = n;
  {
    std::lock_guard lk(queue_.mutex());
    if (take_or_enqueue(node) == Enqueue::done)
      return {node.status, node.status == WaitStatus::acquired ? Permit(*this, n) : Permit()};
  }
  WaitStatus s = detail::block_until_woken(*this, node, deadline, st);
  return {s, s == WaitStatus::acquired ? Permit(*this, n) : Permit()};
}

}  // namespace libsync
