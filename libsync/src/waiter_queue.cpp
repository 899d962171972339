// WaiterQueue list operations and the single dispatch point for wakes.
#include <sync/detail/waiter_queue.hpp>
#include <sync/loop.hpp>

#include "loop_core.hpp"
#include "parker.hpp"
#include "wake_path.hpp"

namespace libsync {

std::string_view to_string(WaitStatus s) noexcept {
  switch (s) {
    case WaitStatus::acquired:
      return "acquired";
    case WaitStatus::timed_out:
      return "timed_out";
    case WaitStatus::cancelled:
      return "cancelled";
    case WaitStatus::closed:
      return "closed";
    case WaitStatus::would_block:
      return "would_block";
  }
  return "unknown";
}

namespace detail {

void WaiterQueue::push_back(WaiterNode& n) noexcept {
  n.next = nullptr;
  n.prev = tail_;
  if (tail_)
    tail_->next = &n;
  else
    head_ = &n;
  tail_ = &n;
  n.queued = true;
  size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// The head's `prev` is left stale: taking the head, the common case, then
// writes only the queue and the node itself, not the node behind it (which
// lives in some other task's frame, often on another CPU's cache). Every
// other node's `prev` is exact: nothing is ever linked in front of the head,
// and unlinking a node that is not the head fixes its successor's `prev`.
void WaiterQueue::erase(WaiterNode& n) noexcept {
  if (&n == head_) {
    head_ = n.next;
    passed_ = 0;
    if (!n.next) tail_ = nullptr;
  } else {
    n.prev->next = n.next;
    if (n.next)
      n.next->prev = n.prev;
    else
      tail_ = n.prev;
  }
  n.prev = n.next = nullptr;
  n.queued = false;
  size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

WaiterNode* WaiterQueue::pop_front() noexcept {
  WaiterNode* n = head_;
  if (n) erase(*n);
  return n;
}

// Consecutive nodes bound for the same other loop go in one run: one lock of
// that loop's remote queue and at most one wake of it for the lot, so a
// release(n) or notify_all costs O(1) kernel wakes per target loop.
void WakeBatch::deliver() noexcept {
  WaiterNode* n = head_;
  head_ = tail_ = nullptr;
  Loop* const here = Loop::current();
  while (n) {
    Loop* target = n->loop;
    if (target && target != here) {
      WaiterNode* last = n;
      std::size_t count = 1;
      while (last->next && last->next->loop == target) {
        last = last->next;
        ++count;
      }
      WaiterNode* after = last->next;  // read first: delivery may end the nodes' lives
      detail::core(*target).wake_path().deliver_run(*n, count);
      n = after;
      continue;
    }
    WaiterNode* next = n->next;  // read first: delivery may end the node's life
    deliver_wake(*n);
    n = next;
  }
}

void deliver_wake(WaiterNode& n) noexcept {
  if (n.loop) {
    detail::core(*n.loop).wake_path().deliver(n);
    return;
  }
  // A plain thread: publish, then wake by address only (the thread may return
  // and reuse its stack as soon as it sees kWordWoken).
  n.word.store(kWordWoken, std::memory_order_release);
  unpark_all(n.word);
}

}  // namespace detail
}  // namespace libsync
