// The stdout report: one aligned table per scenario, then the project's
// performance goals evaluated on this run, then where the numbers came from.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>

#include "format.hpp"
#include "report.hpp"
#include "table.hpp"

namespace syncbench {
namespace {

std::string row_label(const Measurement& m) {
  return m.tier == "-" ? "-" : m.tier + "/" + m.backend;
}

std::string syscalls_cell(const Measurement& m) {
  if (!m.syscalls_per_op) return "-";
  // A trailing '~' marks a figure from the loops' own counters, which do not
  // see every thread (see the notes under the tables).
  return format_fixed(m.syscalls_per_op, *m.syscalls_per_op < 10 ? 2 : 0) +
         (m.syscalls_source == "loop-counters" ? "~" : "");
}

std::string ratio_cell(const Measurement& m) {
  if (!m.ratio) return "-";
  return format_ratio(*m.ratio) + (m.subject == m.baseline ? " (base)" : "");
}

// `text` on lines of at most `width` columns (0: one line), the first
// starting with `first`, the rest with `rest`; words longer than a line
// are not split.
void write_wrapped(std::ostream& out, const std::string& first, const std::string& rest,
                   const std::string& text, std::size_t width) {
  std::string line = first;
  bool fresh = true;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = text.find(' ', i);
    if (j == std::string::npos) j = text.size();
    const std::string word = text.substr(i, j - i);
    if (!fresh && width > 0 && line.size() + 1 + word.size() > width) {
      out << line << "\n";
      line = rest;
      fresh = true;
    }
    if (!fresh) line += ' ';
    line += word;
    fresh = false;
    i = j + 1;
  }
  out << line << "\n";
}

}  // namespace

void write_table_header(std::ostream& out, const BenchReport& r) {
  out << "syncbench bench (" << r.profile.name << ": " << r.profile.reps << " timed repetitions of ~"
      << format_number(r.profile.rep_ms) << " ms per subject, interleaved, after calibration and warm-up)\n";
  out << "kernel " << r.env.get("kernel") << ", " << r.env.get("cpu_model") << " x" << r.env.get("cpus")
      << ", libsync " << r.env.get("libsync_version") << " " << r.env.get("build_type") << ", commit "
      << r.env.get("git_commit").substr(0, 12)
      << (r.env.get("git_commit").find('+') != std::string::npos ? " (tree had uncommitted changes)" : "")
      << "\n";
  out << "tiers benchmarked: ";
  for (std::size_t i = 0; i < r.pairs.size(); ++i) out << (i ? ", " : "") << r.pairs[i];
  out << (r.pairs.empty() ? "none (baselines only)" : "") << "; auto picks " << r.env.get("auto_tier") << "/"
      << r.env.get("auto_backend") << "\n";
  if (const std::string placement = r.env.get("placement"); !placement.empty())
    out << "threads: " << placement << "\n";
}

namespace {

// What one operation is and what the statistics are taken over.
void write_basis_line(std::ostream& out, const BenchReport& r, const std::vector<const Measurement*>& group,
                      const TableLayout& layout) {
  const Measurement& f = *group.front();
  const bool per_op = f.basis == StatBasis::per_op;
  std::uint64_t samples = 0;
  int reps = 0;
  for (const auto* m : group) {
    samples = std::max<std::uint64_t>(samples, m->samples);
    reps = std::max(reps, m->reps);
  }
  write_wrapped(out, "    ", "      ",
                "one op = " + f.op_unit + "; statistics over " +
                    (per_op ? "every timed op (up to " + std::to_string(samples) +
                                  " per row): median, mean +- sd, p99, max"
                            : "the " + std::to_string(reps ? reps : r.profile.reps) +
                                  " repetition means: median, mean +- sd, min, max"),
                layout.max_width);
}

// The columns; the number after the alignment is the column's drop rank
// (on a narrow terminal the highest goes first).
TextTable results_table(const Measurement& f, bool per_op) {
  using A = TextTable::Align;
  return TextTable({{"subject"},
                    {"tier/backend"},
                    {"median", A::right},
                    {"mean +- sd", A::right, 3},
                    {per_op ? "p99" : "min", A::right, 4},
                    {"max", A::right, 5},
                    {"ops/s", A::right, 6},
                    {"sys/op", A::right, 1},
                    {"sleeps/op", A::right, 7},
                    {"fx-arm/op", A::right, 8},
                    {"wakes/op", A::right, 8},
                    {"allocs/op", A::right, 2},
                    {"vs " + f.baseline, A::right},
                    {"setup", A::left, 9}});
}

void add_result_row(TextTable& t, const Measurement& m, bool per_op) {
  if (!m.error.empty()) {
    t.add_row({m.subject, row_label(m), "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-",
               "ERROR: " + m.error});
    return;
  }
  std::string sleeps = "-", arms = "-", wakes = "-";
  if (m.loop_per_op) {
    const auto& lp = *m.loop_per_op;
    auto cell = [](double v) { return format_fixed(v, v < 10 ? 2 : 0); };
    sleeps = cell(lp.waits);
    arms = cell(lp.futex_waits_armed);
    wakes = cell(lp.futex_wake_sqes + lp.futex_wake_syscalls + lp.notifier_writes);
  }
  t.add_row({m.subject, row_label(m), format_ns(m.median_ns),
             m.samples > 1 ? format_ns(m.mean_ns) + " +- " + format_ns(m.stddev_ns) : format_ns(m.mean_ns),
             per_op ? (m.p99_ns ? format_ns(*m.p99_ns) : "-") : format_ns(m.min_ns), format_ns(m.max_ns),
             format_rate(m.ops_per_s), syscalls_cell(m), sleeps, arms, wakes,
             format_fixed(m.allocs_per_op, 2), ratio_cell(m), m.note});
}

// The same-loop promise is "zero syscalls"; print the raw counts.
void write_same_loop_syscalls(std::ostream& out, const std::vector<const Measurement*>& group) {
  for (const Measurement* m : group) {
    if (m->tier == "-" || !m->error.empty()) continue;
    out << "    syscalls, libsync " << row_label(*m) << ": ";
    if (m->counted_syscalls)
      out << *m->counted_syscalls << " kernel-counted in " << m->counted_ops << " hand-offs; ";
    out << "loop counters: " << (m->counted_loop_syscalls ? std::to_string(*m->counted_loop_syscalls) : "-")
        << " in that repetition, " << format_fixed(m->loop_syscalls_per_op, 6)
        << " per hand-off over the timed ones\n";
  }
}

}  // namespace

bool write_scenario_table(std::ostream& out, const BenchReport& r,
                          const std::vector<const Measurement*>& group, const TableLayout& layout) {
  if (group.empty()) return false;
  const Measurement& f = *group.front();
  const bool per_op = f.basis == StatBasis::per_op;
  out << "\n[" << f.family << "] " << f.scenario << ": " << f.title << "\n";
  write_basis_line(out, r, group, layout);
  TextTable t = results_table(f, per_op);
  for (const Measurement* m : group) add_result_row(t, *m, per_op);
  const TextTable::Fit fit = t.print(out, layout.max_width);
  if (f.family == 2) write_same_loop_syscalls(out, group);
  if (!fit.dropped.empty()) {
    std::string cols;
    for (const auto& c : fit.dropped) cols += (cols.empty() ? "" : ", ") + c;
    write_wrapped(out, "    ", "     ",
                  "(left out to fit " + std::to_string(layout.max_width) + " columns: " + cols +
                      "; --wide shows every column)",
                  layout.max_width);
  }
  return !fit.dropped.empty() || fit.cut;
}

void write_table_footer(std::ostream& out, const BenchReport& r, const TableLayout& layout) {
  if (r.interrupted)
    out << "\nInterrupted: " << r.scenarios_done << " of " << r.scenarios_planned
        << " scenarios finished; the reports hold those.\n";
  if (!r.goals.empty()) {
    out << "\n";
    write_wrapped(out, "", "",
                  "Goals (what libsync must show on this machine), checked on this run's figures (reported, "
                  "not asserted; a busy machine can miss one):",
                  layout.max_width);
    for (const auto& g : r.goals) {
      const std::string result = !g.not_judged.empty() ? "unjudged"
                                 : !g.met              ? "not measured"
                                 : *g.met              ? "met    "
                                                       : "not met";
      write_wrapped(out, "  " + result + "  ", "           ", g.goal, layout.max_width);
      write_wrapped(out, "           ", "             ", "measured: " + g.measured, layout.max_width);
      if (!g.not_judged.empty())
        write_wrapped(out, "           ", "             ", "not judged: " + g.not_judged, layout.max_width);
      write_wrapped(out, "           ", "             ", "compares: " + g.compares, layout.max_width);
    }
  }
  if (!r.notes.empty()) {
    out << "\nNotes\n";
    for (const auto& n : r.notes) write_wrapped(out, "  - ", "    ", n, layout.max_width);
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", r.wall_seconds);
  out << "\ntotal wall time " << buf << " s\n";
}

void write_table(std::ostream& out, const BenchReport& r, const TableLayout& layout) {
  write_table_header(out, r);
  std::size_t i = 0;
  while (i < r.results.size()) {
    std::vector<const Measurement*> group;
    std::size_t j = i;
    while (j < r.results.size() && r.results[j].scenario == r.results[i].scenario)
      group.push_back(&r.results[j++]);
    write_scenario_table(out, r, group, layout);
    i = j;
  }
  write_table_footer(out, r, layout);
}

namespace {

const Measurement* find(const std::vector<Measurement>& rs, const std::string& scenario,
                        const std::string& subject, const std::string& tier = "",
                        const std::string& backend = "") {
  for (const auto& m : rs)
    if (m.scenario == scenario && m.subject == subject && m.error.empty() && m.reps > 0 &&
        (tier.empty() || m.tier == tier) && (backend.empty() || m.backend == backend))
      return &m;
  return nullptr;
}

std::string fx(double v) {
  return format_ratio(v);
}

// For a goal that must hold for every libsync row of a scenario.
GoalCheck every_libsync_row(
    const std::vector<Measurement>& rs, const std::string& scenario, std::string goal, std::string compares,
    const std::function<std::optional<bool>(const Measurement&, std::string&)>& check) {
  GoalCheck g{std::move(goal), std::move(compares), "", std::nullopt, ""};
  for (const auto& m : rs) {
    if (m.scenario != scenario || m.subject != "libsync" || !m.error.empty() || m.reps == 0) continue;
    std::string text;
    std::optional<bool> ok = check(m, text);
    if (!ok) continue;
    g.met = g.met.value_or(true) && *ok;
    g.measured += (g.measured.empty() ? "" : "; ") + m.tier + "/" + m.backend + " " + text;
  }
  return g;
}

// A row's median against another row's; nullopt without that row.
std::optional<double> median_against(const Measurement& m, const Measurement* other) {
  if (!other || other->median_ns <= 0) return std::nullopt;
  return m.median_ns / other->median_ns;
}

// The uncontended fast paths against the atomic floor and std::.
void add_uncontended_goals(std::vector<GoalCheck>& out, const std::vector<Measurement>& rs) {
  out.push_back(every_libsync_row(
      rs, "uncontended/try_acquire", "uncontended try_acquire + release: at most 1.35x the atomic floor",
      "uncontended/try_acquire: each libsync row's median against the bare CAS + fetch_add row",
      [](const Measurement& m, std::string& text) -> std::optional<bool> {
        if (!m.ratio) return std::nullopt;
        text = fx(*m.ratio);
        return *m.ratio <= 1.35;
      }));
  {
    const Measurement* std_sem = find(rs, "uncontended/try_acquire", "std::counting_semaphore");
    out.push_back(every_libsync_row(
        rs, "uncontended/try_acquire",
        "uncontended try_acquire + release: under half the time of std::counting_semaphore",
        "uncontended/try_acquire: each libsync row's median against the std::counting_semaphore row",
        [std_sem](const Measurement& m, std::string& text) -> std::optional<bool> {
          const std::optional<double> r = median_against(m, std_sem);
          if (!r) return std::nullopt;
          text = fx(*r) + " of its time";
          return *r < 0.5;
        }));
  }
  out.push_back(every_libsync_row(
      rs, "uncontended/acquire",
      "uncontended co_await acquire() + release: at most 1.35x the atomic floor taken in a task",
      "uncontended/acquire: each libsync row's median against the row that co_awaits the same CAS and "
      "fetch_add in a task",
      [](const Measurement& m, std::string& text) -> std::optional<bool> {
        if (!m.ratio || m.baseline != "atomic-floor-in-task") return std::nullopt;
        text = fx(*m.ratio);
        return *m.ratio <= 1.35;
      }));
  {
    const Measurement* bare = find(rs, "uncontended/acquire", "atomic-floor");
    out.push_back(every_libsync_row(
        rs, "uncontended/acquire",
        "uncontended co_await acquire() + release: at most 3x the bare atomic floor",
        "uncontended/acquire: each libsync row's median against the bare CAS + fetch_add row",
        [bare](const Measurement& m, std::string& text) -> std::optional<bool> {
          const std::optional<double> r = median_against(m, bare);
          if (!r) return std::nullopt;
          text = fx(*r);
          return *r <= 3.0;
        }));
  }
  out.push_back(every_libsync_row(
      rs, "uncontended/acquire", "uncontended co_await acquire() + release: no heap allocation per operation",
      "uncontended/acquire: operator new calls in the counted repetition of each libsync row",
      [](const Measurement& m, std::string& text) -> std::optional<bool> {
        if (!m.allocs_per_op) return std::nullopt;
        text = std::to_string(m.counted_allocs) + " allocations in " + std::to_string(m.counted_ops) +
               " ops (the repetition's own task frames)";
        // A repetition allocates its benchmark task frames once; anything
        // per operation would show as >= 1 per op.
        return m.counted_allocs <= 4;
      }));
}

// The cross-loop hand-off on uring-futex against a raw futex ping-pong and
// against the generic tier on epoll.
//
// The raw ping-pong is the cheapest way for two threads to hand off through
// the kernel. On VMs its median flips between two modes an order of
// magnitude apart (a wake that crosses to an idle vCPU costs tens of
// microseconds, one that stays on the waker's CPU about two), so a libsync
// median far below it says the baseline ran in its slow mode: such a ratio
// decides nothing, and both ratio goals are reported as not judged, with
// the figures, instead of as met. Tails are another matter: the baseline
// sleeps on every hand-off where a loop often finds its work before it
// parks, so a p99 below the baseline's alone is not suspect.
constexpr double kImplausiblyFastRatio = 0.8;

void add_cross_loop_goals(std::vector<GoalCheck>& out, const std::vector<Measurement>& rs) {
  GoalCheck med{"cross-loop hand-off on uring-futex: median at most 1.15x a raw futex ping-pong",
                "cross-loop/handoff: libsync uring-futex/uring median against the raw-futex row", "",
                std::nullopt, ""};
  GoalCheck p99{"cross-loop hand-off on uring-futex: p99 at most 1.5x a raw futex ping-pong's",
                "cross-loop/handoff: libsync uring-futex/uring p99 against the raw-futex row", "",
                std::nullopt, ""};
  GoalCheck vs_epoll{"cross-loop hand-off: uring-futex faster than generic on epoll",
                     "cross-loop/handoff: libsync uring-futex/uring median against libsync generic/epoll", "",
                     std::nullopt, ""};
  const Measurement* uf = find(rs, "cross-loop/handoff", "libsync", "uring-futex", "uring");
  const Measurement* ge = find(rs, "cross-loop/handoff", "libsync", "generic", "epoll");
  const Measurement* raw = find(rs, "cross-loop/handoff", "raw-futex");
  if (uf && uf->baseline == "raw-futex" && uf->ratio) {
    med.measured = fx(*uf->ratio) + " (" + format_ns(uf->median_ns) +
                   (raw ? " against " + format_ns(raw->median_ns) : std::string()) + ")";
    if (*uf->ratio < kImplausiblyFastRatio) {
      med.not_judged =
          "the raw-futex baseline's median is far above libsync's: it ran in its slow mode "
          "(wakes crossing to an idle CPU) this run; run again";
    } else {
      med.met = *uf->ratio <= 1.15;
    }
  }
  if (uf && uf->baseline == "raw-futex" && uf->p99_ratio && uf->p99_ns) {
    p99.measured = fx(*uf->p99_ratio) + " (" + format_ns(*uf->p99_ns) +
                   (raw && raw->p99_ns ? " against " + format_ns(*raw->p99_ns) : std::string()) + ")";
    if (!med.not_judged.empty())
      p99.not_judged = "the raw-futex baseline ran in a slow mode this run (see the median goal); run again";
    else
      p99.met = *uf->p99_ratio <= 1.5;
  }
  if (uf && ge) {
    vs_epoll.met = uf->median_ns < ge->median_ns;
    vs_epoll.measured = format_ns(uf->median_ns) + " vs " + format_ns(ge->median_ns);
  }
  out.push_back(std::move(med));
  out.push_back(std::move(p99));
  out.push_back(std::move(vs_epoll));
}

void add_same_loop_goals(std::vector<GoalCheck>& out, const std::vector<Measurement>& rs) {
  out.push_back(every_libsync_row(
      rs, "same-loop/handoff", "same-loop hand-off: no syscalls",
      "same-loop/handoff: kernel-counted and loop-counted syscalls in each libsync row's counted repetition",
      [](const Measurement& m, std::string& text) -> std::optional<bool> {
        if (!m.counted_loop_syscalls && !m.counted_syscalls) return std::nullopt;
        std::uint64_t k = m.counted_syscalls.value_or(0);
        std::uint64_t l = m.counted_loop_syscalls.value_or(0);
        text = (m.counted_syscalls ? std::to_string(k) + " kernel-counted, " : "") + std::to_string(l) +
               " loop-counted in " + std::to_string(m.counted_ops) + " hand-offs";
        return k + l == 0;
      }));
}

// Whether `a` is slower than `b` beyond the rows' own noise: the 95%
// intervals of their repetition means do not overlap (what `compare`
// judges by). A row without the repetition means to tell counts as beyond.
bool slower_beyond_noise(const Measurement& a, const Measurement& b) {
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
  };
  if (a.rep_means_ns.size() < 2 || b.rep_means_ns.size() < 2) return true;
  return mean(a.rep_means_ns) - a.rep_mean_ci95_ns > mean(b.rep_means_ns) + b.rep_mean_ci95_ns;
}

// The unified tier against the portable one, scenario by scenario: the
// uring-futex row's median beside every generic row of the same scenario
// and subject. Within 5% is a tie (one run's noise on this kind of VM), and
// so is a larger gap that the rows' own repetitions cannot tell from noise:
// rows where both tiers run the same code (uncontended, same-loop) swing by
// 10-30% between repetitions on a busy VM.
void add_tier_goals(std::vector<GoalCheck>& out, const std::vector<Measurement>& rs) {
  constexpr double kTie = 1.05;
  GoalCheck every{
      "every scenario: uring-futex's median at most generic's (within 5% or within noise), on "
      "each backend",
      "each scenario: the libsync uring-futex/uring row against the generic rows of the same "
      "subject",
      "", std::nullopt, ""};
  std::size_t compared = 0;
  double worst = 0;
  std::string worst_what, misses, noisy;
  for (const auto& uf : rs) {
    if (uf.tier != "uring-futex" || uf.reps == 0 || !uf.error.empty() || uf.median_ns <= 0) continue;
    for (const auto& g : rs) {
      if (g.tier != "generic" || g.scenario != uf.scenario || g.subject != uf.subject || g.reps == 0 ||
          !g.error.empty() || g.median_ns <= 0)
        continue;
      const double r = uf.median_ns / g.median_ns;
      const std::string name =
          uf.scenario + (uf.subject == "libsync" ? "" : " [" + uf.subject + "]") + " vs generic/" + g.backend;
      ++compared;
      if (r > worst) {
        worst = r;
        worst_what = name;
      }
      if (r <= kTie) continue;
      std::string& list = slower_beyond_noise(uf, g) ? misses : noisy;
      list += (list.empty() ? "" : "; ") + name + " " + fx(r);
    }
  }
  if (compared) {
    every.met = misses.empty();
    every.measured = std::to_string(compared) + " comparisons, worst " + fx(worst) + " (" + worst_what + ")" +
                     (misses.empty() ? "" : "; over 1.05x beyond noise: " + misses) +
                     (noisy.empty() ? "" : "; over 1.05x within noise: " + noisy);
    out.push_back(std::move(every));
  }

  // A wake of n waiters on another loop: the time stays near generic's, and
  // the kernel wakes stay O(1) per round (one to the waiters' loop, one
  // back to the waker), where a wake per waiter would show ~n.
  for (const char* sc : {"fan-out/release/N=1024", "fan-out/notify_all/N=1024"}) {
    const Measurement* uf = find(rs, sc, "libsync", "uring-futex", "uring");
    if (!uf) continue;
    GoalCheck g{std::string(sc) + ": uring-futex within 1.2x of generic, at most 4 kernel wakes per round",
                std::string(sc) +
                    ": libsync uring-futex/uring median against each generic row; its loops' "
                    "futex wakes and doorbell writes per round",
                "", std::nullopt, ""};
    bool ok = true;
    std::size_t compared = 0;
    for (const auto& m : rs) {
      if (m.scenario != sc || m.tier != "generic" || m.reps == 0 || !m.error.empty() || m.median_ns <= 0)
        continue;
      const double r = uf->median_ns / m.median_ns;
      ok = ok && r <= 1.2;
      ++compared;
      g.measured += (g.measured.empty() ? "" : ", ") + fx(r) + " vs generic/" + m.backend;
    }
    if (uf->loop_per_op) {
      const auto& l = *uf->loop_per_op;
      const double wakes = l.futex_wake_sqes + l.futex_wake_syscalls + l.notifier_writes;
      ok = ok && wakes <= 4;
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.2f", wakes);
      g.measured += std::string("; ") + buf + " wakes per round";
    }
    if (compared == 0) continue;  // no generic row ran (--tier, or all failed): nothing to judge
    g.met = ok;
    out.push_back(std::move(g));
  }
}

}  // namespace

std::vector<GoalCheck> evaluate_goals(const std::vector<Measurement>& rs) {
  std::vector<GoalCheck> out;
  add_uncontended_goals(out, rs);
  add_cross_loop_goals(out, rs);
  add_same_loop_goals(out, rs);
  add_tier_goals(out, rs);
  // Drop goals whose scenario was filtered out (or did not produce rows).
  std::vector<GoalCheck> kept;
  for (auto& g : out)
    if (g.met || !g.not_judged.empty()) kept.push_back(std::move(g));
  return kept;
}

}  // namespace syncbench
