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
  std::string label() const;             // "uring-futex/uring"
  libsync::LoopOptions options() const;  // forced, environment ignored
};

// Syscalls a set of loops report having made: LoopStats::syscalls plus the
// notifier writes (eventfd / doorbell wakes) other threads made to reach
// them, which LoopStats keeps apart.
std::uint64_t loop_syscalls(const libsync::LoopStats& s) noexcept;

struct RepResult {
  std::uint64_t ops = 0;         // operations completed
  std::uint64_t elapsed_ns = 0;  // wall time of the repetition
  // Syscalls the libsync loops of this subject reported for the repetition
  // (libsync subjects only).
  std::optional<std::uint64_t> loop_syscalls;
};

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
};

struct Scenario {
  std::string name;     // "cross-loop/handoff": what --filter matches
  int family = 0;       // the scenario number in issue 4 (1-8)
  std::string title;    // one line: what is measured
  std::string op_unit;  // what one operation is
  StatBasis basis = StatBasis::per_repetition;
  std::string baseline;       // the subject every ratio is taken against
  std::uint64_t min_ops = 1;  // smallest sensible repetition
  std::uint64_t max_ops = 0;  // 0 = no cap
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
  double median_ns = 0, p99_ns = 0, max_ns = 0, ops_per_s = 0;
  std::optional<double> ratio, p99_ratio;  // against the baseline row
  std::optional<double> syscalls_per_op;   // best count available (see syscalls_source)
  std::string syscalls_source;             // "kernel", "loop-counters", "" (none)
  std::optional<double> kernel_syscalls_per_op, loop_syscalls_per_op, allocs_per_op;
  std::string loop_counter_scope;
  std::uint64_t counted_ops = 0, counted_allocs = 0;
  std::optional<std::uint64_t> counted_syscalls, counted_loop_syscalls;
  int reps = 0;
  std::uint64_t ops_per_rep = 0, samples = 0;
  // (quantile, ns) pairs of the distribution the statistics came from.
  std::vector<std::pair<double, double>> quantiles;
  std::string error;  // non-empty: the subject failed and has no numbers
};

// Runs one scenario and returns one Measurement per subject.
// `progress(text)` is called before each step (may be empty).
std::vector<Measurement> run_scenario(const Scenario& sc, const Profile& profile,
                                      const std::function<void(const std::string&)>& progress);

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
