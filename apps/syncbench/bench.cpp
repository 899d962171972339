// `syncbench bench`: chooses the tier/backend pairs, builds the scenario
// list (benches/), filters it, runs it, and writes the reports.
//
// Output paths are checked before the first benchmark runs, so a bad path
// fails in a second instead of after the whole run, but nothing is created
// or truncated until there is something to write: each report is written to
// a temporary file beside its target and renamed over it, so a target is
// either left as it was or replaced by a complete report. Each scenario's
// table is printed as soon as it finishes; SIGINT / SIGTERM stop the run
// after the current repetition and still write every report, with the
// finished scenarios and "interrupted": true.
#include "bench.hpp"

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>
#include <sstream>
#include <sync/tier.hpp>
#include <thread>

#include "benches/scenarios.hpp"
#include "environment.hpp"
#include "exit_codes.hpp"
#include "format.hpp"
#include "harness.hpp"
#include "names.hpp"
#include "report.hpp"
#include "syscall_counter.hpp"

#if defined(_WIN32)
#include <io.h>
#define SYNCBENCH_ISATTY _isatty
#define SYNCBENCH_ACCESS _access
#define SYNCBENCH_W_OK 2
#else
#include <pthread.h>
#include <unistd.h>
#define SYNCBENCH_ISATTY isatty
#define SYNCBENCH_ACCESS access
#define SYNCBENCH_W_OK W_OK
#endif
#include "placement.hpp"
#include "table.hpp"

namespace syncbench {
namespace {

struct BenchOptions {
  bool quick = false, full = false, list = false, wide = false;
  std::string filter, tier, backend, json, csv, html;
  int reps = 0;              // 0: the profile's
  double rep_ms = 0;         // 0: the profile's
  double idle_spin_us = -1;  // < 0: libsync's default
  std::string placement = "spread";
};

// A report named on the command line: "-" is stdout.
struct OutputFile {
  std::string flag, path;
  bool to_stdout() const { return path == "-"; }
};

// Why `path` cannot receive a report, or "" if it can. Creates nothing.
std::string unwritable_reason(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  const fs::file_status st = fs::status(p, ec);
  if (fs::is_directory(st)) return "it is a directory";
  fs::path dir = p.parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) return "no such directory: " + dir.string();
  if (SYNCBENCH_ACCESS(dir.string().c_str(), SYNCBENCH_W_OK) != 0)
    return std::strerror(errno) + std::string(" (directory ") + dir.string() + ")";
  if (fs::exists(st) && SYNCBENCH_ACCESS(path.c_str(), SYNCBENCH_W_OK) != 0) return std::strerror(errno);
  return "";
}

// Writes `text` to a temporary file beside `path` and renames it over
// `path`, so readers never see a half-written or empty report.
bool write_whole_file(const std::string& path, const std::string& text, std::string& error) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  fs::path tmp = target;
  tmp += ".partial-" + std::to_string(static_cast<unsigned long long>(
                           std::chrono::steady_clock::now().time_since_epoch().count()));
  {
    std::ofstream f(tmp, std::ios::out | std::ios::trunc | std::ios::binary);
    f << text;
    f.close();
    if (!f) {
      error = std::strerror(errno);
      std::error_code ec;
      fs::remove(tmp, ec);
      return false;
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    error = ec.message();
    fs::remove(tmp, ec);
    return false;
  }
  return true;
}

// ---- interruption ----

std::atomic<int> g_stop_signal{0};

// SIGINT / SIGTERM stop the run at the next step. On POSIX the signals are
// blocked in every thread (set before any thread starts, so all inherit it)
// and taken by one thread with sigwait: no loop thread ever sees EINTR, and
// the flag is set outside any signal handler. A second signal ends the
// process at once, without reports.
void catch_stop_signals() {
#if defined(_WIN32)
  auto handler = +[](int sig) {
    if (g_stop_signal.exchange(sig) != 0) std::_Exit(128 + sig);
    std::signal(sig, SIG_DFL);
  };
  std::signal(SIGINT, handler);
  std::signal(SIGTERM, handler);
#else
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (g_stop_signal.exchange(sig) != 0) std::_Exit(128 + sig);
    }
  }).detach();
#endif
}

std::string seconds_text(double s) {
  char buf[32];
  if (s < 90)
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  else
    std::snprintf(buf, sizeof buf, "%.0f min %02.0f s", std::floor(s / 60), std::fmod(s, 60));
  return buf;
}

// The pairs to benchmark. Throws TierUnavailable (exit 3) for a forced tier
// or backend that cannot run here.
std::vector<TierPair> choose_pairs(const BenchOptions& o, std::vector<std::string>& notes) {
  using libsync::BackendKind;
  using libsync::Tier;
  const libsync::TierReport& rep = libsync::tier_report();
  const Tier want_tier = o.tier.empty() ? Tier::automatic : *libsync::parse_tier(o.tier);
  const BackendKind want_backend =
      o.backend.empty() ? BackendKind::automatic : *libsync::parse_backend(o.backend);

  if (!o.tier.empty() && o.tier == "auto" && o.backend.empty())
    return {TierPair{rep.auto_tier, rep.auto_backend}};
  if (want_tier != Tier::automatic || want_backend != BackendKind::automatic) {
    // select_tier() gives the library's own refusal text (exit 3).
    libsync::select_tier(libsync::LoopOptions{want_tier, want_backend, false});
  }

  std::vector<TierPair> pairs;
  for (const libsync::TierStatus& t : rep.tiers) {
    if (!t.available) {
      notes.push_back("tier " + std::string(libsync::to_string(t.tier)) + " not benchmarked: " + t.reason);
      continue;
    }
    if (want_tier != Tier::automatic && t.tier != want_tier) continue;
    if (t.self_test.ran && !t.self_test.passed && want_tier != t.tier) {
      notes.push_back("tier " + std::string(libsync::to_string(t.tier)) +
                      " skipped: its live self-test failed (" + t.self_test.detail +
                      "); force it with --tier to measure it anyway");
      continue;
    }
    for (const libsync::BackendStatus& b : rep.backends) {
      if (!b.available) continue;
      if (want_backend != BackendKind::automatic && b.backend != want_backend) continue;
      try {
        libsync::Selection s = libsync::select_tier(libsync::LoopOptions{t.tier, b.backend, false});
        if (s.tier == t.tier && s.backend == b.backend) pairs.push_back({t.tier, b.backend});
      } catch (const libsync::TierUnavailable&) {
        // Not a valid combination (uring-futex needs the uring backend).
      }
    }
  }
  if (pairs.empty())
    throw libsync::TierUnavailable("no available tier runs with --tier " +
                                   (o.tier.empty() ? "auto" : o.tier) + " --backend " +
                                   (o.backend.empty() ? "auto" : o.backend));
  return pairs;
}

std::vector<Scenario> all_scenarios(const BenchPlan& plan) {
  std::vector<Scenario> s;
  add_uncontended_scenarios(s, plan);
  add_same_loop_scenarios(s, plan);
  add_cross_loop_scenarios(s, plan);
  add_plain_thread_scenarios(s, plan);
  add_fan_out_scenarios(s, plan);
  add_contended_scenarios(s, plan);
  add_unified_io_scenarios(s, plan);
  add_asio_baselines(s, plan);
  add_mass_waiter_scenarios(s, plan);
  return s;
}

// A usage error found before anything runs: printed after "syncbench bench: ", exit 2.
struct UsageError {
  std::string message;
};

Profile bench_profile(const BenchOptions& o) {
  Profile profile = o.full ? Profile{"full", 25, 50, 2} : Profile{"quick", 15, 5, 1};
  if (o.reps > 0) profile.reps = o.reps;
  if (o.rep_ms > 0) profile.rep_ms = o.rep_ms;
  return profile;
}

std::optional<std::regex> scenario_filter(const BenchOptions& o) {
  if (o.filter.empty()) return std::nullopt;
  try {
    return std::regex(o.filter, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw UsageError{"--filter '" + o.filter + "' is not a valid regular expression: " + e.what()};
  }
}

// The reports asked for, each checked to be writable; at most one on stdout.
std::vector<OutputFile> output_files(const BenchOptions& o) {
  std::vector<OutputFile> outputs;
  int on_stdout = 0;
  for (auto [flag, path] : {std::pair{"--json", &o.json}, {"--csv", &o.csv}, {"--html", &o.html}}) {
    if (path->empty()) continue;
    OutputFile f{flag, *path};
    if (f.to_stdout()) {
      ++on_stdout;
    } else if (std::string why = unwritable_reason(*path); !why.empty()) {
      throw UsageError{"cannot write " + std::string(flag) + " file '" + *path + "': " + why};
    }
    outputs.push_back(std::move(f));
  }
  if (on_stdout > 1) throw UsageError{"only one of --json, --csv, --html can write to stdout ('-')"};
  return outputs;
}

bool any_on_stdout(const std::vector<OutputFile>& outputs) {
  for (const OutputFile& f : outputs)
    if (f.to_stdout()) return true;
  return false;
}

std::vector<Scenario> filtered(std::vector<Scenario> scenarios, const std::optional<std::regex>& filter,
                               const BenchOptions& o) {
  if (!filter) return scenarios;
  std::vector<Scenario> kept;
  for (auto& s : scenarios)
    if (std::regex_search(s.name, *filter)) kept.push_back(std::move(s));
  if (kept.empty()) {
    std::string message = "--filter '" + o.filter + "' matches no scenario; the scenarios are:";
    for (const auto& s : scenarios) message += "\n  " + s.name;
    throw UsageError{message};
  }
  return kept;
}

// Progress on stderr, only on a terminal: elapsed time, and an estimate of
// what is left from the steps done so far (a step is one repetition of one
// subject, or its set-up, calibration or counted run). Its callback also
// ends the run at the next step once a stop signal has arrived.
class ProgressLine {
 public:
  ProgressLine(const std::vector<Scenario>& scenarios, const Profile& profile, Clock::time_point wall0)
      : wall0_(wall0), tty_(SYNCBENCH_ISATTY(2) != 0), scenarios_(scenarios.size()) {
    for (const Scenario& sc : scenarios) {
      const int reps = scenario_profile(sc, profile).reps;
      weight_.push_back(static_cast<double>(sc.subjects.size()) * (reps + 3));
      total_weight_ += weight_.back();
    }
  }

  bool on_terminal() const { return tty_; }
  void start_scenario() { ++index_; }
  void finish_scenario() { done_weight_ += weight_[index_ - 1]; }
  void clear() const {
    if (tty_) std::cerr << "\r\033[K" << std::flush;
  }

  Progress callback() {
    return [this](const std::string& text, double fraction) { show(text, fraction); };
  }

 private:
  void show(const std::string& text, double fraction) const {
    if (g_stop_signal.load() != 0) throw Interrupted{};
    if (!tty_) return;
    if (text.empty()) {
      clear();
      return;
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - wall0_).count();
    const double done = done_weight_ + fraction * weight_[index_ - 1];
    std::string eta;
    if (done > 0.02 * total_weight_)
      eta = ", ~" + seconds_text(elapsed / done * (total_weight_ - done)) + " left";
    std::string line = "[" + std::to_string(index_) + "/" + std::to_string(scenarios_) + " " +
                       seconds_text(elapsed) + eta + "] " + text;
    const std::size_t cols = terminal_columns(2);
    line.resize(std::min(line.size(), cols > 1 ? cols - 1 : 110));
    std::cerr << "\r\033[K" << line << std::flush;
  }

  Clock::time_point wall0_;
  bool tty_;
  std::size_t scenarios_;
  std::vector<double> weight_;
  double total_weight_ = 0, done_weight_ = 0;
  std::size_t index_ = 0;
};

// What every report says about how its figures were taken.
void add_method_notes(std::vector<std::string>& notes, const SyscallCounter& counter) {
  notes.push_back("syscalls per op: " + counter.status() +
                  (counter.available()
                       ? "; a '~' marks rows where only the loops' own counters were available"
                       : "; libsync rows fall back to the loops' own counters (marked '~'), "
                         "baseline rows have none"));
  notes.push_back(
      "loop counters = LoopStats::syscalls + notifier_writes of the loops a subject runs; they do not "
      "see plain threads (plain-thread rows) or other libraries");
  notes.push_back(
      "sleeps/op = times a loop blocked in the kernel (LoopStats::waits); fx-arm/op = futex waits on a "
      "loop's "
      "doorbell (futex_waits_armed, uring-futex only: FUTEX_WAIT SQEs with I/O in flight or a timer, "
      "futex(2) without); "
      "wakes/op = futex wakes sent as SQEs or syscalls plus eventfd / "
      "doorbell writes (futex_wake_sqes + futex_wake_syscalls + notifier_writes); all per operation over the "
      "timed repetitions, libsync rows only");
  notes.push_back(
      "mean +- sd: the arithmetic mean and sample standard deviation of the distribution the row's "
      "statistics come from; p99 is shown only where every operation is timed");
  notes.push_back(
      "hand-off rows: each round trip is timed and recorded as round trip / 2; fan-out rows: each round "
      "is timed from the wake call until the last waiter has resumed");
  notes.push_back(
      "allocs/op counts every operator new in the counted repetition, including its own setup (task frames, "
      "a posted spawn): visible only where a repetition has few operations (fan-out)");
}

// The report before any scenario has run: profile, pairs, environment, notes.
BenchReport empty_report(const Profile& profile, const BenchPlan& plan, std::size_t planned,
                         std::vector<std::string> notes) {
  BenchReport report;
  report.profile = profile;
  report.scenarios_planned = planned;
  for (const auto& p : plan.pairs) report.pairs.push_back(p.label());
  SyscallCounter& counter = SyscallCounter::instance();
  add_method_notes(notes, counter);
  std::string pairs_text;
  for (const auto& p : report.pairs) pairs_text += (pairs_text.empty() ? "" : " ") + p;
  const auto spin = plan.pairs.empty() ? libsync::kDefaultIdleSpin : plan.pairs.front().idle_spin;
  report.env =
      collect_environment({{"profile", profile.name},
                           {"tiers_benchmarked", pairs_text},
                           {"idle_spin_us", format_number(static_cast<double>(spin.count()) / 1000.0)},
                           {"placement", placement_text()},
                           {"syscall_counting", counter.status()}});
  report.notes = std::move(notes);
  return report;
}

// Runs the scenarios in order, printing each one's table as it finishes,
// until the end or a stop signal. Returns whether a table was fitted to the
// terminal.
bool run_scenarios(const std::vector<Scenario>& scenarios, const Profile& profile, ProgressLine& line,
                   BenchReport& report, std::ostream& human, const TableLayout& layout) {
  const Progress progress = line.callback();
  bool fitted = false;
  for (const Scenario& sc : scenarios) {
    line.start_scenario();
    std::vector<Measurement> rows;
    try {
      rows = run_scenario(sc, profile, progress);
    } catch (const Interrupted&) {
      line.clear();
      report.interrupted = true;
      break;
    }
    std::vector<const Measurement*> group;
    for (auto& m : rows) group.push_back(&m);
    fitted |= write_scenario_table(human, report, group, layout);
    human.flush();
    for (auto& m : rows) report.results.push_back(std::move(m));
    ++report.scenarios_done;
    line.finish_scenario();
  }
  if (!report.interrupted && g_stop_signal.load() != 0)
    report.interrupted = report.scenarios_done < scenarios.size();
  return fitted;
}

// Writes each requested report; exit 1 if one could not be written.
int write_reports(const std::vector<OutputFile>& outputs, const BenchReport& report) {
  int rc = kExitOk;
  for (const OutputFile& f : outputs) {
    std::ostringstream text;
    if (f.flag == std::string("--json")) write_json(text, report);
    if (f.flag == std::string("--csv")) write_csv(text, report);
    if (f.flag == std::string("--html")) write_html(text, report);
    if (f.to_stdout()) {
      std::cout << text.str() << std::flush;
      if (!std::cout) {
        std::cerr << "syncbench bench: writing the " << f.flag << " report to stdout failed\n";
        rc = kExitFailure;
      }
      continue;
    }
    std::string error;
    if (!write_whole_file(f.path, text.str(), error)) {
      std::cerr << "syncbench bench: writing " << f.flag << " file '" << f.path << "' failed: " << error
                << "\n";
      rc = kExitFailure;
    }
  }
  return rc;
}

// The exit code: interrupted (130) over failed libsync rows or reports (1)
// over 0. A baseline's row (another library, no tier) that fails is printed
// but leaves the status alone: what the run checks is libsync, and a
// baseline can fail for its own reasons (libstdc++'s counting_semaphore
// loses wakes under contention).
int exit_status(const BenchReport& report, bool has_outputs, int rc) {
  for (const auto& m : report.results)
    if (!m.error.empty()) {
      const bool baseline = m.tier == "-";  // rows without a libsync tier/backend pair
      std::cerr << "syncbench bench: " << m.scenario << " [" << m.subject << " " << m.tier << "/" << m.backend
                << "] " << m.error
                << (baseline ? " (a baseline, not libsync: the exit status does not count it)" : "") << "\n";
      if (!baseline) rc = kExitFailure;
    }
  if (report.interrupted) {
    std::cerr << "syncbench bench: interrupted after " << report.scenarios_done << " of "
              << report.scenarios_planned << " scenarios"
              << (has_outputs ? "; the reports hold the finished ones" : "") << "\n";
    return kExitInterrupted;
  }
  return rc;
}

int run_bench(const BenchOptions& o) {
  const auto wall0 = Clock::now();
  catch_stop_signals();
  const Profile profile = bench_profile(o);
  std::optional<std::regex> filter;
  std::vector<OutputFile> outputs;
  try {
    filter = scenario_filter(o);
    outputs = output_files(o);
  } catch (const UsageError& e) {
    std::cerr << "syncbench bench: " << e.message << "\n";
    return kExitUsage;
  }
  // With a report on stdout, the human-readable tables go to stderr.
  const bool on_stdout = any_on_stdout(outputs);
  std::ostream& human = on_stdout ? std::cerr : std::cout;
  TableLayout layout;
  if (!o.wide) layout.max_width = terminal_columns(on_stdout ? 2 : 1);

  std::vector<std::string> notes;
  BenchPlan plan;
  plan.full = o.full;
  plan.pairs = choose_pairs(o, notes);  // may throw TierUnavailable: exit 3
  if (o.idle_spin_us >= 0) {
    const auto spin = std::chrono::nanoseconds(static_cast<std::int64_t>(o.idle_spin_us * 1000.0));
    for (TierPair& p : plan.pairs) p.idle_spin = spin;
  }
  if (o.list) {
    for (const auto& s : all_scenarios(plan))
      std::cout << s.name << "\t[" << s.family << "] " << s.title << "\n";
    return kExitOk;
  }
  std::vector<Scenario> scenarios;
  try {
    scenarios = filtered(all_scenarios(plan), filter, o);
  } catch (const UsageError& e) {
    std::cerr << "syncbench bench: " << e.message << "\n";
    return kExitUsage;
  }

  Watchdog::instance();  // its thread starts before the main thread is pinned, and keeps every CPU
  set_placement(o.placement == "packed" ? Placement::packed
                : o.placement == "free" ? Placement::free
                                        : Placement::spread);
  ProgressLine line(scenarios, profile, wall0);
  BenchReport report = empty_report(profile, plan, scenarios.size(), std::move(notes));
  write_table_header(human, report);
  human.flush();
  if (run_scenarios(scenarios, profile, line, report, human, layout))
    report.notes.push_back(
        "tables were fitted to the terminal's width; --wide, or output to a pipe or file, "
        "prints every column in full");
  report.goals = evaluate_goals(report.results);
  report.wall_seconds = std::chrono::duration<double>(Clock::now() - wall0).count();
  write_table_footer(human, report, layout);
  human.flush();
  return exit_status(report, !outputs.empty(), write_reports(outputs, report));
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand(
      "bench",
      "Benchmark every available tier/backend pair beside std:: and Boost.Asio baselines measured in the "
      "same run: median, mean +- standard deviation, spread, ops/s, syscalls, kernel waits and wakes and "
      "allocations per operation, ratio to the baseline. Each scenario's table is printed as it finishes.");
  auto* quick = sub->add_flag("--quick", o->quick, "Short run, well under a minute (the default)");
  auto* full = sub->add_flag("--full", o->full, "Long run: more and longer repetitions");
  quick->excludes(full);
  sub->add_option("--filter", o->filter,
                  "Run only scenarios whose name matches this regular expression (a plain substring works); "
                  "see --list")
      ->type_name("REGEX");
  sub->add_flag("--list", o->list, "List the scenario names and exit");
  sub->add_option("--tier", o->tier, "Benchmark libsync only on this tier (default: every available tier)")
      ->check(CLI::IsMember(tier_names()));
  sub->add_option("--backend", o->backend,
                  "Benchmark libsync only on this backend (default: every available one)")
      ->check(CLI::IsMember(backend_names()));
  sub->add_option("--json", o->json, "Write the results as JSON to FILE ('-': stdout, tables go to stderr)")
      ->type_name("FILE");
  sub->add_option("--csv", o->csv, "Write the results as CSV to FILE ('-': stdout)")->type_name("FILE");
  sub->add_option("--html", o->html, "Write a self-contained HTML report with charts to FILE ('-': stdout)")
      ->type_name("FILE");
  sub->add_option("--reps", o->reps, "Timed repetitions per subject (overrides the profile)")
      ->check(CLI::Range(1, 1000));
  sub->add_option("--rep-ms,--rep_ms", o->rep_ms,
                  "Target duration of one repetition in ms (overrides the profile)")
      ->check(CLI::Range(0.1, 10000.0));
  sub->add_option("--idle-spin-us,--idle_spin_us", o->idle_spin_us,
                  "How long each libsync loop spins before it sleeps (LoopOptions::idle_spin), in "
                  "microseconds; 0 never spins (default: libsync's, " +
                      std::to_string(libsync::kDefaultIdleSpin.count() / 1000) + ")")
      ->check(CLI::Range(0.0, 1000000.0));
  sub->add_option("--placement", o->placement,
                  "Where the threads doing the measured work run: spread (default) pins partners to "
                  "different CPUs, packed puts every thread on one CPU, free leaves placement to the "
                  "scheduler; every subject of a run is placed alike")
      ->check(CLI::IsMember(placement_names()));
  sub->add_flag("--wide", o->wide,
                "Print every table column even when the terminal is narrower (output to a pipe or file "
                "always has them all)");
  sub->footer(std::string("Examples:\n"
                          "  syncbench bench                                  quick run of every scenario\n"
                          "  syncbench bench --filter cross-loop --tier uring-futex\n"
                          "  syncbench bench --full --json run.json --html run.html\n"
                          "  syncbench bench --placement packed              every thread on one CPU\n"
                          "  syncbench bench --json - | jq '.results[] | {scenario, subject, median_ns}'\n"
                          "  syncbench compare before.json after.json        did anything get slower?\n"
                          "\n"
                          "Ctrl-C (SIGINT) or SIGTERM stops after the current repetition: the finished "
                          "scenarios' tables\nare printed and every report is written with "
                          "\"interrupted\": true; exit code 130.\n\n") +
              kExitCodeHelp);
  sub->callback([o, &exit_code] { exit_code = run_bench(*o); });
}

}  // namespace syncbench
