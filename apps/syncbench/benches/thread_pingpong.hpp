// Thread-to-thread ping-pong baselines shared by the hand-off scenarios
// (2, 3, 4): the main thread and one partner thread pass a token back and
// forth. One operation is one hand-off; each round trip is timed and
// recorded as round trip / 2.
#pragma once

#include <memory>

#include "harness.hpp"
#include "placement.hpp"

namespace syncbench {

// Two futex words and raw FUTEX_WAIT / FUTEX_WAKE syscalls, no spinning: the
// floor for a kernel sleep and wake (4 syscalls per round trip). Linux only:
// nullptr elsewhere.
std::unique_ptr<Subject> make_raw_futex_pingpong();
// Two std::binary_semaphore (libstdc++ spins before it sleeps).
std::unique_ptr<Subject> make_binary_semaphore_pingpong();
// std::mutex + two std::condition_variable.
std::unique_ptr<Subject> make_mutex_condvar_pingpong();

// The subject hand-off ratios are taken against: raw-futex where it exists.
inline const char* handoff_baseline() {
#if defined(__linux__)
  return "raw-futex";
#else
  return "std::mutex+condition_variable";
#endif
}

// The SubjectSpecs for the above (always including the handoff_baseline()); `with_all` adds the two std::
// ones.
void add_thread_pingpong_subjects(std::vector<SubjectSpec>& out, bool with_all);

}  // namespace syncbench
