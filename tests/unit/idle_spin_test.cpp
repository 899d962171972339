// The idle spin (LoopOptions::idle_spin), per tier: when a loop spins before
// it sleeps, what ends a spin, how the spin adapts, and SYNC_IDLE_SPIN_US.
//
// The cases assert what the loop did (its counters), never how fast: a spin
// long enough that no scheduler delay outlasts it makes each outcome certain.
// On the iocp tier a loop never spins (its wakes are completion packets), and
// the cases check exactly that.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <sync/event.hpp>
#include <sync/io.hpp>
#include <sync/loop.hpp>
#include <sync/semaphore.hpp>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

#include "socket_pair.hpp"
#include "test_util.hpp"

using namespace libsync;
using namespace libsync::test;

namespace {

// Spins that no scheduling delay outlasts: ended only by what a case does.
constexpr auto kLongSpin = std::chrono::seconds(10);

bool tier_spins() {
  return tier_options().tier != Tier::iocp;
}

LoopOptions spin_options(std::chrono::nanoseconds spin) {
  LoopOptions o = tier_options();
  o.idle_spin = spin;
  return o;
}

// Waits on `sem` once; another thread releases it `delay` after the task
// started waiting. Returns how the counters moved over that one wait.
struct WaitDelta {
  std::uint64_t spins = 0, spin_wakes = 0, sleeps = 0, pokes = 0;
};

WaitDelta wait_for_release(Loop& loop, std::chrono::milliseconds delay) {
  Semaphore sem{0}, started{0};
  std::thread releaser([&] {
    (void)started.acquire_blocking();
    std::this_thread::sleep_for(delay);
    sem.release();
  });
  const IdleSpinStats s0 = loop.idle_spin_stats();
  const LoopStats l0 = loop.stats();
  loop.block_on([&]() -> Task<> {
    started.release();
    auto r = co_await sem.acquire();
    CHECK(r);
  }());
  releaser.join();
  const IdleSpinStats s1 = loop.idle_spin_stats();
  const LoopStats l1 = loop.stats();
  return {s1.spins - s0.spins, s1.spin_wakes - s0.spin_wakes, l1.waits - l0.waits,
          l1.notifier_writes - l0.notifier_writes};
}

// The tier under test, reading the environment (SYNC_TIER and SYNC_BACKEND
// do not apply: the tier is forced).
LoopOptions env_options() {
  LoopOptions o = tier_options();
  o.use_environment = true;
  return o;
}

// A loop's first sleep in a process can come late: on uring-futex the first
// FUTEX_WAIT settles the process's futex mode first, which may take a
// measurement of a few hundred milliseconds. One wait before counting.
void warm_up(Loop& loop) {
  (void)wait_for_release(loop, 1ms);
}

#if defined(_WIN32)
void set_env(const char* name, const char* value) {
  _putenv_s(name, value ? value : "");
}
#else
void set_env(const char* name, const char* value) {
  if (value)
    ::setenv(name, value, 1);
  else
    ::unsetenv(name);
}
#endif

struct EnvVar {
  const char* name;
  EnvVar(const char* n, const char* value) : name(n) { set_env(name, value); }
  ~EnvVar() { set_env(name, nullptr); }
};

}  // namespace

TEST_CASE("a loop's idle spin is what its options say, and set_idle_spin changes it") {
  Loop def(tier_options());
  CHECK(def.idle_spin() == kDefaultIdleSpin);
  Loop none(spin_options(std::chrono::nanoseconds::zero()));
  CHECK(none.idle_spin() == std::chrono::nanoseconds::zero());
  none.set_idle_spin(std::chrono::microseconds(7));
  CHECK(none.idle_spin() == std::chrono::microseconds(7));
  none.set_idle_spin(std::chrono::nanoseconds(-5));
  CHECK(none.idle_spin() == std::chrono::nanoseconds::zero());
}

TEST_CASE("with idle_spin zero a loop never spins: it sleeps and is woken") {
  Watchdog dog(30s, "idle_spin zero");
  Loop loop(spin_options(std::chrono::nanoseconds::zero()));
  warm_up(loop);
  for (int i = 0; i < 5; ++i) {
    const WaitDelta d = wait_for_release(loop, 5ms);
    CHECK(d.spins == 0);
    CHECK(d.sleeps >= 1);
  }
}

TEST_CASE("a wake that arrives while the loop spins costs no sleep and no poke") {
  Watchdog dog(60s, "wake during a spin");
  Loop loop(spin_options(kLongSpin));
  const WaitDelta d = wait_for_release(loop, 30ms);
  if (!tier_spins()) {
    CHECK(d.spins == 0);
    CHECK(d.sleeps >= 1);
    return;
  }
  CHECK(d.spins == 1);
  CHECK(d.spin_wakes == 1);
  CHECK(d.sleeps == 0);
  CHECK(d.pokes == 0);  // the waker found the loop not parked: no syscall
}

TEST_CASE("a wake queued while the loop was busy is taken without a spin") {
  // The wake lands while a task runs; when the loop then runs out of work it
  // finds the wake already queued. That is not a spin that caught a wake (it
  // says nothing about whether spinning pays), so neither counter moves.
  Watchdog dog(60s, "wake queued while busy");
  Loop loop(spin_options(kLongSpin));
  warm_up(loop);
  Semaphore sem{0};
  Event got;
  std::atomic<bool> released{false};
  const IdleSpinStats s0 = loop.idle_spin_stats();
  loop.block_on([&]() -> Task<> {
    loop.spawn([](Semaphore& s, Event& e) -> Task<> {
      auto r = co_await s.acquire();
      CHECK(r);
      e.set();
    }(sem, got));
    co_await yield();  // the waiter is queued now
    std::thread releaser([&] {
      sem.release();
      released = true;
    });
    while (!released.load()) std::this_thread::yield();  // busy while the wake arrives
    releaser.join();
    co_await got.wait();  // the loop runs out of work with the wake queued
  }());
  const IdleSpinStats s1 = loop.idle_spin_stats();
  CHECK(s1.spins == s0.spins);
  CHECK(s1.spin_wakes == s0.spin_wakes);
}

TEST_CASE("a spin ends when a timer falls due") {
  Watchdog dog(60s, "timer during a spin");
  Loop loop(spin_options(kLongSpin));
  const auto t0 = Clock::now();
  const auto s = loop.block_on([]() -> Task<WaitStatus> { co_return co_await sleep_for(30ms); }());
  CHECK(s == WaitStatus::acquired);
  // Bounded by the timer, not by the spin's ten seconds.
  CHECK(Clock::now() - t0 < kLongSpin / 2);
  if (tier_spins()) CHECK(loop.idle_spin_stats().spins >= 1);
}

TEST_CASE("a loop with socket I/O in flight sleeps instead of spinning") {
  Watchdog dog(60s, "I/O in flight");
  SocketPair sp;
  Loop loop(spin_options(kLongSpin));
  warm_up(loop);
  char buf[8];
  bool got = false;
  loop.spawn([](socket_handle s, char* b, bool& got) -> Task<> {
    IoResult r = co_await recv(s, b, 8);
    got = r.value == 1;
  }(sp.a, buf, got));
  const WaitDelta d = wait_for_release(loop, 30ms);
  CHECK(d.spins == 0);
  CHECK(d.sleeps >= 1);
  // Let the recv finish so the loop tears down with nothing in flight.
  const char one = 'x';
  REQUIRE(plain_send(sp.b, &one, 1) == 1);
  loop.run_until_idle();
  CHECK(got);
}

TEST_CASE(
    "spins that keep ending empty become rare trials, and a trial that catches a wake restores spinning") {
  if (!tier_spins()) {
    Loop loop(spin_options(kLongSpin));
    CHECK(wait_for_release(loop, 5ms).spins == 0);
    return;
  }
  Watchdog dog(120s, "spin adaptation");
  constexpr auto kSpin = std::chrono::milliseconds(50);
  Loop loop(spin_options(kSpin));
  // Each wake comes one and a half spins after the loop goes idle: no spin
  // can catch one. Each sleep a wake ends earns a trial after 1, 2, 4, ...
  // such sleeps, and each trial fails: over 40 idle periods the loop spins
  // on 6 (the first spin, then trials at the 2nd, 5th, 10th, 19th and 36th).
  // A loop that spun on every idle period would spin 40 times; one that
  // never tried again, once.
  int spun = 0, spun_late = 0;
  for (int i = 0; i < 40; ++i) {
    const WaitDelta d = wait_for_release(loop, 3 * kSpin / 2);
    CHECK(d.spin_wakes == 0);
    CHECK(d.spins <= 1);
    spun += static_cast<int>(d.spins);
    if (i >= 20) spun_late += static_cast<int>(d.spins);
  }
  MESSAGE("wakes always after the spin: spun on " << spun << " of 40 idle periods");
  CHECK(spun >= 4);
  CHECK(spun <= 8);
  CHECK(spun_late <= 2);

  // Now each wake comes 5 ms in, well within a full spin: the next trial
  // (at most 64 sleeps away) catches one, and from then on every idle period
  // spins and catches its wake, with no sleep.
  int waits = 0;
  for (; waits < 100; ++waits)
    if (wait_for_release(loop, 5ms).spin_wakes == 1) break;
  CHECK(waits <= 64);
  for (int i = 0; i < 5; ++i) {
    const WaitDelta d = wait_for_release(loop, 5ms);
    CHECK(d.spins == 1);
    CHECK(d.spin_wakes == 1);
    CHECK(d.sleeps == 0);
  }
}

#if defined(__linux__)
namespace {

// The CPUs this process may run on.
std::vector<int> allowed_cpus() {
  std::vector<int> out;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &allowed)) out.push_back(c);
  return out;
}

bool pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

// Loops A and B pass a token back and forth, each round trip one idle
// period of each. A stays on `cpu_a`; B starts on `cpu_a` too and moves to
// `b_later` (if not -1) after `rounds_shared` round trips, then runs
// `rounds_apart` more. Returns both loops' spin counters at the move and at
// the end; false if a thread could not be pinned.
struct PingPongSpins {
  IdleSpinStats a_shared{}, b_shared{}, a_end{}, b_end{};
};
bool ping_pong_pinned(int cpu_a, int b_later, int rounds_shared, int rounds_apart,
                      std::chrono::nanoseconds spin, PingPongSpins& out) {
  Semaphore to_a{0}, to_b{0};
  std::atomic<bool> pinned{true};
  const int rounds = rounds_shared + rounds_apart;
  std::thread a_thread([&] {
    if (!pin_to(cpu_a)) {
      pinned = false;
      return;
    }
    Loop a(spin_options(spin));
    std::thread b_thread([&] {
      if (!pin_to(cpu_a)) pinned = false;
      Loop b(spin_options(spin));
      b.block_on([&]() -> Task<> {
        for (int i = 0; i < rounds; ++i) {
          if (i == rounds_shared) {
            out.b_shared = b.idle_spin_stats();
            if (b_later >= 0 && !pin_to(b_later)) pinned = false;
          }
          auto r = co_await to_b.acquire();
          r.permit.forget();
          to_a.release();
        }
      }());
      out.b_end = b.idle_spin_stats();
    });
    a.block_on([&]() -> Task<> {
      for (int i = 0; i < rounds; ++i) {
        if (i == rounds_shared) out.a_shared = a.idle_spin_stats();
        to_b.release();
        auto r = co_await to_a.acquire();
        r.permit.forget();
      }
    }());
    b_thread.join();
    out.a_end = a.idle_spin_stats();
  });
  a_thread.join();
  return pinned;
}

// The machine's side of a spin catching a wake from the other CPU, with no
// libsync involved: thread A, on `cpu_a`, wakes thread B, asleep in the
// kernel on `cpu_b`, then spins up to 5 ms for B's answer. Each try starts
// after a pause, so B is really asleep. Reports how many answers came within
// the spin and the 90th percentile of their delay.
struct SpinAnswers {
  bool pinned = true;
  int tries = 0, caught = 0;
  std::chrono::nanoseconds window{5ms}, p90{0};
};
SpinAnswers probe_spin_answers(int cpu_a, int cpu_b) {
  SpinAnswers out;
  out.tries = 40;
  std::binary_semaphore go{0};
  std::atomic<int> answered{-1};
  std::atomic<bool> b_ready{false}, pinned{true};
  std::vector<std::chrono::nanoseconds> delays;
  std::thread b([&] {
    if (!pin_to(cpu_b)) pinned = false;
    b_ready = true;
    for (int i = 0; i < out.tries; ++i) {
      go.acquire();
      answered.store(i, std::memory_order_release);
    }
  });
  std::thread a([&] {
    if (!pin_to(cpu_a)) pinned = false;
    while (!b_ready) std::this_thread::yield();
    for (int i = 0; i < out.tries; ++i) {
      std::this_thread::sleep_for(2ms);
      const auto t0 = std::chrono::steady_clock::now();
      go.release();
      for (;;) {
        const auto waited = std::chrono::steady_clock::now() - t0;
        if (answered.load(std::memory_order_acquire) == i) {
          ++out.caught;
          delays.push_back(waited);
          break;
        }
        if (waited >= out.window) break;
      }
      while (answered.load(std::memory_order_acquire) != i) std::this_thread::yield();
    }
  });
  a.join();
  b.join();
  out.pinned = pinned;
  if (!delays.empty()) {
    std::sort(delays.begin(), delays.end());
    out.p90 = delays[delays.size() * 9 / 10];
  }
  return out;
}

}  // namespace

TEST_CASE("two loops that share one CPU soon stop spinning for each other's wakes") {
  // A loop's partner on its own CPU cannot run while the loop spins, so no
  // spin can catch its wake: each one ends empty, the loop sleeps, and the
  // partner's answer wakes it just after. Those short sleeps once restored
  // the full spin every time, so most idle periods spun in vain (about 2 of
  // 3 here) and each hand-off cost most of a spin. Such a sleep now earns a
  // trial, and failed trials back off.
  if (!tier_spins()) return;
  Watchdog dog(120s, "loops sharing a CPU");
  const std::vector<int> cpus = allowed_cpus();
  constexpr int kRounds = 400;
  // Long enough that a time slice rarely ends inside a spin, short enough
  // that the old behaviour costs well under a second.
  constexpr auto kSpin = std::chrono::microseconds(100);
  PingPongSpins s;
  if (cpus.empty() || !ping_pong_pinned(cpus[0], -1, kRounds, 0, kSpin, s)) {
    skip("cannot pin threads to a CPU here (sched_setaffinity refused)");
    return;
  }
  const std::uint64_t empty = (s.a_end.spins - s.a_end.spin_wakes) + (s.b_end.spins - s.b_end.spin_wakes);
  MESSAGE("one CPU, " << kRounds << " round trips: A spun " << s.a_end.spins << " times ("
                      << s.a_end.spin_wakes << " caught a wake), B " << s.b_end.spins << " ("
                      << s.b_end.spin_wakes << ")");
  // 2 * kRounds idle periods. A trial per doubling of the gap, the halving
  // after a spin that did catch a wake (a time slice can end in a spin and
  // let the partner answer), and the first spins: far below one in four.
  CHECK(empty <= kRounds / 2);
}

TEST_CASE("when its partner moves to another CPU, a loop that stopped spinning spins again") {
  // After the shared-CPU phase spinning is off and trials are far apart.
  // Once B runs on its own CPU a full spin catches its answers: the backing
  // off must not keep the loops from trying again, and then spinning must
  // stay on.
  if (!tier_spins()) return;
  Watchdog dog(120s, "partner moving to another CPU");
  const std::vector<int> cpus = allowed_cpus();
  if (cpus.size() < 2) {
    skip("needs two CPUs this process may run on, to move a loop's partner to the other one");
    return;
  }
  // Whether a spin can catch the partner's answer at all belongs to the
  // machine, not to libsync: the partner must be woken on the other CPU and
  // run while this one spins. On some VMs a wake there takes tens of
  // microseconds with a long tail, and on a host that runs both virtual
  // CPUs on one physical CPU the partner runs only once the spin is over.
  // So the machine is probed first with the same pattern and no libsync
  // (wake a thread asleep on the other CPU, spin for its answer), the spin
  // window is sized from the answers, and the case is skipped where spins
  // cannot catch them: what is tested is the loop's decision to spin again.
  const SpinAnswers probe = probe_spin_answers(cpus[0], cpus[1]);
  if (!probe.pinned) {
    skip("cannot pin threads to CPUs here (sched_setaffinity refused)");
    return;
  }
  const auto kSpin = std::clamp<std::chrono::nanoseconds>(4 * probe.p90, 100us, 5ms);
  MESSAGE("probe: " << probe.caught << " of " << probe.tries << " answers from the other CPU within "
                    << probe.window.count() / 1000 << " us of spinning, p90 " << probe.p90.count() / 1000.0
                    << " us; spin window " << kSpin.count() / 1000 << " us");
  if (probe.caught * 10 < probe.tries * 9 || 4 * probe.p90 > 5ms) {
    skip(
        "a thread spinning on one CPU here sees a thread it woke on the other CPU answer late or not at all "
        "(" +
        std::to_string(probe.caught) + " of " + std::to_string(probe.tries) + " answers within 5 ms, p90 " +
        std::to_string(probe.p90.count() / 1000) +
        " us): the two CPUs are not running at once now (a busy or shared host), so no spin could catch a "
        "wake");
    return;
  }
  PingPongSpins s;
  if (!ping_pong_pinned(cpus[0], cpus[1], 400, 2000, kSpin, s)) {
    skip("cannot pin threads to CPUs here (sched_setaffinity refused)");
    return;
  }
  const std::uint64_t caught_apart =
      (s.a_end.spin_wakes - s.a_shared.spin_wakes) + (s.b_end.spin_wakes - s.b_shared.spin_wakes);
  const std::uint64_t spins_apart = (s.a_end.spins - s.a_shared.spins) + (s.b_end.spins - s.b_shared.spins);
  MESSAGE("two CPUs, 2000 round trips after the move: " << spins_apart << " spins, " << caught_apart
                                                        << " caught a wake");
  // Up to 4000 idle periods (fewer when a loop finds its wake already
  // queued and never idles). A loop that never came back to spinning would
  // spin only on its trials, failed or not: under 20 in 2000 round trips
  // even at the shortest gaps that follow a catch. Spinning back on catches
  // far more, and nearly every spin catches.
  CHECK(caught_apart >= 200);
  CHECK(caught_apart * 10 >= spins_apart * 9);
}
#endif

TEST_CASE("set_idle_spin from another thread cuts a spin short") {
  Watchdog dog(60s, "set_idle_spin during a spin");
  Loop loop(spin_options(kLongSpin));
  Semaphore sem{0}, started{0};
  std::thread other([&] {
    (void)started.acquire_blocking();
    std::this_thread::sleep_for(20ms);
    loop.set_idle_spin(std::chrono::nanoseconds::zero());
    // The loop goes to sleep now; then wake it.
    const auto give_up = Clock::now() + 30s;
    while (loop.stats().waits == 0 && Clock::now() < give_up) std::this_thread::yield();
    sem.release();
  });
  const auto t0 = Clock::now();
  loop.block_on([&]() -> Task<> {
    started.release();
    auto r = co_await sem.acquire();
    CHECK(r);
  }());
  other.join();
  CHECK(Clock::now() - t0 < kLongSpin / 2);
  CHECK(loop.stats().waits >= 1);
}

#if defined(__linux__)
TEST_CASE(
    "a spinning loop that shares its CPU with a busy thread still fires timers and takes wakes promptly") {
  // The loop's thread and a CPU-bound thread are pinned to one CPU. A spin
  // that gave the CPU away (a yield) would see its timer or wake only when
  // the scheduler gave it back, a time slice (milliseconds) later, where a
  // sleeping loop is woken ahead of the busy thread. The bound is in
  // milliseconds against results in microseconds, so load cannot flip it.
  if (!tier_spins()) return;
  Watchdog dog(120s, "spinning loop on a shared CPU");
  // Two CPUs this process may use: the shared one and the waker's.
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  int shared_cpu = -1, waker_cpu = -1;
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
    for (int c = 0; c < CPU_SETSIZE && waker_cpu < 0; ++c)
      if (CPU_ISSET(c, &allowed)) (shared_cpu < 0 ? shared_cpu : waker_cpu) = c;
  if (waker_cpu < 0) {
    skip(
        "needs two CPUs this process may run on: one shared by the loop and a busy thread, one for the "
        "waker");
    return;
  }
  auto pin = [](int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
  };
  std::atomic<bool> stop{false}, pinned{true};
  std::vector<double> timer_late_us, wake_us;
  std::thread loop_thread([&] {
    if (!pin(shared_cpu)) {
      pinned = false;
      return;
    }
    std::thread busy([&] {
      pin(shared_cpu);
      volatile unsigned long n = 0;
      while (!stop.load(std::memory_order_relaxed)) n = n + 1;
    });
    Loop timed(spin_options(kDefaultIdleSpin));
    timed.block_on([&]() -> Task<> {
      for (int i = 0; i < 100; ++i) {
        const auto due = Clock::now() + 15us;
        (void)co_await sleep_until(due);
        timer_late_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - due).count());
      }
    }());
    // A fresh loop, its spin at full length: each wake comes a few
    // microseconds into a spin.
    Loop loop(spin_options(kDefaultIdleSpin));
    Semaphore sem{0};
    std::atomic<std::int64_t> sent{0};
    std::atomic<bool> waker_pinned{true};
    std::thread waker([&] {
      if (!pin(waker_cpu)) waker_pinned = false;
      for (int i = 0; i < 100; ++i) {
        while (sem.waiters() == 0) std::this_thread::yield();
        // A few microseconds into the loop's spin, well within it.
        const auto at = Clock::now() + 5us;
        while (Clock::now() < at) {
        }
        sent = Clock::now().time_since_epoch().count();
        sem.release();
      }
    });
    loop.block_on([&]() -> Task<> {
      for (int i = 0; i < 100; ++i) {
        auto r = co_await sem.acquire();
        r.permit.forget();
        const auto at = Clock::time_point(Clock::duration(sent.load()));
        wake_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - at).count());
      }
    }());
    waker.join();
    if (!waker_pinned) pinned = false;
    stop = true;
    busy.join();
  });
  loop_thread.join();
  if (!pinned) {
    skip("cannot pin threads to CPUs here (sched_setaffinity refused)");
    return;
  }
  auto p50 = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double timer_p50 = p50(timer_late_us), wake_p50 = p50(wake_us);
  MESSAGE("shared CPU: timer lateness p50 " << timer_p50 << " us, release-to-resume p50 " << wake_p50
                                            << " us");
  CHECK(timer_p50 < 2000);
  CHECK(wake_p50 < 2000);
}
#endif

TEST_CASE("SYNC_IDLE_SPIN_US sets the spin of loops that read the environment, and bad values are refused") {
  {
    EnvVar env("SYNC_IDLE_SPIN_US", "15");
    Loop loop(env_options());
    CHECK(loop.idle_spin() == std::chrono::microseconds(15));
    LoopOptions o = tier_options();
    o.use_environment = false;
    o.idle_spin = std::chrono::microseconds(3);
    Loop ignoring(o);
    CHECK(ignoring.idle_spin() == std::chrono::microseconds(3));
  }
  {
    EnvVar env("SYNC_IDLE_SPIN_US", "0");
    Loop loop(env_options());
    CHECK(loop.idle_spin() == std::chrono::nanoseconds::zero());
  }
  for (const char* bad : {"abc", "-1", "+5", "12us", "1000001", "99999999999999999999999"}) {
    CAPTURE(bad);
    EnvVar env("SYNC_IDLE_SPIN_US", bad);
    CHECK_THROWS_WITH_AS(Loop{env_options()},
                         (std::string("libsync: SYNC_IDLE_SPIN_US=") + bad +
                          " is not a whole number of microseconds from 0 to 1000000")
                             .c_str(),
                         std::invalid_argument);
  }
}
