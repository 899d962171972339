// Where a measurement was taken: machine, kernel, build and the tier choice.
// Every report (table, JSON, CSV, HTML) carries this block so that numbers
// from different machines or commits are never mixed up silently.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace syncbench {

// Filled at configure time (build_info.cpp.in).
struct BuildInfo {
  const char* version;
  const char* git_commit;  // full hash or "unknown"
  const char* git_dirty;   // non-empty when the tree had uncommitted changes at configure time
  const char* build_type;  // CMAKE_BUILD_TYPE
  const char* compiler;
  const char* sanitizers;
};
const BuildInfo& build_info();

struct Environment {
  // Ordered key/value pairs: written as-is into the reports' "env" blocks.
  std::vector<std::pair<std::string, std::string>> fields;
  const std::string& get(const std::string& key) const;
};

// Collects the machine and build facts (reads /proc/cpuinfo, uname, the
// libsync probe). `extra` is appended (profile, tier pairs, ...).
Environment collect_environment(std::vector<std::pair<std::string, std::string>> extra);

// "AMD EPYC" from /proc/cpuinfo, or "unknown".
std::string cpu_model();

}  // namespace syncbench
