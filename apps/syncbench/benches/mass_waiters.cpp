// Family 9: the waiter queue at scale. N tasks queue on a semaphore that has
// no permits, each with a deadline (timed_out) or a stop token (cancelled),
// and the row reports the cost per waiter from its enqueue to its resumption.
// Each is measured at N = 10 000 and N = 100 000, beside each other: if the
// cost per waiter stays flat the bookkeeping (semaphore queue, the loop's
// timer heap, cancel table) is linear in N; if it grows about tenfold, it is
// quadratic. The ratio column is taken against the same tier's N = 10 000 row.
//
//   timeout: every waiter calls acquire_until(D - i ns): each new waiter
//            expires just before all those queued before it (the order that
//            makes a timer structure insert at its front), and all expire
//            within N ns of D. D lies beyond the end of the enqueue phase
//            (1.5 times the previous repetition's, plus 5 ms), and the
//            time the loop idles until then is not counted: a repetition
//            counts the enqueue phase plus the time from the first timeout
//            to the last resumption.
//   cancel:  every waiter calls acquire_for(60 s, token) with a token of its
//            own (so each also holds a timer), then every token is stopped in
//            the order the waiters queued; counted from the first enqueue to
//            the last resumption.
#include <memory>
#include <optional>
#include <stop_token>
#include <sync/event.hpp>
#include <sync/semaphore.hpp>

#include "benches/scenarios.hpp"

namespace syncbench {
namespace {

using namespace std::chrono_literals;

enum class Ending { timeout, cancel };

class MassWaiters final : public Subject {
 public:
  MassWaiters(const TierPair& p, Ending e) : options_(p.options()), ending_(e) {}

  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>&) override {
    const std::size_t n = static_cast<std::size_t>(ops);
    // A fresh loop for every repetition: a program queues its first 100 000
    // waiters on a loop whose timer storage has not grown yet, and what
    // that growth costs is part of the answer.
    loop_.emplace(options_);
    const libsync::LoopStats s0 = loop_->stats();
    resumed_ = 0;
    first_resume_ns_ = 0;
    all_done_.reset();
    sources_.clear();
    if (ending_ == Ending::cancel) sources_.resize(n);
    const std::uint64_t t0 = now_ns();
    std::uint64_t queued_ns = 0;
    loop_->block_on(drive(n, queued_ns));
    const std::uint64_t t1 = now_ns();
    last_enqueue_ns_ = queued_ns - t0;
    const LoopCounts counts = loop_counts(loop_->stats()) - loop_counts(s0);
    loop_.reset();
    // The loop idled from the moment every waiter was queued until the
    // first deadline passed; that is the timeout, not the queue's cost.
    std::uint64_t idle = 0;
    if (ending_ == Ending::timeout && first_resume_ns_ > queued_ns) idle = first_resume_ns_ - queued_ns;
    return {n, (t1 - t0) - idle, counts};
  }

 private:
  libsync::Task<> drive(std::size_t n, std::uint64_t& queued_ns) {
    libsync::Loop* loop = libsync::Loop::current();
    // The spawned tasks run, and read the deadline, once this task yields.
    const auto margin = std::chrono::nanoseconds(5'000'000 + last_enqueue_ns_ + last_enqueue_ns_ / 2);
    deadline_ = libsync::Clock::now() + std::chrono::nanoseconds(last_enqueue_ns_ ? 0 : 100'000'000) +
                margin + std::chrono::nanoseconds(n);
    for (std::size_t i = 0; i < n; ++i) loop->spawn(waiter(i, n));
    while (sem_.waiters() < n && resumed_ == 0) co_await libsync::yield();
    queued_ns = now_ns();
    if (ending_ == Ending::cancel)
      for (auto& s : sources_) s.request_stop();
    co_await all_done_.wait();
  }

  libsync::Task<> waiter(std::size_t i, std::size_t n) {
    if (ending_ == Ending::timeout) {
      auto r = co_await sem_.acquire_until(deadline_ - std::chrono::nanoseconds(i));
      keep(r.status);
    } else {
      auto r = co_await sem_.acquire_for(60s, 1, sources_[i].get_token());
      keep(r.status);
    }
    if (resumed_++ == 0) first_resume_ns_ = now_ns();
    if (resumed_ == n) all_done_.set();
  }

  libsync::LoopOptions options_;
  std::optional<libsync::Loop> loop_;
  Ending ending_;
  libsync::Semaphore sem_{0};
  libsync::Event all_done_;
  std::vector<std::stop_source> sources_;
  std::size_t resumed_ = 0;
  std::uint64_t first_resume_ns_ = 0;
  std::uint64_t last_enqueue_ns_ = 0;  // of the previous repetition
  libsync::Clock::time_point deadline_{};
};

}  // namespace

void add_mass_waiter_scenarios(std::vector<Scenario>& out, const BenchPlan& plan) {
  for (Ending e : {Ending::timeout, Ending::cancel}) {
    const bool timeout = e == Ending::timeout;
    Scenario sc;
    sc.family = 9;
    sc.name = timeout ? "mass-waiters/timeout" : "mass-waiters/cancel";
    sc.title = timeout ? "N tasks queue on an empty semaphore with acquire_until(a deadline) and all time out"
                       : "N tasks queue on an empty semaphore with acquire_for(60 s, token); every token is "
                         "stopped";
    sc.op_unit = timeout ? "one waiter: enqueue + timeout + resume (idle wait for the deadline excluded)"
                         : "one waiter: enqueue + cancel + resume";
    sc.basis = StatBasis::per_repetition;
    sc.baseline = "libsync N=10000";
    sc.baseline_per_pair = true;
    // Few repetitions: on a library whose bookkeeping is quadratic one
    // repetition of 100 000 waiters takes seconds. One warm-up each,
    // although every repetition starts from a fresh loop: without it the
    // first subject to run also pays for faulting in the process's heap
    // (100 000 task frames), which made whichever tier came first look 2-4x
    // slower in a one-repetition run. Even after it, the later a subject
    // runs the faster it is (on one VM, N = 100 000 took ~800 ns per waiter
    // first in the order and ~500 ns third, whatever the tier), and single
    // repetitions swing by +-30% (heap growth, page faults): so seven
    // repetitions, in orders that put each subject first in turn, and the
    // median (three left the same code on two tiers 20% apart in a third of
    // the runs; the scenario takes ~8 s). No extra counted repetition: the
    // loop counters of the timed ones are reported.
    sc.max_reps = 7;
    sc.warmups = 1;
    sc.counted_rep = false;
    sc.watchdog_seconds = 300;
    for (const TierPair& p : plan.pairs)
      for (std::uint64_t n : {10000u, 100000u}) {
        SubjectSpec s{"libsync N=" + std::to_string(n), p, std::to_string(n) + " tasks on 1 loop",
                      [p, e] { return std::make_unique<MassWaiters>(p, e); }, ""};
        s.ops = n;
        sc.subjects.push_back(std::move(s));
      }
    out.push_back(std::move(sc));
  }
}

}  // namespace syncbench
