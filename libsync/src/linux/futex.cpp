#include "linux/futex.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <string_view>
#include <sync/capabilities.hpp>

#include "linux/uring_compat.hpp"

namespace libsync::detail {

static FutexMode decide() noexcept {
  FutexMode m;
  const char* knob = std::getenv("SYNC_FUTEX_HASH");
  if (knob && std::string_view(knob) == "keep") {
    // Diagnostics only: leave the process's futex hash alone, so the hazard
    // regression test can show what happens without the mitigation.
    m.mitigation = "none: SYNC_FUTEX_HASH=keep left the private futex hash alone (diagnostics only)";
  } else if (prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS, 0, 0, 0) == 0) {
    m.mitigation =
        "global futex hash requested (PR_FUTEX_HASH_SET_SLOTS 0): private waits are never stranded";
  } else if (errno == EINVAL) {
    m.mitigation = "kernel has no private futex hash (PR_FUTEX_HASH: EINVAL): no hazard";
  } else {
    // The global hash cannot be had. Whether that matters is measured: only
    // a kernel that strands pre-existing private waits needs shared words.
    const int err = errno;
    const FutexHashHazard& hz = futex_hash_hazard();
    if (hz.state == FutexHashHazard::State::absent) {
      m.mitigation = std::string("PR_FUTEX_HASH refused (errno ") + std::to_string(err) +
                     "), but this kernel was measured not to strand private waits: private words kept";
    } else {
      m.use_private = false;
      m.mitigation = std::string("PR_FUTEX_HASH refused (errno ") + std::to_string(err) +
                     ") and the hazard is " + std::string(to_string(hz.state)) +
                     ": using shared futex words, which the private hash never strands";
    }
  }
  m.futex2_flags = FUTEX2_SIZE_U32 | (m.use_private ? FUTEX2_PRIVATE : 0);
  m.legacy_private_flag = m.use_private ? FUTEX_PRIVATE_FLAG : 0;
#ifdef SYS_futex_wake
  std::uint32_t probe_word = 0;
  long w = syscall(SYS_futex_wake, &probe_word, static_cast<unsigned long>(0xffffffffu), 1, m.futex2_flags);
  m.futex2_wake_syscall = (w >= 0);
#endif
  return m;
}

const FutexMode& futex_mode() noexcept {
  static const FutexMode mode = decide();
  return mode;
}

void futex_wake(const std::atomic<std::uint32_t>* word, int n) noexcept {
  const FutexMode& m = futex_mode();
#ifdef SYS_futex_wake
  if (m.futex2_wake_syscall) {
    syscall(SYS_futex_wake, word, static_cast<unsigned long>(0xffffffffu), n, m.futex2_flags);
    return;
  }
#endif
  syscall(SYS_futex, word, FUTEX_WAKE | m.legacy_private_flag, n, nullptr, nullptr, 0);
}

}  // namespace libsync::detail
