// Family 2: hand-off between two tasks of the same loop.
//
// A pinger and a ponger pass a token through two semaphores. Both run on one
// loop, so every wake is delivered by putting the other task on the ready
// queue: the design promises no syscall at all, in any tier, and the loop's
// own counters (and the kernel's, when available) show the count. The
// baseline is the same hand-off between two threads, which is what the
// coroutine version saves.
#include <sync/semaphore.hpp>

#include "benches/scenarios.hpp"
#include "benches/thread_pingpong.hpp"

namespace syncbench {
namespace {

class SameLoopHandoff final : public Subject {
 public:
  explicit SameLoopHandoff(const TierPair& p) : loop_(p.options()) {}

  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>&) override {
    const std::uint64_t rounds = std::max<std::uint64_t>(ops / 2, 1);
    const libsync::LoopStats s0 = loop_.stats();
    const std::uint64_t t0 = now_ns();
    loop_.block_on(pinger(rounds));
    const std::uint64_t t1 = now_ns();
    return {rounds * 2, t1 - t0, loop_counts(loop_.stats()) - loop_counts(s0)};
  }

 private:
  libsync::Task<> pinger(std::uint64_t rounds) {
    loop_.spawn(ponger(rounds));
    for (std::uint64_t i = 0; i < rounds; ++i) {
      ping_.release();
      auto r = co_await pong_.acquire();
      r.permit.detach();  // the token moves on; it is not given back to pong_
    }
  }
  libsync::Task<> ponger(std::uint64_t rounds) {
    for (std::uint64_t i = 0; i < rounds; ++i) {
      auto r = co_await ping_.acquire();
      r.permit.detach();
      pong_.release();
    }
  }

  libsync::Loop loop_;
  libsync::Semaphore ping_{0}, pong_{0};
};

}  // namespace

void add_same_loop_scenarios(std::vector<Scenario>& out, const BenchPlan& plan) {
  Scenario sc;
  sc.family = 2;
  sc.name = "same-loop/handoff";
  sc.title = "hand-off between two tasks on one loop through two semaphores (expect 0 syscalls)";
  sc.op_unit = "hand-off (half a round trip)";
  sc.basis = StatBasis::per_repetition;
  sc.baseline = handoff_baseline();
  sc.min_ops = 1000;
  add_thread_pingpong_subjects(sc.subjects, false);
  for (const TierPair& p : plan.pairs)
    sc.subjects.push_back(
        {"libsync", p, "2 tasks, 1 loop", [p] { return std::make_unique<SameLoopHandoff>(p); }, ""});
  out.push_back(std::move(sc));
}

}  // namespace syncbench
