// Family 8: the Boost.Asio baseline for scenarios 3 and 6 - what a C++ user
// writes today for the same jobs, measured in the same run.
//
// Asio has no async semaphore; the usual stand-in is an
// experimental::concurrent_channel: a channel of capacity P is a semaphore
// with P permits (async_send = acquire, waits while the buffer is full;
// try_receive = release, which completes the oldest waiting sender). For the
// hand-off, two channels of capacity 1 carry the token between two
// io_contexts on two threads, each with C++20 coroutines (use_awaitable).
//
// Only this file includes Asio.
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <mutex>
#include <thread>

#include "benches/scenarios.hpp"

namespace syncbench {
namespace {

namespace asio = boost::asio;
using Channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;
using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;

// An io_context run by its own thread until destroyed.
class ContextThread {
 public:
  ContextThread() : guard_(ctx_.get_executor()), thread_(placed_thread([this] { ctx_.run(); })) {}
  ~ContextThread() {
    guard_.reset();
    ctx_.stop();
    thread_.join();
  }
  asio::io_context& context() { return ctx_; }

 private:
  asio::io_context ctx_{1};
  WorkGuard guard_;
  std::thread thread_;
};

// Keeps the first exception a coroutine finished with; co_spawn's `detached`
// would drop it.
struct ErrorSlot {
  std::mutex mu;
  std::exception_ptr error;
  void operator()(std::exception_ptr e) {
    if (!e) return;
    std::lock_guard lk(mu);
    if (!error) error = e;
  }
  void rethrow() {
    std::lock_guard lk(mu);
    if (error) std::rethrow_exception(std::exchange(error, nullptr));
  }
};

class AsioPingPong final : public Subject {
 public:
  AsioPingPong() : ping_(b_.context().get_executor(), 1), pong_(a_.get_executor(), 1) {}
  ~AsioPingPong() override {
    ping_.close();
    pong_.close();
  }

  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>& lat) override {
    const std::uint64_t rounds = std::max<std::uint64_t>(ops / 2, 1);
    const std::uint64_t t0 = now_ns();
    asio::co_spawn(b_.context(), ponger(rounds), [this](std::exception_ptr e) { errors_(e); });
    asio::co_spawn(a_, pinger(rounds, lat), [this](std::exception_ptr e) { errors_(e); });
    a_.run();
    const std::uint64_t t1 = now_ns();
    a_.restart();
    errors_.rethrow();
    return {rounds * 2, t1 - t0, std::nullopt};
  }

 private:
  asio::awaitable<void> pinger(std::uint64_t rounds, std::vector<std::uint64_t>& lat) {
    for (std::uint64_t i = 0; i < rounds; ++i) {
      const std::uint64_t t = now_ns();
      co_await ping_.async_send(boost::system::error_code{}, asio::use_awaitable);
      co_await pong_.async_receive(asio::use_awaitable);
      lat.push_back((now_ns() - t) / 2);
    }
  }
  asio::awaitable<void> ponger(std::uint64_t rounds) {
    for (std::uint64_t i = 0; i < rounds; ++i) {
      co_await ping_.async_receive(asio::use_awaitable);
      co_await pong_.async_send(boost::system::error_code{}, asio::use_awaitable);
    }
  }

  asio::io_context a_{1};  // run by the main thread during run()
  ContextThread b_;
  Channel ping_, pong_;
  ErrorSlot errors_;
};

constexpr unsigned kTasks = 1000, kPermits = 10, kContexts = 2;

class AsioContended final : public Subject {
 public:
  explicit AsioContended(unsigned contexts) {
    for (unsigned i = 0; i < contexts; ++i) ctx_.push_back(std::make_unique<ContextThread>());
    sem_.emplace(ctx_[0]->context().get_executor(), kPermits);
  }
  ~AsioContended() override {
    // The channel lives in a service of ctx_[0]: it must go first.
    sem_->close();
    sem_.reset();
    ctx_.clear();
  }

  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>&) override {
    const std::uint64_t per_task = std::max<std::uint64_t>(ops / kTasks, 1);
    remaining_.store(kTasks);
    done_.reset();
    const std::uint64_t t0 = now_ns();
    for (unsigned i = 0; i < kTasks; ++i)
      asio::co_spawn(ctx_[i % ctx_.size()]->context(), worker(per_task), [this](std::exception_ptr e) {
        errors_(e);
        if (remaining_.fetch_sub(1) == 1) done_.set();
      });
    done_.wait();
    const std::uint64_t t1 = now_ns();
    errors_.rethrow();
    return {per_task * kTasks, t1 - t0, std::nullopt};
  }

 private:
  asio::awaitable<void> worker(std::uint64_t n) {
    auto ex = co_await asio::this_coro::executor;
    for (std::uint64_t i = 0; i < n; ++i) {
      co_await sem_->async_send(boost::system::error_code{}, asio::use_awaitable);  // acquire
      co_await asio::post(ex, asio::use_awaitable);                                 // yield
      sem_->try_receive([](boost::system::error_code) {});                          // release
    }
  }

  std::vector<std::unique_ptr<ContextThread>> ctx_;
  std::optional<Channel> sem_;
  std::atomic<unsigned> remaining_{0};
  DoneFlag done_;
  ErrorSlot errors_;
};

}  // namespace

void add_asio_baselines(std::vector<Scenario>& out, const BenchPlan&) {
  for (Scenario& sc : out) {
    if (sc.name == kCrossLoopScenario)
      sc.subjects.insert(sc.subjects.begin() + 1,
                         {"asio-channel", std::nullopt, "2 io_contexts, 2 threads, concurrent_channel",
                          [] { return std::make_unique<AsioPingPong>(); }, ""});
    if (sc.name == kContendedScenario || sc.name == kContendedOneLoopScenario) {
      const unsigned contexts = sc.name == kContendedScenario ? kContexts : 1;
      sc.subjects.insert(sc.subjects.begin() + 1,
                         {"asio-channel", std::nullopt,
                          std::to_string(kTasks) + " coroutines / " + std::to_string(contexts) +
                              (contexts == 1 ? " io_context" : " io_contexts") + ", channel of capacity " +
                              std::to_string(kPermits),
                          [contexts] { return std::make_unique<AsioContended>(contexts); }, ""});
    }
  }
}

}  // namespace syncbench
