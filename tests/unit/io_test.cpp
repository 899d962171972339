// Socket and descriptor I/O on a loop, per tier: recv/send over a connected
// pair, accept/connect on loopback, the Acceptor, cancellation by a stop
// token and by the loop's destruction. Written once against socket_pair.hpp;
// ctest runs it on every tier/backend pair the platform has
// (uring-futex/uring, generic/uring and generic/epoll on Linux; iocp/iocp
// and generic/iocp on Windows).
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdint>
#include <stop_token>
#include <string>
#include <sync/io.hpp>
#include <sync/loop.hpp>
#include <thread>
#include <vector>

#include "skip.hpp"
#include "socket_pair.hpp"
#include "test_util.hpp"

#if !defined(_WIN32)
#include <sys/mman.h>
#include <unistd.h>
#endif

using namespace libsync;
using namespace libsync::test;

TEST_CASE("send and recv move bytes over a socket pair") {
  SocketPair sp;
  auto got = run([&]() -> Task<std::string> {
    char buf[64] = {};
    // recv first: it has to wait for the send.
    Loop& loop = *Loop::current();
    loop.spawn([](socket_handle s) -> Task<> {
      co_await sleep_for(2ms);
      auto w = co_await libsync::send(s, "hello", 5);
      REQUIRE(w.value == 5);
    }(sp.b));
    auto r = co_await libsync::recv(sp.a, buf, sizeof buf);
    REQUIRE(r.ok());
    co_return std::string(buf, static_cast<std::size_t>(r.value));
  }());
  CHECK(got == "hello");
}

TEST_CASE("a stop_token cancels a pending recv with ECANCELED") {
  SocketPair sp;
  std::stop_source src;
  Loop loop(tier_options());
  auto r = loop.block_on([&]() -> Task<IoResult> {
    loop.spawn(request_stop_after(src, 5ms));
    char buf[8];
    co_return co_await libsync::recv(sp.a, buf, sizeof buf, src.get_token());
  }());
  CHECK(r.error() == ECANCELED);
  // The cancelled recv took nothing with it: the socket still works.
  CHECK(plain_send(sp.b, "x", 1) == 1);
  char c = 0;
  CHECK(plain_recv(sp.a, &c, 1) == 1);
  CHECK(c == 'x');
}

TEST_CASE("accept and connect meet on loopback") {
  SocketLibrary sockets;
  LoopbackListener l(16);
  Loop loop(tier_options());
  std::string received;
  loop.block_on([&]() -> Task<> {
    loop.spawn([](sockaddr_in addr, std::uint16_t port) -> Task<> {
      socket_handle c = loop_tcp_socket();
      auto r = co_await libsync::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      REQUIRE(r.ok());
      // Connected to the listener (on iocp this needs ConnectEx's context
      // copied onto the socket).
      auto server = peer_address(c);
      REQUIRE(server.has_value());
      CHECK(ntohs(server->sin_port) == port);
      auto w = co_await libsync::send(c, "ping", 4);
      REQUIRE(w.value == 4);
      CHECK((co_await libsync::close(c)).ok());
    }(l.addr, l.port()));
    auto a = co_await libsync::accept(l.fd);
    REQUIRE(a.ok());
    auto s = static_cast<socket_handle>(a.value);
    // The accepted socket is a full socket: its peer is the client, on
    // loopback (on iocp this needs AcceptEx's context copied onto it).
    auto peer = peer_address(s);
    REQUIRE(peer.has_value());
    CHECK(peer->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    char buf[16];
    for (;;) {
      auto r = co_await libsync::recv(s, buf, sizeof buf);
      REQUIRE(r.value >= 0);
      if (r.value == 0) break;
      received.append(buf, static_cast<std::size_t>(r.value));
    }
    CHECK((co_await libsync::close(s)).ok());
  }());
  CHECK(received == "ping");
}

TEST_CASE("a refused connect reports ECONNREFUSED") {
  SocketLibrary sockets;
  // A bound socket that does not listen: connecting to it is refused, and
  // the port stays taken, so the client cannot be handed the same port and
  // connect to itself.
  sockaddr_in addr{};
  socket_handle bound = bound_loopback_socket(addr);
  Loop loop(tier_options());
  auto r = loop.block_on([&]() -> Task<IoResult> {
    socket_handle c = loop_tcp_socket();
    auto res = co_await libsync::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    co_await libsync::close(c);
    co_return res;
  }());
  close_socket(bound);
  CHECK(r.error() == ECONNREFUSED);
}

TEST_CASE("an Acceptor hands out every connection, multishot on io_uring") {
  SocketLibrary sockets;
  LoopbackListener l(64);
  constexpr int kClients = 12;
  Loop loop(tier_options());
  int served = 0;
  bool multishot = false;
  loop.block_on([&]() -> Task<> {
    Acceptor acceptor(l.fd);
    for (int i = 0; i < kClients; ++i)
      loop.spawn([](sockaddr_in addr, int i) -> Task<> {
        socket_handle c = loop_tcp_socket();
        auto r = co_await libsync::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        REQUIRE(r.ok());
        char b = static_cast<char>('a' + i);
        REQUIRE((co_await libsync::send(c, &b, 1)).value == 1);
        co_await libsync::close(c);
      }(l.addr, i));
    for (int i = 0; i < kClients; ++i) {
      auto a = co_await acceptor.accept();
      REQUIRE(a.ok());
      char b = 0;
      auto r = co_await libsync::recv(static_cast<socket_handle>(a.value), &b, 1);
      CHECK(r.value == 1);
      co_await libsync::close(static_cast<socket_handle>(a.value));
      ++served;
    }
    multishot = acceptor.multishot();
    // A pending accept is cancelled by its stop token.
    std::stop_source src;
    loop.spawn(request_stop_after(src, 2ms));
    auto c = co_await acceptor.accept(src.get_token());
    CHECK(c.error() == ECANCELED);
  }());
  CHECK(served == kClients);
  CHECK(multishot == (loop.backend_kind() == BackendKind::uring));
}

TEST_CASE("an Acceptor hands out a whole burst and keeps accepting after pausing at its high-water mark") {
  SocketLibrary sockets;
  LoopbackListener l(128);
  // 70 connections wait in the backlog before the first accept: one multishot
  // burst takes them all, past the high-water mark.
  constexpr int kBurst = 70;
  std::vector<socket_handle> clients;
  for (int i = 0; i < kBurst + 1; ++i) {
    socket_handle c = plain_tcp_socket();
    if (i < kBurst) REQUIRE(plain_connect(c, l.addr));
    clients.push_back(c);
  }
  Loop loop(tier_options());
  Watchdog dog(20s, "acceptor burst");
  int accepted = 0;
  loop.block_on([&]() -> Task<> {
    Acceptor acceptor(l.fd);
    for (int i = 0; i < kBurst; ++i) {
      auto a = co_await acceptor.accept();
      REQUIRE(a.ok());
      co_await libsync::close(static_cast<socket_handle>(a.value));
      ++accepted;
    }
    // The queue is drained and this accept waits at once, possibly while
    // the pause at the high-water mark is still being cancelled; one more
    // client arrives only later, from another thread.
    std::thread late([&] {
      std::this_thread::sleep_for(50ms);
      plain_connect(clients.back(), l.addr);
    });
    auto a = co_await acceptor.accept();
    late.join();
    REQUIRE(a.ok());
    co_await libsync::close(static_cast<socket_handle>(a.value));
    ++accepted;
  }());
  for (socket_handle c : clients) close_socket(c);
  CHECK(accepted == kBurst + 1);
}

TEST_CASE("a loop destroyed with a recv in flight cancels it cleanly") {
  SocketPair sp;
  {
    Loop loop(tier_options());
    loop.block_on([&]() -> Task<> {
      loop.spawn([](socket_handle s) -> Task<> {
        char buf[8];
        co_await libsync::recv(s, buf, sizeof buf);
        FAIL("the recv should never complete");
      }(sp.a));
      co_await sleep_for(2ms);
    }());
  }
  // The destruction waited for the cancelled recv: the byte sent now is
  // not swallowed by it, and the socket is still usable.
  CHECK(plain_send(sp.b, "x", 1) == 1);
  char c = 0;
  CHECK(plain_recv(sp.a, &c, 1) == 1);
  CHECK(c == 'x');
}

// io.hpp: read/write serve any descriptor the backend can wait on, and are
// POSIX-only; on Windows they fail with EOPNOTSUPP.
TEST_CASE("read and write move bytes through a pipe on POSIX and fail with EOPNOTSUPP on Windows") {
  Loop loop(tier_options());
#if defined(_WIN32)
  loop.block_on([&]() -> Task<> {
    char buf[4] = {};
    CHECK((co_await libsync::read(0, buf, sizeof buf)).error() == EOPNOTSUPP);
    CHECK((co_await libsync::write(0, buf, sizeof buf)).error() == EOPNOTSUPP);
  }());
#else
  int p[2];
  REQUIRE(::pipe(p) == 0);
  REQUIRE(make_nonblocking(p[0]));
  REQUIRE(make_nonblocking(p[1]));
  auto got = loop.block_on([&]() -> Task<std::string> {
    // read first: it has to wait for the write.
    loop.spawn([](int fd) -> Task<> {
      co_await sleep_for(2ms);
      auto w = co_await libsync::write(fd, "pipe", 4);
      REQUIRE(w.value == 4);
    }(p[1]));
    char buf[16] = {};
    auto r = co_await libsync::read(p[0], buf, sizeof buf);
    REQUIRE(r.ok());
    co_return std::string(buf, static_cast<std::size_t>(r.value));
  }());
  ::close(p[0]);
  ::close(p[1]);
  CHECK(got == "pipe");
#endif
}

#if !defined(_WIN32)
// A length the kernel's 32-bit SQE field cannot hold must not wrap: 4 GiB
// truncated to 32 bits is 0, and a recv of 0 bytes reads like end of file.
// The buffer is reserved address space only (MAP_NORESERVE): the kernel
// writes just the byte that arrives. (On Windows the IOCP backend clamps the
// length to what one WSABUF holds; no 4 GiB case is built there.)
TEST_CASE("a recv, send, read or write longer than 4 GiB moves bytes instead of wrapping to 0") {
  constexpr std::size_t kLen = std::size_t{1} << 32;
  void* big =
      ::mmap(nullptr, kLen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (big == MAP_FAILED) {
    skip("could not reserve 4 GiB of address space");
    return;
  }
  SocketPair sp;
  int p[2];
  REQUIRE(::pipe(p) == 0);
  REQUIRE(make_nonblocking(p[0]));
  REQUIRE(make_nonblocking(p[1]));
  Loop loop(tier_options());
  // A length that wrapped to 0 can also leave the recv or read waiting for
  // nothing: a stop after 5 s turns that hang into a failed check.
  std::stop_source give_up;
  loop.spawn(request_stop_after(give_up, 5000ms));
  loop.block_on([&]() -> Task<> {
    auto* buf = static_cast<char*>(big);
    buf[0] = 'x';
    // send and write of a huge length: they move what fits (the socket and
    // pipe buffers), not 0 bytes, and not more than was asked.
    auto w = co_await libsync::send(sp.b, buf, kLen);
    CHECK(w.value > 0);
    auto pw = co_await libsync::write(p[1], buf, kLen);
    CHECK(pw.value > 0);
    buf[0] = 0;
    auto r = co_await libsync::recv(sp.a, buf, kLen, give_up.get_token());
    CHECK(r.value > 0);
    CHECK(buf[0] == 'x');
    auto pr = co_await libsync::read(p[0], buf, kLen, give_up.get_token());
    CHECK(pr.value > 0);
    give_up.request_stop();
  }());
  ::close(p[0]);
  ::close(p[1]);
  ::munmap(big, kLen);
}
#endif
