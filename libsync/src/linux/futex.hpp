// Futex words on Linux: one process-wide choice of flags for every waiter
// and waker, and the syscalls that use them.
//
// A private/shared mismatch between a waiter and its waker is a silent lost
// wakeup, so the choice is made once (futex_mode()) and every path asks it.
//
// The choice also defuses the private futex hash hazard of Linux 6.16+: a
// process starts without a private hash and the first extra thread (or
// io-wq worker) installs one without migrating PRIVATE waiters that were
// already armed, which then miss every wake. futex_mode() first asks for the
// global hash (PR_FUTEX_HASH_SET_SLOTS 0), under which no such migration
// happens; EINVAL means the kernel predates the private hash and has no
// hazard. (SYNC_FUTEX_HASH=keep skips the prctl, for the regression test
// that demonstrates the hazard.) Only if the prctl is refused in another way (a seccomp filter, say)
// do we fall back to shared (non-PRIVATE) words, which never use the private
// hash, at some cost per wake.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace libsync::detail {

struct FutexMode {
  bool use_private = true;
  unsigned futex2_flags = 0;         // FUTEX2_SIZE_U32 [| FUTEX2_PRIVATE]
  int legacy_private_flag = 0;       // FUTEX_PRIVATE_FLAG or 0
  bool futex2_wake_syscall = false;  // syscall 454 works (else legacy FUTEX_WAKE)
  std::string mitigation;            // what keeps private waits safe, in words
};

const FutexMode& futex_mode() noexcept;

// Wakes up to `n` waiters on `word`. Safe on memory that was reused.
void futex_wake(const std::atomic<std::uint32_t>* word, int n) noexcept;

}  // namespace libsync::detail
