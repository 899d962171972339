// Loop behaviour (tasks, timers, cross-thread posts), per tier; socket and
// descriptor I/O is in io_test.cpp.
#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <sync/event.hpp>
#include <sync/loop.hpp>
#include <thread>
#include <vector>

#include "test_util.hpp"

using namespace libsync;
using namespace libsync::test;

TEST_CASE("block_on returns the task's value") {
  CHECK(run([]() -> Task<int> { co_return 42; }()) == 42);
}

TEST_CASE("an exception thrown in a task reaches block_on's caller") {
  auto thrower = []() -> Task<int> {
    throw std::runtime_error("boom");
    co_return 0;
  };
  CHECK_THROWS_WITH_AS(run([&]() -> Task<int> { co_return co_await thrower(); }()), "boom",
                       std::runtime_error);
}

TEST_CASE("nested awaits run deep without growing the stack") {
  struct Deep {
    static Task<int> down(int n) {
      if (n == 0) co_return 0;
      co_return 1 + co_await down(n - 1);
    }
  };
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // Instrumented builds do not turn the resume into a tail call, so the
  // depth that proves constant stack use only holds in optimised builds.
  constexpr int kDepth = 2000;
#else
  constexpr int kDepth = 100000;
#endif
  CHECK(run(Deep::down(kDepth)) == kDepth);
}

TEST_CASE("sleep_for resumes no earlier than asked") {
  auto t0 = Clock::now();
  auto s = run([]() -> Task<WaitStatus> { co_return co_await sleep_for(15ms); }());
  CHECK(s == WaitStatus::acquired);
  CHECK(Clock::now() - t0 >= 15ms);
}

TEST_CASE("timers fire in deadline order") {
  std::vector<int> order;
  Loop loop(tier_options());
  for (int ms : {30, 10, 20})
    loop.spawn([](std::vector<int>& o, int ms) -> Task<> {
      co_await sleep_for(std::chrono::milliseconds(ms));
      o.push_back(ms);
    }(order, ms));
  loop.run_until_idle();
  CHECK(order == std::vector<int>{10, 20, 30});
}

TEST_CASE("a stop_token cuts a sleep short") {
  std::stop_source src;
  Loop loop(tier_options());
  auto s = loop.block_on([&]() -> Task<WaitStatus> {
    loop.spawn(request_stop_after(src, 5ms));
    co_return co_await sleep_for(10s, src.get_token());
  }());
  CHECK(s == WaitStatus::cancelled);
}

TEST_CASE("a stop requested on another thread cuts a sleep short") {
  std::stop_source src;
  std::thread t([&] {
    std::this_thread::sleep_for(10ms);
    src.request_stop();
  });
  auto s = run([&]() -> Task<WaitStatus> { co_return co_await sleep_for(10s, src.get_token()); }());
  t.join();
  CHECK(s == WaitStatus::cancelled);
}

TEST_CASE("yield lets the other ready tasks run first") {
  std::vector<int> order;
  Loop loop(tier_options());
  loop.spawn([](std::vector<int>& o) -> Task<> {
    o.push_back(1);
    co_await yield();
    o.push_back(3);
  }(order));
  loop.spawn([](std::vector<int>& o) -> Task<> {
    o.push_back(2);
    co_return;
  }(order));
  loop.run_until_idle();
  CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("post from another thread runs on the loop's thread") {
  Loop loop(tier_options());
  std::atomic<bool> ran_on_loop{false};
  std::thread::id loop_thread;
  auto done = loop.block_on([&]() -> Task<bool> {
    loop_thread = std::this_thread::get_id();
    std::atomic<bool> flag{false};
    std::thread t([&] {
      loop.post([&] {
        ran_on_loop = std::this_thread::get_id() == loop_thread;
        flag = true;
      });
    });
    co_await until([&] { return flag.load(); });
    t.join();
    co_return true;
  }());
  CHECK(done);
  CHECK(ran_on_loop);
}

TEST_CASE("stop from another thread ends run") {
  Loop loop(tier_options());
  std::thread t([&] {
    std::this_thread::sleep_for(10ms);
    loop.stop();
  });
  Watchdog dog(10s, "Loop::run after stop()");
  loop.run();
  t.join();
  CHECK(true);
}

namespace {
// Runs loop.run() and tells whether it returned on its own: a run() that
// missed a pending stop() would wait forever, so a second thread ends it
// after 5 s and the answer is false.
bool run_ends_by_itself(Loop& loop) {
  std::atomic<bool> returned{false}, rescued{false};
  std::thread rescue([&] {
    for (int i = 0; i < 500 && !returned; ++i) std::this_thread::sleep_for(10ms);
    if (!returned) {
      rescued = true;
      loop.stop();
    }
  });
  loop.run();
  returned = true;
  rescue.join();
  return !rescued;
}
}  // namespace

TEST_CASE("a stop() made while the loop is not running ends the next run() at once, even after a block_on") {
  Loop loop(tier_options());
  Event never;
  loop.spawn([](Event& e) -> Task<> { co_await e.wait(); }(never));  // keeps run() busy for good
  loop.stop();
  int v = loop.block_on([]() -> Task<int> { co_return 7; }());  // ignores the stop
  CHECK(v == 7);
  CHECK(run_ends_by_itself(loop));
  never.set();
  loop.run_until_idle();
}

TEST_CASE("a stop() from another thread during a block_on is kept for the next run()") {
  Loop loop(tier_options());
  Event never, stopped;
  loop.spawn([](Event& e) -> Task<> { co_await e.wait(); }(never));
  std::thread stopper([&] {
    loop.stop();  // while the block_on below runs
    stopped.set();
  });
  loop.block_on([&]() -> Task<> { co_await stopped.wait(); }());
  stopper.join();
  CHECK(run_ends_by_itself(loop));
  never.set();
  loop.run_until_idle();
}

TEST_CASE("spawned tasks all finish before run_until_idle returns") {
  Loop loop(tier_options());
  int finished = 0;
  for (int i = 0; i < 100; ++i)
    loop.spawn([](int& f, int i) -> Task<> {
      co_await sleep_for(std::chrono::microseconds(i * 10));
      ++f;
    }(finished, i));
  loop.run_until_idle();
  CHECK(finished == 100);
  CHECK(loop.spawned_tasks() == 0);
}

TEST_CASE("a refused nested block_on leaves nothing behind on the loop") {
  Loop loop(tier_options());
  bool refused = false;
  loop.block_on([&]() -> Task<> {
    try {
      loop.block_on([]() -> Task<> { co_return; }());
    } catch (const std::logic_error&) {
      refused = true;
    }
    co_return;
  }());
  CHECK(refused);
  CHECK(loop.spawned_tasks() == 0);
}

// A run call refused because the loop is already running must leave the
// running one as it was: the outer run_until_idle still ends once the loop
// is idle, rather than blocking for good with nothing left to run.
static void check_outer_run_until_idle_ends(void (Loop::*nested)(), const char* what) {
  Watchdog dog(30s, what);
  Loop loop(tier_options());
  bool refused = false;
  loop.spawn([](Loop& l, void (Loop::*call)(), bool& r) -> Task<> {
    try {
      (l.*call)();
    } catch (const std::logic_error&) {
      r = true;
    }
    co_return;
  }(loop, nested, refused));
  loop.run_until_idle();
  CHECK(refused);
  CHECK(loop.spawned_tasks() == 0);
}

TEST_CASE("a refused nested run_until_idle leaves the outer one ending when idle") {
  check_outer_run_until_idle_ends(&Loop::run_until_idle,
                                  "run_until_idle after a refused nested run_until_idle");
}

TEST_CASE("a refused nested run leaves the outer run_until_idle ending when idle") {
  check_outer_run_until_idle_ends(&Loop::run, "run_until_idle after a refused nested run");
}

// The refusal names what the user called, not the engine behind it.
TEST_CASE("a nested block_on is refused with a message naming Loop") {
  Loop loop(tier_options());
  std::string what;
  loop.block_on([&]() -> Task<> {
    try {
      loop.block_on([]() -> Task<> { co_return; }());
    } catch (const std::logic_error& e) {
      what = e.what();
    }
    co_return;
  }());
  CHECK(what == "libsync: Loop::run/block_on called re-entrantly");
}
