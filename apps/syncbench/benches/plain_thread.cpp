// Family 4: hand-off between a plain thread and a loop task.
//
// The main thread is a plain thread (no loop): it releases `ping` and blocks
// in pong.acquire_blocking() (a futex park). The other thread runs a loop
// whose task waits on `ping` through its tier and answers on `pong`. Both
// directions cross between the blocking and the async side. The loop
// counters cannot see the plain thread's syscalls; the kernel count can.
#include <sync/semaphore.hpp>

#include "benches/scenarios.hpp"
#include "benches/thread_pingpong.hpp"

namespace syncbench {
namespace {

class PlainThreadHandoff final : public Subject {
 public:
  explicit PlainThreadHandoff(const TierPair& p) : loop_(p.options()) {}

  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>& lat) override {
    const std::uint64_t rounds = std::max<std::uint64_t>(ops / 2, 1);
    const LoopCounts s0 = loop_counts(loop_.loop().stats());
    const std::uint64_t t0 = now_ns();
    loop_.spawn([this, rounds] { return ponger(rounds); });
    for (std::uint64_t i = 0; i < rounds; ++i) {
      const std::uint64_t t = now_ns();
      ping_.release();
      auto r = pong_.acquire_blocking();
      r.permit.detach();
      lat.push_back((now_ns() - t) / 2);
    }
    const std::uint64_t t1 = now_ns();
    return {rounds * 2, t1 - t0, loop_counts(loop_.loop().stats()) - s0};
  }

 private:
  libsync::Task<> ponger(std::uint64_t rounds) {
    for (std::uint64_t i = 0; i < rounds; ++i) {
      auto r = co_await ping_.acquire();
      r.permit.detach();
      pong_.release();
    }
  }

  libsync::Semaphore ping_{0}, pong_{0};
  LoopThread loop_;
};

}  // namespace

void add_plain_thread_scenarios(std::vector<Scenario>& out, const BenchPlan& plan) {
  Scenario sc;
  sc.family = 4;
  sc.name = "plain-thread/handoff";
  sc.title = "hand-off between a plain thread (acquire_blocking) and a task on a loop thread";
  sc.op_unit = "hand-off (round trip / 2)";
  sc.basis = StatBasis::per_op;
  sc.baseline = handoff_baseline();
  sc.min_ops = 200;
  add_thread_pingpong_subjects(sc.subjects, false);
  for (const TierPair& p : plan.pairs)
    sc.subjects.push_back({"libsync", p, "plain thread <-> loop task",
                           [p] { return std::make_unique<PlainThreadHandoff>(p); },
                           "the loop only: the plain thread's futex wait/wake are not in LoopStats"});
  out.push_back(std::move(sc));
}

}  // namespace syncbench
