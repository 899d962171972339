// Family 7: the unified loop under I/O.
//
// Loop A (the main thread) runs C client tasks and C echo tasks over C
// socket pairs. Before each request a client waits for a permit on `gate`,
// which a task on loop B (another thread) releases; after the echo comes
// back it returns a credit to loop B. So every operation mixes a cross-loop
// synchronization wake with socket I/O on the same loop: on uring-futex both
// arrive as completions of A's one ring; on generic the wake comes through
// the remote queue and an eventfd beside the I/O readiness.
//
// One operation is one gated echo (permit, send 64 bytes, receive them
// back, credit returned). The baseline does the same with threads: blocking
// sockets, a thread per client and per echo end, std::counting_semaphore.
#include <atomic>
#include <cstring>
#include <semaphore>
#include <stdexcept>
#include <sync/io.hpp>
#include <sync/semaphore.hpp>
#include <thread>

#include "benches/scenarios.hpp"

#if !defined(_WIN32)
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace syncbench {
#if !defined(_WIN32)
namespace {

constexpr unsigned kClients = 4;
constexpr std::size_t kMessage = 64;

struct SocketPair {
  int fd[2] = {-1, -1};
  explicit SocketPair(bool nonblocking) {
    int type = SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0);
    if (::socketpair(AF_UNIX, type, 0, fd) != 0)
      throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
  }
  ~SocketPair() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
};

class LibsyncUnifiedIo final : public Subject {
 public:
  explicit LibsyncUnifiedIo(const TierPair& p) : a_(p.options()), b_(p.options()) {
    for (unsigned i = 0; i < kClients; ++i) {
      pairs_.push_back(std::make_unique<SocketPair>(true));
      a_.spawn(echo(pairs_.back()->fd[1]));
    }
  }
  ~LibsyncUnifiedIo() override {
    // End the echo tasks cleanly: EOF on their sockets, then let them finish.
    for (auto& sp : pairs_) ::shutdown(sp->fd[0], SHUT_RDWR);
    a_.run_until_idle();
  }

  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>&) override {
    const std::uint64_t per_client = std::max<std::uint64_t>(ops / kClients, 1);
    const std::uint64_t total = per_client * kClients;
    const LoopCounts s0 = loop_counts(a_.stats()) + loop_counts(b_.loop().stats());
    const std::uint64_t t0 = now_ns();
    b_.spawn([this, total] { return releaser(total); });
    a_.block_on(clients(per_client));
    const std::uint64_t t1 = now_ns();
    if (!error_.empty()) throw std::runtime_error(error_);
    const LoopCounts s1 = loop_counts(a_.stats()) + loop_counts(b_.loop().stats());
    return {total, t1 - t0, s1 - s0};
  }

 private:
  static libsync::Task<> echo(int fd) {
    char buf[kMessage];
    for (;;) {
      auto r = co_await libsync::recv(fd, buf, sizeof buf);
      if (!r || r.value == 0) co_return;
      std::size_t sent = 0;
      while (sent < static_cast<std::size_t>(r.value)) {
        auto w = co_await libsync::send(fd, buf + sent, static_cast<std::size_t>(r.value) - sent);
        if (!w) co_return;
        sent += static_cast<std::size_t>(w.value);
      }
    }
  }

  libsync::Task<> releaser(std::uint64_t total) {
    for (std::uint64_t i = 0; i < total; ++i) {
      auto c = co_await credit_.acquire();
      if (!c) co_return;  // closed after a client failed
      c.permit.detach();
      gate_.release();
    }
  }

  libsync::Task<> client(int fd, std::uint64_t n) {
    char out[kMessage], in[kMessage];
    std::memset(out, 'x', sizeof out);
    for (std::uint64_t i = 0; i < n; ++i) {
      auto g = co_await gate_.acquire();
      if (!g) co_return fail("the gate closed");
      g.permit.detach();
      std::size_t sent = 0, got = 0;
      while (sent < kMessage) {
        auto w = co_await libsync::send(fd, out + sent, kMessage - sent);
        if (!w) co_return fail("send: " + std::string(std::strerror(w.error())));
        sent += static_cast<std::size_t>(w.value);
      }
      while (got < kMessage) {
        auto r = co_await libsync::recv(fd, in + got, kMessage - got);
        if (!r) co_return fail("recv: " + std::string(std::strerror(r.error())));
        if (r.value == 0) co_return fail("the echo end closed the connection");
        got += static_cast<std::size_t>(r.value);
      }
      credit_.release();
    }
    finished_.release();
  }

  // A spawned task must not throw (the loop would terminate the process):
  // record the failure, stop the other clients and the releaser, and let
  // run() report it. The subject is discarded afterwards.
  void fail(std::string what) {
    if (error_.empty()) error_ = std::move(what);
    gate_.close();
    credit_.close();
    finished_.release();
  }

  libsync::Task<> clients(std::uint64_t per_client) {
    for (unsigned i = 0; i < kClients; ++i) a_.spawn(client(pairs_[i]->fd[0], per_client));
    auto all = co_await finished_.acquire(kClients);
    all.permit.detach();
  }

  libsync::Semaphore gate_{0}, credit_{kClients}, finished_{0};
  std::string error_;  // loop A only
  std::vector<std::unique_ptr<SocketPair>> pairs_;
  libsync::Loop a_;
  LoopThread b_;
};

class ThreadsUnifiedIo final : public Subject {
 public:
  ThreadsUnifiedIo() {
    for (unsigned i = 0; i < kClients; ++i) {
      pairs_.push_back(std::make_unique<SocketPair>(false));
      int fd = pairs_.back()->fd[1];
      threads_.push_back(placed_thread_at(0, [fd] {  // socket work where loop A runs it
        char buf[kMessage];
        for (;;) {
          ssize_t n = ::recv(fd, buf, sizeof buf, 0);
          if (n <= 0) return;
          ssize_t sent = 0;
          while (sent < n) {
            ssize_t w = ::send(fd, buf + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
            if (w <= 0) return;
            sent += w;
          }
        }
      }));
    }
    for (unsigned i = 0; i < kClients; ++i) {
      int fd = pairs_[i]->fd[0];
      threads_.push_back(placed_thread_at(0, [this, fd] {
        char out[kMessage], in[kMessage];
        std::memset(out, 'x', sizeof out);
        for (;;) {
          start_.acquire();
          if (stop_.load()) return;
          const std::uint64_t n = per_client_;  // read once: main rewrites it for the next repetition
          for (std::uint64_t k = 0; k < n; ++k) {
            gate_.acquire();
            std::size_t sent = 0, got = 0;
            while (sent < kMessage) {
              ssize_t w = ::send(fd, out + sent, kMessage - sent, MSG_NOSIGNAL);
              if (w <= 0) return;
              sent += static_cast<std::size_t>(w);
            }
            while (got < kMessage) {
              ssize_t r = ::recv(fd, in + got, kMessage - got, 0);
              if (r <= 0) return;
              got += static_cast<std::size_t>(r);
            }
            credit_.release();
          }
          if (remaining_.fetch_sub(1) == 1) done_.set();
        }
      }));
    }
    threads_.push_back(placed_thread_at(1, [this] {  // the releaser, where loop B runs
      for (;;) {
        releaser_start_.acquire();
        if (stop_.load()) return;
        const std::uint64_t n = per_client_ * kClients;  // read once (see the clients)
        for (std::uint64_t k = 0; k < n; ++k) {
          credit_.acquire();
          gate_.release();
        }
      }
    }));
  }
  ~ThreadsUnifiedIo() override {
    stop_.store(true);
    start_.release(kClients);
    releaser_start_.release();
    for (auto& sp : pairs_) ::shutdown(sp->fd[0], SHUT_RDWR);
    for (auto& t : threads_) t.join();
  }
  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>&) override {
    per_client_ = std::max<std::uint64_t>(ops / kClients, 1);
    remaining_.store(kClients);
    done_.reset();
    const std::uint64_t t0 = now_ns();
    releaser_start_.release();
    start_.release(kClients);
    done_.wait();
    return {per_client_ * kClients, now_ns() - t0, std::nullopt};
  }

 private:
  std::vector<std::unique_ptr<SocketPair>> pairs_;
  std::counting_semaphore<> gate_{0}, credit_{kClients}, start_{0};
  std::binary_semaphore releaser_start_{0};
  std::uint64_t per_client_ = 0;
  std::atomic<unsigned> remaining_{0};
  std::atomic<bool> stop_{false};
  DoneFlag done_;
  std::vector<std::thread> threads_;
};

}  // namespace
#endif

void add_unified_io_scenarios(std::vector<Scenario>& out, const BenchPlan& plan) {
#if !defined(_WIN32)
  Scenario sc;
  sc.family = 7;
  sc.name = "unified-io/gated-echo";
  sc.title = "one loop echoing over " + std::to_string(kClients) +
             " socket pairs, each request gated by a permit released from another loop";
  sc.op_unit = "gated echo: permit, send + receive 64 B, credit back";
  sc.basis = StatBasis::per_repetition;
  sc.baseline = "threads+std::counting_semaphore";
  sc.min_ops = kClients * 16;
  sc.subjects.push_back({"threads+std::counting_semaphore", std::nullopt,
                         std::to_string(2 * kClients + 1) + " threads, blocking sockets",
                         [] { return std::make_unique<ThreadsUnifiedIo>(); }, ""});
  for (const TierPair& p : plan.pairs)
    sc.subjects.push_back({"libsync", p, "I/O loop + releaser loop",
                           [p] { return std::make_unique<LibsyncUnifiedIo>(p); }, ""});
  out.push_back(std::move(sc));
#else
  (void)out;
  (void)plan;
#endif
}

}  // namespace syncbench
