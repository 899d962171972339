// Event: a manual-reset event. `set()` wakes every waiter and stays set until
// `reset()`; waiting on a set event returns at once.
//
// The flag is checked and the waiter queued under the queue lock, and set()
// raises the flag under the same lock before it takes the waiters off, so a
// wait that races with set() either sees the flag or is woken by it.
#pragma once

#include <sync/export.hpp>

#include <sync/detail/async_wait.hpp>
#include <sync/detail/waiter_queue.hpp>

#include <atomic>
#include <optional>
#include <stop_token>

namespace libsync {

class LIBSYNC_API Event final : private detail::Waitable {
 public:
  explicit Event(bool initially_set = false) : set_(initially_set) {}
  ~Event();

  // [[nodiscard]]: a wait() that is not co_awaited never waits. Its status
  // may be ignored (an untimed, uncancellable wait only returns acquired).
  class [[nodiscard]] WaitAwaiter {
   public:
    WaitAwaiter(Event& e, std::optional<Clock::time_point> d, std::stop_token st) noexcept
        : e_(e), wait_(e, d, std::move(st)) {}
    bool await_ready() noexcept;
    bool await_suspend(std::coroutine_handle<> h);
    WaitStatus await_resume() noexcept;

   private:
    Event& e_;
    detail::AsyncWait wait_;
    std::optional<WaitStatus> early_;
  };

  WaitAwaiter wait(std::stop_token st = {}) { return {*this, std::nullopt, std::move(st)}; }
  WaitAwaiter wait_for(std::chrono::nanoseconds d, std::stop_token st = {}) {
    return {*this, deadline_after(d), std::move(st)};
  }
  WaitAwaiter wait_until(Clock::time_point tp, std::stop_token st = {}) {
    return {*this, tp, std::move(st)};
  }
  WaitStatus wait_blocking(std::stop_token st = {});
  WaitStatus wait_blocking_for(std::chrono::nanoseconds d, std::stop_token st = {});

  void set() noexcept;
  void reset() noexcept { set_.store(false, std::memory_order_release); }
  bool is_set() const noexcept { return set_.load(std::memory_order_acquire); }
  std::size_t waiters() const noexcept { return queue_.size(); }

 private:
  // Under the lock: true if set (no wait needed), else queues `n`.
  bool check_or_enqueue(detail::WaiterNode& n) noexcept;
  bool remove_waiter(detail::WaiterNode& n, WaitStatus why) noexcept override;
  void abandon_waiter(detail::WaiterNode&) noexcept override {}

  std::atomic<bool> set_;
  detail::WaiterQueue queue_;
};

}  // namespace libsync
