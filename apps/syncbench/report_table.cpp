// The stdout report: one aligned table per scenario, then the issue's
// targets evaluated on this run, then where the numbers came from.
#include <cstdio>
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

}  // namespace

void write_table(std::ostream& out, const BenchReport& r) {
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

  std::string current;
  std::vector<const Measurement*> group;
  auto flush = [&] {
    if (group.empty()) return;
    const Measurement& f = *group.front();
    out << "\n[" << f.family << "] " << f.scenario << ": " << f.title << "\n";
    std::uint64_t samples = 0;
    for (const auto* m : group) samples = std::max<std::uint64_t>(samples, m->samples);
    out << "    one op = " << f.op_unit << "; median/p99/max over "
        << (f.basis == StatBasis::per_op ? "every timed op (up to " + std::to_string(samples) + " per row)"
                                         : std::to_string(r.profile.reps) + " repetition means")
        << "\n";
    TextTable t({{"subject"},
                 {"tier/backend"},
                 {"median", TextTable::Align::right},
                 {"p99", TextTable::Align::right},
                 {"max", TextTable::Align::right},
                 {"ops/s", TextTable::Align::right},
                 {"sys/op", TextTable::Align::right},
                 {"allocs/op", TextTable::Align::right},
                 {"vs " + f.baseline, TextTable::Align::right},
                 {"setup"}});
    for (const Measurement* m : group) {
      if (!m->error.empty()) {
        t.add_row({m->subject, row_label(*m), "-", "-", "-", "-", "-", "-", "-", "ERROR: " + m->error});
        continue;
      }
      t.add_row({m->subject, row_label(*m), format_ns(m->median_ns), format_ns(m->p99_ns),
                 format_ns(m->max_ns), format_rate(m->ops_per_s), syscalls_cell(*m),
                 format_fixed(m->allocs_per_op, 2), ratio_cell(*m), m->note});
    }
    t.print(out);
    // The same-loop promise is "zero syscalls"; print the raw counts.
    if (f.family == 2) {
      for (const Measurement* m : group) {
        if (m->tier == "-" || !m->error.empty()) continue;
        out << "    syscalls, libsync " << row_label(*m) << ": ";
        if (m->counted_syscalls)
          out << *m->counted_syscalls << " kernel-counted in " << m->counted_ops << " hand-offs; ";
        out << "loop counters: "
            << (m->counted_loop_syscalls ? std::to_string(*m->counted_loop_syscalls) : "-")
            << " in that repetition, " << format_fixed(m->loop_syscalls_per_op, 6)
            << " per hand-off over the timed ones\n";
      }
    }
    group.clear();
  };
  for (const Measurement& m : r.results) {
    if (m.scenario != current) {
      flush();
      current = m.scenario;
    }
    group.push_back(&m);
  }
  flush();

  if (!r.targets.empty()) {
    out << "\nTargets from issue 4 (this run's figures; reported, not asserted)\n";
    TextTable t({{"target"}, {"result"}, {"measured"}});
    for (const auto& tc : r.targets)
      t.add_row({tc.target, !tc.met ? "not measured" : *tc.met ? "met" : "NOT met", tc.measured});
    t.print(out);
  }
  if (!r.notes.empty()) {
    out << "\nNotes\n";
    for (const auto& n : r.notes) out << "  - " << n << "\n";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", r.wall_seconds);
  out << "\ntotal wall time " << buf << " s\n";
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

// For a target that must hold for every libsync row of a scenario.
TargetCheck every_libsync_row(
    const std::vector<Measurement>& rs, const std::string& scenario, std::string target,
    const std::function<std::optional<bool>(const Measurement&, std::string&)>& check) {
  TargetCheck tc{std::move(target), "", std::nullopt};
  for (const auto& m : rs) {
    if (m.scenario != scenario || m.subject != "libsync" || !m.error.empty() || m.reps == 0) continue;
    std::string text;
    std::optional<bool> ok = check(m, text);
    if (!ok) continue;
    tc.met = tc.met.value_or(true) && *ok;
    tc.measured += (tc.measured.empty() ? "" : "; ") + m.tier + "/" + m.backend + " " + text;
  }
  return tc;
}

}  // namespace

std::vector<TargetCheck> evaluate_targets(const std::vector<Measurement>& rs) {
  std::vector<TargetCheck> out;
  out.push_back(every_libsync_row(rs, "uncontended/try_acquire",
                                  "uncontended try_acquire + release <= 1.5x the atomic floor",
                                  [](const Measurement& m, std::string& text) -> std::optional<bool> {
                                    if (!m.ratio) return std::nullopt;
                                    text = fx(*m.ratio);
                                    return *m.ratio <= 1.5;
                                  }));
  {
    const Measurement* std_sem = find(rs, "uncontended/try_acquire", "std::counting_semaphore");
    out.push_back(
        every_libsync_row(rs, "uncontended/try_acquire",
                          "uncontended try_acquire + release far ahead of std::counting_semaphore",
                          [std_sem](const Measurement& m, std::string& text) -> std::optional<bool> {
                            if (!std_sem || std_sem->median_ns <= 0) return std::nullopt;
                            double r = m.median_ns / std_sem->median_ns;
                            text = fx(r) + " of its time";
                            return r < 0.5;
                          }));
  }
  out.push_back(every_libsync_row(rs, "uncontended/acquire",
                                  "uncontended co_await acquire() + release <= 3x the atomic floor",
                                  [](const Measurement& m, std::string& text) -> std::optional<bool> {
                                    if (!m.ratio) return std::nullopt;
                                    text = fx(*m.ratio);
                                    return *m.ratio <= 3.0;
                                  }));
  out.push_back(
      every_libsync_row(rs, "uncontended/acquire",
                        "uncontended co_await acquire() + release: zero heap allocations per operation",
                        [](const Measurement& m, std::string& text) -> std::optional<bool> {
                          if (!m.allocs_per_op) return std::nullopt;
                          text = std::to_string(m.counted_allocs) + " allocations in " +
                                 std::to_string(m.counted_ops) + " ops (the repetition's own task frames)";
                          // A repetition allocates its benchmark task frames once; anything
                          // per operation would show as >= 1 per op.
                          return m.counted_allocs <= 4;
                        }));
  {
    TargetCheck med{"cross-loop hand-off on uring-futex: median <= 1.15x raw futex ping-pong", "",
                    std::nullopt};
    TargetCheck p99{"cross-loop hand-off on uring-futex: p99 <= 1.5x raw futex p99", "", std::nullopt};
    TargetCheck vs_epoll{"cross-loop hand-off on uring-futex faster than generic on epoll", "", std::nullopt};
    const Measurement* uf = find(rs, "cross-loop/handoff", "libsync", "uring-futex", "uring");
    const Measurement* ge = find(rs, "cross-loop/handoff", "libsync", "generic", "epoll");
    if (uf && uf->baseline == "raw-futex" && uf->ratio && uf->p99_ratio) {
      med.met = *uf->ratio <= 1.15;
      med.measured = fx(*uf->ratio) + " (" + format_ns(uf->median_ns) + ")";
      p99.met = *uf->p99_ratio <= 1.5;
      p99.measured = fx(*uf->p99_ratio) + " (" + format_ns(uf->p99_ns) + ")";
    }
    if (uf && ge) {
      vs_epoll.met = uf->median_ns < ge->median_ns;
      vs_epoll.measured = format_ns(uf->median_ns) + " vs " + format_ns(ge->median_ns);
    }
    out.push_back(std::move(med));
    out.push_back(std::move(p99));
    out.push_back(std::move(vs_epoll));
  }
  out.push_back(every_libsync_row(rs, "same-loop/handoff", "same-loop hand-off: 0 syscalls",
                                  [](const Measurement& m, std::string& text) -> std::optional<bool> {
                                    if (!m.counted_loop_syscalls && !m.counted_syscalls) return std::nullopt;
                                    std::uint64_t k = m.counted_syscalls.value_or(0);
                                    std::uint64_t l = m.counted_loop_syscalls.value_or(0);
                                    text =
                                        (m.counted_syscalls ? std::to_string(k) + " kernel-counted, " : "") +
                                        std::to_string(l) + " loop-counted in " +
                                        std::to_string(m.counted_ops) + " hand-offs";
                                    return k + l == 0;
                                  }));
  // Drop targets whose scenario was filtered out.
  std::vector<TargetCheck> kept;
  for (auto& t : out)
    if (t.met) kept.push_back(std::move(t));
  return kept;
}

}  // namespace syncbench
