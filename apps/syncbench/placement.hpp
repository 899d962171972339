// Where the benchmark's threads run.
//
// Unpinned, the scheduler decides per repetition whether two threads that
// hand work to each other share a CPU or not, and on a VM the two cases
// differ by an order of magnitude (a wake that crosses to an idle vCPU costs
// tens of microseconds, one that stays on the waker's CPU a couple). A
// scenario's rows then compare placements as much as implementations. So by
// default every thread a subject starts is pinned, the same way for every
// subject of a run:
//
//   spread  the main thread on the first allowed CPU, and the k-th thread a
//           subject starts (k = 1, 2, ...) on allowed CPU k mod n: two
//           partners always run on different CPUs (when there are two)
//   packed  every thread on the first allowed CPU: partners share it
//   free    nothing is pinned; the scheduler places threads as it likes
//
// A subject whose threads do not pair up in creation order names the slot
// instead (placed_thread_at), so that its layout mirrors libsync's subject
// in the same scenario: the fan-out baselines put every waiter thread on
// slot 1, where libsync's waiter loop runs, and the threads version of the
// gated echo puts its socket threads on slot 0 with loop A's work and its
// releaser on slot 1 with loop B.
//
// Only the threads that do the measured work are placed (loop threads,
// baseline threads, the main thread); the watchdog and signal threads are
// started before the main thread is pinned and keep the process's CPUs.
#pragma once

#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace syncbench {

enum class Placement { spread, packed, free };

// "spread", "packed", "free".
const char* to_string(Placement p) noexcept;
std::vector<std::string> placement_names();

// Chooses the placement for the rest of the process and pins the calling
// (main) thread accordingly. Where this system cannot pin threads, or the
// first attempt fails, the placement falls back to free and the reason is
// kept for placement_text(). Call once, before any subject is set up.
void set_placement(Placement p);

// What the reports print: the placement in effect and the CPUs it uses,
// e.g. "spread over CPUs 0,1 (main thread on CPU 0)".
std::string placement_text();
Placement placement_in_effect() noexcept;

// The runner calls this before setting up each subject: the subject's
// threads are numbered from 1 again, so every subject is placed alike. It
// returns the subject's id for placement_cpus_of().
int placement_begin_subject() noexcept;

// The CPUs the threads of a subject were found running on right after they
// pinned themselves ("1", "0,1"), lowest first; empty when nothing was
// pinned (free) or the system cannot say which CPU a thread is on. The main
// thread is not included: it is always on the first CPU of the placement.
std::string placement_cpus_of(int subject);

// The slot of the next thread the current subject starts, taken on the
// creating thread (so that the numbering follows creation order), and the
// call that pins the calling thread to the CPU of a slot.
int placement_next_slot() noexcept;
int placement_current_subject() noexcept;
void place_current_thread(int subject, int slot) noexcept;

// std::thread whose body first pins itself to a slot's CPU: the given one,
// or the subject's next.
template <class F>
std::thread placed_thread_at(int slot, F&& f) {
  return std::thread([subject = placement_current_subject(), slot, f = std::forward<F>(f)]() mutable {
    place_current_thread(subject, slot);
    f();
  });
}
template <class F>
std::thread placed_thread(F&& f) {
  return placed_thread_at(placement_next_slot(), std::forward<F>(f));
}

}  // namespace syncbench
