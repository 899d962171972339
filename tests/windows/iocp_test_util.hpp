// What the iocp tests share: loops forced to the iocp tier, Winsock set-up,
// loopback sockets made with plain blocking calls, and a watchdog that turns
// a lost wake into a failure with a message instead of a hung ctest.
#pragma once

#include <doctest/doctest.h>

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <sync/loop.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <thread>

namespace libsync::test {

using namespace std::chrono_literals;

inline LoopOptions iocp_options() {
  LoopOptions o;
  o.tier = Tier::iocp;
  o.backend = BackendKind::iocp;
  o.use_environment = false;
  return o;
}

struct Winsock {
  Winsock() {
    WSADATA d;
    REQUIRE(WSAStartup(MAKEWORD(2, 2), &d) == 0);
  }
  ~Winsock() { WSACleanup(); }
};

// A listening loopback socket on an ephemeral port.
struct Listener {
  SOCKET fd = INVALID_SOCKET;
  sockaddr_in addr{};
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    REQUIRE(fd != INVALID_SOCKET);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    int len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  }
  ~Listener() {
    if (fd != INVALID_SOCKET) ::closesocket(fd);
  }
};

// A connected TCP pair over loopback, set up with plain blocking calls.
// a: the side handed to the loop; b: the side this thread (or a helper) uses.
struct TcpPair {
  Winsock ws;
  SOCKET a = INVALID_SOCKET, b = INVALID_SOCKET;
  TcpPair() {
    Listener l;
    b = ::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    REQUIRE(b != INVALID_SOCKET);
    REQUIRE(::connect(b, reinterpret_cast<sockaddr*>(&l.addr), sizeof l.addr) == 0);
    a = ::accept(l.fd, nullptr, nullptr);
    REQUIRE(a != INVALID_SOCKET);
  }
  ~TcpPair() {
    if (a != INVALID_SOCKET) ::closesocket(a);
    if (b != INVALID_SOCKET) ::closesocket(b);
  }
};

// Fails the process with a message rather than letting a lost wake hang ctest.
struct Watchdog {
  HANDLE done = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  std::thread t;
  Watchdog(DWORD ms, const char* what)
      : t([this, ms, what] {
          if (WaitForSingleObject(done, ms) != WAIT_OBJECT_0) {
            std::fprintf(stderr, "watchdog: '%s' did not finish within %lu ms\n", what,
                         static_cast<unsigned long>(ms));
            std::fflush(stderr);
            std::_Exit(3);
          }
        }) {}
  ~Watchdog() {
    SetEvent(done);
    t.join();
    CloseHandle(done);
  }
};

inline void wait_until(const std::function<bool()>& pred) {
  auto deadline = Clock::now() + 10s;
  while (!pred()) {
    REQUIRE(Clock::now() < deadline);
    Sleep(1);
  }
}


}  // namespace libsync::test
