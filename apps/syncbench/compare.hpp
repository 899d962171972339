// `syncbench compare A.json B.json`: every result row present in both runs,
// the ratio of B's median to A's, and whether the difference is larger than
// the two runs' own noise; exit 1 if a row got slower beyond the threshold.
#pragma once

namespace CLI {
class App;
}

namespace syncbench {

void add_compare_command(CLI::App& app, int& exit_code);

}  // namespace syncbench
