// A tier's live self-test: many cross-thread wakes through the tier's real
// wake path, on a loop forced to it. The selector runs it once per process
// for every available tier before auto may choose one.
#include <algorithm>
#include <sync/capabilities.hpp>
#include <sync/semaphore.hpp>
#include <thread>

#include "loop_core.hpp"
#include "parker.hpp"
#include "selector.hpp"

namespace libsync::detail {

SelfTestResult run_self_test(Tier tier, BackendKind backend, unsigned wakes) {
  using namespace std::chrono;
  SelfTestResult r;
  r.ran = true;
  r.late_threshold_ns = 1'000'000;  // a wake later than 1 ms counts as late
  r.wakes = wakes;
  std::unique_ptr<Loop> loop;
  try {
    LoopOptions o;
    o.tier = tier;
    o.backend = backend;
    o.use_environment = false;
    // Every wake must reach a sleeping loop through the tier's wake path; a
    // spin would catch them before it and test nothing of the tier.
    o.idle_spin = std::chrono::nanoseconds::zero();
    loop = std::make_unique<Loop>(o);
  } catch (const std::exception& e) {
    r.detail = std::string("could not start a loop: ") + e.what();
    return r;
  }

  // The waiter task acquires `wakes` times from an empty semaphore; this
  // thread releases one permit at a time and waits (bounded) for the ack.
  // The state is shared so that a failed run can be abandoned safely.
  struct State {
    Semaphore sem{0};
    std::atomic<std::uint32_t> acks{0};
    std::vector<Clock::time_point> woke;
  };
  auto st = std::make_shared<State>();
  st->woke.resize(wakes);
  Loop* lp = loop.get();
  std::thread runner([st, lp, wakes] {
    lp->block_on([](std::shared_ptr<State> s, Loop* l, unsigned n) -> Task<> {
      for (unsigned i = 0; i < n; ++i) {
        // The first half of the wakes find the loop asleep the way it sleeps
        // with I/O in flight (uring-futex: in its ring), the rest the way it
        // sleeps with neither I/O nor a timer (a plain futex wait), where the
        // tier has two ways.
        if (i == 0 || i == n / 2) detail::core(*l).wake_path().allow_direct_sleep(i != 0);
        auto p = co_await s->sem.acquire();
        if (!p) co_return;  // closed: the test gave up
        s->woke[i] = Clock::now();
        p.permit.forget();
        s->acks.store(i + 1, std::memory_order_release);
        detail::unpark_all(s->acks);
      }
    }(st, lp, wakes));
  });

  std::vector<std::uint64_t> lat;
  lat.reserve(wakes);
  bool lost_one = false;
  for (unsigned i = 0; i < wakes && !lost_one; ++i) {
    // Let the waiter get back to sleep so each wake crosses threads for real.
    while (st->sem.waiters() == 0) std::this_thread::yield();
    auto t0 = Clock::now();
    st->sem.add_permits(1);
    auto give_up = t0 + milliseconds(500);
    while (st->acks.load(std::memory_order_acquire) <= i) {
      if (Clock::now() >= give_up) {
        lost_one = true;
        break;
      }
      detail::park(st->acks, i, give_up);
    }
    if (lost_one) {
      ++r.lost;
      break;
    }
    auto ns = static_cast<std::uint64_t>(duration_cast<nanoseconds>(st->woke[i] - t0).count());
    lat.push_back(ns);
    if (ns > r.late_threshold_ns) ++r.late;
  }
  if (lost_one) {
    // The wake path is broken; closing the semaphore may not get through
    // either, so the runner thread and its loop are left behind rather than
    // hang start-up.
    st->sem.close();
    runner.detach();
    (void)loop.release();
    r.detail = "a wake was lost (no resume within 500 ms)";
    r.passed = false;
    return r;
  }
  runner.join();
  std::sort(lat.begin(), lat.end());
  if (!lat.empty()) {
    r.p50_ns = lat[lat.size() / 2];
    r.p99_ns = lat[std::min(lat.size() - 1, lat.size() * 99 / 100)];
    r.max_ns = lat.back();
  }
  // Shared, noisy VMs deliver the odd late wake on any path; a systematic
  // problem shows as many.
  r.passed = r.lost == 0 && r.late * 50 <= r.wakes;
  r.detail = std::to_string(r.wakes) + " cross-thread wakes, " + std::to_string(r.lost) + " lost, " +
             std::to_string(r.late) + " later than 1 ms";
  if (!capabilities().windows.wine_version.empty()) {
    // Under Wine every call goes through the wineserver process, so lateness
    // says nothing about the wake path; only lost wakes count there.
    r.passed = r.lost == 0;
    r.detail += " (under Wine " + capabilities().windows.wine_version + ": only lost wakes fail the test)";
  }
  return r;
}

}  // namespace libsync::detail
