// What this kernel / OS offers, as facts gathered without side effects on the
// caller (probing opens and closes a few scratch io_uring rings, nothing more).
//
// `probe_capabilities()` fills a `Capabilities` once; `tier.hpp` builds the
// tier decision on top of it and `syncbench probe` prints both. Every field is
// plain data so it can be printed as a table or JSON without knowing the OS.
#pragma once

#include <sync/export.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace libsync {

// One named yes/no fact with an optional detail ("EINVAL", "since 6.7", ...).
struct LIBSYNC_API Feature {
  std::string name;
  bool supported = false;
  std::string detail;
};

struct LIBSYNC_API KernelInfo {
  std::string os;           // "Linux", "Windows", ...
  std::string release;      // uname -r / "10.0.19045"
  std::string architecture; // "x86_64"
  int major = 0, minor = 0, patch = 0;
  // True when the running version is at least major.minor.
  bool at_least(int maj, int min) const {
    return major > maj || (major == maj && minor >= min);
  }
};

struct LIBSYNC_API IoUringInfo {
  bool compiled_in = false;     // the library was built with the uring backend
  bool setup_ok = false;        // io_uring_queue_init succeeded here
  int setup_errno = 0;          // errno of a failed setup (0 when ok)
  std::string setup_error;      // what that errno means here (seccomp, sysctl, ...)
  int disabled_sysctl = -1;     // /proc/sys/kernel/io_uring_disabled, -1 unknown
  std::string seccomp;          // "disabled", "strict", "filter", "unknown"
  std::uint32_t features = 0;   // IORING_FEAT_* bits reported by setup
  std::vector<Feature> feature_flags;  // the bits above, named
  std::vector<Feature> setup_flags;    // SINGLE_ISSUER, DEFER_TASKRUN, COOP_TASKRUN
  std::vector<Feature> opcodes;        // FUTEX_WAIT/WAKE/WAITV, multishot, ...
  bool futex_wait = false;      // IORING_OP_FUTEX_WAIT in the opcode probe
  bool futex_wake = false;      // IORING_OP_FUTEX_WAKE in the opcode probe
  bool futex_waitv = false;
  bool multishot_accept = false;
  bool multishot_recv = false;
  bool provided_buffer_ring = false;
  bool send_zc = false;
  bool link_timeout = false;
  std::string liburing_build_version;    // from the headers we compiled against
  std::string liburing_runtime_version;  // from the shared library, if it says
};

struct LIBSYNC_API FutexInfo {
  bool futex2_wake = false;     // syscall futex_wake (454) exists
  bool futex2_wait = false;     // syscall futex_wait (455) exists
  bool futex2_waitv = false;    // syscall futex_waitv (449) exists
  // The three probes above with what each call returned ("EAGAIN (expected:
  // present)", "ENOSYS: absent", "EPERM: refused"), for printing.
  std::vector<Feature> syscalls;
  // PR_FUTEX_HASH (Linux 6.16+): the per-process private futex hash.
  bool private_hash_prctl = false;  // the prctl exists on this kernel
  int private_hash_slots = -1;      // GET_SLOTS result: 0 = global hash, -1 unknown
  std::string private_hash_state;   // human summary
};

// Whether this kernel build strands a PRIVATE futex wait that was armed while
// the process was single-threaded, once the first extra thread installs the
// per-process private futex hash (some Linux 6.16+ builds do, others with the
// same version string do not). It is measured, never inferred from the
// version: a child process arms an io_uring FUTEX_WAIT, starts a thread,
// wakes the word and waits a bounded time for the completion.
struct LIBSYNC_API FutexHashHazard {
  enum class State : std::uint8_t {
    present,         // the child's wake was lost: the mitigation is needed
    absent,          // the child's wait was woken: the mitigation is harmless but unneeded
    not_applicable,  // no private futex hash on this kernel (no PR_FUTEX_HASH), or no futexes
    unknown,         // the check could not run; `detail` says why
  };
  State state = State::unknown;
  std::string detail;         // the evidence (GET_SLOTS before/after, what the wake reported)
  std::uint64_t cost_us = 0;  // wall time the check took, in microseconds
};

inline std::string_view to_string(FutexHashHazard::State s) noexcept {
  switch (s) {
    case FutexHashHazard::State::present: return "present";
    case FutexHashHazard::State::absent: return "absent";
    case FutexHashHazard::State::not_applicable: return "not-applicable";
    case FutexHashHazard::State::unknown: break;
  }
  return "unknown";
}

// Runs the check above at most once per process (later calls return the
// cached result). It forks a short-lived child and waits at most about half a
// second for it; nothing is left behind in the caller. libsync calls it only
// from the probe, and from the first uring-futex loop when the process could
// not switch to the global futex hash.
LIBSYNC_API const FutexHashHazard& futex_hash_hazard();

struct LIBSYNC_API MemoryLimits {
  std::uint64_t memlock_soft = 0;   // RLIMIT_MEMLOCK, bytes (UINT64_MAX = unlimited)
  std::uint64_t memlock_hard = 0;
};

// Windows facts; empty on other systems.
struct LIBSYNC_API WindowsInfo {
  bool iocp = false;
  bool wait_on_address = false;
  bool wait_completion_packet = false;  // NtAssociateWaitCompletionPacket exported
  std::string event_wait_path;          // "wait-completion-packet" or "threadpool-wait"
  std::string wine_version;             // set when running under Wine, where timings mean little
};

struct LIBSYNC_API Capabilities {
  KernelInfo kernel;
  IoUringInfo io_uring;
  FutexInfo futex;
  MemoryLimits limits;
  WindowsInfo windows;
  bool epoll = false;  // the epoll backend can run here
};

// Gathers the facts. Cheap enough to call at start-up (a few syscalls and five
// short-lived 8-entry rings); the result is cached by `capabilities()`.
LIBSYNC_API Capabilities probe_capabilities();
LIBSYNC_API const Capabilities& capabilities();

}  // namespace libsync
