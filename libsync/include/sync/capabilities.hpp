/// \file
/// What this kernel / OS offers, as facts gathered without side effects on the
/// caller (probing opens and closes a few scratch io_uring rings, nothing more).
///
/// `probe_capabilities()` fills a `Capabilities` once; `tier.hpp` builds the
/// tier decision on top of it and `syncbench probe` prints both. Every field is
/// plain data so it can be printed as a table or JSON without knowing the OS.
/// A field that does not apply to the running OS keeps its default (false,
/// 0 or empty).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <sync/export.hpp>
#include <vector>

namespace libsync {

/// One named yes/no fact with an optional detail ("EINVAL", "since 6.7", ...).
struct LIBSYNC_API Feature {
  std::string name;        ///< What was probed, e.g. "FUTEX_WAIT" or "SINGLE_ISSUER".
  bool supported = false;  ///< Whether this system has it.
  std::string detail;      ///< Why, or the evidence, in words; may be empty.
};

/// The running kernel (or Windows build).
struct LIBSYNC_API KernelInfo {
  std::string os;            ///< "Linux", "Windows", ...
  std::string release;       ///< uname -r / "10.0.19045"
  std::string architecture;  ///< "x86_64"
  int major = 0;             ///< First number of the release; 0 if it did not parse.
  int minor = 0;             ///< Second number of the release.
  int patch = 0;             ///< Third number of the release.
  /// True when the running version is at least maj.min.
  bool at_least(int maj, int min) const { return major > maj || (major == maj && minor >= min); }
};

/// What io_uring offers here, and why not when it does not.
struct LIBSYNC_API IoUringInfo {
  bool compiled_in = false;              ///< The library was built with the uring backend.
  bool setup_ok = false;                 ///< io_uring_queue_init succeeded here.
  int setup_errno = 0;                   ///< errno of a failed setup (0 when ok).
  std::string setup_error;               ///< What that errno means here (seccomp, sysctl, ...).
  int disabled_sysctl = -1;              ///< /proc/sys/kernel/io_uring_disabled, -1 unknown.
  std::string seccomp;                   ///< "disabled", "strict", "filter", "unknown".
  std::uint32_t features = 0;            ///< IORING_FEAT_* bits reported by setup.
  std::vector<Feature> feature_flags;    ///< The bits above, named.
  std::vector<Feature> setup_flags;      ///< SINGLE_ISSUER, DEFER_TASKRUN, COOP_TASKRUN.
  std::vector<Feature> opcodes;          ///< FUTEX_WAIT/WAKE/WAITV, multishot, ...
  bool futex_wait = false;               ///< IORING_OP_FUTEX_WAIT in the opcode probe.
  bool futex_wake = false;               ///< IORING_OP_FUTEX_WAKE in the opcode probe.
  bool futex_waitv = false;              ///< IORING_OP_FUTEX_WAITV in the opcode probe.
  bool multishot_accept = false;         ///< Multishot ACCEPT (inferred: ACCEPT and Linux >= 5.19).
  bool multishot_recv = false;           ///< Multishot RECV (inferred: RECV and Linux >= 6.0).
  bool provided_buffer_ring = false;     ///< A provided-buffer ring could be registered.
  bool send_zc = false;                  ///< IORING_OP_SEND_ZC in the opcode probe.
  bool link_timeout = false;             ///< IORING_OP_LINK_TIMEOUT in the opcode probe.
  std::string liburing_build_version;    ///< From the headers we compiled against.
  std::string liburing_runtime_version;  ///< From the shared library, if it says.
};

/// The futex system calls and the private futex hash (Linux).
struct LIBSYNC_API FutexInfo {
  bool futex2_wake = false;   ///< Syscall futex_wake (454) exists.
  bool futex2_wait = false;   ///< Syscall futex_wait (455) exists.
  bool futex2_waitv = false;  ///< Syscall futex_waitv (449) exists.
  /// The three probes above with what each call returned ("EAGAIN (expected:
  /// present)", "ENOSYS: absent", "EPERM: refused"), for printing.
  std::vector<Feature> syscalls;
  /// PR_FUTEX_HASH (Linux 6.16+), the prctl that manages the per-process
  /// private futex hash, exists on this kernel.
  bool private_hash_prctl = false;
  int private_hash_slots = -1;     ///< GET_SLOTS result: 0 = global hash, -1 unknown.
  std::string private_hash_state;  ///< Human summary.
};

/// Whether this kernel build strands a PRIVATE futex wait that was armed while
/// the process was single-threaded, once the first extra thread installs the
/// per-process private futex hash (some Linux 6.16+ builds do, others with the
/// same version string do not). It is measured, never inferred from the
/// version: a child process arms an io_uring FUTEX_WAIT, starts a thread,
/// wakes the word and waits a bounded time for the completion.
struct LIBSYNC_API FutexHashHazard {
  /// The verdict of the check.
  enum class State : std::uint8_t {
    present,         ///< The child's wake was lost: the mitigation is needed.
    absent,          ///< The child's wait was woken: the mitigation is harmless but unneeded.
    not_applicable,  ///< No private futex hash on this kernel (no PR_FUTEX_HASH), or no futexes.
    unknown,         ///< The check could not run; `detail` says why.
  };
  State state = State::unknown;  ///< The verdict.
  std::string detail;            ///< The evidence (GET_SLOTS before/after, what the wake reported).
  std::uint64_t cost_us = 0;     ///< Wall time the check took, in microseconds.
};

/// The State's name as printed by `syncbench probe`: "present", "absent",
/// "not-applicable" or "unknown".
inline std::string_view to_string(FutexHashHazard::State s) noexcept {
  switch (s) {
    case FutexHashHazard::State::present:
      return "present";
    case FutexHashHazard::State::absent:
      return "absent";
    case FutexHashHazard::State::not_applicable:
      return "not-applicable";
    case FutexHashHazard::State::unknown:
      break;
  }
  return "unknown";
}

/// Runs the check above at most once per process (later calls return the
/// cached result). It forks a short-lived child and waits at most about half a
/// second for it; nothing is left behind in the caller. libsync calls it only
/// from the probe, and from the first uring-futex loop when the process could
/// not switch to the global futex hash. Thread-safe: concurrent first callers
/// wait for the one check. Off Linux it returns not_applicable at once.
LIBSYNC_API const FutexHashHazard& futex_hash_hazard();

/// Resource limits that bound io_uring.
struct LIBSYNC_API MemoryLimits {
  std::uint64_t memlock_soft = 0;  ///< RLIMIT_MEMLOCK, bytes (UINT64_MAX = unlimited).
  std::uint64_t memlock_hard = 0;  ///< Its hard limit, bytes (UINT64_MAX = unlimited).
};

/// Windows facts; empty on other systems.
struct LIBSYNC_API WindowsInfo {
  bool iocp = false;                    ///< An I/O completion port could be created.
  bool wait_on_address = false;         ///< WaitOnAddress is exported (plain threads park with it).
  bool wait_completion_packet = false;  ///< NtAssociateWaitCompletionPacket exported.
  std::string event_wait_path;          ///< "wait-completion-packet" or "threadpool-wait".
  std::string wine_version;             ///< Set when running under Wine, where timings mean little.
};

/// Everything the probe found, one section per subsystem.
struct LIBSYNC_API Capabilities {
  KernelInfo kernel;     ///< The kernel or Windows build.
  IoUringInfo io_uring;  ///< io_uring (Linux).
  FutexInfo futex;       ///< Futex syscalls and the private hash (Linux).
  MemoryLimits limits;   ///< RLIMIT_MEMLOCK.
  WindowsInfo windows;   ///< Windows facts.
  bool epoll = false;    ///< The epoll backend can run here.
};

/// Gathers the facts afresh on every call. Cheap enough to call at start-up
/// (a few syscalls and five short-lived 8-entry rings); it changes nothing
/// in the process. Thread-safe.
LIBSYNC_API Capabilities probe_capabilities();
/// The facts, probed on the first call and cached for the life of the
/// process; thread-safe (concurrent first callers wait for the one probe).
LIBSYNC_API const Capabilities& capabilities();

}  // namespace libsync
