// Small helpers shared by the suites.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <stop_token>
#include <string_view>
#include <sync/capabilities.hpp>
#include <sync/loop.hpp>
#include <sync/semaphore.hpp>
#include <thread>

#include "skip.hpp"
#include "tier_under_test.hpp"

namespace libsync::test {

using namespace std::chrono_literals;

// Whether `loop` sleeps in an io_uring ring set up SINGLE_ISSUER |
// DEFER_TASKRUN, the backend's first choice: only such a ring belongs to one
// thread (a loop with I/O in flight cannot move while that thread lives, and
// the thread's exit cancels the ring's operations). A kernel without
// DEFER_TASKRUN (before 6.1), or SYNC_URING_SETUP=coop|plain, gives a ring any
// thread may enter. Read from the probe and the setting, as the backend does.
inline bool uring_single_issuer(const Loop& loop) {
  if (loop.backend_kind() != BackendKind::uring) return false;
  if (const char* mode = std::getenv("SYNC_URING_SETUP"); mode && *mode && std::string_view(mode) != "defer")
    return false;
  for (const Feature& f : capabilities().io_uring.setup_flags)
    if (f.name == "DEFER_TASKRUN") return f.supported;
  return false;
}

// Runs `t` on a fresh loop of the tier under test.
template <class T>
T run(Task<T> t) {
  Loop loop(tier_options());
  return loop.block_on(std::move(t));
}

// Fails the process if `body` has not finished within `limit`: a hang is a
// failure with a message, not a test that never ends.
class Watchdog {
 public:
  Watchdog(std::chrono::milliseconds limit, const char* what)
      : thread_([this, limit, what] {
          Semaphore& done = done_;
          auto r = done.acquire_blocking_for(limit);
          if (!r) {
            std::fprintf(stderr, "watchdog: '%s' did not finish within %lld ms\n", what,
                         static_cast<long long>(limit.count()));
            std::fflush(stderr);
            std::_Exit(3);
          }
        }) {}
  ~Watchdog() {
    done_.release();
    thread_.join();
  }

 private:
  Semaphore done_{0};
  std::thread thread_;
};

// A coroutine type of the tests' own: a test starts it by hand (h.resume())
// and may destroy the frame whenever it likes, e.g. between a task's wake and
// its resumption (libsync::Task only ever runs as part of a chain its loop
// owns).
struct Raw {
  struct promise_type {
    Raw get_return_object() { return Raw{std::coroutine_handle<promise_type>::from_promise(*this)}; }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  std::coroutine_handle<promise_type> h;
};

// Requests a stop on `src` once `delay` has passed: spawned beside a wait
// that `src`'s token must cut short. `src` must outlive the task.
inline Task<> request_stop_after(std::stop_source& src, std::chrono::milliseconds delay) {
  co_await sleep_for(delay);
  src.request_stop();
}

// Runs the loop's pending work until `pred` holds (bounded).
inline Task<void> until(std::function<bool()> pred, std::chrono::milliseconds limit = 5000ms) {
  auto deadline = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() > deadline) throw std::runtime_error("condition not reached in time");
    co_await yield();
    co_await sleep_for(100us);
  }
}

}  // namespace libsync::test
