// The unified loop on Linux: sync wakes and socket I/O complete on one ring.
#include <dirent.h>
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstring>
#include <string>
#include <sync/capabilities.hpp>
#include <sync/io.hpp>
#include <sync/semaphore.hpp>
#include <thread>

#include "test_util.hpp"

using namespace libsync;
using namespace libsync::test;

namespace {

// Counts this process's open eventfds.
int count_eventfds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  while (dirent* e = readdir(d)) {
    char link[PATH_MAX];
    std::string path = std::string("/proc/self/fd/") + e->d_name;
    ssize_t len = readlink(path.c_str(), link, sizeof link - 1);
    if (len <= 0) continue;
    link[len] = 0;
    if (std::strstr(link, "eventfd")) ++n;
  }
  closedir(d);
  return n;
}

bool futex_tier_available(std::string& why) {
  LoopOptions o;
  o.tier = Tier::uring_futex;
  o.use_environment = false;
  try {
    (void)select_tier(o);
    return true;
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
}

LoopOptions futex_options() {
  LoopOptions o;
  o.tier = Tier::uring_futex;
  o.backend = BackendKind::uring;
  o.use_environment = false;
  return o;
}

// A thread that releases one permit of `sem` once `loop` has slept `n`
// times in all, and a little longer: the release then finds it asleep.
std::thread release_after_sleeps(Loop& loop, Semaphore& sem, std::uint64_t n) {
  return std::thread([&loop, &sem, n] {
    while (loop.stats().waits < n) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(10ms);
    sem.release(1);
  });
}

struct SocketPair {
  int fd[2] = {-1, -1};
  SocketPair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd) == 0); }
  ~SocketPair() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
};

#define REQUIRE_FUTEX_TIER()                                \
  do {                                                      \
    std::string why;                                        \
    if (!futex_tier_available(why)) {                       \
      skip("uring-futex unavailable on this host: " + why); \
      return;                                               \
    }                                                       \
  } while (0)

}  // namespace

TEST_CASE(
    "a loop asleep in the kernel on a recv is woken by a release from another thread as a futex CQE, with no "
    "eventfd") {
  REQUIRE_FUTEX_TIER();
  int eventfds_before = count_eventfds();
  Loop loop(futex_options());
  CHECK(count_eventfds() == eventfds_before);  // the futex tier creates none

  SocketPair sp;
  Semaphore sem(0);
  std::string received;
  bool released_then_recv = false;
  std::thread releaser;
  Watchdog dog(20s, "unified wake");
  loop.block_on([&]() -> Task<> {
    // A recv that stays pending in the ring the whole time the loop sleeps.
    loop.spawn([](int fd, std::string& out) -> Task<> {
      char buf[32];
      auto r = co_await libsync::recv(fd, buf, sizeof buf);
      REQUIRE(r.value > 0);
      out.assign(buf, static_cast<std::size_t>(r.value));
    }(sp.fd[0], received));
    // The releaser waits until this loop is blocked with the FUTEX_WAIT armed.
    releaser = std::thread([&] {
      while (loop.stats().futex_waits_armed == 0 || loop.stats().waits == 0) std::this_thread::sleep_for(1ms);
      std::this_thread::sleep_for(20ms);
      sem.release(1);
    });
    auto before = loop.stats();
    auto p = co_await sem.acquire();
    auto after = loop.stats();
    REQUIRE(p);
    // The wake came through the ring as the FUTEX_WAIT's completion.
    CHECK(after.futex_wait_cqes >= before.futex_wait_cqes + 1);
    CHECK(after.notifier_reads == 0);  // no eventfd was read: there is none
    // One kernel wait per loop: the doorbell was armed once for this sleep,
    // not once per waiting task, and the releasing thread rang it once.
    CHECK(after.futex_waits_armed - before.futex_waits_armed <= 1);
    CHECK(after.notifier_writes - before.notifier_writes == 1);
    // Now the same loop finishes the I/O it had pending all along.
    auto w = co_await libsync::send(sp.fd[1], "after-wake", 10);
    REQUIRE(w.value == 10);
    co_await until([&] { return !received.empty(); });
    released_then_recv = true;
  }());
  releaser.join();
  CHECK(released_then_recv);
  CHECK(received == "after-wake");
  CHECK(count_eventfds() == eventfds_before);
}

TEST_CASE("a loop with no I/O in flight sleeps in a futex wait on its doorbell, and with I/O in its ring") {
  // Nothing in the ring: the ring has nothing to unify, so the loop waits on
  // its doorbell with futex(2), the same word and the same wake, and no
  // completion comes back. Then a recv is in flight: the next sleep is the
  // ring's FUTEX_WAIT again, and the wake arrives as its completion.
  REQUIRE_FUTEX_TIER();
  LoopOptions o = futex_options();
  o.idle_spin = std::chrono::nanoseconds::zero();  // every wake finds the loop asleep
  Loop loop(o);
  Watchdog dog(20s, "futex sleep without I/O");
  SocketPair sp;
  Semaphore sem(0);
  std::string received;
  loop.block_on([&]() -> Task<> {
    const LoopStats s0 = loop.stats();
    std::thread t1 = release_after_sleeps(loop, sem, s0.waits + 1);
    auto p1 = co_await sem.acquire();
    t1.join();
    const LoopStats s1 = loop.stats();
    REQUIRE(p1);
    CHECK(s1.waits > s0.waits);
    CHECK(s1.futex_waits_armed - s0.futex_waits_armed == s1.waits - s0.waits);  // every sleep a futex wait
    CHECK(s1.futex_wait_cqes == s0.futex_wait_cqes);                            // none of them in the ring
    CHECK(s1.notifier_writes - s0.notifier_writes == 1);

    loop.spawn([](int fd, std::string& out) -> Task<> {
      char buf[16];
      auto r = co_await libsync::recv(fd, buf, sizeof buf);
      REQUIRE(r.value > 0);
      out.assign(buf, static_cast<std::size_t>(r.value));
    }(sp.fd[0], received));
    std::thread t2 = release_after_sleeps(loop, sem, s1.waits + 1);
    auto p2 = co_await sem.acquire();
    t2.join();
    const LoopStats s2 = loop.stats();
    REQUIRE(p2);
    CHECK(s2.futex_wait_cqes >= s1.futex_wait_cqes + 1);  // this wake came through the ring
    CHECK(s2.futex_waits_armed - s1.futex_waits_armed <= 1);
    auto w = co_await libsync::send(sp.fd[1], "io", 2);
    REQUIRE(w.value == 2);
    co_await until([&] { return !received.empty(); });
  }());
  CHECK(received == "io");
}

TEST_CASE("a loop with a timer pending sleeps in its ring even with no I/O in flight") {
  // A futex(2) timeout gets the thread's timer slack (50 us by default), the
  // ring's wait does not: a loop whose sleep has a deadline sleeps in its
  // ring, so its timers are as prompt as with I/O in flight. Here a timer
  // far off is pending while a release from another thread wakes the loop:
  // the wake must arrive as the ring's FUTEX_WAIT completion.
  REQUIRE_FUTEX_TIER();
  LoopOptions o = futex_options();
  o.idle_spin = std::chrono::nanoseconds::zero();
  Loop loop(o);
  Watchdog dog(20s, "timed sleep in the ring");
  Semaphore sem(0);
  std::stop_source stop_timer;
  loop.block_on([&]() -> Task<> {
    loop.spawn([](std::stop_token t) -> Task<> { (void)co_await sleep_for(60s, t); }(stop_timer.get_token()));
    const LoopStats s0 = loop.stats();
    std::thread releaser = release_after_sleeps(loop, sem, s0.waits + 1);
    auto p = co_await sem.acquire();
    releaser.join();
    const LoopStats s1 = loop.stats();
    REQUIRE(p);
    CHECK(s1.futex_wait_cqes >= s0.futex_wait_cqes + 1);
    stop_timer.request_stop();
  }());
  loop.run_until_idle();
}

TEST_CASE("the generic tier on the uring backend does use an eventfd (the control)") {
  if (!capabilities().io_uring.setup_ok) {
    skip("io_uring unavailable: " + capabilities().io_uring.setup_error);
    return;
  }
  int before = count_eventfds();
  LoopOptions o;
  o.tier = Tier::generic;
  o.backend = BackendKind::uring;
  o.use_environment = false;
  Loop loop(o);
  CHECK(count_eventfds() == before + 1);
}

TEST_CASE(
    "echo over a socket pair keeps going while tasks contend for a semaphore released from another loop") {
  REQUIRE_FUTEX_TIER();
  constexpr int kMessages = 200;
  constexpr int kContenders = 16;
  constexpr int kRounds = 50;
  Semaphore sem(0);
  std::atomic<int> acquired{0};
  SocketPair sp;
  Loop io_loop(futex_options());
  Loop feeder_loop(futex_options());
  Watchdog dog(60s, "echo + contention");

  std::thread feeder([&] {
    feeder_loop.block_on([&]() -> Task<> {
      // Hands out permits one by one from another loop until every round is done.
      for (int i = 0; i < kContenders * kRounds; ++i) {
        sem.add_permits(1);
        if (i % 8 == 0) co_await sleep_for(50us);
      }
      co_return;
    }());
  });

  int echoed = 0;
  io_loop.block_on([&]() -> Task<> {
    for (int c = 0; c < kContenders; ++c)
      io_loop.spawn([](Semaphore& s, std::atomic<int>& n) -> Task<> {
        for (int r = 0; r < kRounds; ++r) {
          auto p = co_await s.acquire();
          REQUIRE(p);
          co_await yield();
          p.permit.forget();  // consumed: the feeder supplies exactly enough
          ++n;
        }
      }(sem, acquired));
    // Echo server on one end...
    io_loop.spawn([](int fd) -> Task<> {
      char buf[64];
      for (;;) {
        auto r = co_await libsync::recv(fd, buf, sizeof buf);
        if (r.value <= 0) co_return;
        auto w = co_await libsync::send(fd, buf, static_cast<std::size_t>(r.value));
        REQUIRE(w.value == r.value);
      }
    }(sp.fd[1]));
    // ...and a client on the other.
    for (int i = 0; i < kMessages; ++i) {
      std::string msg = "m" + std::to_string(i);
      auto w = co_await libsync::send(sp.fd[0], msg.data(), msg.size());
      REQUIRE(w.value == static_cast<long long>(msg.size()));
      std::string back;
      while (back.size() < msg.size()) {
        char buf[64];
        auto r = co_await libsync::recv(sp.fd[0], buf, msg.size() - back.size());
        REQUIRE(r.value > 0);
        back.append(buf, static_cast<std::size_t>(r.value));
      }
      REQUIRE(back == msg);
      ++echoed;
    }
    ::shutdown(sp.fd[0], SHUT_WR);
    co_await until([&] { return acquired.load() == kContenders * kRounds; }, 30000ms);
  }());
  feeder.join();
  CHECK(echoed == kMessages);
  CHECK(acquired.load() == kContenders * kRounds);
  CHECK(sem.waiters() == 0);
  CHECK(sem.available() == 0);
  CHECK(sem.max() == 0);  // every permit released was consumed exactly once
  auto st = io_loop.stats();
  MESSAGE("io loop: futex CQEs " << st.futex_wait_cqes << ", io completions " << st.io_completed << ", waits "
                                 << st.waits);
  CHECK(st.io_completed >= 2 * kMessages);
}

TEST_CASE("a plain thread blocked on a futex-tier semaphore is woken by a loop task's FUTEX_WAKE SQE") {
  REQUIRE_FUTEX_TIER();
  Semaphore s(0);
  std::atomic<bool> got{false};
  std::thread t([&] { got = static_cast<bool>(s.acquire_blocking()); });
  Loop loop(futex_options());
  loop.block_on([&]() -> Task<> {
    co_await until([&] { return s.waiters() == 1; });
    std::this_thread::sleep_for(5ms);  // let the thread get into its futex wait
    s.release(1);
    co_return;
  }());
  t.join();
  CHECK(got);
}
