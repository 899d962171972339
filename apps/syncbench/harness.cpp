// The runner: calibration, interleaved timed repetitions, one counted
// repetition, and the statistics of each row.
#include "harness.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#if defined(__linux__)
#include <pthread.h>
#endif

#include "common/alloc_counter.hpp"
#include "exit_codes.hpp"
#include "placement.hpp"
#include "syscall_counter.hpp"

namespace syncbench {

void spin_for(std::uint64_t ns) noexcept {
  const std::uint64_t end = now_ns() + ns;
  while (now_ns() < end) cpu_relax();
}

std::string TierPair::label() const {
  return std::string(libsync::to_string(tier)) + "/" + std::string(libsync::to_string(backend));
}

libsync::LoopOptions TierPair::options() const {
  libsync::LoopOptions o;
  o.tier = tier;
  o.backend = backend;
  o.use_environment = false;
  o.idle_spin = idle_spin;
  return o;
}

LoopCounts& LoopCounts::operator+=(const LoopCounts& o) noexcept {
  syscalls += o.syscalls;
  notifier_writes += o.notifier_writes;
  waits += o.waits;
  futex_waits_armed += o.futex_waits_armed;
  futex_wait_cqes += o.futex_wait_cqes;
  futex_wake_sqes += o.futex_wake_sqes;
  futex_wake_syscalls += o.futex_wake_syscalls;
  return *this;
}

LoopCounts operator-(const LoopCounts& a, const LoopCounts& b) noexcept {
  return {a.syscalls - b.syscalls,
          a.notifier_writes - b.notifier_writes,
          a.waits - b.waits,
          a.futex_waits_armed - b.futex_waits_armed,
          a.futex_wait_cqes - b.futex_wait_cqes,
          a.futex_wake_sqes - b.futex_wake_sqes,
          a.futex_wake_syscalls - b.futex_wake_syscalls};
}

LoopCounts loop_counts(const libsync::LoopStats& s) noexcept {
  return {s.syscalls,        s.notifier_writes,    s.waits, s.futex_waits_armed, s.futex_wait_cqes,
          s.futex_wake_sqes, s.futex_wake_syscalls};
}

std::uint64_t loop_syscalls(const LoopCounts& c) noexcept {
  return c.syscalls + c.notifier_writes;
}

namespace {

// Student's t quantile for a two-sided 95% interval with `dof` degrees of
// freedom (tabulated up to 30, the normal 1.96 beyond).
double t95(std::size_t dof) noexcept {
  static constexpr double table[] = {0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
                                     2.306, 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                                     2.120, 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
                                     2.064, 2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (dof == 0) return NAN;
  return dof <= 30 ? table[dof] : 1.96;
}

}  // namespace

MeanSpread mean_spread(const std::vector<double>& v) noexcept {
  MeanSpread r;
  if (v.empty()) return r;
  double sum = 0;
  for (double x : v) sum += x;
  r.mean = sum / static_cast<double>(v.size());
  if (v.size() < 2) return r;
  double sq = 0;
  for (double x : v) sq += (x - r.mean) * (x - r.mean);
  r.sd = std::sqrt(sq / static_cast<double>(v.size() - 1));
  r.ci95 = t95(v.size() - 1) * r.sd / std::sqrt(static_cast<double>(v.size()));
  return r;
}

// ---- Watchdog ----

struct Watchdog::State {
  std::mutex mu;
  std::condition_variable cv;
  std::string what;
  std::optional<Clock::time_point> deadline;
  std::chrono::seconds limit{0};
};

Watchdog& Watchdog::instance() {
  static Watchdog w;
  return w;
}

Watchdog::Watchdog() : state_(std::make_shared<State>()) {
  std::thread([s = state_] {
    SyscallCounter::instance().ignore_current_thread();
    std::unique_lock lk(s->mu);
    for (;;) {
      if (!s->deadline) {
        s->cv.wait(lk);
        continue;
      }
      // Sleeps until the deadline it saw; arm() only ever pushes deadlines
      // later, so it never needs waking early (which would cost the
      // measured threads a syscall).
      auto d = *s->deadline;
      s->cv.wait_until(lk, d);
      if (s->deadline && *s->deadline <= Clock::now()) {
        std::fprintf(stderr,
                     "\nsyncbench: %s did not finish within %lld s (a lost wakeup or a hang); giving up\n",
                     s->what.c_str(), static_cast<long long>(s->limit.count()));
        std::fflush(stderr);
        std::_Exit(kExitFailure);
      }
    }
  }).detach();
}

void Watchdog::arm(std::string what, std::chrono::seconds limit) {
  std::lock_guard lk(state_->mu);
  bool was_idle = !state_->deadline;
  state_->what = std::move(what);
  state_->limit = limit;
  state_->deadline = Clock::now() + limit;
  if (was_idle) state_->cv.notify_one();
}

void Watchdog::disarm() {
  // Leaves the thread asleep until its old deadline; it then finds no
  // deadline and waits for the next arm().
  std::lock_guard lk(state_->mu);
  state_->deadline.reset();
}

// ---- LoopThread ----

LoopThread::LoopThread(const libsync::LoopOptions& opts) {
  std::promise<libsync::Loop*> ready;
  auto fut = ready.get_future();
  thread_ = placed_thread([this, &ready, opts] {
#if defined(__linux__)
    // Named so that a profile (perf report --sort comm) separates the loop
    // threads of libsync's subjects from the baselines' threads.
    pthread_setname_np(pthread_self(), "syncbench-loop");
#endif
    std::unique_ptr<libsync::Loop> loop;
    try {
      loop = std::make_unique<libsync::Loop>(opts);
    } catch (...) {
      ready.set_exception(std::current_exception());
      return;
    }
    ready.set_value(loop.get());
    loop->run();
    stop_returned_.wait();
    loop.reset();
  });
  try {
    loop_ = fut.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

LoopThread::~LoopThread() {
  loop_->stop();
  stop_returned_.set();
  thread_.join();
}

void LoopThread::spawn(std::function<libsync::Task<>()> make) {
  libsync::Loop* l = loop_;
  l->post([l, make = std::move(make)] { l->spawn(make()); });
}

// ---- runner ----

namespace {

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return NAN;
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  if (rank == 0) rank = 1;
  return sorted[std::min(rank, sorted.size()) - 1];
}

struct Live {
  const SubjectSpec* spec;
  std::unique_ptr<Subject> subject;
  std::uint64_t ops = 0;  // per repetition, after calibration
  std::vector<std::uint64_t> latencies;
  std::vector<double> rep_ns_per_op;
  std::uint64_t total_ops = 0, total_ns = 0;
  LoopCounts loop;
  bool has_loop = false;
  int placement_id = 0;
  Measurement m;
};

std::string what(const Scenario& sc, const SubjectSpec& s) {
  std::string w = sc.name;
  w.append(" [").append(s.subject);
  if (s.pair) w.append(" ").append(s.pair->label());
  return w.append("]");
}

RepResult guarded_run(const Scenario& sc, Live& l, std::uint64_t ops, std::vector<std::uint64_t>& lat) {
  Watchdog::instance().arm(what(sc, *l.spec), std::chrono::seconds(sc.watchdog_seconds));
  RepResult r = l.subject->run(ops, lat);
  Watchdog::instance().disarm();
  return r;
}

void fail(Live& l, const std::exception& e) {
  l.m.error = std::string("failed: ") + e.what();
  l.subject.reset();
}

// Progress through a scenario in steps: set-up, calibration, the repetitions
// and the counted one, per subject. An empty text reports the end.
class StepProgress {
 public:
  StepProgress(const Progress& report, double steps) : report_(report), steps_(steps) {}
  void operator()(const std::string& text) {
    report_(text, text.empty() ? 1.0 : std::min(step_++ / std::max(steps_, 1.0), 1.0));
  }

 private:
  const Progress& report_;
  double steps_;
  double step_ = 0;
};

// A row's identity, before anything is measured.
Measurement row_for(const Scenario& sc, const SubjectSpec& spec) {
  Measurement m;
  m.scenario = sc.name;
  m.family = sc.family;
  m.title = sc.title;
  m.op_unit = sc.op_unit;
  m.basis = sc.basis;
  m.subject = spec.subject;
  m.note = spec.note;
  m.loop_counter_scope = spec.loop_counter_scope;
  if (spec.pair) {
    m.tier = std::string(libsync::to_string(spec.pair->tier));
    m.backend = std::string(libsync::to_string(spec.pair->backend));
  }
  m.baseline = sc.baseline;
  return m;
}

std::vector<Live> set_up_subjects(const Scenario& sc, StepProgress& progress) {
  std::vector<Live> live;
  live.reserve(sc.subjects.size());
  for (const SubjectSpec& spec : sc.subjects) {
    Live l;
    l.spec = &spec;
    l.m = row_for(sc, spec);
    progress("setting up " + what(sc, spec));
    l.placement_id = placement_begin_subject();
    try {
      l.subject = spec.make();
    } catch (const std::exception& e) {
      l.m.error = std::string("setup failed: ") + e.what();
    }
    live.push_back(std::move(l));
  }
  return live;
}

// Per-op scenarios time single operations, and the first one after another
// subject's repetition pays for what that subject evicted: on a 1024-waiter
// fan-out it took 5-10x the median here, and with a few rounds per
// repetition that one sample moved the median. One untimed operation first
// re-warms the subject, so every timed one starts from its own steady state.
void settle(const Scenario& sc, Live& l) {
  if (sc.basis != StatBasis::per_op) return;
  std::vector<std::uint64_t> scratch;
  scratch.reserve(16);
  guarded_run(sc, l, 1, scratch);
}

// Grows the operation count until one repetition takes about the target
// time, and returns the count that should take it.
std::uint64_t calibrated_ops(const Scenario& sc, Live& l, double target_ns) {
  std::uint64_t ops = std::max<std::uint64_t>(sc.min_ops, 1);
  double per_op = 0;
  settle(sc, l);  // a subject's first operation may include its own one-off setup
  for (int attempt = 0; attempt < 16; ++attempt) {
    l.latencies.clear();
    l.latencies.reserve(ops + 16);
    RepResult r = guarded_run(sc, l, ops, l.latencies);
    per_op = static_cast<double>(r.elapsed_ns) / static_cast<double>(std::max<std::uint64_t>(r.ops, 1));
    if (static_cast<double>(r.elapsed_ns) >= target_ns / 2 || (sc.max_ops && ops >= sc.max_ops)) break;
    double grow = r.elapsed_ns ? std::min(target_ns / static_cast<double>(r.elapsed_ns), 50.0) : 50.0;
    ops = std::max<std::uint64_t>(ops + 1, static_cast<std::uint64_t>(static_cast<double>(ops) * grow));
    if (sc.max_ops) ops = std::min(ops, sc.max_ops);
  }
  std::uint64_t want = per_op > 0 ? static_cast<std::uint64_t>(target_ns / per_op) : ops;
  want = std::max<std::uint64_t>(want, std::max<std::uint64_t>(sc.min_ops, 1));
  if (sc.max_ops) want = std::min(want, sc.max_ops);
  return want;
}

// Calibration doubles as warm-up; then the profile's warm-up repetitions.
// A subject with a fixed size keeps it: the size is the point of the row.
void calibrate(const Scenario& sc, const Profile& profile, Live& l) {
  l.ops = l.spec->ops > 0 ? l.spec->ops : calibrated_ops(sc, l, profile.rep_ms * 1e6);
  l.latencies.clear();
  l.latencies.reserve(static_cast<std::size_t>(l.ops) * static_cast<std::size_t>(profile.reps) + 64);
  for (int w = 0; w < profile.warmups; ++w) {
    std::vector<std::uint64_t> scratch;
    scratch.reserve(l.ops + 16);
    guarded_run(sc, l, l.ops, scratch);
  }
}

void timed_repetition(const Scenario& sc, Live& l) {
  settle(sc, l);
  RepResult r = guarded_run(sc, l, l.ops, l.latencies);
  if (r.ops == 0) throw std::runtime_error("a repetition completed no operations");
  l.total_ops += r.ops;
  l.total_ns += r.elapsed_ns;
  l.rep_ns_per_op.push_back(static_cast<double>(r.elapsed_ns) / static_cast<double>(r.ops));
  if (r.loop) {
    l.has_loop = true;
    l.loop += *r.loop;
  }
  ++l.m.reps;
}

// Timed repetitions, interleaved across subjects, rotating the order so that
// no subject always runs right after the same neighbour. With fewer
// repetitions than subjects the rotation steps by size / reps subjects, so
// that over the repetitions the first place goes round the whole list rather
// than staying near its start (where a subject may run slower: a warming
// machine favours whoever runs later).
void run_repetitions(const Scenario& sc, const Profile& profile, std::vector<Live>& live,
                     StepProgress& progress) {
  const std::size_t reps = static_cast<std::size_t>(std::max(profile.reps, 1));
  const std::size_t stride = std::max<std::size_t>(1, live.size() / reps);
  for (int rep = 0; rep < profile.reps; ++rep) {
    for (std::size_t k = 0; k < live.size(); ++k) {
      Live& l = live[(k + static_cast<std::size_t>(rep) * stride) % live.size()];
      if (!l.subject) continue;
      progress(what(sc, *l.spec) + "  rep " + std::to_string(rep + 1) + "/" + std::to_string(profile.reps));
      try {
        timed_repetition(sc, l);
      } catch (const std::exception& e) {
        fail(l, e);
      }
    }
  }
}

// One more repetition under the kernel syscall counters (if available) and
// the allocation counter, settled first like a timed one, so its per-op
// counts do not include re-warming after the previous subject.
void counted_repetition(const Scenario& sc, Live& l) {
  settle(sc, l);
  SyscallCounter& counter = SyscallCounter::instance();
  std::vector<std::uint64_t> scratch;
  scratch.reserve(l.ops + 16);
  Watchdog::instance().arm(what(sc, *l.spec), std::chrono::seconds(sc.watchdog_seconds));
  bool counting = counter.start();
  std::uint64_t a0 = apps::allocation_count();
  RepResult r = l.subject->run(l.ops, scratch);
  std::uint64_t a1 = apps::allocation_count();
  std::optional<std::uint64_t> sys = counting ? counter.stop() : std::nullopt;
  Watchdog::instance().disarm();
  l.m.counted_ops = r.ops;
  l.m.counted_allocs = a1 - a0;
  l.m.counted_syscalls = sys;
  if (r.loop) l.m.counted_loop_syscalls = loop_syscalls(*r.loop);
  const double ops = static_cast<double>(std::max<std::uint64_t>(r.ops, 1));
  l.m.allocs_per_op = static_cast<double>(a1 - a0) / ops;
  if (sys) l.m.kernel_syscalls_per_op = static_cast<double>(*sys) / ops;
}

// The samples a row's statistics are taken over, in run order: every
// operation's latency (per-op rows with latencies) or each repetition's mean.
std::vector<double> distribution(const Scenario& sc, const Live& l) {
  if (sc.basis == StatBasis::per_op && !l.latencies.empty())
    return std::vector<double>(l.latencies.begin(), l.latencies.end());
  return l.rep_ns_per_op;
}

// The raw samples in run order, thinned to at most kMaxSamples.
void keep_samples(Measurement& m, const std::vector<double>& dist) {
  constexpr std::size_t kMaxSamples = 20000;
  m.samples_stride = (dist.size() + kMaxSamples - 1) / kMaxSamples;
  if (m.samples_stride == 0) m.samples_stride = 1;
  for (std::size_t k = 0; k < dist.size(); k += m.samples_stride) m.samples_ns.push_back(dist[k]);
}

// Mean, spread and quantiles. Sorts `dist`.
void spread_and_quantiles(const Scenario& sc, const Live& l, std::vector<double>& dist, Measurement& m) {
  m.rep_means_ns = l.rep_ns_per_op;
  const MeanSpread all = mean_spread(dist);
  m.mean_ns = all.mean;
  m.stddev_ns = all.sd;
  m.rep_mean_ci95_ns = mean_spread(l.rep_ns_per_op).ci95;
  std::sort(dist.begin(), dist.end());
  m.samples = dist.size();
  m.median_ns = quantile(dist, 0.5);
  // A 99th percentile needs enough samples to differ from the max.
  if (sc.basis == StatBasis::per_op && dist.size() >= 100) m.p99_ns = quantile(dist, 0.99);
  m.min_ns = dist.front();
  m.max_ns = dist.back();
  if (sc.basis == StatBasis::per_op)
    for (double q : {0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0})
      m.quantiles.emplace_back(q, quantile(dist, q));
}

void throughput(const Scenario& sc, const Live& l, const std::vector<double>& dist, Measurement& m) {
  m.ops_per_s = l.total_ns ? static_cast<double>(l.total_ops) * 1e9 / static_cast<double>(l.total_ns) : 0;
  if (sc.rate_from_latency && sc.basis == StatBasis::per_op && !dist.empty()) {
    double sum = 0;
    for (double v : dist) sum += v;
    if (sum > 0) m.ops_per_s = static_cast<double>(dist.size()) * 1e9 / sum;
  }
  m.ops_per_rep = l.ops;
}

// The loop's own counters per operation, and which syscall figure the row
// reports: the kernel's count where there is one, else the loop's.
void syscall_rates(const Live& l, Measurement& m) {
  if (l.has_loop) {
    const double ops = static_cast<double>(std::max<std::uint64_t>(l.total_ops, 1));
    m.loop_syscalls_per_op = static_cast<double>(loop_syscalls(l.loop)) / ops;
    auto per = [ops](std::uint64_t v) { return static_cast<double>(v) / ops; };
    m.loop_per_op = Measurement::LoopRates{
        per(l.loop.waits),           per(l.loop.futex_waits_armed),   per(l.loop.futex_wait_cqes),
        per(l.loop.futex_wake_sqes), per(l.loop.futex_wake_syscalls), per(l.loop.notifier_writes)};
  }
  if (m.kernel_syscalls_per_op) {
    m.syscalls_per_op = m.kernel_syscalls_per_op;
    m.syscalls_source = "kernel";
  } else if (m.loop_syscalls_per_op) {
    m.syscalls_per_op = m.loop_syscalls_per_op;
    m.syscalls_source = "loop-counters";
  }
}

// The row's statistics, for a subject that finished at least one repetition.
Measurement statistics(const Scenario& sc, Live& l) {
  Measurement& m = l.m;
  m.thread_cpus = placement_cpus_of(l.placement_id);
  if (m.error.empty() && m.reps > 0) {
    std::vector<double> dist = distribution(sc, l);
    keep_samples(m, dist);
    spread_and_quantiles(sc, l, dist, m);
    throughput(sc, l, dist, m);
    syscall_rates(l, m);
  }
  return std::move(m);
}

// Ratios against the scenario's baseline row (of the same tier/backend
// with baseline_per_pair).
void baseline_ratios(const Scenario& sc, std::vector<Measurement>& rows) {
  auto base_for = [&](const Measurement& row) -> const Measurement* {
    const Measurement* base = nullptr;
    for (const Measurement& m : rows)
      if (m.subject == sc.baseline && m.error.empty() && m.reps > 0 &&
          (!sc.baseline_per_pair || (m.tier == row.tier && m.backend == row.backend)))
        base = &m;
    return base;
  };
  for (Measurement& m : rows) {
    const Measurement* base = base_for(m);
    if (!base || !m.error.empty() || m.reps == 0) continue;
    if (base->median_ns > 0) m.ratio = m.median_ns / base->median_ns;
    if (base->p99_ns && m.p99_ns && *base->p99_ns > 0) m.p99_ratio = *m.p99_ns / *base->p99_ns;
  }
}

}  // namespace

Profile scenario_profile(const Scenario& sc, const Profile& base) {
  Profile profile = base;
  profile.reps = base.reps * std::max(sc.reps_scale, 1);
  if (sc.max_reps > 0) profile.reps = std::min(profile.reps, sc.max_reps);
  if (sc.warmups >= 0) profile.warmups = sc.warmups;
  return profile;
}

std::vector<Measurement> run_scenario(const Scenario& sc, const Profile& base_profile,
                                      const Progress& report_progress) {
  const Profile profile = scenario_profile(sc, base_profile);
  StepProgress progress(report_progress,
                        static_cast<double>(sc.subjects.size()) * (profile.reps + (sc.counted_rep ? 3 : 2)));
  std::vector<Live> live = set_up_subjects(sc, progress);
  for (Live& l : live) {
    if (!l.subject) continue;
    progress("calibrating " + what(sc, *l.spec));
    try {
      calibrate(sc, profile, l);
    } catch (const std::exception& e) {
      fail(l, e);
    }
  }
  run_repetitions(sc, profile, live, progress);
  for (Live& l : live) {
    if (!l.subject || !sc.counted_rep) continue;
    progress("counting syscalls " + what(sc, *l.spec));
    try {
      counted_repetition(sc, l);
    } catch (const std::exception& e) {
      fail(l, e);
    }
  }
  progress("");

  std::vector<Measurement> out;
  for (Live& l : live) out.push_back(statistics(sc, l));
  baseline_ratios(sc, out);
  return out;
}

}  // namespace syncbench
