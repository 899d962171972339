// `syncbench bench`: chooses the tier/backend pairs, builds the scenario
// list (benches/), filters it, runs it, and writes the reports.
//
// Output files are opened before the first benchmark runs, so a bad path
// fails in a second instead of after the whole run.
#include "bench.hpp"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>
#include <sync/tier.hpp>

#include "benches/scenarios.hpp"
#include "environment.hpp"
#include "exit_codes.hpp"
#include "harness.hpp"
#include "names.hpp"
#include "report.hpp"
#include "syscall_counter.hpp"

#if defined(_WIN32)
#include <io.h>
#define SYNCBENCH_ISATTY _isatty
#else
#include <unistd.h>
#define SYNCBENCH_ISATTY isatty
#endif

namespace syncbench {
namespace {

struct BenchOptions {
  bool quick = false, full = false, list = false;
  std::string filter, tier, backend, json, csv, html;
  int reps = 0;       // 0: the profile's
  double rep_ms = 0;  // 0: the profile's
};

// An output file named on the command line, opened up front.
struct OutputFile {
  std::string flag, path;
  std::ofstream stream;
};

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
  return s;
}

int run_bench(const BenchOptions& o) {
  const auto wall0 = Clock::now();
  Profile profile = o.full ? Profile{"full", 25, 50, 2} : Profile{"quick", 7, 10, 1};
  if (o.reps > 0) profile.reps = o.reps;
  if (o.rep_ms > 0) profile.rep_ms = o.rep_ms;

  std::optional<std::regex> filter;
  if (!o.filter.empty()) {
    try {
      filter.emplace(o.filter, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      std::cerr << "syncbench bench: --filter '" << o.filter
                << "' is not a valid regular expression: " << e.what() << "\n";
      return kExitUsage;
    }
  }

  std::vector<OutputFile> outputs;
  for (auto [flag, path] : {std::pair{"--json", &o.json}, {"--csv", &o.csv}, {"--html", &o.html}}) {
    if (path->empty()) continue;
    OutputFile f{flag, *path, std::ofstream(*path, std::ios::out | std::ios::trunc)};
    if (!f.stream) {
      std::cerr << "syncbench bench: cannot write " << flag << " file '" << *path
                << "': " << std::strerror(errno) << "\n";
      return kExitUsage;
    }
    outputs.push_back(std::move(f));
  }

  std::vector<std::string> notes;
  BenchPlan plan;
  plan.full = o.full;
  plan.pairs = choose_pairs(o, notes);  // may throw TierUnavailable: exit 3

  std::vector<Scenario> scenarios = all_scenarios(plan);
  if (o.list) {
    for (const auto& s : scenarios) std::cout << s.name << "\t[" << s.family << "] " << s.title << "\n";
    return kExitOk;
  }
  if (filter) {
    std::vector<Scenario> kept;
    for (auto& s : scenarios)
      if (std::regex_search(s.name, *filter)) kept.push_back(std::move(s));
    if (kept.empty()) {
      std::cerr << "syncbench bench: --filter '" << o.filter << "' matches no scenario; the scenarios are:\n";
      for (const auto& s : all_scenarios(plan)) std::cerr << "  " << s.name << "\n";
      return kExitUsage;
    }
    scenarios = std::move(kept);
  }

  const bool tty = SYNCBENCH_ISATTY(2);
  std::size_t index = 0;
  auto progress = [&](const std::string& text) {
    if (!tty) return;
    if (text.empty()) {
      std::cerr << "\r\033[K" << std::flush;
      return;
    }
    std::cerr << "\r\033[K[" << index << "/" << scenarios.size() << "] " << text.substr(0, 110) << std::flush;
  };

  BenchReport report;
  report.profile = profile;
  for (const auto& p : plan.pairs) report.pairs.push_back(p.label());
  SyscallCounter& counter = SyscallCounter::instance();
  notes.push_back("syscalls per op: " + counter.status() +
                  (counter.available()
                       ? "; a '~' marks rows where only the loops' own counters were available"
                       : "; libsync rows fall back to the loops' own counters (marked '~'), "
                         "baseline rows have none"));
  notes.push_back(
      "loop counters = LoopStats::syscalls + notifier_writes of the loops a subject runs; they do not "
      "see plain threads (plain-thread rows) or other libraries");
  notes.push_back(
      "hand-off rows: each round trip is timed and recorded as round trip / 2; fan-out rows: each round "
      "is timed from the wake call until the last waiter has resumed");
  notes.push_back(
      "allocs/op counts every operator new in the counted repetition, including its own setup (task frames, "
      "a "
      "posted spawn): visible only where a repetition has few operations (fan-out)");
  for (const Scenario& sc : scenarios) {
    ++index;
    auto rows = run_scenario(sc, profile, progress);
    for (auto& m : rows) report.results.push_back(std::move(m));
  }
  progress("");

  report.notes = std::move(notes);
  report.targets = evaluate_targets(report.results);
  report.wall_seconds = std::chrono::duration<double>(Clock::now() - wall0).count();
  std::string pairs_text;
  for (const auto& p : report.pairs) pairs_text += (pairs_text.empty() ? "" : " ") + p;
  report.env = collect_environment(
      {{"profile", profile.name}, {"tiers_benchmarked", pairs_text}, {"syscall_counting", counter.status()}});

  write_table(std::cout, report);
  std::cout.flush();
  int rc = kExitOk;
  for (OutputFile& f : outputs) {
    if (f.flag == std::string("--json")) write_json(f.stream, report);
    if (f.flag == std::string("--csv")) write_csv(f.stream, report);
    if (f.flag == std::string("--html")) write_html(f.stream, report);
    f.stream.close();
    if (!f.stream) {
      std::cerr << "syncbench bench: writing " << f.flag << " file '" << f.path << "' failed\n";
      rc = kExitFailure;
    }
  }
  for (const auto& m : report.results)
    if (!m.error.empty()) {
      std::cerr << "syncbench bench: " << m.scenario << " [" << m.subject << " " << m.tier << "/" << m.backend
                << "] " << m.error << "\n";
      rc = kExitFailure;
    }
  return rc;
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand(
      "bench",
      "Benchmark every available tier/backend pair beside std:: and Boost.Asio baselines measured in the "
      "same run: median, p99, max, ops/s, syscalls and allocations per operation, ratio to the baseline.");
  auto* quick = sub->add_flag("--quick", o->quick, "Short run, well under 30 s (the default)");
  auto* full = sub->add_flag("--full", o->full, "Long run: more and longer repetitions");
  quick->excludes(full);
  sub->add_option("--filter", o->filter,
                  "Run only scenarios whose name matches this regular expression (a plain substring works); "
                  "see --list");
  sub->add_flag("--list", o->list, "List the scenario names and exit");
  sub->add_option("--tier", o->tier, "Benchmark libsync only on this tier (default: every available tier)")
      ->check(CLI::IsMember(tier_names()));
  sub->add_option("--backend", o->backend,
                  "Benchmark libsync only on this backend (default: every available one)")
      ->check(CLI::IsMember(backend_names()));
  sub->add_option("--json", o->json, "Write the results as JSON to FILE")->type_name("FILE");
  sub->add_option("--csv", o->csv, "Write the results as CSV to FILE")->type_name("FILE");
  sub->add_option("--html", o->html, "Write a self-contained HTML report with charts to FILE")
      ->type_name("FILE");
  sub->add_option("--reps", o->reps, "Timed repetitions per subject (overrides the profile)")
      ->check(CLI::Range(1, 1000));
  sub->add_option("--rep-ms", o->rep_ms, "Target duration of one repetition in ms (overrides the profile)")
      ->check(CLI::Range(0.1, 10000.0));
  sub->footer(kExitCodeHelp);
  sub->callback([o, &exit_code] { exit_code = run_bench(*o); });
}

}  // namespace syncbench
