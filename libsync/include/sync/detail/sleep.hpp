// Timer awaitables; included by loop.hpp.
#pragma once

#include <sync/detail/loop_cancel.hpp>
#include <sync/export.hpp>
// Clock, deadline_after and detail::TimerNode. loop.hpp includes this file
// at its end, after defining them, so whichever of the two comes first the
// definitions precede the code below.
#include <sync/loop.hpp>
#include <sync/wait_status.hpp>

namespace libsync {

struct LIBSYNC_API SleepAwaiter {
  Clock::time_point deadline;
  std::stop_token stop;

  bool await_ready() const noexcept { return stop.stop_requested() || Clock::now() >= deadline; }
  void await_suspend(std::coroutine_handle<> h);
  // acquired: the time passed; cancelled: stop was requested first.
  WaitStatus await_resume() noexcept;

  SleepAwaiter(Clock::time_point d, std::stop_token st) : deadline(d), stop(std::move(st)) {}
  SleepAwaiter(SleepAwaiter&&) = delete;
  ~SleepAwaiter();

 private:
  static void on_timer(detail::TimerNode& t) noexcept;
  static void on_cancel(void* self) noexcept;
  detail::TimerNode timer_;
  detail::LoopCancel cancel_;
  Loop* loop_ = nullptr;
  std::coroutine_handle<> handle_;
  bool cancelled_ = false;
  bool scheduled_ = false;  // the timer or the stop queued the resumption
};

inline SleepAwaiter sleep_until(Clock::time_point tp, std::stop_token st) {
  return SleepAwaiter(tp, std::move(st));
}
inline SleepAwaiter sleep_for(std::chrono::nanoseconds d, std::stop_token st) {
  return SleepAwaiter(deadline_after(d), std::move(st));
}

}  // namespace libsync
