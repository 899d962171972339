// `bench --json FILE`: the documented result contract ("env", "results" with
// scenario / tier / backend / subject / median_ns / p99_ns / max_ns /
// ops_per_s / syscalls_per_op / baseline / ratio), plus extra keys.
#include "json_writer.hpp"
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

}  // namespace

void write_json(std::ostream& out, const BenchReport& r) {
  JsonWriter j(out);
  j.begin_object();
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

  j.key("results").begin_array();
  for (const Measurement& m : r.results) {
    const bool ok = m.error.empty() && m.reps > 0;
    auto num = [&](double v) { return ok ? std::optional<double>(v) : std::nullopt; };
    j.begin_object();
    j.field("scenario", m.scenario).field("family", m.family);
    j.field("tier", tier_or_null(m.tier)).field("backend", tier_or_null(m.backend));
    j.field("subject", m.subject).field("note", m.note);
    j.field("op_unit", m.op_unit).field("stat_basis", basis_name(m.basis));
    j.field("median_ns", num(m.median_ns)).field("p99_ns", num(m.p99_ns)).field("max_ns", num(m.max_ns));
    j.field("ops_per_s", num(m.ops_per_s));
    j.field("syscalls_per_op", m.syscalls_per_op);
    j.field("syscalls_source", m.syscalls_source.empty() ? std::optional<std::string>() : m.syscalls_source);
    j.field("kernel_syscalls_per_op", m.kernel_syscalls_per_op);
    j.field("loop_syscalls_per_op", m.loop_syscalls_per_op);
    if (!m.loop_counter_scope.empty()) j.field("loop_counter_scope", m.loop_counter_scope);
    j.field("allocs_per_op", m.allocs_per_op);
    j.field("baseline", m.baseline).field("ratio", m.ratio).field("p99_ratio", m.p99_ratio);
    j.field("reps", m.reps).field("ops_per_rep", m.ops_per_rep).field("samples", m.samples);
    j.key("counted_rep").begin_object();
    j.field("ops", m.counted_ops).field("syscalls", m.counted_syscalls);
    j.field("loop_syscalls", m.counted_loop_syscalls).field("allocs", m.counted_allocs);
    j.end_object();
    j.key("quantiles").begin_array();
    for (const auto& [q, ns] : m.quantiles) j.begin_object().field("q", q).field("ns", ns).end_object();
    j.end_array();
    j.field("error", m.error.empty() ? std::optional<std::string>() : m.error);
    j.end_object();
  }
  j.end_array();

  j.key("targets").begin_array();
  for (const auto& t : r.targets)
    j.begin_object().field("target", t.target).field("measured", t.measured).field("met", t.met).end_object();
  j.end_array();
  j.field("wall_time_s", r.wall_seconds);
  j.end_object();
  j.finish();
}

}  // namespace syncbench
