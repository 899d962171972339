// The measurement harness every benchmark family plugs into.
//
// A *scenario* is one thing measured ("cross-loop/handoff"); it has several
// *subjects*: libsync on each tier/backend pair, and the baselines (raw futex,
// std:: primitives, Boost.Asio). A subject is an object whose constructor sets
// up threads and loops and whose run() performs one repetition of N
// operations, so that the runner can interleave repetitions of all subjects
// of a scenario: on a noisy 2-core VM, drift then hits every subject alike and
// the ratios stay meaningful.
//
// Per subject the runner calibrates the operation count to a target
// repetition time (this doubles as warm-up), runs the timed repetitions, and
// then one separate repetition with syscall and allocation counting on
// (counting slows syscalls, so it never overlaps a timed repetition).
//
// Two statistics bases exist. Hand-off and fan-out subjects time every
// operation (a steady_clock read costs ~25 ns here, small beside a
// microsecond wake) and report median / p99 / max of that distribution.
// Subjects whose operation costs nanoseconds report the distribution of
// per-repetition means instead. Each row says which.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <sync/loop.hpp>
#include <sync/tier.hpp>
#include <thread>
#include <vector>

namespace syncbench {

using Clock = std::chrono::steady_clock;

inline std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}

// Keeps the compiler from discarding a value that is never used.
template <class T>
inline void keep(const T& v) noexcept {
  asm volatile("" : : "g"(&v) : "memory");
}

// A spin-wait hint for busy loops that must not make syscalls.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins for about `ns` without a syscall: lets other threads reach their
// sleep before a measured wake.
void spin_for(std::uint64_t ns) noexcept;

struct TierPair {
  libsync::Tier tier{};
  libsync::BackendKind backend{};
  std::chrono::nanoseconds idle_spin = libsync::kDefaultIdleSpin;  // LoopOptions::idle_spin
  std::string label() const;                                       // "uring-futex/uring"
  libsync::LoopOptions options() const;                            // forced, environment ignored
};

// The LoopStats counters a report shows, summed over the loops of a subject
// and differenced across a repetition.
struct LoopCounts {
  std::uint64_t syscalls = 0;             // every syscall the loops made themselves
  std::uint64_t notifier_writes = 0;      // eventfd / doorbell writes other threads aimed at them
  std::uint64_t waits = 0;                // times a loop blocked in the kernel
  std::uint64_t futex_waits_armed = 0;    // FUTEX_WAIT SQEs submitted (uring-futex)
  std::uint64_t futex_wait_cqes = 0;      // FUTEX_WAIT completions: wakes arriving as CQEs
  std::uint64_t futex_wake_sqes = 0;      // FUTEX_WAKE SQEs submitted for other loops
  std::uint64_t futex_wake_syscalls = 0;  // futex_wake syscalls made on the loops' threads

  LoopCounts& operator+=(const LoopCounts& o) noexcept;
  friend LoopCounts operator+(LoopCounts a, const LoopCounts& b) noexcept { return a += b; }
  friend LoopCounts operator-(const LoopCounts& a, const LoopCounts& b) noexcept;
};
LoopCounts loop_counts(const libsync::LoopStats& s) noexcept;

// Syscalls a set of loops report having made: LoopStats::syscalls plus the
// notifier writes (eventfd / doorbell wakes) other threads made to reach
// them, which LoopStats keeps apart.
std::uint64_t loop_syscalls(const LoopCounts& c) noexcept;

struct RepResult {
  std::uint64_t ops = 0;         // operations completed
  std::uint64_t elapsed_ns = 0;  // wall time of the repetition
  // What the libsync loops of this subject counted during the repetition
  // (libsync subjects only).
  std::optional<LoopCounts> loop;
};

// Thrown out of a progress callback when the user interrupts the run
// (SIGINT / SIGTERM). Not a std::exception, so the runner's per-subject
// error handling lets it through.
struct Interrupted {};

class Subject {
 public:
  virtual ~Subject() = default;
  // One repetition of about `ops` operations. Subjects that time every
  // operation append one latency in ns per timed operation to `latencies`
  // (capacity is reserved by the runner).
  virtual RepResult run(std::uint64_t ops, std::vector<std::uint64_t>& latencies) = 0;
};

enum class StatBasis { per_op, per_repetition };

struct SubjectSpec {
  std::string subject;           // "libsync", "raw-futex", "std::counting_semaphore", ...
  std::optional<TierPair> pair;  // the tier/backend a libsync subject runs on
  std::string note;              // shown in reports, e.g. "64 threads"
  std::function<std::unique_ptr<Subject>()> make;
  // Loop counters see only loop threads; say what they miss, if anything.
  std::string loop_counter_scope;
  // Fixed operations per repetition (no calibration); 0 = calibrate.
  std::uint64_t ops = 0;
};

struct Scenario {
  std::string name;     // "cross-loop/handoff": what --filter matches
  int family = 0;       // the scenario family (1-9, see benches/scenarios.hpp)
  std::string title;    // one line: what is measured
  std::string op_unit;  // what one operation is
  StatBasis basis = StatBasis::per_repetition;
  std::string baseline;       // the subject every ratio is taken against
  std::uint64_t min_ops = 1;  // smallest sensible repetition
  std::uint64_t max_ops = 0;  // 0 = no cap
  int max_reps = 0;           // 0 = the profile's; caps slow scenarios
  // Multiplies the profile's repetitions (before max_reps caps them): for
  // per-op rows with few operations per repetition, whose median otherwise
  // rests on too few samples to settle between runs.
  int reps_scale = 1;
  int warmups = -1;           // -1 = the profile's
  int watchdog_seconds = 60;  // one repetition longer than this is a hang
  bool counted_rep = true;    // run the extra repetition that counts syscalls and allocations
  // Ratios against the baseline subject on the same tier/backend, instead
  // of one baseline row for the whole scenario.
  bool baseline_per_pair = false;
  // ops_per_s from the mean operation latency instead of wall time (for
  // per-op scenarios whose repetitions include untimed pauses).
  bool rate_from_latency = false;
  std::vector<SubjectSpec> subjects;
};

struct Profile {
  std::string name;    // "quick" / "full"
  int reps = 7;        // timed repetitions per subject
  double rep_ms = 10;  // target wall time of one repetition
  int warmups = 1;     // extra untimed repetitions after calibration
};

// One row of the results: one subject of one scenario.
struct Measurement {
  std::string scenario;
  int family = 0;
  std::string title, op_unit;
  StatBasis basis = StatBasis::per_repetition;
  std::string subject, note, tier = "-", backend = "-";
  std::string baseline;
  // Over the distribution the row's basis names: every timed operation
  // (per-op) or the repetition means (per-repetition). p99 exists only for
  // per-op rows: over a handful of repetition means it would be the max.
  double median_ns = 0, min_ns = 0, max_ns = 0, ops_per_s = 0;
  std::optional<double> p99_ns;
  double mean_ns = 0, stddev_ns = 0;  // of that distribution
  // The repetition means, in run order, and the 95% confidence interval
  // half-width of their mean (Student's t): what `compare` judges noise by.
  std::vector<double> rep_means_ns;
  double rep_mean_ci95_ns = 0;
  // The raw samples (per-op latencies or repetition means) in run order;
  // every `samples_stride`-th one when there are too many to keep.
  std::vector<double> samples_ns;
  std::uint64_t samples_stride = 1;
  std::optional<double> ratio, p99_ratio;  // against the baseline row
  std::optional<double> syscalls_per_op;   // best count available (see syscalls_source)
  std::string syscalls_source;             // "kernel", "loop-counters", "" (none)
  std::optional<double> kernel_syscalls_per_op, loop_syscalls_per_op, allocs_per_op;
  // Per operation over the timed repetitions, from the loops' own counters.
  struct LoopRates {
    double waits = 0, futex_waits_armed = 0, futex_wait_cqes = 0, futex_wake_sqes = 0,
           futex_wake_syscalls = 0, notifier_writes = 0;
  };
  std::optional<LoopRates> loop_per_op;
  std::string loop_counter_scope;
  std::uint64_t counted_ops = 0, counted_allocs = 0;
  std::optional<std::uint64_t> counted_syscalls, counted_loop_syscalls;
  int reps = 0;
  std::uint64_t ops_per_rep = 0, samples = 0;
  // (quantile, ns) pairs of the distribution the statistics came from.
  std::vector<std::pair<double, double>> quantiles;
  // The CPUs the subject's own threads ran on once pinned ("1", "0,1");
  // empty when threads were not pinned. See placement.hpp.
  std::string thread_cpus;
  std::string error;  // non-empty: the subject failed and has no numbers
};

// The profile one scenario runs with: the run's, within the scenario's own
// repetition scale, cap and warm-up count.
Profile scenario_profile(const Scenario& sc, const Profile& base);

// Runs one scenario and returns one Measurement per subject.
// `progress(text, done)` is called before each step, with the fraction of
// the scenario's steps already done; text is empty once it is over. It may
// throw Interrupted, which abandons the scenario.
using Progress = std::function<void(const std::string&, double)>;
std::vector<Measurement> run_scenario(const Scenario& sc, const Profile& profile, const Progress& progress);

// Mean, sample standard deviation and the half-width of the mean's 95%
// confidence interval (Student's t, n - 1 degrees of freedom; 0 for n < 2).
struct MeanSpread {
  double mean = 0, sd = 0, ci95 = 0;
};
MeanSpread mean_spread(const std::vector<double>& v) noexcept;

// Aborts the process with a message when a repetition runs for longer than
// `limit` (a lost wakeup would otherwise hang CI forever).
class Watchdog {
 public:
  static Watchdog& instance();
  void arm(std::string what, std::chrono::seconds limit);
  void disarm();

 private:
  Watchdog();
  struct State;
  std::shared_ptr<State> state_;
};

// A one-shot "the repetition is over" flag that worker threads set and the
// main thread sleeps on (std::atomic::wait: a futex on Linux). Costs O(1)
// syscalls per repetition, never per operation.
class DoneFlag {
 public:
  void reset() noexcept { flag_.store(0, std::memory_order_relaxed); }
  void set() noexcept {
    flag_.store(1, std::memory_order_release);
    flag_.notify_all();
  }
  void wait() noexcept {
    while (flag_.load(std::memory_order_acquire) == 0) flag_.wait(0, std::memory_order_acquire);
  }

 private:
  std::atomic<std::uint32_t> flag_{0};
};

// A libsync Loop running on its own thread until destroyed. The loop is
// constructed and destroyed on that thread (an io_uring ring belongs to its
// submitter), and only after stop() has returned on the destroying thread:
// run() can return as soon as stop() has published the request, while
// stop() still reads the loop.
class LoopThread {
 public:
  explicit LoopThread(const libsync::LoopOptions& opts);
  ~LoopThread();
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  libsync::Loop& loop() { return *loop_; }
  // Starts the task make() returns on the loop thread.
  void spawn(std::function<libsync::Task<>()> make);

 private:
  libsync::Loop* loop_ = nullptr;  // owned by the thread
  DoneFlag stop_returned_;
  std::thread thread_;
};

}  // namespace syncbench
