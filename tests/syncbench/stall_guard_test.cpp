// StallGuard against a semaphore that loses wakes on purpose: a waiter that
// missed the release which made a permit free sleeps until the next release
// from zero, as with libstdc++'s counting_semaphore. The guard must free such
// a waiter and say it did, and must leave a healthy repetition alone.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "stall_guard.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

namespace {

using namespace std::chrono_literals;

// Wakes sleepers only on a release that raises the count from zero.
class LossySemaphore {
 public:
  explicit LossySemaphore(std::ptrdiff_t count) : count_(count) {}
  bool try_acquire() {
    std::lock_guard lk(mu_);
    if (count_ == 0) return false;
    --count_;
    ++operations_;
    return true;
  }
  void release(std::ptrdiff_t n) {
    {
      std::lock_guard lk(mu_);
      const bool from_zero = count_ == 0;
      count_ += n;
      ++operations_;
      if (from_zero) {
        ++wakes_;
        cv_.notify_all();
      }
    }
    // The releasing thread preempted just after its wake went out.
    if (linger_after_release_.count() > 0) std::this_thread::sleep_for(linger_after_release_);
  }
  void linger_after_release(std::chrono::milliseconds d) { linger_after_release_ = d; }
  // A waiter that already missed its wake: it sleeps until the next wake
  // even with permits free, then takes one.
  void acquire_after_next_wake() {
    std::unique_lock lk(mu_);
    const std::uint64_t w = wakes_;
    cv_.wait(lk, [&] { return wakes_ != w && count_ > 0; });
    --count_;
  }
  std::ptrdiff_t count() {
    std::lock_guard lk(mu_);
    return count_;
  }
  std::uint64_t operations() {
    std::lock_guard lk(mu_);
    return operations_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::ptrdiff_t count_;
  std::uint64_t wakes_ = 0, operations_ = 0;
  std::chrono::milliseconds linger_after_release_{0};
};

}  // namespace

TEST_CASE("a waiter stranded with a permit free is woken and the repetition is reported") {
  LossySemaphore sem(1);
  syncbench::StallGuard<LossySemaphore> guard(sem, 50ms);
  guard.begin();
  std::thread waiter([&] { sem.acquire_after_next_wake(); });
  waiter.join();  // without the guard this never returns
  CHECK(guard.end(1ms) >= 1);
  CHECK(sem.count() == 0);  // the waiter has the permit; the guard gave back what it took
}

TEST_CASE("a rescue that ends the repetition at once is charged to that repetition and not the next") {
  LossySemaphore sem(1);
  sem.linger_after_release(200ms);  // the woken waiter finishes while the guard is still in release()
  syncbench::StallGuard<LossySemaphore> guard(sem, 50ms);
  guard.begin();
  std::thread waiter([&] { sem.acquire_after_next_wake(); });
  waiter.join();
  CHECK(guard.end(1ms) >= 1);
  guard.begin();
  CHECK(guard.end(1ms) == 0);
}

TEST_CASE("a repetition that ends in time is left alone and reports nothing") {
  LossySemaphore sem(3);
  syncbench::StallGuard<LossySemaphore> guard(sem, 10s);
  for (int rep = 0; rep < 3; ++rep) {
    guard.begin();
    CHECK(sem.try_acquire());
    sem.release(1);
    CHECK(guard.end(1ms) == 0);
  }
  CHECK(sem.operations() == 6);  // only this test's own: the guard never touched it
  CHECK(sem.count() == 3);
}

TEST_CASE("a stall with no permit free is not counted as a lost wake") {
  LossySemaphore sem(0);
  syncbench::StallGuard<LossySemaphore> guard(sem, 20ms);
  guard.begin();
  std::thread waiter([&] { sem.acquire_after_next_wake(); });
  std::this_thread::sleep_for(300ms);  // the guard steps in a few times and finds nothing
  sem.release(1);                      // from zero: a real wake
  waiter.join();
  CHECK(guard.end(300ms) == 0);
  CHECK(sem.count() == 0);
}

TEST_CASE("the stall limit grows with the previous repetition's time") {
  LossySemaphore sem(1);
  syncbench::StallGuard<LossySemaphore> guard(sem, 1ms);
  guard.begin();
  CHECK(guard.end(5ms) == 0);  // next limit: 100 x 5 ms
  guard.begin();
  std::this_thread::sleep_for(100ms);  // stalled 100 ms with a permit free, under the 500 ms limit
  CHECK(guard.end(100ms) == 0);
  CHECK(sem.operations() == 0);
}
