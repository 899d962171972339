// Family 6: contended throughput. M tasks spread over L loops (one thread
// each) contend for P permits: acquire -> yield -> release, over and over.
// One operation is one acquire/yield/release cycle of one task; the figure
// is wall time per cycle across the whole system (1 / throughput).
//
// Two rows: L=2, where the semaphore's line and its waiters' nodes move
// between the loops' CPUs on most hand-offs (with `--placement spread`,
// the default), and L=1, the software path alone, comparable with one
// single-threaded executor (tokio's current_thread runtime, say) running
// the same 1000 tasks.
//
// On two loops the row is measured twice: with the default strict FIFO
// hand-off, and as "libsync loop-local" with HandOff::loop_local, where a
// returned permit may go to a waiter of the returning task's own loop (at
// most 32 times past the queue's head), so that permits and the waiters
// they wake mostly stay on one CPU.
//
// The std:: baseline is what the same job looks like with threads: T
// threads (T far below M: a thread per task does not scale) doing
// acquire -> std::this_thread::yield() -> release on a std::counting_semaphore.
// The Boost.Asio subject (family 8) is added by asio_baseline.cpp.
#include <atomic>
#include <chrono>
#include <semaphore>
#include <stdexcept>
#include <string>
#include <sync/semaphore.hpp>
#include <thread>

#include "benches/scenarios.hpp"
#include "stall_guard.hpp"
#include "syscall_counter.hpp"

namespace syncbench {
namespace {

constexpr unsigned kTasks = 1000;  // M
constexpr unsigned kPermits = 10;  // P
constexpr unsigned kLoops = 2;     // L: one per core on the project's machines
constexpr unsigned kStdThreads = 64;

class LibsyncContended final : public Subject {
 public:
  LibsyncContended(const TierPair& p, unsigned loops, libsync::HandOff order) : sem_(kPermits, order) {
    for (unsigned i = 0; i < loops; ++i) loops_.push_back(std::make_unique<LoopThread>(p.options()));
  }
  ~LibsyncContended() override { loops_.clear(); }

  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>&) override {
    const std::uint64_t per_task = std::max<std::uint64_t>(ops / kTasks, 1);
    remaining_.store(kTasks);
    done_.reset();
    const LoopCounts s0 = counts();
    const std::uint64_t t0 = now_ns();
    const auto n_loops = static_cast<unsigned>(loops_.size());
    for (unsigned l = 0; l < n_loops; ++l) {
      unsigned count = kTasks / n_loops + (l < kTasks % n_loops ? 1 : 0);
      libsync::Loop* loop = &loops_[l]->loop();
      loop->post([this, loop, count, per_task] {
        for (unsigned i = 0; i < count; ++i) loop->spawn(worker(per_task));
      });
    }
    done_.wait();
    const std::uint64_t t1 = now_ns();
    return {per_task * kTasks, t1 - t0, counts() - s0};
  }

 private:
  LoopCounts counts() {
    LoopCounts s;
    for (auto& l : loops_) s += loop_counts(l->loop().stats());
    return s;
  }
  libsync::Task<> worker(std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      auto permit = co_await sem_.acquire();
      co_await libsync::yield();
    }  // the permit goes back here, to the next waiter in FIFO order
    if (remaining_.fetch_sub(1) == 1) done_.set();
  }

  alignas(64) libsync::Semaphore sem_;  // one cache line of its own (see its class comment)
  std::atomic<unsigned> remaining_{0};
  DoneFlag done_;
  std::vector<std::unique_ptr<LoopThread>> loops_;
};

class StdContended final : public Subject {
 public:
  StdContended() {
    for (unsigned i = 0; i < kStdThreads; ++i)
      threads_.push_back(placed_thread([this] {
        for (;;) {
          start_.acquire();
          if (stop_.load()) return;
          const std::uint64_t n = per_thread_;
          for (std::uint64_t k = 0; k < n; ++k) {
            sem_.acquire();
            std::this_thread::yield();
            sem_.release();
          }
          if (remaining_.fetch_sub(1) == 1) done_.set();
        }
      }));
  }
  ~StdContended() override {
    stop_.store(true);
    start_.release(kStdThreads);
    for (auto& t : threads_) t.join();
  }
  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>&) override {
    per_thread_ = std::max<std::uint64_t>(ops / kStdThreads, 1);
    remaining_.store(kStdThreads);
    done_.reset();
    guard_.begin();
    const std::uint64_t t0 = now_ns();
    start_.release(kStdThreads);
    done_.wait();
    const std::uint64_t elapsed = now_ns() - t0;
    if (std::uint64_t freed = guard_.end(std::chrono::nanoseconds(elapsed)); freed > 0)
      throw std::runtime_error(
          "std::counting_semaphore stalled with " + std::to_string(freed) +
          " permit(s) free until syncbench woke its sleepers: a lost wakeup (libstdc++'s release() skips the "
          "wake when the count was above zero, GCC bug 98033); no timing for this row");
    return {per_thread_ * kStdThreads, elapsed, std::nullopt};
  }

 private:
  std::counting_semaphore<> sem_{kPermits};
  std::counting_semaphore<> start_{0};
  std::uint64_t per_thread_ = 0;  // written before start_ is released
  std::atomic<unsigned> remaining_{0};
  std::atomic<bool> stop_{false};
  DoneFlag done_;
  std::vector<std::thread> threads_;
  // Rescues threads libstdc++ strands (see stall_guard.hpp).
  StallGuard<std::counting_semaphore<>> guard_{sem_, std::chrono::seconds(2),
                                               [] { SyscallCounter::instance().ignore_current_thread(); }};
};

}  // namespace

void add_contended_scenarios(std::vector<Scenario>& out, const BenchPlan& plan) {
  for (unsigned loops : {kLoops, 1u}) {
    Scenario sc;
    sc.family = 6;
    sc.name = loops == kLoops ? kContendedScenario : kContendedOneLoopScenario;
    sc.title = "M=" + std::to_string(kTasks) + " tasks over L=" + std::to_string(loops) +
               (loops == 1 ? " loop" : " loops") + " contending for P=" + std::to_string(kPermits) +
               " permits: acquire -> yield -> release";
    sc.op_unit = "acquire + yield + release (system-wide time per cycle)";
    sc.basis = StatBasis::per_repetition;
    sc.baseline = "std::counting_semaphore";
    sc.min_ops = kTasks * 4;
    sc.subjects.push_back({"std::counting_semaphore", std::nullopt, std::to_string(kStdThreads) + " threads",
                           [] { return std::make_unique<StdContended>(); }, ""});
    const std::string config =
        std::to_string(kTasks) + " tasks / " + std::to_string(loops) + (loops == 1 ? " loop" : " loops");
    for (const TierPair& p : plan.pairs)
      sc.subjects.push_back(
          {"libsync", p, config,
           [p, loops] { return std::make_unique<LibsyncContended>(p, loops, libsync::HandOff::fifo); }, ""});
    // With one loop every waiter is local and the order is FIFO either way.
    if (loops > 1)
      for (const TierPair& p : plan.pairs)
        sc.subjects.push_back({"libsync loop-local", p, config + ", HandOff::loop_local",
                               [p, loops] {
                                 return std::make_unique<LibsyncContended>(p, loops,
                                                                           libsync::HandOff::loop_local);
                               },
                               ""});
    out.push_back(std::move(sc));
  }
}

}  // namespace syncbench
