// Event behaviour, run once per tier (see tests/CMakeLists.txt).
#include <doctest/doctest.h>

#include <atomic>
#include <stop_token>
#include <string>
#include <sync/event.hpp>
#include <thread>
#include <vector>

#include "test_util.hpp"

// Readable failure messages for status checks.
namespace doctest {
template <>
struct StringMaker<std::vector<libsync::WaitStatus>> {
  static String convert(const std::vector<libsync::WaitStatus>& v) {
    std::string s = "{";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::string(libsync::to_string(v[i]));
    return (s + "}").c_str();
  }
};
}  // namespace doctest

using namespace libsync;
using namespace libsync::test;

TEST_CASE("waiting on a set event returns at once without suspending") {
  Event e(true);
  bool other_ran = false;
  Loop loop(tier_options());
  WaitStatus s = loop.block_on([&]() -> Task<WaitStatus> {
    loop.spawn([](bool& ran) -> Task<> {
      ran = true;
      co_return;
    }(other_ran));
    // Had the wait suspended, the spawned task would have run meanwhile.
    WaitStatus st = co_await e.wait();
    CHECK_FALSE(other_ran);
    co_await yield();
    CHECK(other_ran);
    co_return st;
  }());
  CHECK(s == WaitStatus::acquired);
  CHECK(e.wait_blocking() == WaitStatus::acquired);
  CHECK(e.wait_blocking_for(0ms) == WaitStatus::acquired);
  CHECK(e.is_set());
  CHECK(e.waiters() == 0);
}

TEST_CASE("set wakes every waiter, tasks and a blocked thread, and stays set") {
  Event e;
  std::vector<WaitStatus> results;
  std::atomic<WaitStatus> thread_result{WaitStatus::would_block};
  std::thread blocker;
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    for (int i = 0; i < 3; ++i)
      loop.spawn(
          [](Event& e, std::vector<WaitStatus>& r) -> Task<> { r.push_back(co_await e.wait()); }(e, results));
    co_await until([&] { return e.waiters() == 3; });
    blocker = std::thread([&] { thread_result = e.wait_blocking(); });
    co_await until([&] { return e.waiters() == 4; });
    CHECK(results.empty());
    e.set();
    CHECK(e.waiters() == 0);
    co_await until([&] { return results.size() == 3 && thread_result.load() != WaitStatus::would_block; });
    CHECK(e.is_set());
    CHECK((co_await e.wait()) == WaitStatus::acquired);  // still set: no wait
  }());
  blocker.join();
  CHECK(results == std::vector<WaitStatus>(3, WaitStatus::acquired));
  CHECK(thread_result.load() == WaitStatus::acquired);
}

TEST_CASE("reset makes later waits block until the next set") {
  Event e(true);
  e.reset();
  CHECK_FALSE(e.is_set());
  CHECK(e.wait_blocking_for(5ms) == WaitStatus::timed_out);
  WaitStatus late = WaitStatus::would_block;
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    CHECK((co_await e.wait_for(10ms)) == WaitStatus::timed_out);
    loop.spawn([](Event& e, WaitStatus& out) -> Task<> { out = co_await e.wait(); }(e, late));
    co_await until([&] { return e.waiters() == 1; });
    co_await sleep_for(2ms);
    CHECK(late == WaitStatus::would_block);
    e.set();
    co_await until([&] { return late != WaitStatus::would_block; });
  }());
  CHECK(late == WaitStatus::acquired);
}

TEST_CASE("a set followed by a reset before the waiters run still wakes them") {
  // set() completes the queued waits; a reset afterwards only affects waits
  // that start later.
  Event e;
  std::vector<WaitStatus> results;
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    for (int i = 0; i < 2; ++i)
      loop.spawn(
          [](Event& e, std::vector<WaitStatus>& r) -> Task<> { r.push_back(co_await e.wait()); }(e, results));
    co_await until([&] { return e.waiters() == 2; });
    e.set();
    e.reset();
    co_await until([&] { return results.size() == 2; });
  }());
  CHECK(results == std::vector<WaitStatus>(2, WaitStatus::acquired));
  CHECK_FALSE(e.is_set());
}

TEST_CASE("wait_for times out and leaves no waiter behind") {
  Event e;
  auto s = run([&]() -> Task<WaitStatus> { co_return co_await e.wait_for(20ms); }());
  CHECK(s == WaitStatus::timed_out);
  CHECK(e.waiters() == 0);
  CHECK(e.wait_blocking_for(10ms) == WaitStatus::timed_out);
  CHECK(e.waiters() == 0);
  CHECK_FALSE(e.is_set());
}

TEST_CASE("wait_for returns acquired when the event is set before the deadline") {
  Event e;
  Loop loop(tier_options());
  auto s = loop.block_on([&]() -> Task<WaitStatus> {
    loop.spawn([](Event& e) -> Task<> {
      co_await sleep_for(5ms);
      e.set();
    }(e));
    co_return co_await e.wait_for(10s);
  }());
  CHECK(s == WaitStatus::acquired);
}

TEST_CASE("a stop_token cancels a wait") {
  Event e;
  std::stop_source src;
  Loop loop(tier_options());
  auto s = loop.block_on([&]() -> Task<WaitStatus> {
    loop.spawn([](Event& e, std::stop_source& src) -> Task<> {
      co_await until([&] { return e.waiters() == 1; });
      src.request_stop();
    }(e, src));
    co_return co_await e.wait(src.get_token());
  }());
  CHECK(s == WaitStatus::cancelled);
  CHECK(e.waiters() == 0);
  CHECK_FALSE(e.is_set());
}

TEST_CASE("a stop already requested cancels a wait on an unset event at once") {
  Event e;
  std::stop_source src;
  src.request_stop();
  auto s = run([&]() -> Task<WaitStatus> { co_return co_await e.wait(src.get_token()); }());
  CHECK(s == WaitStatus::cancelled);
  CHECK(e.wait_blocking(src.get_token()) == WaitStatus::cancelled);
  CHECK(e.waiters() == 0);
}

TEST_CASE("a stop from another thread cancels a task's wait and a blocked thread's wait") {
  Event e;
  std::stop_source task_src, thread_src;
  std::thread stopper;
  Watchdog dog(20s, "cross-thread event cancel");
  auto s = run([&]() -> Task<WaitStatus> {
    stopper = std::thread([&] {
      while (e.waiters() == 0) std::this_thread::yield();
      task_src.request_stop();
    });
    co_return co_await e.wait(task_src.get_token());
  }());
  stopper.join();
  CHECK(s == WaitStatus::cancelled);

  std::thread stopper2([&] {
    while (e.waiters() == 0) std::this_thread::yield();
    thread_src.request_stop();
  });
  CHECK(e.wait_blocking(thread_src.get_token()) == WaitStatus::cancelled);
  stopper2.join();
  CHECK(e.waiters() == 0);
}

TEST_CASE("a set on another loop's thread wakes a task") {
  // Ping-pong between two loops on two threads; each side resets its event
  // before it sets the other's, so every round needs one cross-thread wake.
  Event ping, pong;
  constexpr int kRounds = 1000;
  int rounds_b = 0;
  Loop a(tier_options()), b(tier_options());
  Watchdog dog(30s, "cross-loop event ping-pong");
  std::thread tb([&] {
    b.block_on([&]() -> Task<> {
      for (int i = 0; i < kRounds; ++i) {
        REQUIRE((co_await ping.wait()) == WaitStatus::acquired);
        ping.reset();
        ++rounds_b;
        pong.set();
      }
    }());
  });
  int rounds_a = 0;
  a.block_on([&]() -> Task<> {
    for (int i = 0; i < kRounds; ++i) {
      ping.set();
      REQUIRE((co_await pong.wait()) == WaitStatus::acquired);
      pong.reset();
      ++rounds_a;
    }
  }());
  tb.join();
  CHECK(rounds_a == kRounds);
  CHECK(rounds_b == kRounds);
  CHECK(ping.waiters() == 0);
  CHECK(pong.waiters() == 0);
}

TEST_CASE("a set from a plain thread wakes a task") {
  Event e;
  Loop loop(tier_options());
  std::thread setter;
  Watchdog dog(20s, "plain-thread event set");
  auto s = loop.block_on([&]() -> Task<WaitStatus> {
    setter = std::thread([&] {
      while (e.waiters() == 0) std::this_thread::yield();
      e.set();
    });
    co_return co_await e.wait();
  }());
  setter.join();  // before the loop dies: see the next test
  CHECK(s == WaitStatus::acquired);
}

TEST_CASE("a loop can be destroyed as soon as its task was woken from another thread") {
  // Do not join the thread before the loop dies: the point is that set()
  // may still be delivering to the loop when it is destroyed. The waker must
  // be done with the loop (remote queue, flags, eventfd) before the woken
  // task can run, so that a loop destroyed as soon as its task returns is
  // never touched afterwards; TSan and ASan catch a waker that is late.
  Watchdog dog(60s, "loop destroyed right after a cross-thread wake");
  for (int i = 0; i < 50; ++i) {
    Event e;
    std::thread setter;
    WaitStatus s = WaitStatus::would_block;
    {
      Loop loop(tier_options());
      s = loop.block_on([&]() -> Task<WaitStatus> {
        setter = std::thread([&] {
          while (e.waiters() == 0) std::this_thread::yield();
          e.set();
        });
        co_return co_await e.wait();
      }());
    }  // the loop dies here, possibly while e.set() is still delivering to it
    setter.join();
    REQUIRE(s == WaitStatus::acquired);
  }
}

TEST_CASE("wait_for with the largest timeout waits like wait") {
  // nanoseconds::max() means no deadline (deadline_after saturates), as in
  // wait_blocking_for; `now() + d` would overflow and time out at once.
  Event e;
  Loop loop(tier_options());
  auto s = loop.block_on([&]() -> Task<WaitStatus> {
    loop.spawn([](Event& e) -> Task<> {
      co_await sleep_for(5ms);
      e.set();
    }(e));
    co_return co_await e.wait_for(std::chrono::nanoseconds::max());
  }());
  INFO("wait_for(nanoseconds::max()) returned " << to_string(s));
  CHECK(s == WaitStatus::acquired);
}
