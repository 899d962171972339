// The benchmark families, one file each. Every family appends its
// scenarios (with a subject per tier/backend pair and its baselines) to the
// list; bench.cpp filters and runs them in this order.
//
//   1 uncontended.cpp   try_acquire / co_await acquire + release vs the atomic floor
//   2 same_loop.cpp     hand-off between two tasks of one loop (zero syscalls)
//   3 cross_loop.cpp    hand-off between two loops on two threads
//   4 plain_thread.cpp  hand-off between a plain thread and a loop task
//   5 fan_out.cpp       release(N) / notify_all to N waiters
//   6 contended.cpp     M tasks over L loops contending for P permits
//   7 unified_io.cpp    socket echo and cross-loop semaphore wakes on one loop
//   8 asio_baseline.cpp Boost.Asio subjects added to scenarios 3 and 6
//   9 mass_waiters.cpp  10 000 and 100 000 waiters timing out / cancelled
#pragma once

#include <vector>

#include "harness.hpp"
#include "placement.hpp"

namespace syncbench {

struct BenchPlan {
  std::vector<TierPair> pairs;  // the tier/backend pairs to run libsync on
  bool full = false;            // --full: the larger parameter sets
};

void add_uncontended_scenarios(std::vector<Scenario>& out, const BenchPlan& plan);
void add_same_loop_scenarios(std::vector<Scenario>& out, const BenchPlan& plan);
void add_cross_loop_scenarios(std::vector<Scenario>& out, const BenchPlan& plan);
void add_plain_thread_scenarios(std::vector<Scenario>& out, const BenchPlan& plan);
void add_fan_out_scenarios(std::vector<Scenario>& out, const BenchPlan& plan);
void add_contended_scenarios(std::vector<Scenario>& out, const BenchPlan& plan);
void add_unified_io_scenarios(std::vector<Scenario>& out, const BenchPlan& plan);
void add_mass_waiter_scenarios(std::vector<Scenario>& out, const BenchPlan& plan);
// Appends Boost.Asio subjects to the cross-loop and contended scenarios.
void add_asio_baselines(std::vector<Scenario>& out, const BenchPlan& plan);

// Names of the scenarios the families above create and the Asio family
// extends.
inline constexpr const char* kCrossLoopScenario = "cross-loop/handoff";
inline constexpr const char* kContendedScenario = "contended/throughput";
inline constexpr const char* kContendedOneLoopScenario = "contended/one-loop";

}  // namespace syncbench
