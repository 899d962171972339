// WakePath: the tier of one loop, i.e. how its suspended tasks sleep and how
// a wake reaches them. The loop owns one; `deliver_wake()` dispatches to the
// waiter's loop's path, so a waker never needs to know the waiter's tier.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <sync/detail/waiter_queue.hpp>
#include <sync/loop.hpp>

namespace libsync::detail {

class LoopCore;
// DeferredWake::notify's write and release (LoopCore::finish_notify).
void finish_deferred_notify(LoopCore* core) noexcept;

// A wake to make after the remote lock is dropped, in one of two forms:
// - a plain function and an address that stay valid whatever happens to the
//   loop meanwhile (a pool-owned futex word);
// - `notify`: a write to that loop's backend notifier (eventfd, completion
//   port), which the loop's teardown waits for (LoopCore::begin_notify), so
//   the notifier is still open when it is written.
// Either way the caller must not touch the loop itself any more.
struct DeferredWake {
  void (*fn)(const std::atomic<std::uint32_t>* word) noexcept = nullptr;
  const std::atomic<std::uint32_t>* word = nullptr;
  LoopCore* notify = nullptr;
  void operator()() const noexcept {
    if (fn) fn(word);
    if (notify) finish_deferred_notify(notify);
  }
};

class WakePath {
 public:
  virtual ~WakePath() = default;
  virtual Tier tier() const noexcept = 0;

  // Loop thread: `n` was queued and its task is about to suspend.
  virtual void on_suspend(WaiterNode&) noexcept {}
  // Any thread: `n` was completed under its queue's lock (now dropped);
  // get its task running again on its loop.
  virtual void deliver(WaiterNode& n) noexcept = 0;
  // From a thread other than this loop's: `count` completed nodes, linked
  // through `next` from `first`, all waiting on this loop. The default
  // delivers them one by one; tiers that wake through the remote queue push
  // them under one lock.
  virtual void deliver_run(WaiterNode& first, std::size_t count) noexcept {
    WaiterNode* n = &first;
    for (std::size_t i = 0; i < count && n; ++i) {
      WaiterNode* next = n->next;
      deliver(*n);
      n = next;
    }
  }
  // Loop thread: the task waiting on `n` is being destroyed; after this
  // returns nothing may refer to `n`.
  virtual void forget(WaiterNode&) noexcept {}
  // Loop thread, every iteration: pick up wakes that arrived without a
  // notification (nodes not yet armed).
  virtual void poll() noexcept {}
  // Whether every wake from another thread reaches this loop through its
  // remote queue (LoopCore::schedule_remote), so that a loop spinning on
  // that queue before it sleeps sees it. A tier whose wakes bypass the
  // queue (IOCP's completion packets) says no, and its loops never spin.
  virtual bool wakes_through_remote_queue() const noexcept { return true; }
  // Loop thread, right before the loop blocks; `timed`: the sleep has a
  // deadline (a timer is pending). Returns false when it found work, so the
  // loop must not block.
  virtual bool prepare_sleep(bool /*timed*/) noexcept { return true; }
  // Loop thread, once prepare_sleep() let the loop block: a tier that can
  // put this loop to sleep more cheaply than its backend's blocking wait
  // does so here, until a wake or `timeout` (none: no limit), and returns
  // true; the backend then has nothing to reap. False: the backend waits.
  virtual bool sleep(std::optional<std::chrono::nanoseconds> /*timeout*/) noexcept { return false; }
  // Whether sleep() may be taken at all (on by default). The tier's
  // self-test turns it off for half its wakes, to test both ways to sleep.
  virtual void allow_direct_sleep(bool) noexcept {}
  // Any thread, under the loop's remote lock, at most once per parked
  // period: the loop's remote queue has something; make sure a blocked loop
  // wakes up. No tier makes the wake here: each returns it as a
  // DeferredWake (a futex wake on a pool-owned word, or a write to the
  // backend's notifier through LoopCore::begin_notify), which the caller
  // makes once it has dropped the lock, so that neither other wakers nor
  // the woken loop wait behind the syscall.
  virtual DeferredWake notify_loop_locked() noexcept = 0;
};

}  // namespace libsync::detail
