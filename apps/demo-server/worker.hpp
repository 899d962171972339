// Worker: one thread, one libsync::Loop, one listener, and the connections
// accepted on it.
//
// Everything here belongs to the worker's loop thread except post_drain(),
// metrics() (read by /metrics on any worker) and loop() (its stats). The
// worker keeps an intrusive list of its connections so that one periodic
// sweep can enforce every connection's deadline (header, body, idle, send),
// spot clients that hung up while their request waits for a permit, and cut
// everything at the drain deadline. One timer per loop instead of one per
// connection: the hot path only stores a deadline.
#pragma once

#include <poll.h>

#include <atomic>
#include <ctime>
#include <latch>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <sync/loop.hpp>
#include <vector>

#include "access_log.hpp"
#include "metrics.hpp"

namespace demo {

class Server;
class Connection;
struct Config;

class Worker {
 public:
  Worker(Server& server, unsigned index, int listen_fd);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Thread body. Builds the loop on this thread (its ring is single-issuer),
  // counts down `built`, waits for `go`, then serves until drained (unless
  // `abort` is set by then). The loop lives on, for its stats, until
  // `teardown`.
  void run(std::latch& built, std::latch& go, const std::atomic<bool>& abort, std::latch& teardown);

  // Valid once `built` was counted down; empty when the loop failed to build.
  libsync::Loop* loop() noexcept { return loop_ ? &*loop_ : nullptr; }
  const libsync::Loop* loop() const noexcept { return loop_ ? &*loop_ : nullptr; }
  const std::string& error() const noexcept { return error_; }

  unsigned index() const noexcept { return index_; }
  Server& server() noexcept { return server_; }
  const Config& config() const noexcept;
  MetricsShard& metrics() noexcept { return metrics_; }
  const MetricsShard& metrics() const noexcept { return metrics_; }
  AccessLog& access_log() noexcept { return access_log_; }

  // Any thread: start draining (stop accepting, close idle connections).
  void post_drain();

  // ---- loop thread ----
  int listen_fd() const noexcept { return listen_fd_; }
  std::stop_token accept_stop() const noexcept { return accept_stop_.get_token(); }
  bool draining() const noexcept { return draining_; }
  // The accept loop takes the listener to close it, then reports it ended.
  int release_listener() noexcept;
  void acceptor_finished();
  void attach(Connection& c) noexcept;
  void detach(Connection& c) noexcept;
  // The current time as an HTTP Date header value, refreshed by the sweep.
  std::string_view http_date() const noexcept { return {date_, date_len_}; }
  // The time of the last sweep (at most 100 ms old): for deadlines, which
  // the sweep enforces at that granularity anyway.
  libsync::Clock::time_point coarse_now() const noexcept { return coarse_now_; }

 private:
  libsync::Task<void> sweep();
  void start_drain();
  void probe_hangups();
  void refresh_date(std::time_t now);
  void maybe_finish();

  Server& server_;
  unsigned index_;
  int listen_fd_;
  std::optional<libsync::Loop> loop_;
  std::string error_;
  MetricsShard metrics_;
  AccessLog access_log_;

  std::stop_source accept_stop_;
  bool accepting_ = true;
  bool tearing_down_ = false;
  bool draining_ = false;
  Connection* head_ = nullptr;
  std::size_t connections_ = 0;
  std::vector<pollfd> probe_fds_;  // reused by probe_hangups
  std::vector<Connection*> probe_conns_;

  libsync::Clock::time_point coarse_now_ = libsync::Clock::now();
  char date_[40] = {};
  std::size_t date_len_ = 0;
  std::time_t date_sec_ = 0;
};

}  // namespace demo
