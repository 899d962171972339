// QueueLock (sync/detail/queue_lock.hpp), the lock of every waiter queue and
// remote queue: mutual exclusion under contention, and sleepers that are
// woken when a holder keeps the lock past the spin.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <sync/detail/queue_lock.hpp>
#include <thread>
#include <vector>

#include "test_util.hpp"

using libsync::detail::QueueLock;
using namespace std::chrono_literals;

TEST_CASE("QueueLock excludes: a plain counter under it loses no increment") {
  libsync::test::Watchdog dog(120s, "QueueLock counter");
  QueueLock lock;
  std::uint64_t counter = 0;  // plain on purpose: TSan reports any overlap
  constexpr int kThreads = 4;
#if defined(__SANITIZE_THREAD__)
  constexpr int kRounds = 20000;
#else
  constexpr int kRounds = 200000;
#endif
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < kRounds; ++i) {
        std::lock_guard g(lock);
        ++counter;
      }
    });
  for (auto& t : ts) t.join();
  CHECK(counter == std::uint64_t{kThreads} * kRounds);
}

TEST_CASE("QueueLock: threads that sleep on a lock held past the spin are all woken") {
  libsync::test::Watchdog dog(60s, "QueueLock sleepers");
  QueueLock lock;
  constexpr int kWaiters = 6;
  std::atomic<int> started{0}, got{0};
  lock.lock();
  std::vector<std::thread> ts;
  for (int t = 0; t < kWaiters; ++t)
    ts.emplace_back([&] {
      started.fetch_add(1);
      lock.lock();
      got.fetch_add(1);
      std::this_thread::sleep_for(1ms);  // hand over while the others sleep
      lock.unlock();
    });
  while (started.load() < kWaiters) std::this_thread::yield();
  std::this_thread::sleep_for(50ms);  // far past the spin: they are asleep
  CHECK(got.load() == 0);
  lock.unlock();
  for (auto& t : ts) t.join();
  CHECK(got.load() == kWaiters);
}

TEST_CASE("QueueLock handed back and forth, held past the spin, never strands a sleeper") {
  // Each of two threads holds the lock longer than the other spins, so the
  // other sleeps on it, and the unlock must wake it. A lost wake leaves a
  // thread in lock() for good once its partner stops: the joins below then
  // never return and the watchdog fails the test. (std::atomic::wait lost
  // such wakes on mingw-w64's libstdc++ 12 within seconds under Wine.)
  libsync::test::Watchdog dog(60s, "QueueLock hand-over: a sleeper was never woken");
  QueueLock lock;
  std::atomic<bool> stop{false};
  std::atomic<long> rounds{0};
  auto worker = [&] {
    while (!stop.load(std::memory_order_relaxed)) {
      std::lock_guard g(lock);
      const auto until = std::chrono::steady_clock::now() + 30us;
      while (std::chrono::steady_clock::now() < until) {
      }
      rounds.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::thread a(worker), b(worker);
#if defined(_WIN32)
  std::this_thread::sleep_for(8s);  // the race took about 4 s to show under Wine
#else
  std::this_thread::sleep_for(1s);
#endif
  stop = true;
  a.join();
  b.join();
  MESSAGE("QueueLock hand-over rounds: " << rounds.load());
  CHECK(rounds.load() > 0);
}

TEST_CASE("QueueLock::try_lock takes a free lock and refuses a held one") {
  QueueLock lock;
  CHECK(lock.try_lock());
  bool other = true;
  std::thread([&] { other = lock.try_lock(); }).join();
  CHECK_FALSE(other);
  lock.unlock();
  std::thread([&] {
    other = lock.try_lock();
    if (other) lock.unlock();
  }).join();
  CHECK(other);
}
