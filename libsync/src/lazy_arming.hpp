// LazyArming: the pending list of the tiers whose sleeping waiters need the
// kernel to wake them (uring-futex, iocp).
//
// A suspending node starts at kWordWaiting on its loop's pending list. Only
// when the loop is about to block is each pending node CASed to kWordArmed
// and handed to the tier's `arm` (submit a FUTEX_WAIT, mark it as owed a
// packet). A waker exchanges the word to kWordWoken and goes to the kernel
// only if it saw kWordArmed. The CAS and the exchange serialize on the word,
// so either the loop armed first and the waker wakes it through the kernel,
// or the waker came first and the loop, finding kWordWoken here, does not
// block. Until then a busy loop picks woken nodes off the list in poll().
#pragma once

#include "loop_counters.hpp"

#include <sync/loop.hpp>
#include <sync/waiter_queue.hpp>

#include <algorithm>
#include <vector>

namespace libsync::detail {

class LazyArming {
 public:
  explicit LazyArming(Loop& loop) : loop_(loop) { pending_.reserve(16); }

  // on_suspend. If the list cannot grow, arms (or schedules) `n` at once.
  template <class Arm>
  void add(WaiterNode& n, Arm&& arm) noexcept {
    try {
      pending_.push_back(&n);
    } catch (...) {
      arm_one(n, arm);
    }
  }

  // Every iteration: schedule the pending nodes already woken.
  void poll() noexcept {
    if (pending_.empty()) return;
    auto woken = [this](WaiterNode* n) {
      if (n->word.load(std::memory_order_acquire) != kWordWoken) return false;
      loop_.schedule(n->handle);
      return true;
    };
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(), woken), pending_.end());
  }

  // Before blocking: arm every pending node. Returns false when one had
  // been woken meanwhile (it is scheduled, so the loop must not block).
  template <class Arm>
  bool arm_all(Arm&& arm) noexcept {
    bool all_armed = true;
    for (WaiterNode* n : pending_) all_armed &= arm_one(*n, arm);
    pending_.clear();
    return all_armed;
  }

  // Arms `n`, or schedules it if a waker got there first. True when armed.
  template <class Arm>
  bool arm_one(WaiterNode& n, Arm&& arm) noexcept {
    std::uint32_t expected = kWordWaiting;
    if (n.word.compare_exchange_strong(expected, kWordArmed, std::memory_order_acq_rel)) {
      arm(n);
      return true;
    }
    loop_.schedule(n.handle);
    return false;
  }

  // The node's frame is going away: drop it if still pending. True if it was
  // (then it was never armed).
  bool remove(WaiterNode& n) noexcept {
    auto it = std::find(pending_.begin(), pending_.end(), &n);
    if (it == pending_.end()) return false;
    pending_.erase(it);
    return true;
  }

 private:
  Loop& loop_;
  std::vector<WaiterNode*> pending_;  // suspended since the loop last slept; not armed
};

}  // namespace libsync::detail
