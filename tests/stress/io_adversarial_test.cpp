// Adversarial lifetime and ordering cases for the socket awaitables and the
// Acceptor, run once per tier: a stop that lands between a completion and
// its task's resumption, a loop handed to another thread while its previous
// thread exits with I/O in flight, and objects that outlive their loop.
#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <stop_token>
#include <sync/capabilities.hpp>
#include <sync/io.hpp>
#include <sync/loop.hpp>
#include <thread>

#include "socket_pair.hpp"
#include "test_util.hpp"

using namespace libsync;
using namespace libsync::test;

TEST_CASE(
    "a stop reaching an Acceptor accept after its connection was handed over leaves the next waiter alone") {
  // With a multishot accept armed, one accept() waits at a time. Task A
  // waits; a connection arrives and is handed to A, whose resumption is
  // queued behind B and C. B then asks for the next connection: the queue
  // is empty and nobody waits, so B waits. C, still before A in the same
  // round, stops A's token. A's connection won the race, so A must get it
  // (io.hpp: a cancelled operation completes with its real result if that
  // won), and B must keep waiting: nothing arrived for it.
  if (Loop(tier_options()).backend_kind() != BackendKind::uring ||
      !capabilities().io_uring.multishot_accept) {
    MESSAGE("no multishot accept on this backend: only a plain accept per call, nothing to hand over");
    return;
  }
  SocketLibrary sockets;
  LoopbackListener l;
  Loop loop(tier_options());
  Watchdog dog(20s, "acceptor stop after hand-over");
  struct State {
    std::stop_source a_stop, b_stop;
    long long a_result = 1, b_result = 1;
    bool a_done = false, b_waiting = false, b_done = false, connected = false;
  } st;
  socket_handle client = plain_tcp_socket();
  loop.block_on([](Loop& loop, State& st, LoopbackListener& l, socket_handle client) -> Task<> {
    Acceptor acceptor(l.fd);
    loop.spawn([](Acceptor& acceptor, State& st) -> Task<> {
      st.a_result = (co_await acceptor.accept(st.a_stop.get_token())).value;
      st.a_done = true;
    }(acceptor, st));
    loop.spawn([](Acceptor& acceptor, State& st) -> Task<> {
      for (;;) {
        st.b_waiting = true;  // still true when C runs only if this accept suspended
        auto r = co_await acceptor.accept(st.b_stop.get_token());
        st.b_waiting = false;
        if (r.value == -EBUSY) {
          co_await yield();
          continue;
        }
        st.b_result = r.value;
        break;
      }
      st.b_done = true;
    }(acceptor, st));
    loop.spawn([](State& st) -> Task<> {
      while (!st.a_done) {
        if (st.connected && st.b_waiting) {
          st.a_stop.request_stop();
          break;
        }
        co_await yield();
      }
    }(st));
    co_await yield();  // A arms the multishot request and waits
    REQUIRE(plain_connect(client, l.addr));
    st.connected = true;
    co_await until([&st] { return st.a_done; });
    co_await sleep_for(20ms);  // B, wrongly woken, would have resumed by now
    CHECK_FALSE(st.b_done);
    st.b_stop.request_stop();
    co_await until([&st] { return st.b_done; });
  }(loop, st, l, client));
  const long long a_result = st.a_result, b_result = st.b_result;
  CHECK(a_result >= 0);
  CHECK(b_result == -ECANCELED);
  if (a_result > 0) close_socket(static_cast<socket_handle>(a_result));
  if (b_result > 0) close_socket(static_cast<socket_handle>(b_result));
  close_socket(client);
}

TEST_CASE("a loop handed on while its old thread exits with a recv in flight") {
  // Thread A runs the loop, leaving a recv in flight, and hands the loop to
  // this thread, then exits without being joined. This thread holds the
  // loop between runs and may spawn onto it (loop.hpp); on io_uring, A's
  // exit cancels the recv on A itself (uring_backend.hpp) and its task
  // must then learn of it at the next run, without A touching the loop's
  // queues that now belong to this thread. Once A has exited the loop may
  // run here: the recv reports -ECANCELED (or, where no thread owns the
  // ring, on epoll or a ring any thread may enter, still waits).
  Watchdog dog(60s, "hand-over while the old thread exits");
  for (int round = 0; round < 20; ++round) {
    SocketPair sp;
    Loop loop(tier_options());
    std::atomic<bool> handed{false};
    long long recv_result = 1;
    int spawned_ran = 0;
    std::thread a([&] {
      loop.block_on([](Loop& loop, socket_handle s, long long& out) -> Task<> {
        loop.spawn([](socket_handle s, long long& out) -> Task<> {
          char buf[16];
          out = (co_await libsync::recv(s, buf, sizeof buf)).value;
        }(s, out));
        for (int i = 0; i < 3; ++i) co_await yield();
        co_await sleep_for(1ms);
      }(loop, sp.a, recv_result));
      handed.store(true, std::memory_order_release);
      // A returns: its exit hook runs now, while the loop is already ours.
    });
    while (!handed.load(std::memory_order_acquire)) std::this_thread::yield();
    for (int i = 0; i < 50; ++i) {
      loop.spawn([](int& n) -> Task<> {
        ++n;
        co_return;
      }(spawned_ran));
      if (i % 8 == 0) std::this_thread::yield();
    }
    a.join();
    const bool owned = uring_single_issuer(loop);
    if (!owned) CHECK(plain_send(sp.b, "x", 1) == 1);  // unless A's exit ended it, the recv needs a byte
    loop.run_until_idle();
    CHECK(spawned_ran == 50);
    if (owned)
      CHECK(recv_result == -ECANCELED);  // the exit hook cancelled it
    else if (loop.backend_kind() == BackendKind::uring)
      CHECK((recv_result == -ECANCELED || recv_result == 1));  // the kernel may end it as A exits
    else
      CHECK(recv_result == 1);
  }
}

TEST_CASE("an Acceptor that outlives its loop") {
  // An Acceptor declared before its loop (a server object built first, say)
  // is destroyed after it, on the same thread, with every accept() on it
  // long returned. The loop is gone: the Acceptor must not reach for it,
  // and the connections it queued are still its to close.
  SocketLibrary sockets;
  LoopbackListener l;
  socket_handle client = plain_tcp_socket();
  long long got = -1;
  {
    Acceptor acceptor(l.fd);
    {
      Loop loop(tier_options());
      Watchdog dog(20s, "acceptor outliving its loop");
      REQUIRE(plain_connect(client, l.addr));
      got = loop.block_on(
          [](Acceptor& a) -> Task<long long> { co_return (co_await a.accept()).value; }(acceptor));
    }
  }
  CHECK(got >= 0);
  if (got >= 0) close_socket(static_cast<socket_handle>(got));
  close_socket(client);
}
