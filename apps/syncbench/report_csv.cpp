// `bench --csv FILE`: one row per result. The environment is repeated as
// `env_*` columns on every row, so that the file stays one plain table that
// spreadsheets and dataframes load without special handling.
#include "format.hpp"
#include "report.hpp"

namespace syncbench {
namespace {

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

std::string num(std::optional<double> v) {
  return v ? format_number(*v) : std::string();
}

// The result columns, before the env_* columns and profile, interrupted.
constexpr const char* kColumns[] = {"scenario",
                                    "family",
                                    "subject",
                                    "tier",
                                    "backend",
                                    "note",
                                    "op_unit",
                                    "stat_basis",
                                    "median_ns",
                                    "mean_ns",
                                    "stddev_ns",
                                    "rep_mean_ci95_ns",
                                    "min_ns",
                                    "p99_ns",
                                    "max_ns",
                                    "ops_per_s",
                                    "syscalls_per_op",
                                    "syscalls_source",
                                    "kernel_syscalls_per_op",
                                    "loop_syscalls_per_op",
                                    "allocs_per_op",
                                    "loop_waits_per_op",
                                    "futex_waits_armed_per_op",
                                    "futex_wait_cqes_per_op",
                                    "futex_wake_sqes_per_op",
                                    "futex_wake_syscalls_per_op",
                                    "notifier_writes_per_op",
                                    "baseline",
                                    "ratio",
                                    "p99_ratio",
                                    "reps",
                                    "ops_per_rep",
                                    "samples",
                                    "error"};

// One result's cells, in kColumns order; figures are empty for a row that
// failed or finished no repetition.
std::vector<std::string> result_cells(const Measurement& m) {
  const bool ok = m.error.empty() && m.reps > 0;
  auto val = [&](double v) { return ok ? format_number(v) : std::string(); };
  const Measurement::LoopRates* lp = m.loop_per_op ? &*m.loop_per_op : nullptr;
  return {m.scenario,
          std::to_string(m.family),
          m.subject,
          m.tier == "-" ? "" : m.tier,
          m.backend == "-" ? "" : m.backend,
          m.note,
          m.op_unit,
          basis_name(m.basis),
          val(m.median_ns),
          val(m.mean_ns),
          val(m.stddev_ns),
          val(m.rep_mean_ci95_ns),
          val(m.min_ns),
          ok ? num(m.p99_ns) : std::string(),
          val(m.max_ns),
          val(m.ops_per_s),
          num(m.syscalls_per_op),
          m.syscalls_source,
          num(m.kernel_syscalls_per_op),
          num(m.loop_syscalls_per_op),
          num(m.allocs_per_op),
          lp ? format_number(lp->waits) : "",
          lp ? format_number(lp->futex_waits_armed) : "",
          lp ? format_number(lp->futex_wait_cqes) : "",
          lp ? format_number(lp->futex_wake_sqes) : "",
          lp ? format_number(lp->futex_wake_syscalls) : "",
          lp ? format_number(lp->notifier_writes) : "",
          m.baseline,
          num(m.ratio),
          num(m.p99_ratio),
          std::to_string(m.reps),
          std::to_string(m.ops_per_rep),
          std::to_string(m.samples),
          m.error};
}

void write_header(std::ostream& out, const BenchReport& r) {
  std::string header;
  for (const char* c : kColumns) {
    if (!header.empty()) header += ',';
    header += c;
  }
  for (const auto& [k, v] : r.env.fields) header += ",env_" + k;
  out << header << ",profile,interrupted\n";
}

void write_row(std::ostream& out, const BenchReport& r, const Measurement& m) {
  const std::vector<std::string> cells = result_cells(m);
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i) line += ',';
    line += csv_cell(cells[i]);
  }
  for (const auto& [k, v] : r.env.fields) {
    line += ',';
    line += csv_cell(v);
  }
  out << line << "," << csv_cell(r.profile.name) << "," << (r.interrupted ? "true" : "false") << "\n";
}

}  // namespace

void write_csv(std::ostream& out, const BenchReport& r) {
  write_header(out, r);
  for (const Measurement& m : r.results) write_row(out, r, m);
}

}  // namespace syncbench
