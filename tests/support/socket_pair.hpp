// Sockets for the I/O tests, the same on every platform: a connected stream
// pair, a listener on 127.0.0.1 at a free port, and the few plain (blocking,
// loop-free) calls a test makes on the far side of a connection.
//
// Everything returns libsync::socket_handle, so a test hands the sockets to
// libsync::recv/send/accept/connect/close without casts or #ifs. What each
// platform needs underneath:
//   POSIX    a socketpair(AF_UNIX) for the pair; sockets are non-blocking,
//            because the epoll backend only waits for readiness and would
//            otherwise block the loop's thread inside the syscall.
//   Windows  no socketpair: the pair is a loopback TCP connection made with
//            blocking calls. Sockets are overlapped (socket()'s default),
//            which is all the iocp backend needs; Winsock must be started
//            before the first socket call (SocketLibrary).
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <sync/io.hpp>

#if defined(_WIN32)
#include "windows_headers.hpp"
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace libsync::test {

// Winsock for the lifetime of this object (WSAStartup counts its callers, so
// these nest); nothing on POSIX. A loop starts Winsock for itself, so only a
// test that makes sockets before its first loop needs one.
struct SocketLibrary {
  SocketLibrary() {
#if defined(_WIN32)
    WSADATA d;
    REQUIRE(WSAStartup(MAKEWORD(2, 2), &d) == 0);
#endif
  }
  ~SocketLibrary() {
#if defined(_WIN32)
    WSACleanup();
#endif
  }
  SocketLibrary(const SocketLibrary&) = delete;
  SocketLibrary& operator=(const SocketLibrary&) = delete;
};

// Closes with the platform's own call, bypassing any loop.
inline void close_socket(socket_handle s) noexcept {
  if (s == kInvalidSocket) return;
#if defined(_WIN32)
  ::closesocket(s);
#else
  ::close(s);
#endif
}

// A blocking TCP socket, for the far side of a connection driven by plain calls.
inline socket_handle plain_tcp_socket() {
  socket_handle s = ::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  REQUIRE(s != kInvalidSocket);
  return s;
}

// A TCP socket as every backend can use it on a loop (non-blocking on POSIX).
inline socket_handle loop_tcp_socket() {
  socket_handle s = plain_tcp_socket();
#if !defined(_WIN32)
  REQUIRE(make_nonblocking(s));
#endif
  return s;
}

// A TCP socket bound to 127.0.0.1 at a port the system picks; the address,
// port included, goes to `addr`. Bound but not listening, so connecting to it
// is refused while the port stays taken.
inline socket_handle bound_loopback_socket(sockaddr_in& addr) {
  socket_handle s = loop_tcp_socket();
  addr = sockaddr_in{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
#if defined(_WIN32)
  int len = sizeof addr;
#else
  socklen_t len = sizeof addr;
#endif
  REQUIRE(::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  return s;
}

// One plain, blocking connect to `addr`; true when connected.
inline bool plain_connect(socket_handle s, const sockaddr_in& addr) {
  return ::connect(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

// A listening socket on 127.0.0.1 at a free port (non-blocking on POSIX, so
// the loop can accept on it on every backend).
struct LoopbackListener {
  socket_handle fd = kInvalidSocket;
  sockaddr_in addr{};

  explicit LoopbackListener(int backlog = 16) {
    fd = bound_loopback_socket(addr);
    REQUIRE(::listen(fd, backlog) == 0);
  }
  ~LoopbackListener() { close_socket(fd); }
  LoopbackListener(const LoopbackListener&) = delete;
  LoopbackListener& operator=(const LoopbackListener&) = delete;

  // The port the system picked, in host byte order.
  std::uint16_t port() const noexcept { return ntohs(addr.sin_port); }
};

// A connected stream pair: `a` is the end a test hands to the loop, `b` the
// end it drives with plain calls (or hands to the loop as well).
struct SocketPair {
  SocketLibrary library;
  socket_handle a = kInvalidSocket, b = kInvalidSocket;

  SocketPair() {
#if defined(_WIN32)
    LoopbackListener l;
    b = plain_tcp_socket();
    REQUIRE(plain_connect(b, l.addr));
    a = ::accept(l.fd, nullptr, nullptr);
    REQUIRE(a != kInvalidSocket);
#else
    int fd[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fd) == 0);
    a = fd[0];
    b = fd[1];
    REQUIRE(make_nonblocking(a));
    REQUIRE(make_nonblocking(b));
#endif
  }
  ~SocketPair() {
    close_socket(a);
    close_socket(b);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
};

// Whether `s` has something to read (data, EOF or an error) within `limit`.
inline bool readable_within(socket_handle s, std::chrono::milliseconds limit) {
#if defined(_WIN32)
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(s, &rd);
  const auto ms = limit.count();
  timeval tv{static_cast<long>(ms / 1000), static_cast<long>(ms % 1000) * 1000};
  int n = ::select(0, &rd, nullptr, nullptr, &tv);
#else
  pollfd p{s, POLLIN, 0};
  int n = ::poll(&p, 1, static_cast<int>(limit.count()));
#endif
  REQUIRE(n >= 0);
  return n > 0;
}

// One plain send; the byte count, or -1.
inline long long plain_send(socket_handle s, const void* buf, std::size_t len) {
#if defined(_WIN32)
  return ::send(s, static_cast<const char*>(buf), static_cast<int>(len), 0);
#else
  return ::send(s, buf, len, 0);
#endif
}

// One plain recv that first waits (bounded) for the socket to be readable,
// so it works on non-blocking sockets and cannot hang a test; the byte
// count, 0 at EOF, or -1 (also when nothing arrived in time).
inline long long plain_recv(socket_handle s, void* buf, std::size_t len,
                            std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  if (!readable_within(s, limit)) return -1;
#if defined(_WIN32)
  return ::recv(s, static_cast<char*>(buf), static_cast<int>(len), 0);
#else
  return ::recv(s, buf, len, 0);
#endif
}

// The address at the far end of a connected socket, if it has one.
inline std::optional<sockaddr_in> peer_address(socket_handle s) {
  sockaddr_in peer{};
#if defined(_WIN32)
  int len = sizeof peer;
#else
  socklen_t len = sizeof peer;
#endif
  if (::getpeername(s, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return std::nullopt;
  return peer;
}

}  // namespace libsync::test
