// Regression test for the private futex hash hazard (Linux 6.16+).
//
// The hazardous sequence: a PRIVATE io_uring FUTEX_WAIT is armed while the
// process has a single thread; then the first extra thread appears (which
// installs a per-process private futex hash without migrating that waiter);
// then the waiter is woken. Unmitigated, the wake never arrives. This binary
// runs in a process of its own so that its first wait really is armed
// single-threaded; it fails, naming the step, if it cannot set that up.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <sync/capabilities.hpp>
#include <sync/event.hpp>
#include <sync/io.hpp>
#include <sync/semaphore.hpp>
#include <sync/tier.hpp>
#include <thread>

#include "socket_pair.hpp"
#include "test_util.hpp"

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
    skip(std::string("uring-futex unavailable: ") +
         (caps.io_uring.setup_ok ? "no FUTEX_WAIT opcode" : caps.io_uring.setup_error));
    return;
  }
  const char* knob = std::getenv("SYNC_FUTEX_HASH");
  const bool demonstration = knob && std::string(knob) == "keep";
  if (demonstration) {
    // The check runs in a child process, so this one stays single-threaded.
    const FutexHashHazard& hz = futex_hash_hazard();
    if (hz.state != FutexHashHazard::State::present) {
      skip("the hazard check found the private futex hash hazard " + std::string(to_string(hz.state)) +
           " on kernel " + caps.kernel.release + " (" + hz.detail +
           "), so there is no lost wake to demonstrate here");
      return;
    }
  }
  REQUIRE_MESSAGE(thread_count() == 1, "the test process must still be single-threaded here");

  LoopOptions o;
  o.tier = Tier::uring_futex;
  o.backend = BackendKind::uring;
  o.use_environment = false;  // forced: no self-test threads
  // Declared before the loop so they outlive it.
  Semaphore sem(0);
  Event done;
  Loop loop(o);
  int threads_when_armed = -1;
  bool woke = false;
  std::uint64_t cqes_before_wake = 0, cqes_at_resume = 0;
  std::thread waker;

  // A recv that stays pending the whole time: with I/O in flight the loop
  // sleeps in its ring, as the FUTEX_WAIT this test is about (with nothing
  // in flight it would sleep in a plain futex wait instead).
  SocketPair sp;
  char byte = 0;
  loop.block_on([&]() -> Task<> {
    loop.spawn([](socket_handle fd, char* b) -> Task<> { (void)co_await recv(fd, b, 1); }(sp.a, &byte));
    loop.spawn([](Semaphore& s, Loop& l, bool& woke, std::uint64_t& cqes, Event& done) -> Task<> {
      auto p = co_await s.acquire();
      cqes = l.stats().futex_wait_cqes;
      woke = static_cast<bool>(p);
      done.set();
    }(sem, loop, woke, cqes_at_resume, done));
    // Sleeping makes the loop block, which arms its doorbell's FUTEX_WAIT
    // while the process is still single-threaded.
    co_await sleep_for(20ms);
    threads_when_armed = thread_count();
    REQUIRE(loop.stats().futex_waits_armed >= 1);
    cqes_before_wake = loop.stats().futex_wait_cqes;
    // The first extra thread of the process, then the wake from it. The loop
    // sleeps meanwhile with its doorbell wait still armed from before.
    waker = std::thread([&] {
      std::this_thread::sleep_for(10ms);
      sem.release(1);
    });
    // A deadline, so that a lost wake ends the test instead of hanging it:
    // when it expires the loop finds the queued wake by itself.
    [[maybe_unused]] auto r = co_await done.wait_for(demonstration ? 1500ms : 10s);
    REQUIRE(plain_send(sp.b, "x", 1) == 1);  // ends the recv
  }());
  waker.join();
  loop.run_until_idle();
  CHECK(threads_when_armed == 1);
  REQUIRE(woke);
  if (demonstration) {
    // Without the mitigation, on a kernel the check found to strand such
    // waits, the futex wake never reached the doorbell's wait: the task was
    // only resumed when the loop woke for its own timer.
    CHECK_MESSAGE(cqes_at_resume == cqes_before_wake,
                  "expected the unmitigated kernel to lose the doorbell wake; it arrived as a CQE");
    return;
  }
  // The wake arrived through the kernel, as the doorbell wait's completion.
  CHECK(cqes_at_resume > cqes_before_wake);
  MESSAGE("mitigation in force: " << tier_report().futex_hash_mitigation);
}
