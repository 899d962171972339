// Loops whose threads come and go: a loop run by one thread after another,
// owners that exit while another thread destroys or takes over their loop,
// and I/O left in flight when the owner exits. On the uring backend each of
// these moves a loop's exit hook between threads' tokens. Run once per tier.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <sync/event.hpp>
#include <sync/io.hpp>
#include <sync/semaphore.hpp>
#include <thread>
#include <vector>

#include "test_util.hpp"

#if defined(__linux__)
#include <sys/socket.h>
#include <unistd.h>
#endif

using namespace libsync;
using namespace libsync::test;

namespace {

// One timed sleep: on uring this goes through the ring, so the ring is
// enabled by (and its exit hook registered with) the running thread, and the
// doorbell wait is left armed after the run.
void run_once(Loop& l) {
  l.block_on([]() -> Task<> { co_await sleep_for(1ms); }());
}

#if defined(__linux__)
// A loop with a recv left in flight on `fd`.
void run_with_recv(Loop& l, int fd) {
  l.block_on([&l, fd]() -> Task<> {
    l.spawn([](int fd) -> Task<> {
      char buf[16];
      [[maybe_unused]] auto r = co_await libsync::recv(fd, buf, sizeof buf);
    }(fd));
    for (int i = 0; i < 3; ++i) co_await yield();
    co_await sleep_for(2ms);
  }());
}
#endif

// A thread that runs jobs handed to it, one at a time, until told to exit.
class Worker {
 public:
  Worker() : t_([this] { loop(); }) {}
  ~Worker() {
    if (t_.joinable()) {
      post(nullptr);
      t_.join();
    }
  }
  void run(std::function<void()> f) {
    std::promise<void> done;
    auto fut = done.get_future();
    post([&] {
      f();
      done.set_value();
    });
    fut.get();
  }
  void exit_now() {
    post(nullptr);
    t_.join();
  }

 private:
  void post(std::function<void()> f) {
    {
      std::lock_guard lk(mu_);
      jobs_.push_back(std::move(f));
    }
    cv_.notify_one();
  }
  void loop() {
    for (;;) {
      std::function<void()> f;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return !jobs_.empty(); });
        f = std::move(jobs_.front());
        jobs_.erase(jobs_.begin());
      }
      if (!f) return;
      f();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void()>> jobs_;
  std::thread t_;
};

}  // namespace

TEST_CASE("a loop run by A, then B, then A again, destroyed on main while both live") {
  Watchdog dog(60s, "A-B-A");
  for (int round = 0; round < 20; ++round) {
    Worker a, b;
    auto loop = std::make_unique<Loop>(tier_options());
    a.run([&] { run_once(*loop); });
    b.run([&] { run_once(*loop); });
    a.run([&] { run_once(*loop); });
    if (round % 2) {
      loop.reset();  // main, with A and B alive
      a.exit_now();
      b.exit_now();
    } else {
      a.exit_now();  // the current owner exits first
      b.exit_now();
      loop.reset();
    }
  }
}

TEST_CASE("many loops on one thread, some destroyed elsewhere mid-list, the rest after its exit") {
  Watchdog dog(60s, "mid-list removal");
  std::mt19937 rng(42);
  for (int round = 0; round < 10; ++round) {
    Worker a;
    std::vector<std::unique_ptr<Loop>> loops;
    for (int i = 0; i < 16; ++i) loops.push_back(std::make_unique<Loop>(tier_options()));
    for (auto& l : loops) a.run([&] { run_once(*l); });
    // Destroy half of them here while A is alive (each moves its hook out of
    // A's list first, from the middle of the list).
    std::shuffle(loops.begin(), loops.end(), rng);
    for (int i = 0; i < 8; ++i) loops[i].reset();
    // Some destroyed on A itself.
    for (int i = 8; i < 11; ++i) a.run([&] { loops[i].reset(); });
    a.exit_now();
    loops.clear();
  }
}

TEST_CASE("the owner thread exits while another thread destroys its loop (no join first)") {
  Watchdog dog(120s, "exit vs destroy");
  for (int round = 0; round < 300; ++round) {
    auto loop = std::make_unique<Loop>(tier_options());
    std::atomic<bool> ran{false};
    std::thread t([&] {
      run_once(*loop);
      ran.store(true, std::memory_order_release);
      // returns: the exit hook runs now, racing the destruction below
    });
    while (!ran.load(std::memory_order_acquire)) std::this_thread::yield();
    if (round % 3 == 1) std::this_thread::sleep_for(std::chrono::microseconds(round % 50));
    loop.reset();
    t.join();
  }
}

TEST_CASE("the owner thread exits while another thread takes its loop over (no join first)") {
  Watchdog dog(120s, "exit vs take-over");
  for (int round = 0; round < 300; ++round) {
    Loop loop(tier_options());
    std::atomic<bool> ran{false};
    std::thread t([&] {
      run_once(loop);
      ran.store(true, std::memory_order_release);
    });
    while (!ran.load(std::memory_order_acquire)) std::this_thread::yield();
    run_once(loop);  // main takes it over while t is exiting
    t.join();
  }
}

TEST_CASE("two loops whose owners swap while both exit") {
  Watchdog dog(120s, "swap while exiting");
  for (int round = 0; round < 200; ++round) {
    auto l1 = std::make_unique<Loop>(tier_options());
    auto l2 = std::make_unique<Loop>(tier_options());
    std::atomic<int> stage{0};
    std::thread a([&] {
      run_once(*l1);
      stage.fetch_add(1);
      while (stage.load() < 2) std::this_thread::yield();
      run_once(*l2);  // takes l2 from b, which is exiting
    });
    std::thread b([&] {
      run_once(*l2);
      stage.fetch_add(1);
      // exits at once
    });
    a.join();
    b.join();
    l1.reset();
    l2.reset();
  }
}

TEST_CASE("a loop never run, destroyed on another thread; one run only by its destroyer") {
  Watchdog dog(30s, "never run");
  for (int i = 0; i < 20; ++i) {
    auto loop = std::make_unique<Loop>(tier_options());
    std::thread([&] { loop.reset(); }).join();
    auto l2 = std::make_unique<Loop>(tier_options());
    std::thread([&] {
      run_once(*l2);
      l2.reset();
    }).join();
  }
}

#if defined(__linux__)
TEST_CASE("recv in flight, owner exits, loop destroyed on main after join; repeated") {
  Watchdog dog(60s, "recv in flight");
  for (int round = 0; round < 30; ++round) {
    int sp[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) == 0);
    std::vector<std::unique_ptr<Loop>> loops;
    for (int i = 0; i < 4; ++i) loops.push_back(std::make_unique<Loop>(tier_options()));
    std::thread t([&] {
      for (auto& l : loops) run_with_recv(*l, sp[0]);
      loops[1].reset();  // one destroyed by its owner, mid-list
    });
    t.join();
    loops.clear();
    ::close(sp[0]);
    ::close(sp[1]);
  }
}
#endif
