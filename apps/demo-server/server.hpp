// Server: what the worker loops share, and the control loop that starts
// them, samples stats and runs the graceful shutdown.
//
// Threads: `threads` workers, each running one libsync::Loop with its own
// SO_REUSEPORT listener and its own connections (see worker.hpp), plus the
// main thread running a small control loop that reads SIGTERM/SIGINT/SIGHUP
// from a signalfd, takes a stats sample each tick and wakes /events
// long-polls. SIGHUP does not stop the server: it opens the access log's
// stdout again (for log rotation by a supervisor) and says so on stderr.
//
// The semaphores are process-wide: a permit released on one worker's loop
// wakes a waiter on another's (on the uring-futex tier that wake is a futex
// wake landing as a FUTEX_WAIT completion on the waiter's ring).
//
// Shutdown: the first signal flips readiness (/readyz answers 503), closes
// every semaphore (their waiters answer 503), and tells each worker to stop
// accepting and to close connections that sit idle; requests in flight
// finish, and whatever is still open at `drain_timeout` is cut. Each worker
// stops its loop when its last connection is gone; the control loop waits for
// them all and run() returns 0. A second signal exits at once.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <sync/condvar.hpp>
#include <sync/event.hpp>
#include <sync/loop.hpp>
#include <sync/mutex.hpp>
#include <sync/semaphore.hpp>
#include <vector>

#include "access_log.hpp"
#include "config.hpp"
#include "metrics.hpp"

namespace demo {

class Worker;

class Server {
 public:
  explicit Server(Config cfg);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, starts the workers, serves until a signal and the drain are done.
  // Returns the process exit code.
  int run();

  const Config& config() const noexcept { return cfg_; }
  libsync::Semaphore& gate(GateId g) noexcept { return *gates_[static_cast<std::size_t>(g)]; }
  const libsync::Semaphore& gate(GateId g) const noexcept { return *gates_[static_cast<std::size_t>(g)]; }

  bool draining() const noexcept { return draining_.load(std::memory_order_acquire); }
  libsync::Clock::time_point drain_deadline() const noexcept {
    return libsync::Clock::time_point(
        libsync::Clock::duration(drain_deadline_.load(std::memory_order_acquire)));
  }
  libsync::Clock::time_point started() const noexcept { return started_; }

  // The /events long-poll condition: each stats tick bumps the generation
  // under the mutex and notifies the condition variable.
  libsync::Mutex& events_mutex() noexcept { return events_mu_; }
  libsync::Condvar& events_cv() noexcept { return events_cv_; }
  std::uint64_t events_generation() const noexcept { return events_gen_; }  // under events_mutex

  const std::vector<std::unique_ptr<Worker>>& workers() const noexcept { return workers_; }
  // The control loop (main thread), for its LoopStats; null before run().
  const libsync::Loop* control_loop() const noexcept { return control_; }
  libsync::Tier tier() const noexcept { return tier_; }
  libsync::BackendKind backend() const noexcept { return backend_; }
  std::uint16_t port() const noexcept { return port_; }

  // Where the access log goes; null when it is off.
  LogOutput* log_output() noexcept { return log_output_.get(); }
  const LogOutput* log_output() const noexcept { return log_output_.get(); }

  StatsHistory& history() noexcept { return history_; }
  const StatsHistory& history() const noexcept { return history_; }

  // A worker calls this from its own thread once its loop has stopped.
  void worker_finished();

 private:
  libsync::Task<int> control_main(int signal_fd);
  libsync::Task<void> stats_ticker();
  libsync::Task<void> wait_for_second_signal(int signal_fd);
  // Reads one signal; SIGHUP is handled here (the access log is opened
  // again) and the next one read. The terminating signal, or 0 on error.
  libsync::Task<int> next_stop_signal(int signal_fd);
  libsync::Task<void> begin_drain();

  Config cfg_;
  std::array<std::unique_ptr<libsync::Semaphore>, kGateCount> gates_;
  std::atomic<bool> draining_{false};
  std::atomic<libsync::Clock::rep> drain_deadline_{0};
  libsync::Clock::time_point started_;

  libsync::Mutex events_mu_;
  libsync::Condvar events_cv_;
  std::uint64_t events_gen_ = 0;

  std::vector<std::unique_ptr<Worker>> workers_;
  libsync::Loop* control_ = nullptr;
  libsync::Tier tier_{};
  libsync::BackendKind backend_{};
  std::uint16_t port_ = 0;

  std::atomic<unsigned> workers_running_{0};
  libsync::Event all_workers_done_;

  std::unique_ptr<LogOutput> log_output_;
  StatsHistory history_;
  StatsSampler sampler_;
};

}  // namespace demo
