// Kernel interface pieces that Debian 12's headers (linux-libc-dev 6.1) and
// liburing 2.3 do not know yet: the io_uring futex opcodes (Linux 6.7), the
// futex2 syscalls (6.7) and the private futex hash prctl (6.16).
//
// Every constant is guarded so that newer system headers win. The prep helpers
// build on io_uring_prep_rw() and then set the fields it zeroes (addr3 holds
// the futex bit mask, which the kernel rejects when it is zero).
#pragma once

#include <liburing.h>
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#ifndef IORING_OP_FUTEX_WAIT
#define LIBSYNC_IORING_OP_FUTEX_WAIT 51
#define LIBSYNC_IORING_OP_FUTEX_WAKE 52
#define LIBSYNC_IORING_OP_FUTEX_WAITV 53
#else
#define LIBSYNC_IORING_OP_FUTEX_WAIT IORING_OP_FUTEX_WAIT
#define LIBSYNC_IORING_OP_FUTEX_WAKE IORING_OP_FUTEX_WAKE
#define LIBSYNC_IORING_OP_FUTEX_WAITV IORING_OP_FUTEX_WAITV
#endif

#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif
#ifndef FUTEX2_PRIVATE
#define FUTEX2_PRIVATE 128
#endif

#ifndef SYS_futex_wake
#if defined(__x86_64__) || defined(__aarch64__)
#define SYS_futex_wake 454
#define SYS_futex_wait 455
#endif
#endif
#ifndef SYS_futex_waitv
#if defined(__x86_64__) || defined(__aarch64__)
#define SYS_futex_waitv 449
#endif
#endif

#ifndef PR_FUTEX_HASH
#define PR_FUTEX_HASH 78
#define PR_FUTEX_HASH_SET_SLOTS 1
#define PR_FUTEX_HASH_GET_SLOTS 2
#endif

namespace libsync::detail {

inline constexpr std::uint32_t kFutexMatchAny = 0xffffffffu;

// FUTEX_WAIT on a 32-bit word: completes with 0 when woken, -EAGAIN when the
// word no longer holds `expected`, -ECANCELED when cancelled.
inline void prep_futex_wait(io_uring_sqe* sqe, const std::uint32_t* word, std::uint32_t expected,
                            unsigned futex2_flags) {
  io_uring_prep_rw(LIBSYNC_IORING_OP_FUTEX_WAIT, sqe, static_cast<int>(futex2_flags), word, 0, expected);
  sqe->addr3 = kFutexMatchAny;
}

// FUTEX_WAKE of up to `count` waiters on `word`; completes with the number woken.
inline void prep_futex_wake(io_uring_sqe* sqe, const std::uint32_t* word, std::uint32_t count,
                            unsigned futex2_flags) {
  io_uring_prep_rw(LIBSYNC_IORING_OP_FUTEX_WAKE, sqe, static_cast<int>(futex2_flags), word, 0, count);
  sqe->addr3 = kFutexMatchAny;
}

}  // namespace libsync::detail
