// Listener: the listening sockets and the accept loop.
//
// Each worker gets its own socket bound to the same address with
// SO_REUSEPORT, so the kernel spreads new connections over the workers and
// no connection is handed between threads. The accept loop is where the
// connection semaphore applies backpressure: with `max_connections` sockets
// open, the worker stops taking connections off the backlog until one closes.
#pragma once

#include <cstdint>
#include <string>
#include <sync/task.hpp>
#include <vector>

namespace demo {

struct Config;
class Worker;

struct Listeners {
  std::vector<int> fds;    // one per worker
  std::uint16_t port = 0;  // the port they are bound to (resolved when 0 was asked)
  std::string error;       // set when binding failed
};

// Opens cfg.threads non-blocking listening sockets on cfg.address:cfg.port.
Listeners open_listeners(const Config& cfg);

// True when `address` is a numeric IPv4 or IPv6 address, as open_listeners
// takes it (no names: nothing is looked up).
bool is_numeric_address(const std::string& address);

// A worker's accept loop. Ends (closing the listener) when the worker stops
// accepting, or when the connection semaphore closes.
libsync::Task<void> accept_connections(Worker& w);

}  // namespace demo
