// LazyArming: the iocp tier's pending list. A waiter on an iocp loop that
// sleeps in its port needs a completion packet to wake; lazy arming makes
// sure a packet is only ever posted for a loop that is really asleep.
//
// A suspending node starts at kWordWaiting on its loop's pending list. Only
// when the loop is about to block is each pending node CASed to kWordArmed
// and handed to the tier's `arm` (submit a FUTEX_WAIT, mark it as owed a
// packet). A waker exchanges the word to kWordWoken and goes to the kernel
// only if it saw kWordArmed. The CAS and the exchange serialize on the word,
// so either the loop armed first and the waker wakes it through the kernel,
// or the waker came first and the loop, finding kWordWoken here, does not
// block. Until then a busy loop picks woken nodes off the list in poll().
//
// Nodes are removed in O(1) when their frames die (a loop torn down with
// 100 000 pending waiters forgets each one): the node has no field for its
// place in the list, so a side table maps node addresses to positions.
// Removal leaves a hole rather than moving another node into it, so the
// list keeps suspension order; poll() and arm_all() skip and close the holes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <sync/detail/waiter_queue.hpp>
#include <sync/loop.hpp>
#include <vector>

#include "loop_core.hpp"
#include "loop_counters.hpp"

namespace libsync::detail {

// Node address -> position in the pending list. Open addressing with linear
// probing in a power-of-two table kept at most half full; deletion shifts
// the following entries back, so there are no tombstones and a lookup stops
// at the first empty slot.
class NodePositions {
 public:
  std::size_t size() const noexcept { return size_; }

  // Allocates the first table now, so that the first insert does not.
  void reserve_initial() {
    if (slots_.empty()) grow();
  }

  // Where `n` is, or nullptr.
  std::size_t* find(const WaiterNode* n) noexcept {
    if (size_ == 0) return nullptr;
    for (std::size_t i = home(n);; i = (i + 1) & mask_) {
      if (slots_[i].node == n) return &slots_[i].pos;
      if (!slots_[i].node) return nullptr;
    }
  }

  // `n` must not be present. May throw std::bad_alloc (growing), and then
  // changes nothing.
  void insert(const WaiterNode* n, std::size_t pos) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    std::size_t i = home(n);
    while (slots_[i].node) i = (i + 1) & mask_;
    slots_[i] = {n, pos};
    ++size_;
  }

  // `n` must be present.
  void erase(const WaiterNode* n) noexcept {
    std::size_t hole = home(n);
    while (slots_[hole].node != n) hole = (hole + 1) & mask_;
    // Move back every later entry of the run that may fill the hole: one
    // whose home is not cyclically within (hole, j].
    for (std::size_t j = (hole + 1) & mask_; slots_[j].node; j = (j + 1) & mask_) {
      std::size_t h = home(slots_[j].node);
      bool stays = hole < j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (stays) continue;
      slots_[hole] = slots_[j];
      hole = j;
    }
    slots_[hole] = {};
    --size_;
  }

 private:
  struct Slot {
    const WaiterNode* node = nullptr;
    std::size_t pos = 0;
  };

  // Fibonacci hashing: the multiply spreads the address's middle bits (the
  // low ones are alignment) into the top bits, which pick the slot.
  std::size_t home(const WaiterNode* n) const noexcept {
    return static_cast<std::size_t>((reinterpret_cast<std::uintptr_t>(n) * 0x9E3779B97F4A7C15ull) >> shift_);
  }

  void grow() {
    std::size_t cap = slots_.empty() ? 64 : slots_.size() * 2;
    std::vector<Slot> old(cap);
    old.swap(slots_);  // slots_ is the new, empty table
    mask_ = cap - 1;
    shift_ = 64;
    for (std::size_t c = cap; c > 1; c >>= 1) --shift_;
    for (const Slot& s : old) {
      if (!s.node) continue;
      std::size_t i = home(s.node);
      while (slots_[i].node) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::size_t size_ = 0;
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
};

class LazyArming {
 public:
  // Both tables are allocated with the loop, so a loop's first waits
  // allocate nothing; they grow only past 16 (list) or 32 (positions)
  // waiters pending at once.
  explicit LazyArming(Loop& loop) : loop_(loop) {
    pending_.reserve(16);
    positions_.reserve_initial();
  }

  // on_suspend. If the list cannot grow, arms (or schedules) `n` at once.
  template <class Arm>
  void add(WaiterNode& n, Arm&& arm) noexcept {
    try {
      pending_.push_back(&n);
    } catch (...) {
      arm_one(n, arm);
      return;
    }
    try {
      positions_.insert(&n, pending_.size() - 1);
    } catch (...) {
      pending_.pop_back();
      arm_one(n, arm);
    }
  }

  // Every iteration: schedule the pending nodes already woken, and close
  // the holes removals left, keeping the others in order.
  void poll() noexcept {
    if (pending_.empty()) return;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      WaiterNode* n = pending_[i];
      if (!n) continue;
      if (n->word.load(std::memory_order_acquire) == kWordWoken) {
        positions_.erase(n);
        detail::core(loop_).schedule(n->handle);
        continue;
      }
      if (kept != i) {
        pending_[kept] = n;
        *positions_.find(n) = kept;
      }
      ++kept;
    }
    pending_.resize(kept);
  }

  // Before blocking: arm every pending node. Returns false when one had
  // been woken meanwhile (it is scheduled, so the loop must not block).
  template <class Arm>
  bool arm_all(Arm&& arm) noexcept {
    bool all_armed = true;
    for (WaiterNode* n : pending_) {
      if (!n) continue;
      positions_.erase(n);
      all_armed &= arm_one(*n, arm);
    }
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
    detail::core(loop_).schedule(n.handle);
    return false;
  }

  // The node's frame is going away: drop it if still pending. True if it was
  // (then it was never armed).
  bool remove(WaiterNode& n) noexcept {
    std::size_t* pos = positions_.find(&n);
    if (!pos) return false;
    pending_[*pos] = nullptr;  // a hole: the next poll() or arm_all() skips it
    positions_.erase(&n);
    return true;
  }

 private:
  Loop& loop_;
  // Suspended since the loop last slept; not armed. nullptr: removed.
  std::vector<WaiterNode*> pending_;
  NodePositions positions_;  // where each node of pending_ is
};

}  // namespace libsync::detail
