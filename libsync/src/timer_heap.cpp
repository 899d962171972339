#include "timer_heap.hpp"

#include <utility>

namespace libsync::detail {

void TimerHeap::sift_up(std::size_t i) noexcept {
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (heap_[parent]->deadline <= heap_[i]->deadline) break;
    std::swap(heap_[parent], heap_[i]);
    heap_[parent]->heap_index = parent;
    heap_[i]->heap_index = i;
    i = parent;
  }
}

void TimerHeap::sift_down(std::size_t i) noexcept {
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && heap_[l]->deadline < heap_[m]->deadline) m = l;
    if (r < n && heap_[r]->deadline < heap_[m]->deadline) m = r;
    if (m == i) break;
    std::swap(heap_[m], heap_[i]);
    heap_[m]->heap_index = m;
    heap_[i]->heap_index = i;
    i = m;
  }
}

// The push first: if it throws, `t` is left unarmed, so cancelling it (as
// its awaiter's destructor does) leaves the heap alone.
void TimerHeap::add(TimerNode& t) {
  heap_.push_back(&t);
  t.heap_index = heap_.size() - 1;
  sift_up(t.heap_index);
}

void TimerHeap::cancel(TimerNode& t) noexcept {
  if (!t.armed()) return;
  std::size_t i = t.heap_index;
  t.heap_index = static_cast<std::size_t>(-1);
  TimerNode* last = heap_.back();
  heap_.pop_back();
  if (last == &t) return;
  heap_[i] = last;
  last->heap_index = i;
  sift_down(i);
  sift_up(i);
}

void TimerHeap::fire_due(Clock::time_point now) {
  while (!heap_.empty() && heap_.front()->deadline <= now) {
    TimerNode* t = heap_.front();
    cancel(*t);
    t->fire(*t);
  }
}

std::optional<std::chrono::nanoseconds> TimerHeap::next_timeout(Clock::time_point now) const {
  if (heap_.empty()) return std::nullopt;
  auto d = heap_.front()->deadline - now;
  if (d < std::chrono::nanoseconds::zero()) return std::chrono::nanoseconds::zero();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d);
}

}  // namespace libsync::detail
