// Mutex behaviour, run once per tier (see tests/CMakeLists.txt).
#include <doctest/doctest.h>

#include <atomic>
#include <stop_token>
#include <string>
#include <sync/mutex.hpp>
#include <thread>
#include <vector>

#include "test_util.hpp"

// Readable failure messages for the order checks.
namespace doctest {
template <>
struct StringMaker<std::vector<int>> {
  static String convert(const std::vector<int>& v) {
    std::string s = "{";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return (s + "}").c_str();
  }
};
}  // namespace doctest

using namespace libsync;
using namespace libsync::test;

TEST_CASE("a locked mutex is handed to its waiters in FIFO order") {
  Mutex m;
  std::vector<int> order;
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    auto held = m.try_lock();
    REQUIRE(held);
    for (int i = 0; i < 5; ++i) {
      loop.spawn([](Mutex& m, std::vector<int>& order, int i) -> Task<> {
        auto r = co_await m.lock();
        REQUIRE(r);
        order.push_back(i);
        co_await yield();  // hold it across a suspension: nobody else may run the section
        order.push_back(i);
      }(m, order, i));
      co_await until([&] { return m.waiters() == static_cast<std::size_t>(i + 1); });
    }
    held.guard.unlock();
    co_await until([&] { return order.size() == 10; });
  }());
  CHECK(order == std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3, 4, 4});
  CHECK_FALSE(m.is_locked());
  CHECK(m.waiters() == 0);
}

TEST_CASE("a task that unlocks and re-locks at once goes behind the queued waiters") {
  Mutex m;
  std::vector<int> order;
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    auto first = co_await m.lock();
    REQUIRE(first);
    for (int i = 1; i <= 2; ++i) {
      loop.spawn([](Mutex& m, std::vector<int>& order, int i) -> Task<> {
        auto r = co_await m.lock();
        order.push_back(i);
      }(m, order, i));
    }
    co_await until([&] { return m.waiters() == 2; });
    first.guard.unlock();
    // The unlock handed the lock to waiter 1 before this task could take it
    // back, so this lock queues behind 1 and 2.
    CHECK(m.is_locked());
    CHECK(m.try_lock().status == WaitStatus::would_block);
    auto again = co_await m.lock();
    REQUIRE(again);
    order.push_back(0);
  }());
  CHECK(order == std::vector<int>{1, 2, 0});
  CHECK_FALSE(m.is_locked());
}

TEST_CASE("try_lock fails while the mutex is locked and succeeds once it is unlocked") {
  Mutex m;
  auto a = m.try_lock();
  REQUIRE(a);
  CHECK(a.guard.owns_lock());
  CHECK(a.guard.mutex() == &m);
  CHECK(m.is_locked());
  auto b = m.try_lock();
  CHECK(b.status == WaitStatus::would_block);
  CHECK_FALSE(b.guard.owns_lock());
  a.guard.unlock();
  CHECK_FALSE(m.is_locked());
  auto c = m.try_lock();
  CHECK(c.status == WaitStatus::acquired);
}

TEST_CASE("try_lock does not barge past a queued waiter") {
  Mutex m;
  bool got = false;
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    auto held = m.try_lock();
    REQUIRE(held);
    loop.spawn([](Mutex& m, bool& got) -> Task<> {
      auto r = co_await m.lock();
      got = r.guard.owns_lock();
    }(m, got));
    co_await until([&] { return m.waiters() == 1; });
    held.guard.unlock();
    // The lock went straight to the waiter, which has not run yet.
    CHECK_FALSE(got);
    CHECK(m.is_locked());
    CHECK(m.try_lock().status == WaitStatus::would_block);
    co_await until([&] { return got; });
  }());
  CHECK(got);
  CHECK_FALSE(m.is_locked());
}

TEST_CASE("lock_for times out while the mutex stays locked") {
  Mutex m;
  auto held = m.try_lock();
  REQUIRE(held);
  auto r = run([&]() -> Task<LockResult> { co_return co_await m.lock_for(20ms); }());
  CHECK(r.status == WaitStatus::timed_out);
  CHECK_FALSE(r.guard.owns_lock());
  CHECK(m.waiters() == 0);
  CHECK(m.is_locked());  // the timed-out guard did not unlock someone else's lock
  held.guard.unlock();
  CHECK_FALSE(m.is_locked());
}

TEST_CASE("lock_for gets the lock when it is unlocked before the deadline") {
  Mutex m;
  Loop loop(tier_options());
  auto r = loop.block_on([&]() -> Task<LockResult> {
    auto held = m.try_lock();
    loop.spawn([](LockResult& held) -> Task<> {
      co_await sleep_for(5ms);
      held.guard.unlock();
    }(held));
    co_return co_await m.lock_for(10s);
  }());
  CHECK(r.status == WaitStatus::acquired);
  CHECK(r.guard.owns_lock());
  CHECK(m.is_locked());
}

TEST_CASE("a stop_token cancels a queued lock and the next waiter still gets the lock") {
  Mutex m;
  std::stop_source src;
  LockResult cancelled, next;
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    auto held = m.try_lock();
    REQUIRE(held);
    loop.spawn([](Mutex& m, std::stop_source& src, LockResult& out) -> Task<> {
      out = co_await m.lock(src.get_token());
    }(m, src, cancelled));
    co_await until([&] { return m.waiters() == 1; });
    loop.spawn([](Mutex& m, LockResult& out) -> Task<> { out = co_await m.lock(); }(m, next));
    co_await until([&] { return m.waiters() == 2; });
    src.request_stop();
    CHECK(m.waiters() == 1);  // the stop took the waiter out of the queue at once
    co_await until([&] { return cancelled.status != WaitStatus::would_block; });
    CHECK(cancelled.status == WaitStatus::cancelled);
    CHECK_FALSE(cancelled.guard.owns_lock());
    held.guard.unlock();
    co_await until([&] { return next.status == WaitStatus::acquired; });
    CHECK(next.guard.owns_lock());
    next.guard.unlock();
  }());
  CHECK_FALSE(m.is_locked());
  CHECK(m.waiters() == 0);
}

TEST_CASE("a stop requested from another thread cancels a queued lock") {
  Mutex m;
  std::stop_source src;
  std::thread stopper;
  auto held = m.try_lock();
  REQUIRE(held);
  auto r = run([&]() -> Task<LockResult> {
    stopper = std::thread([&] {
      while (m.waiters() == 0) std::this_thread::yield();
      src.request_stop();
    });
    co_return co_await m.lock(src.get_token());
  }());
  stopper.join();
  CHECK(r.status == WaitStatus::cancelled);
  CHECK(m.waiters() == 0);
  CHECK(m.is_locked());
}

TEST_CASE("a guard unlocks when destroyed and unlock() releases exactly once") {
  Mutex m;
  {
    auto r = m.try_lock();
    REQUIRE(r);
    CHECK(m.is_locked());
  }
  CHECK_FALSE(m.is_locked());

  auto first = m.try_lock();
  REQUIRE(first);
  first.guard.unlock();
  CHECK_FALSE(first.guard.owns_lock());
  CHECK_FALSE(m.is_locked());
  {
    auto second = m.try_lock();
    REQUIRE(second);
    first = LockResult{};  // destroys the unlocked guard: must not unlock `second`'s lock
    CHECK(m.is_locked());
  }
  CHECK_FALSE(m.is_locked());

  // A moved-from guard does not unlock; the guard it moved into does.
  auto a = m.try_lock();
  MutexGuard moved = std::move(a.guard);
  CHECK_FALSE(a.guard.owns_lock());
  a = LockResult{};
  CHECK(m.is_locked());
  CHECK(moved.owns_lock());
  moved = MutexGuard{};
  CHECK_FALSE(m.is_locked());

  // The guard from co_await lock() behaves the same.
  run([&]() -> Task<> {
    {
      auto r = co_await m.lock();
      CHECK(r.guard.owns_lock());
      CHECK(m.is_locked());
    }
    CHECK_FALSE(m.is_locked());
  }());
}

TEST_CASE("lock_blocking_for times out and can be cancelled") {
  Mutex m;
  auto held = m.try_lock();
  auto r = m.lock_blocking_for(10ms);
  CHECK(r.status == WaitStatus::timed_out);
  CHECK_FALSE(r.guard.owns_lock());
  std::stop_source src;
  std::thread t([&] {
    while (m.waiters() == 0) std::this_thread::yield();
    src.request_stop();
  });
  auto c = m.lock_blocking(src.get_token());
  t.join();
  CHECK(c.status == WaitStatus::cancelled);
  CHECK(m.waiters() == 0);
  CHECK(m.is_locked());
}

TEST_CASE("blocking and async lockers share one FIFO") {
  Mutex m;
  std::atomic<int> next{0};
  std::vector<int> order(3, -1);
  Loop loop(tier_options());
  std::thread blocker;
  loop.block_on([&]() -> Task<> {
    auto held = m.try_lock();
    REQUIRE(held);
    loop.spawn([](Mutex& m, std::atomic<int>& next, std::vector<int>& order) -> Task<> {
      auto g = co_await m.lock();
      order[0] = next++;
    }(m, next, order));
    co_await until([&] { return m.waiters() == 1; });
    blocker = std::thread([&] {
      auto g = m.lock_blocking();
      order[1] = next++;
    });
    co_await until([&] { return m.waiters() == 2; });
    loop.spawn([](Mutex& m, std::atomic<int>& next, std::vector<int>& order) -> Task<> {
      auto g = co_await m.lock();
      order[2] = next++;
    }(m, next, order));
    co_await until([&] { return m.waiters() == 3; });
    held.guard.unlock();
    co_await until([&] { return next.load() == 3; });
  }());
  blocker.join();
  CHECK(order == std::vector<int>{0, 1, 2});
  CHECK_FALSE(m.is_locked());
}

// Increments a plain int under the lock, `rounds` times, sometimes holding the
// lock across a suspension so that other lockers queue up behind it.
static Task<> increment_async(Mutex& m, int& counter, std::atomic<int>& inside, std::atomic<int>& overlaps,
                              int rounds, int& finished) {
  for (int i = 0; i < rounds; ++i) {
    auto g = co_await m.lock();
    if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
    int v = counter;
    if (i % 8 == 0) co_await yield();
    counter = v + 1;
    inside.fetch_sub(1);
  }
  ++finished;  // a per-loop count: only this loop's tasks touch it
}

TEST_CASE("blocking and async lockers mixed protect a plain counter") {
  Mutex m;
  int counter = 0;
  std::atomic<int> inside{0}, overlaps{0};
  constexpr int kRounds = 2000;
  Watchdog dog(60s, "mixed blocking and async lockers");
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        auto r = m.lock_blocking();
        if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
        int v = counter;
        if (i % 8 == 0) std::this_thread::yield();
        counter = v + 1;
        inside.fetch_sub(1);
      }
    });
  }
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    int finished = 0;
    loop.spawn(increment_async(m, counter, inside, overlaps, kRounds, finished));
    loop.spawn(increment_async(m, counter, inside, overlaps, kRounds, finished));
    co_await until([&] { return finished == 2; }, 60s);
  }());
  for (auto& t : threads) t.join();
  CHECK(overlaps.load() == 0);
  CHECK(counter == 4 * kRounds);
  CHECK_FALSE(m.is_locked());
  CHECK(m.waiters() == 0);
}

TEST_CASE("lock and unlock on two loops in two threads protect a plain counter") {
  Mutex m;
  int counter = 0;
  std::atomic<int> inside{0}, overlaps{0};
  constexpr int kTasksPerLoop = 4;
  constexpr int kRounds = 1000;
  Loop a(tier_options()), b(tier_options());
  Watchdog dog(60s, "cross-loop mutex counter");
  auto drive = [&](Loop& loop) {
    loop.block_on([](Loop& loop, Mutex& m, int& counter, std::atomic<int>& inside,
                     std::atomic<int>& overlaps) -> Task<> {
      int finished = 0;
      for (int t = 0; t < kTasksPerLoop; ++t)
        loop.spawn(increment_async(m, counter, inside, overlaps, kRounds, finished));
      co_await until([&] { return finished == kTasksPerLoop; }, 60s);
    }(loop, m, counter, inside, overlaps));
  };
  std::thread tb([&] { drive(b); });
  drive(a);
  tb.join();
  CHECK(overlaps.load() == 0);
  CHECK(counter == 2 * kTasksPerLoop * kRounds);
  CHECK_FALSE(m.is_locked());
  CHECK(m.waiters() == 0);
}

TEST_CASE("lock_for with the largest timeout waits like lock") {
  // nanoseconds::max() means no deadline (deadline_after saturates), as in
  // lock_blocking_for; `now() + d` would overflow and time out at once.
  Mutex m;
  Loop loop(tier_options());
  auto r = loop.block_on([&]() -> Task<LockResult> {
    auto held = m.try_lock();
    loop.spawn([](LockResult& held) -> Task<> {
      co_await sleep_for(5ms);
      held.guard.unlock();
    }(held));
    co_return co_await m.lock_for(std::chrono::nanoseconds::max());
  }());
  INFO("lock_for(nanoseconds::max()) returned " << to_string(r.status));
  CHECK(r.status == WaitStatus::acquired);
  CHECK(r.guard.owns_lock());
}
