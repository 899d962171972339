// Semaphore behaviour, run once per tier (see tests/CMakeLists.txt).
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <sync/detail/waiter_queue.hpp>
#include <sync/semaphore.hpp>
#include <thread>
#include <type_traits>
#include <vector>

#include "test_util.hpp"

using namespace libsync;
using namespace libsync::test;

TEST_CASE("try_acquire takes free permits and a dropped permit gives them back") {
  Semaphore s(3);
  {
    auto a = s.try_acquire(2);
    CHECK(a.status == WaitStatus::acquired);
    CHECK(a.permit.count() == 2);
    CHECK(s.available() == 1);
    CHECK(s.in_use() == 2);
    auto b = s.try_acquire(2);
    CHECK(b.status == WaitStatus::would_block);
    CHECK_FALSE(b.permit);
  }
  CHECK(s.available() == 3);
  CHECK(s.in_use() == 0);
}

TEST_CASE("waiters are served in FIFO order") {
  Semaphore s(0);
  std::vector<int> order;
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    for (int i = 0; i < 5; ++i) {
      loop.spawn([](Semaphore& s, std::vector<int>& order, int i) -> Task<> {
        auto p = co_await s.acquire();
        REQUIRE(p);
        order.push_back(i);
      }(s, order, i));
    }
    co_await until([&] { return s.waiters() == 5; });
    // One permit: each waiter passes it on when it finishes, so the order in
    // which they ran is the order the queue handed it out.
    s.release(1);
    co_await until([&] { return order.size() == 5; });
  }());
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(s.available() == 1);
}

TEST_CASE("try_acquire does not barge past a queued waiter") {
  Semaphore s(1);
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    auto held = s.try_acquire(1);
    REQUIRE(held);
    bool got = false;
    loop.spawn([](Semaphore& s, bool& got) -> Task<> {
      auto p = co_await s.acquire(1);
      got = static_cast<bool>(p);
    }(s, got));
    co_await until([&] { return s.waiters() == 1; });
    held.permit.release();
    // The permit went to the waiter, not to the free count.
    CHECK(s.available() == 0);
    CHECK(s.try_acquire(1).status == WaitStatus::would_block);
    co_await until([&] { return got; });
  }());
  CHECK(s.available() == 1);
}

TEST_CASE("a large request at the head of the queue holds back smaller ones behind it") {
  Semaphore s(2);
  std::vector<int> order;
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    auto held = s.try_acquire(2);
    loop.spawn([](Semaphore& s, std::vector<int>& o) -> Task<> {
      auto p = co_await s.acquire(3);
      REQUIRE(p.permit.count() == 3);
      o.push_back(3);
    }(s, order));
    co_await until([&] { return s.waiters() == 1; });
    loop.spawn([](Semaphore& s, std::vector<int>& o) -> Task<> {
      auto p = co_await s.acquire(1);
      o.push_back(1);
    }(s, order));
    co_await until([&] { return s.waiters() == 2; });
    s.add_permits(1);  // 1 free permit: goes to the head (needs 3), not to the 1-permit waiter
    co_await sleep_for(5ms);
    CHECK(order.empty());
    CHECK(s.available() == 0);
    held.permit.release();  // head now has 3
    co_await until([&] { return order.size() == 2; });
  }());
  CHECK(order == std::vector<int>{3, 1});
  CHECK(s.available() == 3);
  CHECK(s.max() == 3);
}

TEST_CASE("acquire_for times out and leaves the count unchanged") {
  Semaphore s(1);
  auto held = s.try_acquire(1);
  auto r = run([&]() -> Task<AcquireResult> { co_return co_await s.acquire_for(20ms); }());
  CHECK(r.status == WaitStatus::timed_out);
  CHECK_FALSE(r.permit);
  CHECK(s.waiters() == 0);
  CHECK(s.available() == 0);
  held.permit.release();
  CHECK(s.available() == 1);
}

TEST_CASE("a stop_token cancels a queued acquire") {
  Semaphore s(0);
  std::stop_source src;
  Loop loop(tier_options());
  auto r = loop.block_on([&]() -> Task<AcquireResult> {
    loop.spawn([](std::stop_source& src) -> Task<> {
      co_await sleep_for(10ms);
      src.request_stop();
    }(src));
    co_return co_await s.acquire(1, src.get_token());
  }());
  CHECK(r.status == WaitStatus::cancelled);
  CHECK(s.waiters() == 0);
}

TEST_CASE("a stop requested from another thread cancels a queued acquire") {
  Semaphore s(0);
  std::stop_source src;
  std::thread stopper;
  auto r = run([&]() -> Task<AcquireResult> {
    stopper = std::thread([&] {
      while (s.waiters() == 0) std::this_thread::yield();
      src.request_stop();
    });
    co_return co_await s.acquire(1, src.get_token());
  }());
  stopper.join();
  CHECK(r.status == WaitStatus::cancelled);
  CHECK(s.waiters() == 0);
}

TEST_CASE("a waiter cancelled after receiving part of its permits passes them on") {
  Semaphore s(0);
  std::stop_source src;
  AcquireResult big, small;
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    loop.spawn([](Semaphore& s, std::stop_source& src, AcquireResult& out) -> Task<> {
      out = co_await s.acquire(3, src.get_token());
    }(s, src, big));
    co_await until([&] { return s.waiters() == 1; });
    loop.spawn([](Semaphore& s, AcquireResult& out) -> Task<> { out = co_await s.acquire(2); }(s, small));
    co_await until([&] { return s.waiters() == 2; });
    s.add_permits(2);  // both go to the head, which still needs 1 more
    CHECK(s.available() == 0);
    CHECK(s.in_use() == 0);
    src.request_stop();  // the head gives its 2 back: exactly what the next waiter needs
    co_await until([&] { return small.status == WaitStatus::acquired; });
    CHECK(big.status == WaitStatus::cancelled);
    CHECK(small.permit.count() == 2);
    small.permit.release();
  }());
  CHECK(s.available() == 2);
  CHECK(s.waiters() == 0);
}

TEST_CASE("close wakes every waiter with closed and the semaphore stays closed") {
  Semaphore s(1);
  std::vector<WaitStatus> results;
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    auto held = s.try_acquire(1);
    for (int i = 0; i < 3; ++i)
      loop.spawn([](Semaphore& s, std::vector<WaitStatus>& r) -> Task<> {
        r.push_back((co_await s.acquire(2)).status);
      }(s, results));
    co_await until([&] { return s.waiters() == 3; });
    s.add_permits(1);  // a partial grant to the head, returned on close
    s.close();
    co_await until([&] { return results.size() == 3; });
    CHECK(s.is_closed());
    s.add_permits(5);
    CHECK(s.is_closed());
    CHECK(s.forget_permits(1) == 1);
    CHECK(s.is_closed());
    CHECK(s.try_acquire(1).status == WaitStatus::closed);
    CHECK(s.try_acquire(0).status == WaitStatus::closed);
    CHECK((co_await s.acquire(1)).status == WaitStatus::closed);
    held.permit.release();  // permits held at close still come back
  }());
  for (auto r : results) CHECK(r == WaitStatus::closed);
  CHECK(s.available() == s.max());
  CHECK(s.max() == 6);
}

TEST_CASE("blocking and async waiters share one FIFO") {
  Semaphore s(0);
  std::atomic<int> next{0};
  std::vector<int> order(3, -1);
  Loop loop(tier_options());
  std::thread blocker;
  loop.block_on([&]() -> Task<> {
    loop.spawn([](Semaphore& s, std::atomic<int>& next, std::vector<int>& order) -> Task<> {
      auto p = co_await s.acquire();
      order[0] = next++;
    }(s, next, order));
    co_await until([&] { return s.waiters() == 1; });
    blocker = std::thread([&] {
      auto p = s.acquire_blocking();
      order[1] = next++;
    });
    co_await until([&] { return s.waiters() == 2; });
    loop.spawn([](Semaphore& s, std::atomic<int>& next, std::vector<int>& order) -> Task<> {
      auto p = co_await s.acquire();
      order[2] = next++;
    }(s, next, order));
    co_await until([&] { return s.waiters() == 3; });
    s.release(1);  // handed along the queue as each finishes
    co_await until([&] { return next.load() == 3; });
  }());
  blocker.join();
  CHECK(order == std::vector<int>{0, 1, 2});
}

TEST_CASE("a semaphore reports the hand-off order it was built with") {
  CHECK(Semaphore(1).hand_off() == HandOff::fifo);
  CHECK(Semaphore(1, HandOff::fifo).hand_off() == HandOff::fifo);
  CHECK(Semaphore(1, HandOff::loop_local).hand_off() == HandOff::loop_local);
}

TEST_CASE(
    "loop-local hand-off: a task's release goes to its own loop's waiter before an earlier one elsewhere") {
  Semaphore s(0, HandOff::loop_local);
  std::atomic<bool> thread_got{false};
  bool task_got = false;
  Loop loop(tier_options());
  std::thread blocker([&] {
    auto p = s.acquire_blocking();  // queued first: the head
    thread_got = true;
  });
  loop.block_on([&]() -> Task<> {
    co_await until([&] { return s.waiters() == 1; });
    loop.spawn([](Semaphore& s, bool& got) -> Task<> {
      auto p = co_await s.acquire();
      got = true;
      p.permit.detach();  // keep it out: the next release must be the test's own
    }(s, task_got));
    co_await until([&] { return s.waiters() == 2; });
    s.release(1);  // from a task of this loop: its own waiter goes first
    co_await until([&] { return task_got; });
    CHECK_FALSE(thread_got.load());
    CHECK(s.waiters() == 1);
    s.release(1);  // nobody of this loop waits now: the head gets it
    co_await until([&] { return thread_got.load(); });
  }());
  blocker.join();
  CHECK(task_got);
  CHECK(s.waiters() == 0);
  // The second release was counted as the detached permit coming back, and
  // the thread returned it: one free, none out.
  CHECK(s.available() == 1);
  CHECK(s.in_use() == 0);
}

TEST_CASE("loop-local hand-off passes the head over a bounded number of times, in FIFO order per loop") {
  constexpr int kMax = static_cast<int>(detail::WaiterQueue::kMaxPassOver);
  constexpr int kLocal = kMax + 8;  // more than the bound: the head must get its turn among them
  Semaphore s(0, HandOff::loop_local);
  std::atomic<int> served{0};    // local acquisitions so far
  std::atomic<int> head_at{-1};  // how many local ones came before the head's
  std::vector<int> order;
  Loop loop(tier_options());
  std::thread blocker([&] {
    auto p = s.acquire_blocking();
    head_at = served.load();
  });  // its permit goes back from a plain thread, to the head of the queue then
  loop.block_on([&]() -> Task<> {
    co_await until([&] { return s.waiters() == 1; });
    for (int i = 0; i < kLocal; ++i)
      loop.spawn([](Semaphore& s, std::atomic<int>& served, std::vector<int>& order, int i) -> Task<> {
        auto p = co_await s.acquire();
        order.push_back(i);
        ++served;
      }(s, served, order, i));  // each passes its permit on when it ends
    co_await until([&] { return s.waiters() == static_cast<std::size_t>(kLocal) + 1; });
    s.release(1);
    co_await until([&] { return served.load() == kLocal; });
  }());
  blocker.join();
  CHECK(head_at.load() == kMax);
  std::vector<int> expect(kLocal);
  for (int i = 0; i < kLocal; ++i) expect[static_cast<std::size_t>(i)] = i;
  CHECK(order == expect);
  CHECK(s.available() == 1);
  CHECK(s.waiters() == 0);
}

TEST_CASE("a release on another loop's thread wakes a task") {
  Semaphore ping(0), pong(0);
  constexpr int kRounds = 2000;
  Loop a(tier_options()), b(tier_options());
  Watchdog dog(20s, "cross-loop ping-pong");
  std::thread tb([&] {
    b.block_on([&]() -> Task<> {
      for (int i = 0; i < kRounds; ++i) {
        auto p = co_await ping.acquire();
        REQUIRE(p);
        p.permit.forget();
        pong.add_permits(1);
      }
    }());
  });
  a.block_on([&]() -> Task<> {
    for (int i = 0; i < kRounds; ++i) {
      ping.add_permits(1);
      auto p = co_await pong.acquire();
      REQUIRE(p);
      p.permit.forget();
    }
  }());
  tb.join();
  CHECK(ping.max() == 0);
  CHECK(pong.max() == 0);
}

TEST_CASE("a plain thread blocked in acquire_blocking is woken by a loop task") {
  Semaphore s(0);
  std::atomic<bool> got{false};
  std::thread t([&] {
    auto p = s.acquire_blocking();
    got = static_cast<bool>(p);
  });
  run([&]() -> Task<> {
    co_await until([&] { return s.waiters() == 1; });
    s.release(1);
    co_return;
  }());
  t.join();
  CHECK(got);
  CHECK(s.available() == 1);
}

TEST_CASE("acquire_blocking_for times out and can be cancelled") {
  Semaphore s(0);
  auto r = s.acquire_blocking_for(10ms);
  CHECK(r.status == WaitStatus::timed_out);
  std::stop_source src;
  std::thread t([&] {
    while (s.waiters() == 0) std::this_thread::yield();
    src.request_stop();
  });
  auto c = s.acquire_blocking(1, src.get_token());
  t.join();
  CHECK(c.status == WaitStatus::cancelled);
  CHECK(s.waiters() == 0);
}

TEST_CASE("a wake never resumes the waiter on the waker's stack") {
  Semaphore s(0);
  bool releasing = false;
  bool resumed_inside_release = false;
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    loop.spawn([](Semaphore& s, bool& releasing, bool& inside) -> Task<> {
      auto p = co_await s.acquire();
      inside = releasing;
    }(s, releasing, resumed_inside_release));
    co_await until([&] { return s.waiters() == 1; });
    releasing = true;
    s.release(1);
    releasing = false;
    co_await until([&] { return s.waiters() == 0 && s.available() == 1; });
  }());
  CHECK_FALSE(resumed_inside_release);
}

TEST_CASE("a same-loop hand-off makes no syscall") {
  Semaphore ping(0), pong(0);
  Loop loop(tier_options());
  std::uint64_t before = 0, after = 0;
  loop.block_on([&]() -> Task<> {
    loop.spawn([](Semaphore& ping, Semaphore& pong) -> Task<> {
      for (int i = 0; i < 1000; ++i) {
        auto p = co_await ping.acquire();
        p.permit.forget();
        pong.add_permits(1);
      }
    }(ping, pong));
    co_await yield();
    before = loop.stats().syscalls;
    for (int i = 0; i < 1000; ++i) {
      ping.add_permits(1);
      auto p = co_await pong.acquire();
      p.permit.forget();
    }
    after = loop.stats().syscalls;
  }());
  CHECK(after - before == 0);
}

TEST_CASE("a task destroyed while waiting leaves the queue consistent") {
  Semaphore s(1);
  auto held = s.try_acquire(1);
  {
    Loop loop(tier_options());
    loop.block_on([&]() -> Task<> {
      for (int i = 0; i < 3; ++i)
        loop.spawn([](Semaphore& s) -> Task<> { auto p = co_await s.acquire(2); }(s));
      co_await until([&] { return s.waiters() == 3; });
      s.add_permits(1);  // the head now holds a partial grant
    }());
    CHECK(s.waiters() == 3);
  }  // the loop dies with three suspended tasks
  CHECK(s.waiters() == 0);
  held.permit.release();
  CHECK(s.available() == 2);
  CHECK(s.try_acquire(2));
}

TEST_CASE("a task destroyed after its wake was delivered gives the permits back") {
  Semaphore s(0);
  {
    Loop loop(tier_options());
    loop.block_on([&]() -> Task<> {
      loop.spawn([](Semaphore& s) -> Task<> { auto p = co_await s.acquire(1); }(s));
      co_await until([&] { return s.waiters() == 1; });
      s.release(1);  // completes the waiter; it would run on the next iteration
    }());
  }
  CHECK(s.available() == 1);
  CHECK(s.in_use() == 0);
}

TEST_CASE("split, forget and detach account for every permit") {
  Semaphore s(5);
  auto r = s.try_acquire(4);
  Permit part = r.permit.split(1);
  CHECK(part.count() == 1);
  CHECK(r.permit.count() == 3);
  CHECK_THROWS_AS(r.permit.split(4), std::out_of_range);
  part.forget();
  CHECK(s.max() == 4);
  std::size_t n = r.permit.detach();
  CHECK(n == 3);
  CHECK(s.in_use() == 3);
  s.release(n);
  CHECK(s.available() == 4);
  CHECK(s.forget_permits(10) == 4);
  CHECK(s.max() == 0);
  s.add_permits(2);
  CHECK(s.available() == 2);
}

TEST_CASE("an owned permit keeps its semaphore alive") {
  auto s = std::make_shared<Semaphore>(1);
  std::weak_ptr<Semaphore> weak = s;
  OwnedPermit p = run([&]() -> Task<OwnedPermit> {
    auto r = co_await Semaphore::acquire_owned(s);
    co_return std::move(r.permit);
  }());
  CHECK(p.count() == 1);
  CHECK(s->available() == 0);
  s.reset();
  CHECK_FALSE(weak.expired());
  p.release();
  CHECK(weak.lock()->available() == 1);
  auto t = Semaphore::try_acquire_owned(weak.lock());
  CHECK(t);
}

// ---- the permit count and its bound ----

constexpr std::size_t kMax = Semaphore::kMaxPermits;

static Task<> acquire_into(Semaphore& s, std::size_t n, std::optional<AcquireResult>& got) {
  got.emplace(co_await s.acquire(n));
}

TEST_CASE("kMaxPermits leaves the state word room to add two counts before checking") {
  // free << 2 holds the count beside two flag bits; the sum of two counts up
  // to kMaxPermits must still fit after that shift.
  CHECK((((kMax + kMax) << 2) >> 2) == kMax + kMax);
  CHECK(kMax == static_cast<std::size_t>(-1) >> 3);
}

TEST_CASE("a semaphore larger than kMaxPermits is refused") {
  CHECK_THROWS_AS(Semaphore(kMax + 1), std::length_error);
  Semaphore s(kMax);
  CHECK(s.available() == kMax);
  CHECK(s.max() == kMax);
}

TEST_CASE("add_permits past kMaxPermits throws length_error and changes nothing") {
  Semaphore s(kMax);
  CHECK_THROWS_AS(s.add_permits(kMax), std::length_error);
  CHECK_THROWS_AS(s.add_permits(kMax), std::length_error);
  CHECK_THROWS_AS(s.add_permits(1), std::length_error);
  CHECK(s.available() == kMax);
  CHECK(s.max() == kMax);
  {
    // Permits that are out count too: max() is the bound, not available().
    auto p = s.try_acquire(10);
    REQUIRE(p);
    CHECK_THROWS_AS(s.add_permits(10), std::length_error);
    CHECK(s.max() == kMax);
    CHECK(s.in_use() == 10);
  }
  CHECK(s.available() == kMax);
  Semaphore t(kMax - 1);
  t.add_permits(1);
  CHECK(t.max() == kMax);
  CHECK(t.available() == kMax);
}

TEST_CASE("a release past kMaxPermits throws length_error and changes nothing") {
  Semaphore s(0);
  CHECK_THROWS_AS(s.release(std::size_t{1} << 62), std::length_error);
  CHECK(s.available() == 0);
  CHECK(s.max() == 0);
  CHECK_THROWS_AS(s.release(static_cast<std::size_t>(-1)), std::length_error);
  CHECK(s.available() == 0);
  s.release(kMax);
  CHECK(s.available() == kMax);
  CHECK(s.max() == kMax);
  CHECK_THROWS_AS(s.release(1), std::length_error);
  CHECK(s.available() == kMax);
  CHECK(s.max() == kMax);
}

TEST_CASE("a release past kMaxPermits with waiters queued throws and leaves them queued") {
  Semaphore s(0);
  std::optional<AcquireResult> got;
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    loop.spawn(acquire_into(s, 2, got));
    co_await until([&] { return s.waiters() == 1; });
    CHECK_THROWS_AS(s.release(kMax + 1), std::length_error);
    CHECK(s.waiters() == 1);
    CHECK(s.available() == 0);
    CHECK(s.max() == 0);
    s.release(kMax);
    co_await until([&] { return got.has_value(); });
  }());
  REQUIRE(got);
  CHECK(got->status == WaitStatus::acquired);
  CHECK(got->permit.count() == 2);
  CHECK(s.available() == kMax - 2);
  CHECK(s.max() == kMax);
  got.reset();
  CHECK(s.available() == kMax);
}

TEST_CASE("releasing permits that are not out adds them: max() grows by the excess") {
  Semaphore s(1);
  s.release(1000);
  CHECK(s.available() == 1001);
  CHECK(s.max() == 1001);
  CHECK(s.in_use() == 0);

  Semaphore signal(0);
  signal.release();
  CHECK(signal.available() == 1);
  CHECK(signal.max() == 1);

  // A release counts first against the permits that are out; only the rest
  // is new. The semaphore cannot tell whose permits come back, so here the
  // held permit's own return is the one that turns out to be extra.
  Semaphore h(2);
  auto p = h.try_acquire(1);
  REQUIRE(p);
  h.release(1);
  CHECK(h.available() == 2);
  CHECK(h.max() == 2);
  CHECK(h.in_use() == 0);
  p.permit.release();
  CHECK(h.available() == 3);
  CHECK(h.max() == 3);

  // Likewise when the held permit is forgotten instead: the release that
  // was counted against it turns out to have added one.
  Semaphore f(1);
  auto q = f.try_acquire(1);
  REQUIRE(q);
  f.release(1);
  CHECK(f.max() == 1);
  q.permit.forget();
  CHECK(f.available() == 1);
  CHECK(f.max() == 1);
  CHECK(f.in_use() == 0);
  CHECK(f.forget_permits(5) == 1);
  CHECK(f.max() == 0);

  // Past the bound, even by one, is refused.
  Semaphore b(kMax - 1);
  CHECK_THROWS_AS(b.release(2), std::length_error);
  CHECK(b.max() == kMax - 1);
  CHECK(b.available() == kMax - 1);
  b.release(1);
  CHECK(b.max() == kMax);
}

TEST_CASE("releases of new permits racing with acquires and returns on other threads are all counted") {
  // Every thread mixes releases of permits that were never taken with
  // try_acquire + return pairs; once all are done, every new permit must be
  // in max() exactly once and none may be counted as still out.
  constexpr int kThreads = 3, kRounds = 20000;
  Semaphore s(2);
  std::atomic<int> go{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      go.fetch_add(1);
      while (go.load() < kThreads) std::this_thread::yield();
      for (int i = 0; i < kRounds; ++i) {
        auto p = s.try_acquire(1 + i % 2);
        if (i % 3 == 0) s.release(1);
        p.permit.release();
      }
    });
  for (auto& t : threads) t.join();
  const std::size_t added = kThreads * ((kRounds + 2) / 3);
  CHECK(s.available() == 2 + added);
  CHECK(s.max() == 2 + added);
  CHECK(s.in_use() == 0);
}

TEST_CASE("a release to queued waiters of permits that are not out grows max()") {
  Semaphore s(0);
  std::optional<AcquireResult> got;
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    loop.spawn(acquire_into(s, 1, got));
    co_await until([&] { return s.waiters() == 1; });
    s.release(3);
    co_await until([&] { return got.has_value(); });
  }());
  REQUIRE(got);
  CHECK(got->permit.count() == 1);
  CHECK(s.available() == 2);
  CHECK(s.max() == 3);
  CHECK(s.in_use() == 1);
  got.reset();
  CHECK(s.available() == 3);
  CHECK(s.in_use() == 0);
}

TEST_CASE("permits returned on other threads while tasks queue all reach the queue") {
  // A Permit's return is lock-free only while nobody is queued; one that
  // finds tasks queued, or races with one queueing, must hand its permits to
  // the head. Two threads take and return permits in tight loops while the
  // loop's tasks queue and re-queue behind them and each other: a permit
  // left in the free count with tasks queued would stall them until their
  // deadline.
  constexpr int kTasks = 16, kRounds = 2000;
  Semaphore s(2);
  Loop loop(tier_options());
  std::atomic<bool> stop{false};
  std::atomic<int> timed_out{0}, served{0};
  Watchdog dog(60s, "returns racing with queued tasks");
  std::vector<std::thread> others;
  for (int t = 0; t < 2; ++t)
    others.emplace_back([&, t] {
      while (!stop.load(std::memory_order_relaxed)) {
        if (t == 0) {
          auto p = s.try_acquire(1);
          (void)p;  // returned at once, often with tasks queued
        } else {
          auto p = s.acquire_blocking_for(50ms, 2);
          (void)p;
        }
      }
    });
  loop.block_on([&]() -> Task<> {
    for (int i = 0; i < kTasks; ++i)
      loop.spawn([](Semaphore& s, std::atomic<int>& timed_out, std::atomic<int>& served, int i) -> Task<> {
        for (int r = 0; r < kRounds; ++r) {
          auto p = co_await s.acquire_for(2s, 1 + (i + r) % 2);
          if (p.status != WaitStatus::acquired) {
            timed_out.fetch_add(1);
            co_return;
          }
          // Now and then hold the permits across a suspension, so that the
          // other tasks queue and this task's own return finds them queued.
          if (r % 4 == 0) co_await sleep_for(20us);
          served.fetch_add(1);
        }
      }(s, timed_out, served, i));
    co_await until([&] { return served.load() + timed_out.load() * kRounds >= kTasks * kRounds; }, 60s);
  }());
  stop.store(true);
  for (auto& t : others) t.join();
  CHECK(timed_out.load() == 0);
  CHECK(served.load() == kTasks * kRounds);
  CHECK(s.waiters() == 0);
  CHECK(s.available() == 2);
  CHECK(s.max() == 2);
  CHECK(s.in_use() == 0);
}

TEST_CASE("a Permit cannot be minted from a semaphore and a count") {
  // Only the semaphore makes Permits; from outside, permits come from
  // acquiring them.
  CHECK_FALSE(std::is_constructible_v<Permit, Semaphore&, std::size_t>);
  CHECK(std::is_default_constructible_v<Permit>);
  CHECK(std::is_move_constructible_v<Permit>);
}

TEST_CASE("a wait for more than kMaxPermits throws length_error; try_acquire reports would_block") {
  Semaphore s(1);
  CHECK_THROWS_AS((void)s.acquire(kMax + 1), std::length_error);
  CHECK_THROWS_AS((void)s.acquire_for(1ms, kMax + 1), std::length_error);
  CHECK_THROWS_AS((void)s.acquire_until(Clock::now(), kMax + 1), std::length_error);
  CHECK_THROWS_AS((void)s.acquire_blocking(kMax + 1), std::length_error);
  CHECK_THROWS_AS((void)s.acquire_blocking_for(1ms, kMax + 1), std::length_error);
  auto shared = std::make_shared<Semaphore>(1);
  CHECK_THROWS_AS((void)Semaphore::acquire_owned(shared, kMax + 1), std::length_error);
  CHECK_THROWS_AS((void)Semaphore::acquire_owned_for(shared, 1ms, kMax + 1), std::length_error);
  // The exception reaches the awaiting task, not a would_block result.
  bool threw = false;
  std::optional<WaitStatus> status;
  run([&]() -> Task<> {
    try {
      auto r = co_await s.acquire(kMax + 1);
      status = r.status;
    } catch (const std::length_error&) {
      threw = true;
    }
  }());
  CHECK(threw);
  CHECK_FALSE(status.has_value());
  CHECK(s.try_acquire(kMax + 1).status == WaitStatus::would_block);
  CHECK(Semaphore::try_acquire_owned(shared, kMax + 1).status == WaitStatus::would_block);
  CHECK(s.available() == 1);
  CHECK(s.waiters() == 0);
  // kMaxPermits itself is a valid request, served once that many exist.
  s.add_permits(kMax - 1);
  CHECK(s.try_acquire(kMax));
}
