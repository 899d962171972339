// Connection: one accepted socket speaking HTTP/1.1.
//
// serve_connection() is the task that owns a socket: it reads requests with
// Beast's buffer-oriented request_parser from a buffer filled by
// libsync::recv, runs each through the routes, writes the answer's bytes
// into an output buffer and sends it with libsync::send. Requests on a connection are answered strictly in
// order; pipelined requests already in the buffer are answered together in one write, up to `max_pipeline`
// and a byte bound, and the batch is written before any handler that may wait (a permit, a timer), so an
// answer never waits behind a slow neighbour in the buffer.
//
// The Connection object is the part of that task the Worker can see: its
// phase and deadline, and a stop_source the worker triggers when the
// deadline passes, when the client hangs up during a handler, or when the
// server drains. Every recv, send and permit wait of the connection carries
// that stop_token, so a stop cancels whatever the task is waiting on.
#pragma once

#include <cstdint>
#include <stop_token>
#include <sync/io.hpp>
#include <sync/loop.hpp>
#include <sync/semaphore.hpp>

namespace demo {

class Worker;

class Connection {
 public:
  enum class Phase : std::uint8_t {
    idle,       // waiting for the first byte of a request
    header,     // a request has started; its header is incomplete
    body,       // reading a request body
    handling,   // a route handler runs (may wait for permits or timers)
    sending,    // writing answers
    lingering,  // after an error answer: draining input before close
  };
  enum class StopReason : std::uint8_t { none, timeout, drain, hangup, force };

  Connection(Worker& w, libsync::socket_handle fd) noexcept;
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  libsync::socket_handle fd() const noexcept { return fd_; }
  Phase phase() const noexcept { return phase_; }
  // True while not one byte of the next request has arrived (a new
  // connection, or keep-alive between requests): what a drain may close.
  bool awaiting_request() const noexcept { return awaiting_request_; }
  void set_awaiting_request(bool v) noexcept { awaiting_request_ = v; }
  StopReason stop_reason() const noexcept { return reason_; }
  std::stop_token token() const noexcept { return stop_.get_token(); }

  // Enters `p` with a deadline `timeout` from now (zero: none).
  void enter(Phase p, libsync::Clock::duration timeout) noexcept;
  // Enters `p` keeping the current deadline.
  void enter(Phase p) noexcept { phase_ = p; }
  // A fresh stop source after a stop, for a last bounded write (408).
  void rearm() noexcept;
  // The task closed the socket itself.
  void mark_closed() noexcept { fd_ = libsync::kInvalidSocket; }

  // ---- called by the worker's sweep ----
  // Stops the connection when its deadline has passed.
  void check_deadline(libsync::Clock::time_point now) noexcept;
  void stop(StopReason why) noexcept;

  // Intrusive list links, owned by the worker.
  Connection* prev = nullptr;
  Connection* next = nullptr;

 private:
  Worker& worker_;
  libsync::socket_handle fd_;
  Phase phase_ = Phase::idle;
  bool awaiting_request_ = true;
  StopReason reason_ = StopReason::none;
  libsync::Clock::time_point deadline_{};  // epoch: none
  std::stop_source stop_;
};

// The task serving one accepted socket. `permit` (a connection-semaphore
// permit) is held until the socket is closed.
libsync::Task<void> serve_connection(Worker& w, libsync::socket_handle fd, libsync::Permit permit);

}  // namespace demo
