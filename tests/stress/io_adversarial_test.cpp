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
