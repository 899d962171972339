// Randomised lifecycle stress, run once per tier: the patterns that break
// event-loop libraries mixed at random for a bounded time.
//
//   migrate   a loop built on one thread, run on a second (its tasks take,
//             hold and wait for permits, some are parked for good), run
//             again on a third, destroyed on a fourth or the first, while
//             a loop on another thread keeps competing for the permits;
//   destroy   tasks destroyed right after their wake was delivered, by
//             their own loop or from another thread;
//   block     a release from a loop thread that then blocks its thread
//             until the woken loop answers;
//   fork      a child forked while loops are running, which exits at once.
//
// After every round every permit is back and nobody is queued; a lost wake
// shows up as a hang, which the watchdog turns into a failure.
// LIBSYNC_STRESS_SECONDS (default 2) bounds the run; LIBSYNC_STRESS_SEED
// picks the sequence and is printed so a failure can be replayed.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <future>
#include <memory>
#include <random>
#include <sync/event.hpp>
#include <sync/semaphore.hpp>
#include <thread>
#include <vector>

#include "test_util.hpp"

#if defined(__linux__)
#include <sys/wait.h>
#include <unistd.h>
#endif

using namespace libsync;
using namespace libsync::test;

namespace {

constexpr std::size_t kPermits = 4;

Raw raw_acquire(Semaphore& s) {
  auto p = co_await s.acquire();
}

struct Rng {
  std::mt19937_64 gen;
  explicit Rng(std::uint64_t seed) : gen(seed) {}
  unsigned below(unsigned n) { return static_cast<unsigned>(gen() % n); }
};

// A loop on its own thread that keeps taking and returning permits, so
// permits handed back by torn-down tasks have somewhere to go.
class Competitor {
 public:
  explicit Competitor(Semaphore& s) : sem_(s), thread_([this] { run(); }) {}
  ~Competitor() {
    stop_ = true;
    thread_.join();
  }

 private:
  void run() {
    Loop loop(tier_options());
    loop.block_on([this]() -> Task<> {
      while (!stop_) {
        auto r = co_await sem_.acquire_for(20ms);
        if (r) co_await sleep_for(100us);
      }
    }());
  }
  Semaphore& sem_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void round_migrate(Semaphore& sem, Rng& rng) {
  Competitor other(sem);
  Event never;
  auto loop = std::make_unique<Loop>(tier_options());
  const unsigned tasks = 1 + rng.below(12);
  const unsigned hold_us = rng.below(2000);
  const unsigned run_us = rng.below(3000);
  std::thread first([&] {
    loop->block_on([&]() -> Task<> {
      for (unsigned i = 0; i < tasks; ++i) {
        const bool park = i % 3 == 0;  // holds a permit (or waits) until torn down
        loop->spawn([](Semaphore& s, Event& e, bool park, unsigned hold) -> Task<> {
          auto r = co_await s.acquire_for(50ms);
          if (!r) co_return;
          if (park) co_await e.wait();
          co_await sleep_for(std::chrono::microseconds(hold));
        }(sem, never, park, hold_us));
      }
      co_await sleep_for(std::chrono::microseconds(run_us));
    }());
  });
  first.join();
  if (rng.below(2)) {
    std::thread second([&] { loop->block_on([]() -> Task<> { co_await sleep_for(200us); }()); });
    second.join();
  }
  if (rng.below(2)) {
    std::thread last([&] { loop.reset(); });
    last.join();
  } else {
    loop.reset();
  }
}

void round_destroy(Semaphore& sem, Rng& rng) {
  const bool remote = rng.below(2);
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    // Take every permit so the raw waiter must queue.
    std::vector<Permit> held;
    for (std::size_t i = 0; i < kPermits; ++i) {
      auto r = co_await sem.acquire_for(2s);
      if (r) held.push_back(std::move(r.permit));
    }
    Raw w = raw_acquire(sem);
    w.h.resume();
    if (remote) {
      std::thread([&] { held.pop_back(); }).join();
    } else {
      held.pop_back();
    }
    w.h.destroy();  // its wake was delivered; it never runs
    co_await yield();
  }());
}

void round_block(Semaphore& sem, Rng& rng) {
  Semaphore ping(0);
  std::promise<void> answered;
  auto answer = answered.get_future();
  std::atomic<bool> waiting{false};
  std::thread b([&] {
    Loop lb(tier_options());
    lb.block_on([&]() -> Task<> {
      auto r = ping.acquire();
      waiting = true;
      auto p = co_await r;
      if (p) answered.set_value();
    }());
  });
  while (!waiting || ping.waiters() == 0) std::this_thread::yield();
  if (rng.below(2)) std::this_thread::sleep_for(std::chrono::microseconds(rng.below(2000)));
  std::future_status st = std::future_status::timeout;
  Loop la(tier_options());
  la.block_on([&]() -> Task<> {
    if (rng.below(2)) co_await sleep_for(100us);
    ping.release(1);
    st = answer.wait_for(10s);  // blocks this loop's thread
  }());
  b.join();
  REQUIRE_MESSAGE(st == std::future_status::ready, "a wake from a loop whose thread then blocked was lost");
  (void)sem;
}

void round_fork(Semaphore& sem, Rng& rng) {
#if defined(__linux__)
  Competitor other(sem);
  std::this_thread::sleep_for(std::chrono::microseconds(rng.below(2000)));
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  REQUIRE(pid > 0);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
#else
  (void)sem;
  (void)rng;
#endif
}

}  // namespace

TEST_CASE("random mixes of moving, destroying, blocking and forking lose no permit and no wake") {
  const char* secs_env = std::getenv("LIBSYNC_STRESS_SECONDS");
  const double seconds = secs_env ? std::atof(secs_env) : 2.0;
  const char* seed_env = std::getenv("LIBSYNC_STRESS_SEED");
  const std::uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10)
                                      : static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
  std::printf("lifecycle stress on %s: seed %llu (LIBSYNC_STRESS_SEED=%llu replays it), %.1f s\n",
              tier_name().c_str(), static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed), seconds);
  std::fflush(stdout);
  Watchdog dog(std::chrono::milliseconds(static_cast<long long>(seconds * 1000) + 120000),
               "lifecycle stress");
  Rng rng(seed);
  Semaphore sem(kPermits);
  const auto end =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  unsigned rounds[4] = {0, 0, 0, 0};
  while (Clock::now() < end) {
    const unsigned kind = rng.below(4);
    switch (kind) {
      case 0:
        round_migrate(sem, rng);
        break;
      case 1:
        round_destroy(sem, rng);
        break;
      case 2:
        round_block(sem, rng);
        break;
      default:
        round_fork(sem, rng);
        break;
    }
    ++rounds[kind];
    INFO("after a round of kind " << kind << " (seed " << seed << ")");
    REQUIRE(sem.waiters() == 0);
    REQUIRE(sem.available() == kPermits);
  }
  MESSAGE("rounds: migrate " << rounds[0] << ", destroy " << rounds[1] << ", block " << rounds[2] << ", fork "
                             << rounds[3]);
  CHECK(rounds[0] + rounds[1] + rounds[2] + rounds[3] > 0);
}
