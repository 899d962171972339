// `bench --json FILE`: the documented result contract ("env", "results" with
// scenario / tier / backend / subject / median_ns / p99_ns / max_ns /
// ops_per_s / syscalls_per_op / baseline / ratio), plus extra keys, the raw
// samples among them (`samples_ns`), and "interrupted".
#include "common/json_writer.hpp"
#include "report.hpp"

namespace syncbench {

const char* basis_name(StatBasis b) {
  return b == StatBasis::per_op ? "per-op" : "per-repetition";
}

namespace {

std::optional<std::string> tier_or_null(const std::string& s) {
  if (s == "-") return std::nullopt;
  return s;
}

// The run as a whole: how far it got, where, with which profile and notes.
void write_run(apps::JsonWriter& j, const BenchReport& r) {
  j.field("interrupted", r.interrupted);
  j.field("scenarios_planned", static_cast<std::uint64_t>(r.scenarios_planned));
  j.field("scenarios_done", static_cast<std::uint64_t>(r.scenarios_done));
  j.key("env").begin_object();
  for (const auto& [k, v] : r.env.fields) j.field(k, v);
  j.end_object();
  j.key("profile").begin_object();
  j.field("name", r.profile.name).field("reps", r.profile.reps).field("rep_ms", r.profile.rep_ms);
  j.field("warmups", r.profile.warmups);
  j.end_object();
  j.key("pairs").begin_array();
  for (const auto& p : r.pairs) j.value(p);
  j.end_array();
  j.key("notes").begin_array();
  for (const auto& n : r.notes) j.value(n);
  j.end_array();
}

// One result row; its figures are null when it failed or finished no
// repetition.
void write_result(apps::JsonWriter& j, const Measurement& m) {
  const bool ok = m.error.empty() && m.reps > 0;
  auto num = [&](double v) { return ok ? std::optional<double>(v) : std::nullopt; };
  j.begin_object();
  j.field("scenario", m.scenario).field("family", m.family);
  j.field("tier", tier_or_null(m.tier)).field("backend", tier_or_null(m.backend));
  j.field("subject", m.subject).field("note", m.note);
  j.field("thread_cpus", m.thread_cpus.empty() ? std::optional<std::string>() : m.thread_cpus);
  j.field("op_unit", m.op_unit).field("stat_basis", basis_name(m.basis));
  j.field("median_ns", num(m.median_ns)).field("p99_ns", ok ? m.p99_ns : std::nullopt);
  j.field("min_ns", num(m.min_ns)).field("max_ns", num(m.max_ns));
  j.field("mean_ns", num(m.mean_ns)).field("stddev_ns", num(m.stddev_ns));
  j.field("rep_mean_ci95_ns", num(m.rep_mean_ci95_ns));
  j.field("ops_per_s", num(m.ops_per_s));
  j.field("syscalls_per_op", m.syscalls_per_op);
  j.field("syscalls_source", m.syscalls_source.empty() ? std::optional<std::string>() : m.syscalls_source);
  j.field("kernel_syscalls_per_op", m.kernel_syscalls_per_op);
  j.field("loop_syscalls_per_op", m.loop_syscalls_per_op);
  if (!m.loop_counter_scope.empty()) j.field("loop_counter_scope", m.loop_counter_scope);
  j.field("allocs_per_op", m.allocs_per_op);
  if (m.loop_per_op) {
    const auto& lp = *m.loop_per_op;
    j.key("loop_counters_per_op").begin_object();
    j.field("waits", lp.waits).field("futex_waits_armed", lp.futex_waits_armed);
    j.field("futex_wait_cqes", lp.futex_wait_cqes).field("futex_wake_sqes", lp.futex_wake_sqes);
    j.field("futex_wake_syscalls", lp.futex_wake_syscalls).field("notifier_writes", lp.notifier_writes);
    j.end_object();
  } else {
    j.field("loop_counters_per_op", std::optional<double>());
  }
  j.field("baseline", m.baseline).field("ratio", m.ratio).field("p99_ratio", m.p99_ratio);
  j.field("reps", m.reps).field("ops_per_rep", m.ops_per_rep).field("samples", m.samples);
  j.key("counted_rep").begin_object();
  j.field("ops", m.counted_ops).field("syscalls", m.counted_syscalls);
  j.field("loop_syscalls", m.counted_loop_syscalls).field("allocs", m.counted_allocs);
  j.end_object();
  j.key("quantiles").begin_array();
  for (const auto& [q, ns] : m.quantiles) j.begin_object().field("q", q).field("ns", ns).end_object();
  j.end_array();
  j.key("rep_means_ns").begin_array(true);
  for (double v : m.rep_means_ns) j.value(v);
  j.end_array();
  j.field("samples_stride", m.samples_stride);
  j.key("samples_ns").begin_array(true);
  for (double v : m.samples_ns) j.value(v);
  j.end_array();
  j.field("error", m.error.empty() ? std::optional<std::string>() : m.error);
  j.end_object();
}

void write_goals(apps::JsonWriter& j, const BenchReport& r) {
  j.key("goals").begin_array();
  for (const auto& g : r.goals)
    j.begin_object()
        .field("goal", g.goal)
        .field("compares", g.compares)
        .field("measured", g.measured)
        .field("met", g.met)
        .field("not_judged", g.not_judged.empty() ? std::optional<std::string>() : g.not_judged)
        .end_object();
  j.end_array();
}

}  // namespace

void write_json(std::ostream& out, const BenchReport& r) {
  apps::JsonWriter j(out);
  j.begin_object();
  write_run(j, r);
  j.key("results").begin_array();
  for (const Measurement& m : r.results) write_result(j, m);
  j.end_array();
  write_goals(j, r);
  j.field("wall_time_s", r.wall_seconds);
  j.end_object();
  j.finish();
}

}  // namespace syncbench
