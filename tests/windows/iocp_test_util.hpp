// What the iocp tests share: loops forced to the iocp tier, a watchdog that
// turns a lost wake into a failure with a message instead of a hung ctest,
// and (from socket_pair.hpp) Winsock set-up and loopback sockets.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sync/loop.hpp>
#include <thread>

#include "socket_pair.hpp"
#include "windows_headers.hpp"

namespace libsync::test {

using namespace std::chrono_literals;

inline LoopOptions iocp_options() {
  LoopOptions o;
  o.tier = Tier::iocp;
  o.backend = BackendKind::iocp;
  o.use_environment = false;
  return o;
}

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
