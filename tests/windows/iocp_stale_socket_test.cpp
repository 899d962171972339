// A socket closed with a plain closesocket() instead of libsync::close(): the
// loop still remembers its handle value, and Windows hands that value to the
// next socket. The new socket must still be associated with the loop's port,
// or its operations complete with no packet and nothing can resume or cancel
// them.
//
// Needs the system to reuse a closed socket's handle value for a new socket;
// where it does not (probed first) the test reports itself skipped.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stop_token>
#include <sync/io.hpp>
#include <sync/loop.hpp>
#include <vector>

#include "iocp_test_util.hpp"

using namespace libsync;
using namespace libsync::test;

namespace {

// A socket whose handle value is `value`, or INVALID_SOCKET if the system
// did not hand that value out again within a few tries.
SOCKET socket_with_value(SOCKET value) {
  std::vector<SOCKET> others;
  SOCKET found = INVALID_SOCKET;
  for (int i = 0; i < 64 && found == INVALID_SOCKET; ++i) {
    SOCKET s = ::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    REQUIRE(s != INVALID_SOCKET);
    if (s == value)
      found = s;
    else
      others.push_back(s);
  }
  for (SOCKET s : others) ::closesocket(s);
  return found;
}

// Connects `s` to a fresh loopback listener; returns the accepted peer.
SOCKET connect_to_peer(SOCKET s) {
  LoopbackListener l;
  REQUIRE(::connect(s, reinterpret_cast<sockaddr*>(&l.addr), sizeof l.addr) == 0);
  SOCKET peer = ::accept(l.fd, nullptr, nullptr);
  REQUIRE(peer != INVALID_SOCKET);
  return peer;
}

}  // namespace

TEST_CASE("a socket that reuses the handle of one closed behind the loop's back still works") {
  Watchdog dog(60000, "recv on a socket that reuses a closed socket's handle");
  SocketLibrary sockets;
  Loop loop(iocp_options());

  // The loop associates the first socket with its port and remembers it.
  SOCKET old_value;
  {
    SocketPair p;
    REQUIRE(::send(p.b, "a", 1, 0) == 1);
    auto r = loop.block_on([&]() -> Task<IoResult> {
      char c;
      co_return co_await libsync::recv(p.a, &c, 1);
    }());
    REQUIRE(r.value == 1);
    old_value = p.a;
  }  // closed with plain closesocket()

  SOCKET s = socket_with_value(old_value);
  if (s == INVALID_SOCKET) {
    std::printf("SKIPPED: this system did not reuse a closed socket's handle value for a new socket\n");
    std::fflush(stdout);
    std::_Exit(77);
  }
  SOCKET peer = connect_to_peer(s);

  // A recv that has to wait for its bytes: its completion must reach the port.
  auto got = loop.block_on([&]() -> Task<IoResult> {
    loop.spawn([](SOCKET peer) -> Task<> {
      co_await sleep_for(5ms);
      REQUIRE(::send(peer, "b", 1, 0) == 1);
    }(peer));
    char c = 0;
    auto r = co_await libsync::recv(s, &c, 1);
    CHECK(c == 'b');
    co_return r;
  }());
  CHECK(got.value == 1);

  // And a pending recv can be cancelled.
  std::stop_source src;
  auto cancelled = loop.block_on([&]() -> Task<IoResult> {
    loop.spawn([](std::stop_source& src) -> Task<> {
      co_await sleep_for(5ms);
      src.request_stop();
    }(src));
    char c;
    co_return co_await libsync::recv(s, &c, 1, src.get_token());
  }());
  CHECK(cancelled.error() == ECANCELED);

  loop.block_on([&]() -> Task<> { co_await libsync::close(s); }());
  ::closesocket(peer);
}
