// The results of one `syncbench bench` run and the writers that present
// them: aligned tables (stdout), JSON, CSV and a self-contained HTML page.
// Every writer reads the same BenchReport, so the formats never disagree.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "environment.hpp"
#include "harness.hpp"

namespace syncbench {

// One of the project's performance goals, evaluated on this run's numbers.
// Reported, never asserted: a noisy machine may miss one.
struct GoalCheck {
  std::string goal;         // "uncontended try_acquire + release: at most 1.5x the atomic floor"
  std::string compares;     // one line: which rows of which scenario it compares
  std::string measured;     // "1.12x (uring-futex/uring)"
  std::optional<bool> met;  // nullopt: not measured, or not judged, in this run
  // Non-empty when the rows were measured but their figures cannot decide
  // the goal (a baseline that ran implausibly slow): why. `met` is then nullopt.
  std::string not_judged;
};

struct BenchReport {
  Environment env;
  Profile profile;
  std::vector<std::string> pairs;  // tier/backend labels benchmarked
  std::vector<std::string> notes;  // skipped tiers, counting method, ...
  std::vector<Measurement> results;
  std::vector<GoalCheck> goals;
  double wall_seconds = 0;
  // The run was stopped (SIGINT / SIGTERM) before every scenario ran:
  // `results` holds the scenarios that finished.
  bool interrupted = false;
  std::size_t scenarios_planned = 0, scenarios_done = 0;
};

// How wide the text tables may be; 0 = no limit.
struct TableLayout {
  std::size_t max_width = 0;
};

// The stdout report in three parts, so that each scenario's table can be
// printed as soon as it finishes: the run header, one scenario's rows, and
// the goals, notes and wall time at the end. write_table prints all three.
void write_table_header(std::ostream& out, const BenchReport& r);
// Returns true if a cell had to be shortened to fit layout.max_width.
bool write_scenario_table(std::ostream& out, const BenchReport& r,
                          const std::vector<const Measurement*>& rows, const TableLayout& layout);
void write_table_footer(std::ostream& out, const BenchReport& r, const TableLayout& layout);
void write_table(std::ostream& out, const BenchReport& r, const TableLayout& layout = {});
void write_json(std::ostream& out, const BenchReport& r);
void write_csv(std::ostream& out, const BenchReport& r);
void write_html(std::ostream& out, const BenchReport& r);

// Evaluates the project's performance goals against the results.
std::vector<GoalCheck> evaluate_goals(const std::vector<Measurement>& results);

// "per-op" / "per-repetition".
const char* basis_name(StatBasis b);

}  // namespace syncbench
