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

// One of the performance targets, evaluated on this run's numbers.
// Reported, never asserted: a noisy machine may miss one.
struct TargetCheck {
  std::string target;       // "uncontended try_acquire + release <= 1.5x the atomic floor"
  std::string measured;     // "1.12x (uring-futex/uring)"
  std::optional<bool> met;  // nullopt: not measured in this run
};

struct BenchReport {
  Environment env;
  Profile profile;
  std::vector<std::string> pairs;  // tier/backend labels benchmarked
  std::vector<std::string> notes;  // skipped tiers, counting method, ...
  std::vector<Measurement> results;
  std::vector<TargetCheck> targets;
  double wall_seconds = 0;
};

void write_table(std::ostream& out, const BenchReport& r);
void write_json(std::ostream& out, const BenchReport& r);
void write_csv(std::ostream& out, const BenchReport& r);
void write_html(std::ostream& out, const BenchReport& r);

// Evaluates the targets against the results.
std::vector<TargetCheck> evaluate_targets(const std::vector<Measurement>& results);

// "per-op" / "per-repetition".
const char* basis_name(StatBasis b);

}  // namespace syncbench
