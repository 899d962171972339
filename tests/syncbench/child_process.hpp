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

// The same, started in the background: the caller can look at what it has
// printed so far and send it signals before collecting it.
class RunningProcess {
 public:
  explicit RunningProcess(const std::vector<std::string>& argv);
  ~RunningProcess();  // kills and reaps it if wait() was not called
  RunningProcess(const RunningProcess&) = delete;
  RunningProcess& operator=(const RunningProcess&) = delete;

  std::string out_so_far() const;
  void send_signal(int sig) const;
  ProcessResult wait();

 private:
  int pid_ = -1, out_ = -1, err_ = -1;
  bool reaped_ = false;
};

}  // namespace syncbench_test
