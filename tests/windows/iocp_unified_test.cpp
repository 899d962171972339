// The Windows tier on its own loop: the iocp tier's wake path, including the
// property the tier exists for: a semaphore wake from another thread and a
// socket completion reach a task through the same
// GetQueuedCompletionStatusEx. (The socket operations themselves are
// tested once for every tier, in tests/unit/io_test.cpp.)
//
// Every loop here is forced to iocp/iocp, whatever LIBSYNC_TEST_TIER says:
// this file tests that tier, not the suites' tier under test.
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <sync/event.hpp>
#include <sync/io.hpp>
#include <sync/loop.hpp>
#include <sync/semaphore.hpp>
#include <thread>
#include <vector>

#include "iocp_test_util.hpp"

using namespace libsync;
using namespace libsync::test;

TEST_CASE("a loop forced to the iocp tier runs on the iocp backend") {
  Loop loop(iocp_options());
  CHECK(loop.tier() == Tier::iocp);
  CHECK(loop.backend_kind() == BackendKind::iocp);
}

TEST_CASE("one dequeue loop takes both a posted semaphore wake and the recv completion") {
  // The unified loop: a task waits in an overlapped WSARecv while another task
  // on the same loop waits for a semaphore. A plain thread releases the
  // semaphore (a packet posted to the loop's port), and only once that task
  // has run does it send the bytes the recv waits for (an I/O packet on the
  // same port). Both resume on the loop's thread, in that order, and the loop
  // never needed its remote queue or a notifier for the semaphore wake.
  Watchdog dog(30000, "unified loop");
  SocketPair p;
  Semaphore sem(0);
  Loop loop(iocp_options());
  std::atomic<bool> recv_started{false}, sem_resumed{false};
  std::vector<std::string> order;  // loop thread only
  std::thread::id loop_thread, sem_thread, recv_thread;
  std::string got;

  std::thread helper([&] {
    wait_until([&] { return recv_started.load() && sem.waiters() == 1; });
    // Let the loop reach GetQueuedCompletionStatusEx with both waits pending.
    Sleep(50);
    sem.add_permits(1);
    wait_until([&] { return sem_resumed.load(); });
    REQUIRE(::send(p.b, "unified", 7, 0) == 7);
  });

  loop.block_on([&]() -> Task<> {
    loop_thread = std::this_thread::get_id();
    Event recv_done;
    loop.spawn([](SOCKET s, std::atomic<bool>& started, std::vector<std::string>& order,
                  std::thread::id& where, std::string& got, Event& done) -> Task<> {
      char buf[32] = {};
      started = true;
      auto r = co_await libsync::recv(s, buf, sizeof buf);
      where = std::this_thread::get_id();
      order.push_back("recv");
      if (r.ok()) got.assign(buf, static_cast<std::size_t>(r.value));
      done.set();
    }(p.a, recv_started, order, recv_thread, got, recv_done));
    auto permit = co_await sem.acquire();
    sem_thread = std::this_thread::get_id();
    order.push_back("semaphore");
    CHECK(permit);
    sem_resumed = true;
    co_await recv_done.wait();
  }());
  helper.join();

  CHECK(got == "unified");
  REQUIRE(order.size() == 2);
  CHECK(order[0] == "semaphore");
  CHECK(order[1] == "recv");
  CHECK(sem_thread == loop_thread);
  CHECK(recv_thread == loop_thread);
  LoopStats s = loop.stats();
  CHECK(s.remote_wakes >= 1);     // the semaphore wake arrived as a packet
  CHECK(s.io_completed >= 1);     // and so did the recv
  CHECK(s.notifier_writes == 0);  // no remote-queue poke was involved
}

TEST_CASE("semaphore ping-pong between two iocp loops on two threads loses no wake") {
  constexpr int kRounds = 1000;
  Watchdog dog(60000, "ping-pong");
  Semaphore ping(0), pong(0);
  std::atomic<int> a_done{0}, b_done{0};
  LoopStats sa, sb;
  std::thread ta([&] {
    Loop la(iocp_options());
    la.block_on([&]() -> Task<> {
      for (int i = 0; i < kRounds; ++i) {
        auto p = co_await ping.acquire();
        REQUIRE(p);
        p.permit.forget();
        ++a_done;
        pong.add_permits(1);
      }
    }());
    sa = la.stats();
  });
  std::thread tb([&] {
    Loop lb(iocp_options());
    lb.block_on([&]() -> Task<> {
      for (int i = 0; i < kRounds; ++i) {
        ping.add_permits(1);
        auto p = co_await pong.acquire();
        REQUIRE(p);
        p.permit.forget();
        ++b_done;
      }
    }());
    sb = lb.stats();
  });
  ta.join();
  tb.join();
  CHECK(a_done == kRounds);
  CHECK(b_done == kRounds);
  // Most hand-offs find the other side asleep, so they cross as packets.
  CHECK(sa.remote_wakes + sb.remote_wakes > 0);
  CHECK(ping.waiters() == 0);
  CHECK(pong.waiters() == 0);
}

TEST_CASE("a plain thread and an iocp loop wake each other") {
  Watchdog dog(30000, "plain thread");
  Semaphore to_thread(0), to_loop(0);
  std::atomic<int> thread_got{0};
  std::thread plain([&] {
    for (int i = 0; i < 200; ++i) {
      auto r = to_thread.acquire_blocking();  // WaitOnAddress
      REQUIRE(r);
      r.permit.forget();
      ++thread_got;
      to_loop.add_permits(1);  // a packet posted to the loop's port
    }
  });
  Loop loop(iocp_options());
  loop.block_on([&]() -> Task<> {
    for (int i = 0; i < 200; ++i) {
      to_thread.add_permits(1);
      auto p = co_await to_loop.acquire();
      REQUIRE(p);
      p.permit.forget();
    }
  }());
  plain.join();
  CHECK(thread_got == 200);
}

TEST_CASE("a plain thread's acquire_blocking_for times out on an empty semaphore") {
  Semaphore s(0);
  auto t0 = Clock::now();
  auto r = s.acquire_blocking_for(30ms);
  CHECK(r.status == WaitStatus::timed_out);
  CHECK(Clock::now() - t0 >= 30ms);
  CHECK(s.waiters() == 0);
}

TEST_CASE("a same-loop hand-off wakes locally and posts no packet") {
  Semaphore s(0);
  Loop loop(iocp_options());
  loop.block_on([&]() -> Task<> {
    loop.spawn([](Semaphore& s) -> Task<> {
      for (int i = 0; i < 100; ++i) {
        auto p = co_await s.acquire();
        p.permit.forget();
      }
    }(s));
    co_await yield();
    for (int i = 0; i < 100; ++i) {
      s.add_permits(1);
      co_await yield();
    }
  }());
  LoopStats st = loop.stats();
  CHECK(st.local_wakes >= 1);
  CHECK(st.remote_wakes == 0);
}

TEST_CASE("a semaphore wait times out on an iocp loop") {
  Semaphore s(0);
  Loop loop(iocp_options());
  auto status = loop.block_on([&]() -> Task<WaitStatus> {
    auto r = co_await s.acquire_for(20ms);
    co_return r.status;
  }());
  CHECK(status == WaitStatus::timed_out);
  CHECK(s.waiters() == 0);
}

TEST_CASE("a loop destroyed while a remote wake is in its port gives the permit back") {
  // The waiter's frame dies with the wake packet still queued: forget() must
  // take the packet out before the frame's memory goes, and the permit the
  // waker handed over must return to the semaphore.
  Semaphore s(0);
  {
    Loop loop(iocp_options());
    loop.block_on([&]() -> Task<> {
      loop.spawn([](Semaphore& s) -> Task<> {
        auto p = co_await s.acquire();
        FAIL("the waiter should never run again");
      }(s));
      while (s.waiters() == 0) co_await yield();
    }());
    // Not running: this release is a remote wake, posted to the idle port.
    s.release(1);
    CHECK(s.waiters() == 0);
  }
  CHECK(s.available() == 1);
}

TEST_CASE("stop() from another thread wakes a loop blocked in its port") {
  Loop loop(iocp_options());
  std::thread stopper([&] {
    Sleep(50);
    loop.stop();
  });
  Watchdog dog(30000, "stop");
  loop.run();
  stopper.join();
  CHECK(loop.stats().notifier_reads >= 1);
}

TEST_CASE("post() from another thread runs on the loop's thread") {
  Loop loop(iocp_options());
  std::thread::id ran_on;
  std::thread poster([&] {
    Sleep(20);
    loop.post([&] {
      ran_on = std::this_thread::get_id();
      loop.stop();
    });
  });
  Watchdog dog(30000, "post");
  loop.run();
  poster.join();
  CHECK(ran_on == std::this_thread::get_id());
}
