// Family 3: hand-off between two loops on two threads.
//
// The main thread runs loop A (the pinger), a second thread runs loop B (the
// ponger); the token crosses threads on every hand-off. Each round trip is
// timed; one hand-off is half of it, as for the thread baselines beside it.
//
//   cross-loop/handoff       the loops' idle spin is off, so each hand-off
//                            is a real sleep and wake through the tier's
//                            wake path: a FUTEX_WAIT completion on
//                            uring-futex, a remote-queue push plus eventfd
//                            on generic. This is the kernel path, compared
//                            with the raw futex ping-pong.
//   cross-loop/spin-handoff  the loops spin before they sleep, as a Loop
//                            does by default (LoopOptions::idle_spin, or
//                            --idle-spin-us): a hand-off the spin catches
//                            costs neither side a syscall. Whether it does
//                            depends on where the scheduler puts the two
//                            threads: on two CPUs the spin catches nearly
//                            every one; on one CPU the spinner holds the CPU
//                            its partner needs, and its spins shorten until
//                            the hand-off is a sleep and a wake again.
#include <sync/semaphore.hpp>

#include "benches/scenarios.hpp"
#include "benches/thread_pingpong.hpp"
#include "format.hpp"

namespace syncbench {
namespace {

class CrossLoopHandoff final : public Subject {
 public:
  explicit CrossLoopHandoff(const libsync::LoopOptions& o) : a_(o), b_(o) {}

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

namespace {

Scenario handoff_scenario(const char* name, const char* title) {
  Scenario sc;
  sc.family = 3;
  sc.name = name;
  sc.title = title;
  sc.op_unit = "hand-off (round trip / 2)";
  sc.basis = StatBasis::per_op;
  sc.baseline = handoff_baseline();
  sc.min_ops = 200;
  add_thread_pingpong_subjects(sc.subjects, true);
  return sc;
}

}  // namespace

void add_cross_loop_scenarios(std::vector<Scenario>& out, const BenchPlan& plan) {
  Scenario sc = handoff_scenario(
      kCrossLoopScenario,
      "hand-off between two loops on two threads, idle spin off: each hand-off is a sleep and a wake");
  for (const TierPair& p : plan.pairs)
    sc.subjects.push_back({"libsync", p, "2 loops, 2 threads, idle spin 0",
                           [p] {
                             libsync::LoopOptions o = p.options();
                             o.idle_spin = std::chrono::nanoseconds::zero();
                             return std::make_unique<CrossLoopHandoff>(o);
                           },
                           ""});
  out.push_back(std::move(sc));

  Scenario spin =
      handoff_scenario("cross-loop/spin-handoff",
                       "hand-off between two loops on two threads, the loops spinning before they sleep");
  for (const TierPair& p : plan.pairs) {
    const double us = static_cast<double>(p.idle_spin.count()) / 1000.0;
    spin.subjects.push_back({"libsync", p, "2 loops, 2 threads, idle spin " + format_number(us) + " us",
                             [p] { return std::make_unique<CrossLoopHandoff>(p.options()); }, ""});
  }
  out.push_back(std::move(spin));
}

}  // namespace syncbench
