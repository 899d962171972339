// Loops that move between threads, tasks destroyed at awkward moments, wakes
// that must reach a loop whose waker blocks its own thread, and kernel waits
// that must not outlive the memory they name. Run once per tier.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <coroutine>
#include <exception>
#include <future>
#include <memory>
#include <stdexcept>
#include <sync/event.hpp>
#include <sync/io.hpp>
#include <sync/semaphore.hpp>
#include <thread>
#include <vector>

#include "test_util.hpp"

#if defined(__linux__)
#include <linux/futex.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

using namespace libsync;
using namespace libsync::test;

namespace {

Raw acquire_then_mark(Semaphore& s, bool& resumed) {
  auto p = co_await s.acquire();
  resumed = true;
}
Raw sleep_then_mark(std::chrono::milliseconds d, bool& resumed) {
  co_await sleep_for(d);
  resumed = true;
}
Raw yield_then_mark(bool& resumed) {
  co_await yield();
  resumed = true;
}

}  // namespace

TEST_CASE(
    "a loop built on one thread and run on another then destroyed on the first passes a torn-down task's "
    "permit to a waiter on another loop") {
  Watchdog dog(30s, "permit from a torn-down task");
  Semaphore sem(1);
  Event never;
  auto a = std::make_unique<Loop>(tier_options());
  std::atomic<bool> held{false};
  std::thread runner([&] {
    a->block_on([&]() -> Task<> {
      a->spawn([](Semaphore& s, Event& e, std::atomic<bool>& h) -> Task<> {
        auto p = co_await s.acquire();
        h = true;
        co_await e.wait();  // holds the permit until torn down
      }(sem, never, held));
      co_await until([&] { return held.load(); });
    }());
  });
  runner.join();
  REQUIRE(held);

  WaitStatus got = WaitStatus::would_block;
  std::atomic<bool> b_waiting{false};
  std::thread b_thread([&] {
    Loop b(tier_options());
    b.block_on([&]() -> Task<> {
      auto r = sem.acquire_for(20s);
      b_waiting = true;
      auto res = co_await r;
      got = res.status;
    }());
  });
  while (!b_waiting || sem.waiters() == 0) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(20ms);  // let loop B go to sleep
  a.reset();                          // on main: the holder is torn down here
  b_thread.join();
  CHECK(got == WaitStatus::acquired);
}

TEST_CASE(
    "a loop run by block_on on one thread and then on another while the first is alive wakes its waiters") {
  Watchdog dog(30s, "loop moved between live threads");
  Loop loop(tier_options());
  std::promise<void> release_first, first_ran;
  auto first_may_exit = release_first.get_future();
  auto handed_over = first_ran.get_future();
  std::thread t1([&] {
    loop.block_on([]() -> Task<> { co_await sleep_for(1ms); }());
    first_ran.set_value();  // hands the loop over (one runner at a time)
    first_may_exit.wait();  // stays alive while the loop runs elsewhere
  });
  handed_over.wait();

  constexpr int kWaiters = 300;  // more than any fixed per-ring table
  Semaphore sem(0);
  int acquired = 0;
  std::thread t2([&] {
    loop.block_on([&]() -> Task<> {
      for (int i = 0; i < kWaiters; ++i)
        loop.spawn([](Semaphore& s, int& n) -> Task<> {
          auto p = co_await s.acquire();
          if (p) ++n;
        }(sem, acquired));
      co_await until([&] { return acquired == kWaiters; }, 20000ms);
    }());
  });
  while (sem.waiters() < kWaiters) std::this_thread::sleep_for(1ms);
  for (int i = 0; i < kWaiters; ++i) sem.release(1);
  t2.join();
  release_first.set_value();
  t1.join();
  CHECK(acquired == kWaiters);
}

TEST_CASE("a cross-loop wake from a loop thread reaches the other loop while the waker's thread blocks") {
  Watchdog dog(30s, "wake while the waker blocks");
  Semaphore sem(0);
  std::promise<void> woke_promise;
  auto woke = woke_promise.get_future();
  std::atomic<bool> waiting{false};
  std::thread b_thread([&] {
    Loop b(tier_options());
    b.block_on([&]() -> Task<> {
      auto r = sem.acquire();
      waiting = true;
      auto p = co_await r;
      if (p) woke_promise.set_value();
    }());
  });
  while (!waiting || sem.waiters() == 0) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(20ms);
  std::future_status seen = std::future_status::timeout;
  Loop a(tier_options());
  a.block_on([&]() -> Task<> {
    co_await sleep_for(1ms);  // a loop that has been running for a while
    sem.release(1);
    // Block this loop's thread: the wake must already be on its way.
    seen = woke.wait_for(10s);
    co_return;
  }());
  b_thread.join();
  CHECK(seen == std::future_status::ready);
}

TEST_CASE(
    "destroying a task after its wake was delivered on its own loop neither resumes it nor loses the "
    "permit") {
  Semaphore sem(0);
  bool resumed = false;
  run([&]() -> Task<> {
    Raw r = acquire_then_mark(sem, resumed);
    r.h.resume();  // suspends in acquire()
    REQUIRE(sem.waiters() == 1);
    sem.release(1);  // same-loop hand-off: its resumption is now queued
    r.h.destroy();   // ... and the task goes away before it runs
    for (int i = 0; i < 10; ++i) co_await yield();
  }());
  CHECK_FALSE(resumed);
  CHECK(sem.available() == 1);  // the handed-over permit came back
}

TEST_CASE(
    "destroying a task after a wake from another thread was queued for it neither resumes it nor loses the "
    "permit") {
  Semaphore sem(0);
  bool resumed = false;
  run([&]() -> Task<> {
    Raw r = acquire_then_mark(sem, resumed);
    r.h.resume();
    REQUIRE(sem.waiters() == 1);
    std::thread([&] { sem.release(1); }).join();  // queued on this loop's remote queue
    r.h.destroy();
    for (int i = 0; i < 10; ++i) co_await yield();
  }());
  CHECK_FALSE(resumed);
  CHECK(sem.available() == 1);
}

TEST_CASE(
    "a loop destroyed the moment its task is woken from another thread outlives the waker's notification") {
  // The waker pokes a parked loop under the loop's lock but writes its
  // notifier (or futex word) after dropping it. The loop can see the wake in
  // its own re-check, finish, and be destroyed inside that gap; ~Loop must
  // not free the notifier until the write is done (ASan reports the
  // backend's use after free otherwise). Many rounds, to land in the gap.
  Watchdog dog(120s, "destroy right after a remote wake");
  constexpr int kRounds = 2000;
  for (int round = 0; round < kRounds; ++round) {
    Semaphore sem(0);
    std::atomic<bool> waiting{false};
    std::thread b_thread([&] {
      Loop b(tier_options());
      b.block_on([&]() -> Task<> {
        auto r = sem.acquire();
        waiting.store(true, std::memory_order_release);
        auto p = co_await r;
        CHECK(p);
      }());
      // ~Loop here, racing the waker's notification.
    });
    while (!waiting.load(std::memory_order_acquire) || sem.waiters() == 0) std::this_thread::yield();
    sem.release(1);
    b_thread.join();
  }
}

// The shape of a server: a task makes a semaphore and an event in its own
// frame and spawns the tasks that use them; the loop is then destroyed with
// all of them suspended. Tearing the spawner down first would free the
// semaphore under its waiters (their awaiters unlink from its queue, the
// permit holder returns its permit into it), so ~Loop must destroy the
// tasks spawned later first.
TEST_CASE(
    "~Loop destroys its tasks newest first, so a task's primitives outlive the tasks it spawned to use "
    "them") {
  constexpr int kHandlers = 40;  // enough that a hash set of frames does not keep insertion order
  std::atomic<int> died_in_use{0};
  std::atomic<int> queued{0};
  struct Owned {
    std::atomic<int>& died_in_use;
    Semaphore sem{1};
    Event never;
    ~Owned() {
      if (sem.waiters() != 0 || sem.in_use() != 0 || never.waiters() != 0) ++died_in_use;
    }
  };
  {
    Loop loop(tier_options());
    loop.spawn([](std::atomic<int>& died, std::atomic<int>& queued) -> Task<> {
      Owned own{died};
      for (int i = 0; i < kHandlers; ++i)
        Loop::current()->spawn([](Owned& o, std::atomic<int>& queued) -> Task<> {
          ++queued;
          auto p = co_await o.sem.acquire();  // one holds the permit, the rest queue
          co_await o.never.wait();
        }(own, queued));
      co_await own.never.wait();
    }(died_in_use, queued));
    loop.block_on([&]() -> Task<> { co_await until([&] { return queued.load() == kHandlers; }); }());
  }  // ~Loop: every task is still suspended
  CHECK(died_in_use.load() == 0);
}

TEST_CASE("a semaphore used as a one-shot signal may be destroyed by whoever takes its permit") {
  // One thread release()s a Semaphore(0) nobody waits on yet; another takes
  // the permit and destroys the semaphore at once. A release of a permit
  // that was never out goes through the queue lock, and it once published
  // the permit while still holding that lock: the destroyed semaphore's lock
  // was then released in freed memory (ASan: heap-use-after-free in the
  // unlock). Every access of release() now comes before the permit is
  // visible. The window is a few instructions wide, hence many rounds.
  Watchdog dog(60s, "one-shot semaphore signals");
  constexpr int kRounds = 20000;
  std::atomic<Semaphore*> current{nullptr};
  std::atomic<int> released{0};
  std::thread signaller([&] {
    for (int i = 1; i <= kRounds; ++i) {
      Semaphore* s;
      while (!(s = current.exchange(nullptr, std::memory_order_acq_rel))) std::this_thread::yield();
      s->release();
      released.store(i, std::memory_order_release);
    }
  });
  int taken = 0;
  for (int i = 1; i <= kRounds; ++i) {
    auto* s = new Semaphore(0);
    current.store(s, std::memory_order_release);
    for (int tries = 1;; ++tries) {
      // Taken and given back at once; no waiter, so neither takes the lock.
      if (s->try_acquire().status == WaitStatus::acquired) {
        ++taken;
        break;
      }
      // Spinning keeps the window in reach; yielding now and then lets a
      // signaller that shares this CPU run at all.
      if (tries % 1024 == 0) std::this_thread::yield();
    }
    delete s;  // while the signaller may still be inside release()
    while (released.load(std::memory_order_acquire) < i) std::this_thread::yield();
  }
  signaller.join();
  CHECK(taken == kRounds);
}

TEST_CASE(
    "a semaphore may be destroyed by whoever gets every permit back, while the returns are still running") {
  // Threads return their Permits; the main thread, once it holds every
  // permit and nobody waits, destroys the semaphore. A Permit's return must
  // not touch the semaphore after its permits can be taken: not after the
  // lock-free return (one holder, main thread spinning on try_acquire), and
  // not while handing them to a queued waiter (two holders, main thread
  // blocked for both permits, so one return may find the other's permit
  // already handed over). Returning with one blind add and fixing the queue
  // up afterwards failed here under ASan in most runs.
  Watchdog dog(60s, "destroy after every permit is back");
  constexpr int kRounds = 30000;
  for (const int holders : {1, 2}) {
    CAPTURE(holders);
    std::vector<Permit> slots(static_cast<std::size_t>(holders));
    std::atomic<int> round{0}, returned{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < holders; ++t)
      threads.emplace_back([&, t] {
        for (int i = 1; i <= kRounds; ++i) {
          while (round.load(std::memory_order_acquire) < i) std::this_thread::yield();
          slots[static_cast<std::size_t>(t)].release();
          returned.fetch_add(1, std::memory_order_acq_rel);
        }
      });
    for (int i = 1; i <= kRounds; ++i) {
      auto* s = new Semaphore(static_cast<std::size_t>(holders));
      for (auto& slot : slots) slot = s->try_acquire().permit;
      returned.store(0, std::memory_order_relaxed);
      round.store(i, std::memory_order_release);
      {
        AcquireResult all;
        if (holders == 1) {
          for (int tries = 1; !(all = s->try_acquire()); ++tries)
            if (tries % 1024 == 0) std::this_thread::yield();  // the holder may share this CPU
        } else {
          all = s->acquire_blocking(2);
        }
        REQUIRE(all.status == WaitStatus::acquired);
      }  // every permit back and nobody waiting: free to destroy
      delete s;
      while (returned.load(std::memory_order_acquire) < holders) std::this_thread::yield();
    }
    for (auto& t : threads) t.join();
  }
}

TEST_CASE("destroying a task whose timer fired but which has not resumed does not resume it") {
  bool resumed = false;
  run([&]() -> Task<> {
    Raw r = sleep_then_mark(1ms, resumed);
    r.h.resume();
    // Hold the loop past the deadline, then yield: this iteration's timers
    // fire after this task is queued, so the sleeper's resumption is queued
    // right behind it, and this task runs first.
    std::this_thread::sleep_for(5ms);
    co_await yield();
    REQUIRE_FALSE(resumed);
    r.h.destroy();
    for (int i = 0; i < 10; ++i) co_await yield();
  }());
  CHECK_FALSE(resumed);
}

TEST_CASE("destroying a task that yielded before its turn comes does not resume it") {
  bool resumed = false;
  run([&]() -> Task<> {
    Raw r = yield_then_mark(resumed);
    r.h.resume();  // queued behind nothing: it would run next iteration
    r.h.destroy();
    for (int i = 0; i < 10; ++i) co_await yield();
  }());
  CHECK_FALSE(resumed);
}

TEST_CASE("a posted function that throws does not drop the functions posted after it") {
  Loop loop(tier_options());
  bool later_ran = false;
  std::thread([&] {
    loop.post([] { throw std::runtime_error("posted failure"); });
    loop.post([&] { later_ran = true; });
  }).join();
  bool threw = false;
  try {
    loop.block_on([]() -> Task<> {
      co_await yield();
      co_await yield();
    }());
  } catch (const std::runtime_error&) {
    threw = true;
  }
  CHECK(threw);
  CHECK(later_ran);
}

#if defined(__linux__)

namespace {
int futex_waiters_near(const void* p, std::size_t span) {
  // Waking an address makes no access to its memory in user space, so this
  // is safe on freed memory: it only asks the kernel who waits there.
  auto base = reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{3};
  int found = 0;
  for (std::uintptr_t a = base - span; a < base + span; a += 4) {
    long n = syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(a), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
                     nullptr, 0);
    if (n > 0) found += static_cast<int>(n);
  }
  return found;
}

// A task that waits on `sem` and reports where its frame is.
Task<> waiter_reporting_frame(Semaphore& sem, const void*& where, std::chrono::milliseconds timeout) {
  int marker = 0;
  where = &marker;
  auto r = co_await sem.acquire_for(timeout);
  (void)r;
}
}  // namespace

TEST_CASE("no kernel wait outlives the task memory it names even when a forked child keeps the ring open") {
  Semaphore sem(0);
  const void* where_timed_out = nullptr;
  const void* where_destroyed = nullptr;
  pid_t child = -1;
  {
    Loop loop(tier_options());
    loop.block_on([&]() -> Task<> {
      // One waiter is woken on its own loop (its timeout) after the loop
      // slept with it waiting; the other is still waiting at teardown.
      loop.spawn(waiter_reporting_frame(sem, where_timed_out, 30ms));
      loop.spawn(waiter_reporting_frame(sem, where_destroyed, 60s));
      co_await sleep_for(100ms);
    }());
    // A child that shares the ring's descriptor keeps the ring alive past
    // ~Loop, together with anything still queued in it.
    child = fork();
    if (child == 0) {
      pause();
      _exit(0);
    }
    REQUIRE(child > 0);
  }
  const int stray = futex_waiters_near(where_timed_out, 2048) + futex_waiters_near(where_destroyed, 2048);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  CHECK_MESSAGE(stray == 0, "kernel waits were still queued on memory of destroyed tasks");
}

TEST_CASE("~Loop on another thread returns with a task parked in recv") {
  Watchdog dog(30s, "~Loop with a parked recv");
  int sp[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) == 0);
  bool frame_destroyed = false;
  struct Flag {
    bool* f;
    ~Flag() { *f = true; }
  };
  auto loop = std::make_unique<Loop>(tier_options());
  std::thread runner([&] {
    loop->block_on([&]() -> Task<> {
      loop->spawn([](int fd, bool& destroyed) -> Task<> {
        Flag flag{&destroyed};
        char buf[16];
        [[maybe_unused]] auto r = co_await libsync::recv(fd, buf, sizeof buf);
      }(sp[0], frame_destroyed));
      for (int i = 0; i < 5; ++i) co_await yield();
      co_await sleep_for(5ms);  // the recv is now in the backend
    }());
  });
  runner.join();  // the thread that started the recv is gone
  loop.reset();   // destroyed here, on another thread
  CHECK(frame_destroyed);
  ::close(sp[0]);
  ::close(sp[1]);
}

TEST_CASE(
    "moving a loop with a recv in flight while its first thread is alive is refused on a ring that thread "
    "owns and works "
    "elsewhere") {
  Watchdog dog(30s, "moving a loop with I/O in flight");
  int sp[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) == 0);
  Loop loop(tier_options());
  std::string got;
  bool finished = false;
  std::promise<void> may_exit;
  auto exit_signal = may_exit.get_future();
  std::atomic<bool> first_done{false};
  std::thread t1([&] {
    loop.block_on([&]() -> Task<> {
      loop.spawn([](int fd, std::string& out, bool& fin) -> Task<> {
        char buf[16];
        auto r = co_await libsync::recv(fd, buf, sizeof buf);
        if (r.value > 0) out.assign(buf, static_cast<std::size_t>(r.value));
        fin = true;
      }(sp[0], got, finished));
      co_await sleep_for(5ms);
    }());
    first_done = true;
    exit_signal.wait();
  });
  while (!first_done) std::this_thread::sleep_for(1ms);
  REQUIRE(::write(sp[1], "x", 1) == 1);
  bool refused = false;
  std::thread t2([&] {
    try {
      loop.run_until_idle();
    } catch (const std::logic_error& e) {
      refused = true;
      MESSAGE("refused: " << std::string(e.what()));
    }
  });
  t2.join();
  if (uring_single_issuer(loop)) {
    CHECK(refused);
    may_exit.set_value();
    t1.join();  // its exit ends the recv in the kernel, and the loop can move
    loop.run_until_idle();
    CHECK(finished);  // the recv reported its end (cancelled, or the byte)
  } else {
    CHECK_FALSE(refused);
    CHECK(finished);
    CHECK(got == "x");
    may_exit.set_value();
    t1.join();
  }
  ::close(sp[0]);
  ::close(sp[1]);
}

TEST_CASE("an accepted connection whose task is destroyed before it resumes is closed and not leaked") {
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  REQUIRE(lfd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(lfd, 4) == 0);
  socklen_t alen = sizeof addr;
  REQUIRE(::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &alen) == 0);
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(client >= 0);
  bool resumed = false;
  long long accepted = -1;
  Loop loop(tier_options());
  loop.block_on([&]() -> Task<> {
    auto raw = [](int l, bool& r, long long& out) -> Raw {
      auto res = co_await libsync::accept(l);
      out = res.value;
      r = true;
    }(lfd, resumed, accepted);
    raw.h.resume();
    const auto before = loop.stats().io_completed;
    REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    // Each yield is an iteration; the accept's completion is handled after
    // this task was queued again, so this task runs before the acceptor.
    for (int i = 0; i < 100000 && loop.stats().io_completed == before; ++i) co_await yield();
    REQUIRE(loop.stats().io_completed > before);
    if (!resumed) raw.h.destroy();
  }());
  if (resumed) {
    // The acceptor ran first on this machine; it owns the socket.
    MESSAGE("the accepting task resumed before it could be destroyed; closing its socket");
    if (accepted >= 0) ::close(static_cast<int>(accepted));
  }
  pollfd p{client, POLLIN, 0};
  const int ready = ::poll(&p, 1, 5000);
  char byte;
  const ssize_t n = ready > 0 ? ::recv(client, &byte, 1, 0) : -1;
  CHECK_MESSAGE(n == 0, "the server side of the connection was never closed: the accepted socket leaked");
  ::close(client);
  ::close(lfd);
}

#endif

// Thread-local objects whose destructors still use loops as their thread
// exits. Each is touched before the thread's first wait, so the C++ runtime
// destroys it after anything that wait set up for the thread. Not on
// Windows: under mingw-w64 12 (winpthreads), the destructor of a test's own
// thread_local read garbage members at thread exit, in ~RunAtExit, before
// any libsync code ran, and in a case that never set it up.
#if !defined(_WIN32)
namespace {

void sleep_once(Loop& l) {
  l.block_on([]() -> Task<> { co_await sleep_for(1ms); }());
}

struct LoopAtExit {
  std::unique_ptr<Loop> loop;
  ~LoopAtExit() { loop.reset(); }
};
thread_local LoopAtExit tl_loop_at_exit;

struct RunAtExit {
  bool armed = false;
  std::atomic<int>* ran = nullptr;
  ~RunAtExit() {
    if (!armed) return;
    Loop l(tier_options());
    sleep_once(l);  // this loop's first wait: it takes the exiting thread as its owner
    ran->fetch_add(1);
  }
};
thread_local RunAtExit tl_run_at_exit;

}  // namespace

TEST_CASE("a thread_local loop that ran on its thread is destroyed as the thread exits") {
  for (int round = 0; round < 20; ++round) {
    std::thread([] {
      tl_loop_at_exit.loop = std::make_unique<Loop>(tier_options());
      sleep_once(*tl_loop_at_exit.loop);
    }).join();
  }
}

TEST_CASE("a thread_local destructor runs a new loop after the thread's other loops are gone") {
  std::atomic<int> ran{0};
  for (int round = 0; round < 20; ++round) {
    std::thread([&ran] {
      tl_run_at_exit.armed = true;
      tl_run_at_exit.ran = &ran;
      Loop l(tier_options());
      sleep_once(l);
    }).join();
  }
  CHECK(ran.load() == 20);
}
#endif  // !_WIN32
