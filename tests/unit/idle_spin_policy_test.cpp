// IdleSpinPolicy's rules on their own (src/idle_spin_policy.hpp): sequences
// of spin outcomes in, the next spin's limit out. No loop, no clock, no
// threads, so every case is exact. How a loop acts on the rules, on real
// threads and CPUs, is idle_spin_test.cpp.
#include "idle_spin_policy.hpp"

#include <doctest/doctest.h>

using libsync::detail::IdleSpinPolicy;

namespace {
constexpr std::int64_t kMax = 20'000;  // 20 us

// Spins (the limit is not zero) or sleeps a wake ends, `n` times, with no
// spin ever catching a wake. Returns how many of those idle periods spun.
int idle_periods_without_catch(IdleSpinPolicy& p, int n) {
  int spun = 0;
  for (int i = 0; i < n; ++i) {
    if (p.limit_ns() > 0) {
      ++spun;
      p.on_empty();
    }
    p.on_woken();  // the wake came after the spin, or during a sleep
  }
  return spun;
}
}  // namespace

TEST_CASE("a new policy spins in full, and a caught wake keeps it so") {
  IdleSpinPolicy p(kMax);
  CHECK(p.limit_ns() == kMax);
  CHECK_FALSE(p.learning());
  p.on_caught();
  CHECK(p.limit_ns() == kMax);
}

TEST_CASE("spins that end without wakes halve down to none when no wake ends a sleep") {
  IdleSpinPolicy p(kMax);
  std::int64_t last = p.limit_ns();
  int spins = 0;
  while (p.limit_ns() > 0) {
    p.on_empty();  // then a timer or a completion, not a wake, ends the sleep
    CHECK(p.limit_ns() < last);
    last = p.limit_ns();
    ++spins;
  }
  CHECK(spins == 6);  // 20, 10, 5, 2.5, 1.25, 0.625 us; 0.3125 is below the minimum
  p.on_timer();
  CHECK(p.limit_ns() == 0);
}

TEST_CASE("a wake that ends a sleep earns a full spin on trial, and failed trials back off to 1 in 256") {
  IdleSpinPolicy p(kMax);
  p.on_empty();  // 10 us left
  REQUIRE(p.learning());
  p.on_woken();  // the first such sleep earns a trial at once
  CHECK(p.limit_ns() == kMax);
  p.on_empty();  // the trial fails: spinning stops at once, not by halves
  CHECK(p.limit_ns() == 0);
  p.on_woken();  // now 2 sleeps are needed
  CHECK(p.limit_ns() == 0);
  p.on_woken();
  CHECK(p.limit_ns() == kMax);
  p.on_empty();
  // From here on the gaps are 4, 8, ..., 256, then 256 for good. The trials
  // earned after 4, 4 + 8, ..., 4 + ... + 128 = 252 sleeps spin within the
  // next 508 idle periods (the one earned at 508 spins just after them),
  // then one idle period in 256 spins.
  CHECK(idle_periods_without_catch(p, 508) == 6);
  CHECK(idle_periods_without_catch(p, 256 * 4) == 4);
}

TEST_CASE("a trial that catches a wake restores spinning and forgets the back-off") {
  IdleSpinPolicy p(kMax);
  CHECK(idle_periods_without_catch(p, 600) > 0);  // gap at its maximum now
  while (p.limit_ns() == 0) p.on_woken();
  p.on_caught();
  CHECK(p.limit_ns() == kMax);
  // A later miss halves, and the next wake-ended sleep earns a trial at once.
  p.on_empty();
  CHECK(p.limit_ns() == kMax / 2);
  p.on_woken();
  CHECK(p.limit_ns() == kMax);
}

TEST_CASE("a loop that sleeps without wakes never starts spinning again by itself") {
  IdleSpinPolicy p(kMax);
  while (p.limit_ns() > 0) p.on_empty();
  // Sleeps ended by timers or completions do not call on_woken: nothing changes.
  CHECK(p.limit_ns() == 0);
}

TEST_CASE("a new maximum resets what was learnt, and a zero maximum never spins") {
  IdleSpinPolicy p(kMax);
  (void)idle_periods_without_catch(p, 600);
  p.reset(2 * kMax);
  CHECK(p.limit_ns() == 2 * kMax);
  p.reset(0);
  CHECK(p.limit_ns() == 0);
  CHECK_FALSE(p.learning());
  p.on_woken();
  CHECK(p.limit_ns() == 0);
  p.reset(-5);
  CHECK(p.max_ns() == 0);
}

TEST_CASE("a trial that a due timer cuts short counts as failed") {
  // A loop whose timer keeps falling due within the spin, with a partner it
  // never catches: without this, every sleep a wake ended earned another full
  // trial, and the loop spun on most idle periods for good.
  IdleSpinPolicy p(kMax);
  p.on_empty();
  p.on_woken();  // a trial
  REQUIRE(p.limit_ns() == kMax);
  p.on_timer();  // cut short by a timer
  CHECK(p.limit_ns() == kMax / 2);
  p.on_empty();  // the shortened spin, not a trial: halves
  p.on_woken();  // one sleep is no longer enough for the next trial
  CHECK(p.limit_ns() < kMax);
  p.on_woken();
  CHECK(p.limit_ns() == kMax);
  // The same cycle many times over: trials grow rare.
  int trials = 0;
  for (int i = 0; i < 1000; ++i) {
    if (p.limit_ns() == kMax) {
      ++trials;
      p.on_timer();
    } else if (p.limit_ns() > 0) {
      p.on_empty();
    }
    p.on_woken();
  }
  CHECK(trials <= 12);  // gaps 4, 8, ... 256, then one per 256
}
