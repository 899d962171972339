// Regression test for the private futex hash hazard (Linux 6.16+).
//
// The hazardous sequence: a PRIVATE io_uring FUTEX_WAIT is armed while the
// process has a single thread; then the first extra thread appears (which
// installs a per-process private futex hash without migrating that waiter);
// then the waiter is woken. Unmitigated, the wake never arrives. This binary
// runs in a process of its own so that its first wait really is armed
// single-threaded; it fails, naming the step, if it cannot set that up.
#include <doctest/doctest.h>

#include "test_util.hpp"

#include <sync/capabilities.hpp>
#include <sync/event.hpp>
#include <sync/semaphore.hpp>
#include <sync/tier.hpp>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

using namespace libsync;
using namespace libsync::test;

namespace {
int thread_count() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  return -1;
}
}  // namespace

TEST_CASE("a futex wait armed while single-threaded is still woken after the first thread starts") {
  const Capabilities& caps = capabilities();
  if (!caps.io_uring.setup_ok || !caps.io_uring.futex_wait) {
    std::printf("SKIPPED: uring-futex unavailable: %s\n",
                caps.io_uring.setup_ok ? "no FUTEX_WAIT opcode" : caps.io_uring.setup_error.c_str());
    MESSAGE("SKIPPED: uring-futex unavailable");
    return;
  }
  REQUIRE_MESSAGE(thread_count() == 1, "the test process must still be single-threaded here");

  LoopOptions o;
  o.tier = Tier::uring_futex;
  o.backend = BackendKind::uring;
  o.use_environment = false;  // forced: no self-test threads
  // Declared before the loop so they outlive it: in the demonstration run a
  // waiter is still stuck when the loop is torn down.
  Semaphore sem(0);
  Event done;
  Loop loop(o);
  int threads_when_armed = -1;
  bool woke = false;
  WaitStatus outcome = WaitStatus::would_block;
  std::thread waker;

  loop.block_on([&]() -> Task<> {
    loop.spawn([](Semaphore& s, bool& woke, Event& done) -> Task<> {
      auto p = co_await s.acquire();
      woke = static_cast<bool>(p);
      done.set();
    }(sem, woke, done));
    // Sleeping makes the loop block, which arms the waiter's FUTEX_WAIT.
    co_await sleep_for(20ms);
    threads_when_armed = thread_count();
    REQUIRE(loop.stats().futex_waits_armed >= 1);
    // The first extra thread of the process, then the wake from it.
    waker = std::thread([&] {
      std::this_thread::sleep_for(10ms);
      sem.release(1);
    });
    outcome = co_await done.wait_for(5s);
  }());
  waker.join();
  CHECK(threads_when_armed == 1);
  const char* knob = std::getenv("SYNC_FUTEX_HASH");
  if (knob && std::string(knob) == "keep") {
    // The demonstration run: without the mitigation, on a kernel that has a
    // private futex hash, this very sequence loses the wake.
    if (!caps.futex.private_hash_prctl) {
      std::printf("SKIPPED: kernel %s has no private futex hash, so no hazard to show\n",
                  caps.kernel.release.c_str());
      return;
    }
    CHECK_MESSAGE(outcome == WaitStatus::timed_out,
                  "expected the unmitigated kernel to lose this wake; it arrived");
    CHECK_FALSE(woke);
    return;
  }
  CHECK(outcome == WaitStatus::acquired);
  CHECK(woke);
  MESSAGE("mitigation in force: " << tier_report().futex_hash_mitigation);
}
