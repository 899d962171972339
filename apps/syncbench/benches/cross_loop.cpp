// Family 3: hand-off between two loops on two threads.
//
// The main thread runs loop A (the pinger), a second thread runs loop B (the
// ponger); the token crosses threads on every hand-off, so each one is a real
// sleep and wake through the tier's wake path: a FUTEX_WAIT completion on
// uring-futex, a remote-queue push plus eventfd on generic. Each round trip
// is timed; one hand-off is half of it, as for the thread baselines beside it.
#include <sync/semaphore.hpp>

#include "benches/scenarios.hpp"
#include "benches/thread_pingpong.hpp"

namespace syncbench {
namespace {

class CrossLoopHandoff final : public Subject {
 public:
  explicit CrossLoopHandoff(const TierPair& p) : a_(p.options()), b_(p.options()) {}

  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>& lat) override {
    const std::uint64_t rounds = std::max<std::uint64_t>(ops / 2, 1);
    const LoopCounts s0 = loop_counts(a_.stats()) + loop_counts(b_.loop().stats());
    const std::uint64_t t0 = now_ns();
    b_.spawn([this, rounds] { return ponger(rounds); });
    a_.block_on(pinger(rounds, lat));
    const std::uint64_t t1 = now_ns();
    const LoopCounts s1 = loop_counts(a_.stats()) + loop_counts(b_.loop().stats());
    return {rounds * 2, t1 - t0, s1 - s0};
  }

 private:
  libsync::Task<> pinger(std::uint64_t rounds, std::vector<std::uint64_t>& lat) {
    for (std::uint64_t i = 0; i < rounds; ++i) {
      const std::uint64_t t = now_ns();
      ping_.release();
      auto r = co_await pong_.acquire();
      r.permit.detach();
      lat.push_back((now_ns() - t) / 2);
    }
  }
  libsync::Task<> ponger(std::uint64_t rounds) {
    for (std::uint64_t i = 0; i < rounds; ++i) {
      auto r = co_await ping_.acquire();
      r.permit.detach();
      pong_.release();
    }
  }

  libsync::Semaphore ping_{0}, pong_{0};  // outlive both loops' tasks
  libsync::Loop a_;
  LoopThread b_;
};

}  // namespace

void add_cross_loop_scenarios(std::vector<Scenario>& out, const BenchPlan& plan) {
  Scenario sc;
  sc.family = 3;
  sc.name = kCrossLoopScenario;
  sc.title = "hand-off between two loops on two threads (ping-pong through two semaphores)";
  sc.op_unit = "hand-off (round trip / 2)";
  sc.basis = StatBasis::per_op;
  sc.baseline = handoff_baseline();
  sc.min_ops = 200;
  add_thread_pingpong_subjects(sc.subjects, true);
  for (const TierPair& p : plan.pairs)
    sc.subjects.push_back(
        {"libsync", p, "2 loops, 2 threads", [p] { return std::make_unique<CrossLoopHandoff>(p); }, ""});
  out.push_back(std::move(sc));
}

}  // namespace syncbench
