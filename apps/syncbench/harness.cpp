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

#include "alloc_counter.hpp"
#include "exit_codes.hpp"
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
  return o;
}

std::uint64_t loop_syscalls(const libsync::LoopStats& s) noexcept {
  return s.syscalls + s.notifier_writes;
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
  thread_ = std::thread([this, &ready, opts] {
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
  std::uint64_t loop_sys = 0;
  bool has_loop_sys = false;
  Measurement m;
};

std::string what(const Scenario& sc, const SubjectSpec& s) {
  std::string w = sc.name;
  w.append(" [").append(s.subject);
  if (s.pair) w.append(" ").append(s.pair->label());
  return w.append("]");
}

RepResult guarded_run(const Scenario& sc, Live& l, std::uint64_t ops, std::vector<std::uint64_t>& lat) {
  Watchdog::instance().arm(what(sc, *l.spec), std::chrono::seconds(60));
  RepResult r = l.subject->run(ops, lat);
  Watchdog::instance().disarm();
  return r;
}

}  // namespace

std::vector<Measurement> run_scenario(const Scenario& sc, const Profile& profile,
                                      const std::function<void(const std::string&)>& progress) {
  std::vector<Live> live;
  live.reserve(sc.subjects.size());
  for (const SubjectSpec& spec : sc.subjects) {
    Live l;
    l.spec = &spec;
    l.m.scenario = sc.name;
    l.m.family = sc.family;
    l.m.title = sc.title;
    l.m.op_unit = sc.op_unit;
    l.m.basis = sc.basis;
    l.m.subject = spec.subject;
    l.m.note = spec.note;
    l.m.loop_counter_scope = spec.loop_counter_scope;
    if (spec.pair) {
      l.m.tier = std::string(libsync::to_string(spec.pair->tier));
      l.m.backend = std::string(libsync::to_string(spec.pair->backend));
    }
    l.m.baseline = sc.baseline;
    progress("setting up " + what(sc, spec));
    try {
      l.subject = spec.make();
    } catch (const std::exception& e) {
      l.m.error = std::string("setup failed: ") + e.what();
    }
    live.push_back(std::move(l));
  }

  const double target_ns = profile.rep_ms * 1e6;
  auto fail = [](Live& l, const std::exception& e) {
    l.m.error = std::string("failed: ") + e.what();
    l.subject.reset();
  };

  // Calibration doubles as warm-up: grow the operation count until one
  // repetition takes about the target time.
  for (Live& l : live) {
    if (!l.subject) continue;
    progress("calibrating " + what(sc, *l.spec));
    try {
      std::uint64_t ops = std::max<std::uint64_t>(sc.min_ops, 1);
      double per_op = 0;
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
      l.ops = want;
      l.latencies.clear();
      l.latencies.reserve(static_cast<std::size_t>(l.ops) * static_cast<std::size_t>(profile.reps) + 64);
      for (int w = 0; w < profile.warmups; ++w) {
        std::vector<std::uint64_t> scratch;
        scratch.reserve(l.ops + 16);
        guarded_run(sc, l, l.ops, scratch);
      }
    } catch (const std::exception& e) {
      fail(l, e);
    }
  }

  // Timed repetitions, interleaved across subjects (rotating the order so
  // that no subject always runs right after the same neighbour).
  for (int rep = 0; rep < profile.reps; ++rep) {
    for (std::size_t k = 0; k < live.size(); ++k) {
      Live& l = live[(k + static_cast<std::size_t>(rep)) % live.size()];
      if (!l.subject) continue;
      progress(what(sc, *l.spec) + "  rep " + std::to_string(rep + 1) + "/" + std::to_string(profile.reps));
      try {
        RepResult r = guarded_run(sc, l, l.ops, l.latencies);
        if (r.ops == 0) throw std::runtime_error("a repetition completed no operations");
        l.total_ops += r.ops;
        l.total_ns += r.elapsed_ns;
        l.rep_ns_per_op.push_back(static_cast<double>(r.elapsed_ns) / static_cast<double>(r.ops));
        if (r.loop_syscalls) {
          l.has_loop_sys = true;
          l.loop_sys += *r.loop_syscalls;
        }
        ++l.m.reps;
      } catch (const std::exception& e) {
        fail(l, e);
      }
    }
  }

  // One counted repetition per subject: kernel syscall counters (if
  // available) and the allocation counter.
  SyscallCounter& counter = SyscallCounter::instance();
  for (Live& l : live) {
    if (!l.subject) continue;
    progress("counting syscalls " + what(sc, *l.spec));
    try {
      std::vector<std::uint64_t> scratch;
      scratch.reserve(l.ops + 16);
      Watchdog::instance().arm(what(sc, *l.spec), std::chrono::seconds(60));
      bool counting = counter.start();
      std::uint64_t a0 = allocation_count();
      RepResult r = l.subject->run(l.ops, scratch);
      std::uint64_t a1 = allocation_count();
      std::optional<std::uint64_t> sys = counting ? counter.stop() : std::nullopt;
      Watchdog::instance().disarm();
      l.m.counted_ops = r.ops;
      l.m.counted_allocs = a1 - a0;
      l.m.counted_syscalls = sys;
      l.m.counted_loop_syscalls = r.loop_syscalls;
      const double ops = static_cast<double>(std::max<std::uint64_t>(r.ops, 1));
      l.m.allocs_per_op = static_cast<double>(a1 - a0) / ops;
      if (sys) l.m.kernel_syscalls_per_op = static_cast<double>(*sys) / ops;
    } catch (const std::exception& e) {
      fail(l, e);
    }
  }
  progress("");

  // Statistics.
  std::vector<Measurement> out;
  for (Live& l : live) {
    Measurement& m = l.m;
    if (m.error.empty() && m.reps > 0) {
      std::vector<double> dist;
      if (sc.basis == StatBasis::per_op && !l.latencies.empty()) {
        dist.assign(l.latencies.begin(), l.latencies.end());
      } else {
        dist = l.rep_ns_per_op;
      }
      std::sort(dist.begin(), dist.end());
      m.samples = dist.size();
      m.median_ns = quantile(dist, 0.5);
      m.p99_ns = quantile(dist, 0.99);
      m.max_ns = dist.back();
      for (double q : {0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0})
        m.quantiles.emplace_back(q, quantile(dist, q));
      m.ops_per_s = l.total_ns ? static_cast<double>(l.total_ops) * 1e9 / static_cast<double>(l.total_ns) : 0;
      if (sc.rate_from_latency && sc.basis == StatBasis::per_op && !dist.empty()) {
        double sum = 0;
        for (double v : dist) sum += v;
        if (sum > 0) m.ops_per_s = static_cast<double>(dist.size()) * 1e9 / sum;
      }
      m.ops_per_rep = l.ops;
      if (l.has_loop_sys)
        m.loop_syscalls_per_op = static_cast<double>(l.loop_sys) / static_cast<double>(l.total_ops);
      if (m.kernel_syscalls_per_op) {
        m.syscalls_per_op = m.kernel_syscalls_per_op;
        m.syscalls_source = "kernel";
      } else if (m.loop_syscalls_per_op) {
        m.syscalls_per_op = m.loop_syscalls_per_op;
        m.syscalls_source = "loop-counters";
      }
    }
    out.push_back(std::move(m));
  }
  // Ratios against the scenario's baseline row.
  const Measurement* base = nullptr;
  for (const Measurement& m : out)
    if (m.subject == sc.baseline && m.error.empty() && m.reps > 0) base = &m;
  for (Measurement& m : out) {
    if (!base || !m.error.empty() || m.reps == 0) continue;
    if (base->median_ns > 0) m.ratio = m.median_ns / base->median_ns;
    if (base->p99_ns > 0) m.p99_ratio = m.p99_ns / base->p99_ns;
  }
  return out;
}

}  // namespace syncbench
