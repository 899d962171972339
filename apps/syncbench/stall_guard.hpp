// StallGuard: lets a benchmark baseline built on a semaphore that can lose
// wakes fail its row instead of hanging the run.
//
// libstdc++'s std::counting_semaphore (GCC 12; GCC bug 98033, still open)
// sends no futex wake from release() when the count it raises was already
// above zero, so a thread that saw zero and went to sleep can stay asleep
// with permits free. Under the contended scenario's 64 threads it strands
// threads at a repetition's end on some machines.
//
// The guard watches each repetition from a thread of its own, so the
// measured threads keep their plain waits. A repetition still running after
// max(min_stall, 100x the previous repetition) is taken to be stranded: the
// guard takes every free permit and gives them back in one release(n) from
// zero, which wakes every sleeper, and repeats that each 100 ms until the
// repetition ends. end() returns how many permits it found free that way;
// above zero, threads slept with permits free (a lost wake) and the caller
// reports the repetition as failed rather than timing it. A stall with no
// permit free is not the guard's business: the harness's watchdog takes it.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

namespace syncbench {

// Sem: try_acquire() -> bool and release(std::ptrdiff_t), as
// std::counting_semaphore. The semaphore must outlive the guard.
// thread_init, if given, runs first on the guard's thread (syncbench uses
// it to keep that thread out of the syscall counts).
template <class Sem>
class StallGuard {
 public:
  explicit StallGuard(Sem& sem, std::chrono::nanoseconds min_stall = std::chrono::seconds(2),
                      void (*thread_init)() = nullptr)
      : sem_(sem), min_stall_(min_stall), thread_([this, thread_init] {
          if (thread_init) thread_init();
          watch();
        }) {}
  ~StallGuard() {
    {
      std::lock_guard lk(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  StallGuard(const StallGuard&) = delete;
  StallGuard& operator=(const StallGuard&) = delete;

  // Called before the repetition's clock starts.
  void begin() {
    {
      std::lock_guard lk(mu_);
      running_ = true;
      rescued_ = 0;
      ++generation_;
    }
    cv_.notify_all();
  }

  // Called after the repetition's clock stops, with its time. Returns the
  // permits the guard found free while the repetition was stalled; 0 when
  // it never had to step in.
  std::uint64_t end(std::chrono::nanoseconds elapsed) {
    std::lock_guard lk(mu_);
    running_ = false;
    last_ = elapsed;
    // No notify: the guard sees running_ false when its timed wait ends,
    // and a wake here would cost the measured side a syscall.
    return rescued_;
  }

 private:
  void watch() {
    std::unique_lock lk(mu_);
    std::uint64_t seen = 0;
    for (;;) {
      cv_.wait(lk, [&] { return quit_ || (running_ && generation_ != seen); });
      if (quit_) return;
      seen = generation_;
      std::chrono::nanoseconds step = std::max(min_stall_, last_ * 100);
      while (!cv_.wait_for(lk, step, [&] { return quit_ || !running_ || generation_ != seen; })) {
        // Under the lock: the release below can end the repetition at once,
        // and end() must then see what was found, while the next begin()
        // must not be charged with it.
        std::uint64_t got = 0;
        while (sem_.try_acquire()) ++got;
        rescued_ += got;
        if (got > 0) sem_.release(static_cast<std::ptrdiff_t>(got));
        step = std::chrono::milliseconds(100);
      }
      // quit_ is seen by the wait at the top of the loop.
    }
  }

  Sem& sem_;
  const std::chrono::nanoseconds min_stall_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool quit_ = false;
  bool running_ = false;
  std::uint64_t generation_ = 0;
  std::uint64_t rescued_ = 0;
  std::chrono::nanoseconds last_{0};
  std::thread thread_;  // last: starts once the state above exists
};

}  // namespace syncbench
