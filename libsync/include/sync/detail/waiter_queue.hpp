// The waiter queue every primitive is built on. Not part of the public API:
// the primitives' headers need it for their inline awaiters.
//
// A `WaiterNode` is one waiting party: a task suspended on a loop, or a plain
// thread blocked in a blocking variant. It lives inside the awaiter (so in the
// coroutine frame) or on the blocked thread's stack: waiting never allocates.
//
// A `WaiterQueue` is an intrusive FIFO of nodes guarded by a lock that spins
// briefly before it sleeps (queue_lock.hpp). A
// primitive checks its condition and enqueues under that one lock, and its
// wakers take nodes off under the same lock, so a waiter is either satisfied
// at once or visibly queued before any waker looks: no wake can fall between
// the check and the enqueue.
//
// Completing a node (under the lock) and *delivering* the wake (after the
// lock is dropped) are separate steps. Delivery depends on how the waiter
// sleeps, which is its loop's tier (or a futex / WaitOnAddress park for a
// plain thread), and is dispatched in one place: `deliver_wake()`. Delivery
// never resumes a task on the waker's stack; the task always resumes from its
// own loop.
//
// Node lifecycle, and who may touch which field when:
//   - links (`prev`, `next`, `queued`): only under the queue lock.
//   - `status`, `granted`: written under the lock by whoever completes the
//     node (a waker, a timeout, a cancellation); read by the waiter after its
//     wake was delivered (the delivery carries release/acquire ordering).
//   - `word`: the waiter's sleep word. kWaiting until delivery, kWoken when
//     the waker is done with the node. A tier may use kArmed in between (on
//     iocp: the loop sleeps in its port and a waker must post a packet). A plain
//     thread sleeps on it with a futex wait / WaitOnAddress.
//     After a waker on another thread has stored kWoken it never
//     dereferences the node again; at most it futex-wakes the word's
//     address, which is harmless if the memory was reused. (A waker on the
//     waiter's own loop thread may use the node until it returns: the task
//     cannot resume before then.)
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <sync/detail/queue_lock.hpp>
#include <sync/export.hpp>
#include <sync/wait_status.hpp>

namespace libsync {

class Loop;

namespace detail {

inline constexpr std::uint32_t kWordWaiting = 0;
inline constexpr std::uint32_t kWordArmed = 1;
inline constexpr std::uint32_t kWordWoken = 2;

class Waitable;

struct LIBSYNC_API WaiterNode {
  // Queue links; guarded by the owning queue's lock.
  WaiterNode* prev = nullptr;
  WaiterNode* next = nullptr;
  bool queued = false;

  // Outcome; written under the lock by whoever completes the node.
  WaitStatus status = WaitStatus::acquired;
  std::size_t need = 1;     // semaphore: permits asked for
  std::size_t granted = 0;  // semaphore: permits handed over so far

  // The sleeper. `loop == nullptr` means a plain thread parked on `word`.
  Loop* loop = nullptr;
  std::coroutine_handle<> handle;
  Waitable* owner = nullptr;

  alignas(4) std::atomic<std::uint32_t> word{kWordWaiting};

  // Owned by the waiter loop's tier, which alone gives it a meaning; only
  // that loop's thread touches it, and everything else leaves it alone. Zero
  // when the node is made.
  std::uint32_t tier_state = 0;
};

// The primitive side of a queued node, used by timeouts, cancellation and
// frame destruction, which all start from the node alone.
class LIBSYNC_API Waitable {
 public:
  // If `n` is still queued: unlink it, give back what it was granted, record
  // `why`, and return true (the caller then delivers the wake, or not, if the
  // waiter is being destroyed). False when a waker completed it first.
  virtual bool remove_waiter(WaiterNode& n, WaitStatus why) noexcept = 0;
  // `n` was completed as acquired, but its waiter went away before taking
  // the result: give back whatever the completion handed it.
  virtual void abandon_waiter(WaiterNode& n) noexcept = 0;

 protected:
  ~Waitable() = default;
};

class LIBSYNC_API WaiterQueue {
 public:
  WaiterQueue() = default;
  WaiterQueue(const WaiterQueue&) = delete;
  WaiterQueue& operator=(const WaiterQueue&) = delete;

  QueueLock& mutex() noexcept { return mu_; }

  // All of these require the lock.
  void push_back(WaiterNode& n) noexcept;
  void erase(WaiterNode& n) noexcept;
  WaiterNode* front() const noexcept { return head_; }
  WaiterNode* pop_front() noexcept;
  bool empty() const noexcept { return head_ == nullptr; }

  // Loop-local hand-off, for an owner that allows it (HandOff::loop_local);
  // set before the queue is shared, never cleared.
  static constexpr unsigned kLocalScan = 32;    // nodes behind the head that pick() looks at
  static constexpr unsigned kMaxPassOver = 32;  // times the head may be passed over
  void allow_local_hand_off() noexcept { local_ = true; }
  bool local_hand_off() const noexcept { return local_; }
  // Requires the lock. The node a hand-off made on loop `here` should go to:
  // the head, except when local hand-off is allowed, `here` is a loop, the
  // head waits elsewhere (another loop or a plain thread) and has been
  // passed over fewer than kMaxPassOver times. Then it is the earliest of the
  // kLocalScan nodes behind the head that waits on `here` and that `fits`
  // accepts, if there is one, and the head counts one more pass. The count
  // restarts when the head leaves the queue, so a node that reaches the head
  // is picked within kMaxPassOver + 1 hand-offs and nobody starves. Nodes of
  // one loop keep their FIFO order among themselves.
  template <class Fits>
  WaiterNode* pick(const Loop* here, Fits&& fits) noexcept {
    WaiterNode* h = head_;
    if (!h || !local_ || !here || h->loop == here || passed_ >= kMaxPassOver) return h;
    WaiterNode* c = h->next;
    for (unsigned k = 0; c && k < kLocalScan; ++k, c = c->next)
      if (c->loop == here && fits(*c)) {
        ++passed_;
        return c;
      }
    return h;
  }

  // Lock-free snapshot for statistics.
  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }

 private:
  QueueLock mu_;
  // In the lock word's padding, so a queue stays 32 bytes.
  bool local_ = false;
  std::uint16_t passed_ = 0;  // passes of the current head (lock held)
  WaiterNode* head_ = nullptr;
  WaiterNode* tail_ = nullptr;
  std::atomic<std::size_t> size_{0};
};

// A singly linked batch of completed nodes, collected under a queue lock and
// delivered after it is dropped (reuses the nodes' `next` links).
class LIBSYNC_API WakeBatch {
 public:
  void add(WaiterNode& n) noexcept {
    n.next = nullptr;
    if (tail_)
      tail_->next = &n;
    else
      head_ = &n;
    tail_ = &n;
  }
  // Delivers every node; call without holding the queue lock.
  void deliver() noexcept;
  bool empty() const noexcept { return head_ == nullptr; }

 private:
  WaiterNode* head_ = nullptr;
  WaiterNode* tail_ = nullptr;
};

// Delivers the wake of a completed node to wherever its waiter sleeps.
LIBSYNC_API void deliver_wake(WaiterNode& n) noexcept;

}  // namespace detail
}  // namespace libsync
