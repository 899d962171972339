// The process exit codes of syncbench, in one place so that --help, the
// README and the code cannot drift apart.
#pragma once

namespace syncbench {

enum ExitCode : int {
  kExitOk = 0,               // done; for `probe --tier X`: X is available and its self-test passed
  kExitFailure = 1,          // a run-time failure: a benchmark threw or hung, a report could not be written
  kExitUsage = 2,            // bad command line: unknown flag, bad value, output path that cannot be opened
  kExitTierUnavailable = 3,  // the tier / backend asked for cannot run on this system
  kExitSelfTestFailed = 4,   // `probe --tier X`: X is available but failed its live self-test
  kExitInterrupted = 130,    // `bench` stopped by SIGINT / SIGTERM; the reports hold the finished scenarios
};

// For --help and the README.
inline constexpr const char* kExitCodeHelp =
    "Exit codes:\n"
    "  0  success (probe --tier X: X is available and passed its live self-test)\n"
    "  1  run-time failure (a libsync row failed or hung, a report could not be written);\n"
    "     compare: a row got slower beyond the threshold and beyond the runs' own noise\n"
    "  2  usage error (unknown flag, bad value, --filter matching nothing, unwritable output path)\n"
    "  3  the requested --tier / --backend cannot run on this system\n"
    "  4  probe --tier X: X is available but failed its live self-test (auto would refuse it)\n"
    "  130  bench: interrupted (SIGINT / SIGTERM); the reports hold the finished scenarios\n";

}  // namespace syncbench
