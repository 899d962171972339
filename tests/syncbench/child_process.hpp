// Runs a program to completion and captures what it printed: the tests talk
// to the real syncbench binary, as a user or a script would.
#pragma once

#include <string>
#include <vector>

namespace syncbench_test {

struct ProcessResult {
  int exit_code = -1;  // -1: did not exit normally (signal); then `signal` is set
  int signal = 0;
  std::string out, err;
};

// Runs `argv[0]` with `argv` (no shell), stdout and stderr captured
// separately, stdin from /dev/null.
ProcessResult run_process(const std::vector<std::string>& argv);

}  // namespace syncbench_test
