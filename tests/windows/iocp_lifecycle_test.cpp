// The iocp backend at the edges of a loop's life: operations abandoned after
// the kernel finished them, a loop run by one thread and then another, the
// last loop of the process going away, and the internal kernel-object wait
// cancelled while its object is being signalled.
//
// Every loop here is forced to iocp/iocp, whatever LIBSYNC_TEST_TIER says.
#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <optional>
#include <stop_token>
#include <string>
#include <sync/io.hpp>
#include <sync/loop.hpp>
#include <sync/semaphore.hpp>
#include <thread>

#include "iocp_test_util.hpp"
#include "windows/iocp_backend.hpp"

using namespace libsync;
using namespace libsync::test;

namespace {

// Whether the peer of `s` has closed its end (recv sees EOF or a reset)
// within `limit`. A connection whose far end leaked stays open for good, so
// the limit only bounds how long a failing run takes.
bool peer_closed_within(SOCKET s, DWORD limit_ms) {
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(s, &rd);
  timeval tv{static_cast<long>(limit_ms / 1000), static_cast<long>(limit_ms % 1000) * 1000};
  int n = ::select(0, &rd, nullptr, nullptr, &tv);
  REQUIRE(n >= 0);
  if (n == 0) return false;
  char c;
  int r = ::recv(s, &c, 1, 0);
  return r == 0 || (r < 0 && WSAGetLastError() == WSAECONNRESET);
}

}  // namespace

TEST_CASE("an accept abandoned after AcceptEx completed closes the accepted socket") {
  // The loop is destroyed with an accept whose AcceptEx has already taken a
  // connection: abandon() finds nothing left to cancel and dequeues the
  // success packet. Nobody will ever see that socket, so the backend must
  // close it, and the client must see its connection end.
  Watchdog dog(60000, "abandoned accept");
  SocketLibrary sockets;
  LoopbackListener l;
  SOCKET client = INVALID_SOCKET;
  {
    Loop loop(iocp_options());
    loop.block_on([&]() -> Task<> {
      loop.spawn([](SOCKET listener) -> Task<> {
        auto a = co_await libsync::accept(listener);
        FAIL("the accept should never resume, it got " << a.value);
      }(l.fd));
      co_await sleep_for(2ms);  // the accept is now pending in AcceptEx
      client = ::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
      REQUIRE(client != INVALID_SOCKET);
      REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&l.addr), sizeof l.addr) == 0);
      // Give AcceptEx time to finish with that connection, so the packet the
      // loop's destruction dequeues is its success (a cancelled accept would
      // leave the connection in the backlog, reset below with the listener).
      Sleep(200);
    }());
  }
  ::closesocket(l.fd);
  l.fd = INVALID_SOCKET;
  bool closed = peer_closed_within(client, 10000);
  ::closesocket(client);
  CHECK_MESSAGE(closed, "the server end of an abandoned accept is still open: the accepted socket leaked");
}

TEST_CASE("a loop run on one thread, then another, then destroyed on the first, while the other spins") {
  // Under Windows' rules for a completion port's concurrency value, a port
  // created for one concurrent thread does not release a packet to a thread
  // blocked on it while the thread that dequeued from it last is still
  // running. Here the loop runs on t1, which then spins (never blocking)
  // while t2 runs the same loop through a remote wake; then t2 spins while
  // t1 destroys the loop, which must dequeue the cancellation of a pending
  // recv. With a concurrency of 1 either step deadlocks on Windows; Wine
  // ignores the value, so under Wine this passes either way and only
  // Windows can fail it.
  Watchdog dog(60000, "loop moved between threads");
  SocketPair p;
  std::optional<Loop> loop(std::in_place, iocp_options());
  Semaphore first(0), second(0);
  std::atomic<bool> t1_ran{false}, t2_ran{false}, destroyed{false};
  LoopStats stats;
  std::thread t1([&] {
    loop->block_on([&]() -> Task<> {
      auto permit = co_await first.acquire();  // woken by a packet: t1 dequeued from the port
      REQUIRE(permit);
      permit.permit.forget();
    }());
    t1_ran = true;
    while (!t2_ran.load()) YieldProcessor();  // runnable all along: never blocks
    stats = loop->stats();
    loop.reset();  // abandons the recv: waits for its cancellation packet
    destroyed = true;
  });
  wait_until([&] { return first.waiters() == 1; });
  Sleep(20);  // let t1 reach GetQueuedCompletionStatusEx
  first.release(1);
  wait_until([&] { return t1_ran.load(); });
  std::thread t2([&] {
    loop->block_on([&]() -> Task<> {
      loop->spawn([](SOCKET s) -> Task<> {
        char c;
        co_await libsync::recv(s, &c, 1);
        FAIL("the recv should never complete");
      }(p.a));
      auto permit = co_await second.acquire();
      REQUIRE(permit);
      permit.permit.forget();
    }());
    t2_ran = true;
    while (!destroyed.load()) YieldProcessor();
  });
  wait_until([&] { return second.waiters() == 1; });
  Sleep(20);  // let t2 block in the port, with t1 still spinning
  second.release(1);
  t2.join();
  t1.join();
  CHECK(stats.remote_wakes >= 2);
}

TEST_CASE("a listener the application made survives the last loop, and a later loop accepts on it") {
  // No Winsock initialisation of this test's own: the loop's is the only
  // one, so destroying the loop must not take the application's sockets
  // with it (WSACleanup of the last user resets every socket).
  std::optional<Loop> first(std::in_place, iocp_options());
  LoopbackListener l;  // needs Winsock: the first loop has set it up
  first.reset();

  Loop later(iocp_options());
  IoResult accepted = later.block_on([&]() -> Task<IoResult> {
    later.spawn([](sockaddr_in addr) -> Task<> {
      SOCKET c = ::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
      REQUIRE(c != INVALID_SOCKET);
      auto r = co_await libsync::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      CHECK_MESSAGE(r.ok(), "connect to the application's listener failed: errno " << r.error());
      co_await libsync::close(c);
    }(l.addr));
    auto a = co_await libsync::accept(l.fd);
    if (a.ok()) co_await libsync::close(static_cast<socket_handle>(a.value));
    co_return a;
  }());
  CHECK_MESSAGE(accepted.ok(), "accept on the application's listener failed: errno " << accepted.error());
}

TEST_CASE("a kernel-object wait cancelled while its event is set never loses the signal") {
  // The event is auto-reset: the wait consumes its signal. A cancellation
  // that races the signal must end in exactly one of two states: the wait
  // completed (0) and the event is clear, or the wait was cancelled and the
  // event is still set for someone else.
  constexpr int kRounds = 200;
  Watchdog dog(120000, "object wait cancel race");
  HANDLE ev = CreateEventW(nullptr, FALSE, FALSE, nullptr);
  REQUIRE(ev);
  Loop loop(iocp_options());
  int completed = 0, cancelled = 0, lost = 0, doubled = 0;
  for (int i = 0; i < kRounds; ++i) {
    std::stop_source src;
    long long r = loop.block_on([&]() -> Task<long long> {
      // Both orders, so both outcomes occur.
      std::thread racer([&, i] {
        if (i % 2 == 0) {
          SetEvent(ev);
          src.request_stop();
        } else {
          src.request_stop();
          SetEvent(ev);
        }
      });
      long long res = co_await detail::wait_object(ev, src.get_token());
      racer.join();
      co_return res;
    }());
    bool still_set = WaitForSingleObject(ev, 0) == WAIT_OBJECT_0;  // also clears it
    if (r == 0) {
      ++completed;
      if (still_set) ++doubled;
    } else {
      REQUIRE(r == -ECANCELED);
      ++cancelled;
      if (!still_set) ++lost;
    }
  }
  CloseHandle(ev);
  MESSAGE(completed << " completed, " << cancelled << " cancelled");
  CHECK_MESSAGE(lost == 0, lost << " of " << cancelled << " cancelled waits consumed the signal");
  CHECK(doubled == 0);
}

TEST_CASE("a kernel-object wait on a null handle fails with EBADF") {
  // (A closed handle's value would do, were it not soon reused.)
  Watchdog dog(60000, "object wait on a null handle");
  Loop loop(iocp_options());
  long long r =
      loop.block_on([&]() -> Task<long long> { co_return co_await detail::wait_object(nullptr); }());
  CHECK(r == -EBADF);
}

TEST_CASE("a loop destroyed with a kernel-object wait pending leaves the signal in place") {
  Watchdog dog(60000, "abandoned object wait");
  HANDLE ev = CreateEventW(nullptr, FALSE, FALSE, nullptr);
  REQUIRE(ev);
  {
    Loop loop(iocp_options());
    loop.block_on([&]() -> Task<> {
      loop.spawn([](HANDLE ev) -> Task<> {
        co_await detail::wait_object(ev);
        FAIL("the wait should never complete");
      }(ev));
      co_await sleep_for(5ms);
    }());
  }  // the wait is cancelled, and its worker has let go of the event
  SetEvent(ev);
  CHECK(WaitForSingleObject(ev, 0) == WAIT_OBJECT_0);
  CloseHandle(ev);
}
