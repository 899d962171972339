// A loop's timers: a binary min-heap on deadline of intrusive TimerNodes,
// each of which knows its index, so cancelling one is O(log n) without a
// search. Loop thread only.
#pragma once

#include <chrono>
#include <optional>
#include <sync/detail/timer_node.hpp>
#include <vector>

namespace libsync::detail {

class TimerHeap {
 public:
  using Clock = std::chrono::steady_clock;

  bool empty() const noexcept { return heap_.empty(); }
  // Makes the next add() unable to fail (it is then a push into reserved
  // space): waits reserve before they enqueue themselves. Grows
  // geometrically, so a stream of timed waits costs amortised O(1) here.
  void reserve() {
    if (heap_.size() == heap_.capacity()) heap_.reserve(heap_.empty() ? 16 : 2 * heap_.size());
  }
  void add(TimerNode& t);
  // Does nothing for a timer that is not armed (already fired or cancelled).
  void cancel(TimerNode& t) noexcept;
  // Fires, in deadline order, every timer due at `now`; each is disarmed
  // before its callback runs, and a callback may add or cancel timers.
  void fire_due(Clock::time_point now);
  // How long until the earliest deadline (zero if it passed); nullopt when
  // there is no timer.
  std::optional<std::chrono::nanoseconds> next_timeout(Clock::time_point now) const;

 private:
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  std::vector<TimerNode*> heap_;
};

}  // namespace libsync::detail
