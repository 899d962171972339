// Thread placement (placement.hpp): the CPUs the process may use, and
// pinning threads to them.
#include "placement.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#if defined(_WIN32)
#include <windows.h>
#elif defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace syncbench {
namespace {

Placement g_placement = Placement::free;
std::vector<int> g_cpus;  // the CPUs threads are pinned to, in order
std::string g_fallback;   // why the placement asked for is not in effect
std::atomic<int> g_next_slot{1};
std::atomic<int> g_subject{0};
std::mutex g_seen_mu;
std::map<int, std::set<int>> g_seen;  // subject -> CPUs its pinned threads ran on

// The CPUs this process may run on, lowest first; empty where unknown.
std::vector<int> allowed_cpus(std::string& why) {
  std::vector<int> cpus;
#if defined(_WIN32)
  DWORD_PTR process = 0, system = 0;
  if (!GetProcessAffinityMask(GetCurrentProcess(), &process, &system)) {
    why = "GetProcessAffinityMask failed";
    return cpus;
  }
  for (int i = 0; i < static_cast<int>(sizeof(DWORD_PTR) * 8); ++i)
    if (process & (static_cast<DWORD_PTR>(1) << i)) cpus.push_back(i);
#elif defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) {
    why = std::string("sched_getaffinity failed: ") + std::strerror(errno);
    return cpus;
  }
  for (int i = 0; i < CPU_SETSIZE; ++i)
    if (CPU_ISSET(i, &set)) cpus.push_back(i);
#else
  why = "this system offers no thread pinning syncbench knows of";
#endif
  return cpus;
}

// The CPU the calling thread runs on now, or -1 where the system cannot say.
int current_cpu() noexcept {
#if defined(_WIN32)
  return static_cast<int>(GetCurrentProcessorNumber());
#elif defined(__linux__)
  return sched_getcpu();
#else
  return -1;
#endif
}

// Pins the calling thread to one CPU; false (with the reason) if it cannot.
bool pin_to(int cpu, std::string& why) {
#if defined(_WIN32)
  if (SetThreadAffinityMask(GetCurrentThread(), static_cast<DWORD_PTR>(1) << cpu) == 0) {
    why = "SetThreadAffinityMask failed (error " + std::to_string(GetLastError()) + ")";
    return false;
  }
  return true;
#elif defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (int e = pthread_setaffinity_np(pthread_self(), sizeof set, &set); e != 0) {
    why = std::string("pthread_setaffinity_np failed: ") + std::strerror(e);
    return false;
  }
  return true;
#else
  (void)cpu;
  why = "this system offers no thread pinning syncbench knows of";
  return false;
#endif
}

// "0,1": CPU numbers in the container's order.
template <class Cpus>
std::string cpu_list(const Cpus& cpus) {
  std::string out;
  for (int c : cpus) {
    if (!out.empty()) out += ',';
    out += std::to_string(c);
  }
  return out;
}

int cpu_for_slot(int slot) noexcept {
  if (g_cpus.empty()) return -1;
  if (g_placement == Placement::packed) return g_cpus.front();
  return g_cpus[static_cast<std::size_t>(slot) % g_cpus.size()];
}

}  // namespace

const char* to_string(Placement p) noexcept {
  switch (p) {
    case Placement::spread:
      return "spread";
    case Placement::packed:
      return "packed";
    case Placement::free:
      return "free";
  }
  return "free";
}

std::vector<std::string> placement_names() {
  return {"spread", "packed", "free"};
}

void set_placement(Placement p) {
  g_placement = Placement::free;
  g_cpus.clear();
  g_fallback.clear();
  if (p == Placement::free) return;
  std::string why;
  std::vector<int> cpus = allowed_cpus(why);
  if (cpus.empty()) {
    g_fallback = std::string(to_string(p)) + " unavailable: " + (why.empty() ? "no allowed CPU found" : why);
    return;
  }
  if (!pin_to(cpus.front(), why)) {
    g_fallback = std::string(to_string(p)) + " unavailable: " + why;
    return;
  }
  g_placement = p;
  g_cpus = std::move(cpus);
}

Placement placement_in_effect() noexcept {
  return g_placement;
}

std::string placement_text() {
  if (g_placement == Placement::free)
    return g_fallback.empty() ? "free (threads not pinned)" : "free (" + g_fallback + ")";
  if (g_placement == Placement::packed)
    return "packed: every thread on CPU " + std::to_string(g_cpus.front());
  return "spread over CPUs " + cpu_list(g_cpus) + " (main thread on CPU " + std::to_string(g_cpus.front()) +
         ", a subject's k-th thread on the k-th next)";
}

int placement_begin_subject() noexcept {
  g_next_slot.store(1, std::memory_order_relaxed);
  return g_subject.fetch_add(1, std::memory_order_relaxed) + 1;
}

int placement_current_subject() noexcept {
  return g_subject.load(std::memory_order_relaxed);
}

std::string placement_cpus_of(int subject) {
  std::lock_guard lk(g_seen_mu);
  const auto it = g_seen.find(subject);
  return it == g_seen.end() ? std::string() : cpu_list(it->second);
}

int placement_next_slot() noexcept {
  return g_next_slot.fetch_add(1, std::memory_order_relaxed);
}

void place_current_thread(int subject, int slot) noexcept {
  const int cpu = cpu_for_slot(slot);
  if (cpu < 0) return;
  std::string ignored;  // the main thread's pin succeeded; a later failure leaves this one unpinned
  if (!pin_to(cpu, ignored)) return;
  // Where it actually runs now, which the report shows beside the plan.
  const int on = current_cpu();
  if (on < 0) return;
  try {
    std::lock_guard lk(g_seen_mu);
    g_seen[subject].insert(on);
  } catch (...) {
    // Out of memory recording it: the row just shows no CPUs.
  }
}

}  // namespace syncbench
