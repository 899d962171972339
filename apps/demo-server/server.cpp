// Server: start-up, the control loop (signals, stats tick, drain) and the
// shared state.
#include "server.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <sync/io.hpp>
#include <thread>

#include "listener.hpp"
#include "sd_notify.hpp"
#include "worker.hpp"

namespace demo {

using namespace std::chrono_literals;

namespace {

// SIGTERM, SIGINT and SIGHUP are blocked in every thread (threads inherit
// the mask) and read from a signalfd on the control loop, so a signal is
// just another completion there. Returns the signalfd, or -1 (reported).
int signals_as_fd() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  const int sfd = ::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) std::fprintf(stderr, "demo-server: signalfd: %s\n", std::strerror(errno));
  return sfd;
}

// Tests and scripts read the port from this line (it matters with --port 0).
void print_listening(const Config& cfg, unsigned port, libsync::Tier tier, libsync::BackendKind backend) {
  const bool v6 = cfg.address.find(':') != std::string::npos;
  std::printf("demo-server listening on http://%s%s%s:%u/ (threads=%u, tier=%s, backend=%s)\n", v6 ? "[" : "",
              cfg.address.c_str(), v6 ? "]" : "", port, cfg.threads,
              std::string(libsync::to_string(tier)).c_str(),
              std::string(libsync::to_string(backend)).c_str());
  std::fflush(stdout);
}

}  // namespace

Server::Server(Config cfg) : cfg_(std::move(cfg)), history_(cfg_.stats_history) {
  gates_[static_cast<std::size_t>(GateId::connections)] =
      std::make_unique<libsync::Semaphore>(cfg_.max_connections);
  gates_[static_cast<std::size_t>(GateId::work)] = std::make_unique<libsync::Semaphore>(cfg_.permits_work);
  gates_[static_cast<std::size_t>(GateId::events)] =
      std::make_unique<libsync::Semaphore>(cfg_.permits_events);
  if (cfg_.access_log) log_output_ = std::make_unique<LogOutput>();
  started_ = libsync::Clock::now();
}

// Workers go first: their connections hold permits of the semaphores.
Server::~Server() {
  workers_.clear();
}

void Server::worker_finished() {
  if (workers_running_.fetch_sub(1, std::memory_order_acq_rel) == 1) all_workers_done_.set();
}

int Server::run() {
  const int sfd = signals_as_fd();
  if (sfd < 0) return 1;

  Listeners ls = open_listeners(cfg_);
  if (!ls.error.empty()) {
    std::fprintf(stderr, "demo-server: %s\n", ls.error.c_str());
    ::close(sfd);
    return 1;
  }
  port_ = ls.port;
  for (unsigned i = 0; i < cfg_.threads; ++i)
    workers_.push_back(std::make_unique<Worker>(*this, i, ls.fds[i]));

  std::latch built(static_cast<std::ptrdiff_t>(workers_.size()));
  std::latch go(1);
  std::latch teardown(1);
  std::atomic<bool> abort{false};
  std::vector<std::thread> threads;
  for (auto& w : workers_) threads.emplace_back([&, w = w.get()] { w->run(built, go, abort, teardown); });
  built.wait();

  std::string error;
  for (auto& w : workers_)
    if (!w->error().empty()) error = w->error();
  std::optional<libsync::Loop> control;
  if (error.empty()) {
    try {
      control.emplace(cfg_.loop_options());
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  auto finish = [&] {
    teardown.count_down();
    for (auto& t : threads) t.join();
    control_ = nullptr;
    control.reset();
    ::close(sfd);
  };
  if (!error.empty()) {
    abort.store(true);
    go.count_down();
    finish();
    std::fprintf(stderr, "demo-server: %s\n", error.c_str());
    return 1;
  }

  control_ = &*control;
  tier_ = workers_[0]->loop()->tier();
  backend_ = workers_[0]->loop()->backend_kind();
  workers_running_.store(static_cast<unsigned>(workers_.size()));
  print_listening(cfg_, port_, tier_, backend_);
  go.count_down();
  notify_service_manager("READY=1\nMAINPID=" + std::to_string(::getpid()));

  int code = control->block_on(control_main(sfd));
  finish();
  return code;
}

libsync::Task<int> Server::control_main(int sfd) {
  libsync::Loop& loop = *libsync::Loop::current();
  loop.spawn(stats_ticker());

  const int sig = co_await next_stop_signal(sfd);
  if (sig == 0) co_return 1;
  std::fprintf(stderr, "demo-server: %s: draining (up to %llu ms); a second signal exits at once\n",
               strsignal(sig), static_cast<unsigned long long>(cfg_.drain_timeout_ms));
  notify_service_manager("STOPPING=1");
  co_await begin_drain();
  loop.spawn(wait_for_second_signal(sfd));

  // The workers cut their connections at the drain deadline themselves; the
  // margin only guards against a loop that cannot stop at all.
  auto done = co_await all_workers_done_.wait_for(ms(cfg_.drain_timeout_ms) + 5s);
  if (done != libsync::WaitStatus::acquired) {
    std::fprintf(stderr, "demo-server: workers did not stop after the drain deadline; exiting\n");
    std::fflush(stderr);
    std::_Exit(1);
  }
  std::fprintf(stderr, "demo-server: drained; exiting\n");
  co_return 0;
}

libsync::Task<void> Server::begin_drain() {
  drain_deadline_.store((libsync::Clock::now() + ms(cfg_.drain_timeout_ms)).time_since_epoch().count(),
                        std::memory_order_release);
  draining_.store(true, std::memory_order_release);
  // Waiters for permits answer 503 now; permits still held can be released.
  for (auto& g : gates_) g->close();
  for (auto& w : workers_) w->post_drain();
  // Long-polls re-check their predicate (it includes draining) and answer.
  auto lock = co_await events_mu_.lock();
  events_cv_.notify_all();
}

libsync::Task<int> Server::next_stop_signal(int sfd) {
  signalfd_siginfo si{};
  for (;;) {
    libsync::IoResult r = co_await libsync::read(sfd, &si, sizeof si);
    if (r.value == static_cast<long long>(sizeof si)) {
      if (si.ssi_signo != SIGHUP) co_return static_cast<int>(si.ssi_signo);
      if (log_output_) log_output_->reopen();
      std::fprintf(stderr, "demo-server: Hangup: %s; still serving\n",
                   log_output_ ? "access log opened again" : "nothing to reload");
      continue;
    }
    if (!r && r.error() != EINTR && r.error() != EAGAIN) {
      std::fprintf(stderr, "demo-server: reading signals failed: %s\n", std::strerror(r.error()));
      co_return 0;
    }
  }
}

libsync::Task<void> Server::wait_for_second_signal(int sfd) {
  const int sig = co_await next_stop_signal(sfd);
  if (sig == 0) co_return;
  std::fprintf(stderr, "demo-server: second signal (%s): exiting without finishing the drain\n",
               strsignal(sig));
  std::fflush(stderr);
  std::fflush(stdout);
  std::_Exit(128 + sig);
}

libsync::Task<void> Server::stats_ticker() {
  for (;;) {
    co_await libsync::sleep_for(ms(cfg_.stats_interval_ms));
    history_.push(sampler_.sample(*this));
    // Wakes the /events long-polls, which wait on other loops: each wake
    // crosses threads through the tier's wake path.
    auto lock = co_await events_mu_.lock();
    ++events_gen_;
    events_cv_.notify_all();
  }
}

}  // namespace demo
