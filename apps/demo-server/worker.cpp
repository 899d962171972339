// Worker: the thread body, the periodic sweep and the drain of one loop.
#include "worker.hpp"

#include <unistd.h>

#include <cstdio>
#include <utility>

#include "connection.hpp"
#include "listener.hpp"
#include "server.hpp"

namespace demo {
namespace {
// Deadlines are enforced to within this; it is also how often the hang-up
// probe looks at requests waiting in a handler.
constexpr auto kSweepPeriod = std::chrono::milliseconds(100);
}  // namespace

Worker::Worker(Server& server, unsigned index, int listen_fd)
    : server_(server), index_(index), listen_fd_(listen_fd) {
  access_log_.enable(server.config().access_log, server.log_output());
}

Worker::~Worker() {
  // Only when the worker never ran: otherwise the accept loop closed it.
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

const Config& Worker::config() const noexcept {
  return server_.config();
}

void Worker::run(std::latch& built, std::latch& go, const std::atomic<bool>& abort, std::latch& teardown) {
  try {
    loop_.emplace(server_.config().loop_options());
  } catch (const std::exception& e) {
    error_ = e.what();
  }
  built.count_down();
  go.wait();
  if (loop_ && !abort.load()) {
    refresh_date(std::time(nullptr));
    loop_->spawn(accept_connections(*this));
    loop_->spawn(sweep());
    loop_->run();
    access_log_.flush();
    server_.worker_finished();
  }
  // Other threads read this loop's stats until the server is done with all
  // of them; then the loop is torn down here, on the thread that owns its ring.
  teardown.wait();
  tearing_down_ = true;
  loop_.reset();
}

void Worker::post_drain() {
  loop_->post([this] { start_drain(); });
}

// Connections waiting for a request are closed, unless bytes of one have
// already arrived (the loop may not have read them yet): those are answered,
// with Connection: close. One poll(2) over the waiting sockets tells which.
void Worker::start_drain() {
  if (draining_) return;
  draining_ = true;
  accept_stop_.request_stop();
  probe_fds_.clear();
  probe_conns_.clear();
  for (Connection* c = head_; c; c = c->next)
    if (c->awaiting_request()) {
      probe_fds_.push_back(pollfd{c->fd(), POLLIN, 0});
      probe_conns_.push_back(c);
    }
  if (!probe_fds_.empty() && ::poll(probe_fds_.data(), probe_fds_.size(), 0) < 0)
    for (auto& p : probe_fds_) p.revents = 0;
  for (std::size_t i = 0; i < probe_fds_.size(); ++i)
    if (probe_fds_[i].revents != POLLIN) probe_conns_[i]->stop(Connection::StopReason::drain);
  maybe_finish();
}

int Worker::release_listener() noexcept {
  return std::exchange(listen_fd_, -1);
}

void Worker::acceptor_finished() {
  accepting_ = false;
  maybe_finish();
}

void Worker::attach(Connection& c) noexcept {
  c.prev = nullptr;
  c.next = head_;
  if (head_) head_->prev = &c;
  head_ = &c;
  ++connections_;
  metrics_.connections_open.add();
}

void Worker::detach(Connection& c) noexcept {
  if (c.prev)
    c.prev->next = c.next;
  else
    head_ = c.next;
  if (c.next) c.next->prev = c.prev;
  c.prev = c.next = nullptr;
  --connections_;
  metrics_.connections_open.sub();
  maybe_finish();
}

void Worker::maybe_finish() {
  if (tearing_down_) return;  // connections torn down with the loop
  if (draining_ && !accepting_ && connections_ == 0 && loop_) loop_->stop();
}

libsync::Task<void> Worker::sweep() {
  for (;;) {
    co_await libsync::sleep_for(kSweepPeriod);
    const auto now = libsync::Clock::now();
    coarse_now_ = now;
    refresh_date(std::time(nullptr));
    // Stopping a connection only schedules its task, so the list cannot
    // change under this walk.
    const bool cut = draining_ && now >= server_.drain_deadline();
    for (Connection* c = head_; c; c = c->next) {
      if (cut)
        c->stop(Connection::StopReason::force);
      else
        c->check_deadline(now);
    }
    if (!cut) probe_hangups();
    access_log_.flush();
  }
}

// A request waiting in a handler (for permits, a timer, the long-poll) reads
// nothing from its socket, so a client that gave up would go unnoticed until
// the answer is written, holding its permits all along. One poll(2) over
// those sockets per sweep finds the ones the peer has reset (POLLERR,
// POLLHUP), and stopping them cancels the wait and returns the permits. A
// FIN alone is not a hang-up: a client may half-close after its request and
// still read the answer, so a client that closed without a reset keeps its
// request running until the answer's send fails.
void Worker::probe_hangups() {
  probe_fds_.clear();
  probe_conns_.clear();
  for (Connection* c = head_; c; c = c->next)
    if (c->phase() == Connection::Phase::handling) {
      probe_fds_.push_back(pollfd{c->fd(), 0, 0});  // POLLERR and POLLHUP are always reported
      probe_conns_.push_back(c);
    }
  if (probe_fds_.empty()) return;
  if (::poll(probe_fds_.data(), probe_fds_.size(), 0) <= 0) return;
  for (std::size_t i = 0; i < probe_fds_.size(); ++i)
    if (probe_fds_[i].revents & (POLLHUP | POLLERR)) {
      metrics_.client_aborts.add();
      probe_conns_[i]->stop(Connection::StopReason::hangup);
    }
}

void Worker::refresh_date(std::time_t now) {
  if (now == date_sec_) return;
  date_sec_ = now;
  std::tm tm{};
  gmtime_r(&now, &tm);
  date_len_ = std::strftime(date_, sizeof date_, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

}  // namespace demo
