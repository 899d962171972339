// The private futex hash hazard, measured.
//
// Some Linux 6.16+ builds install a per-process private futex hash when a
// process gets its second thread, without moving PRIVATE waiters that were
// queued before: those waits then miss every wake. Other builds with the same
// version string migrate them. Only running the sequence tells, and running
// it in this process would change the very state it measures (and could
// strand a wait for good), so a forked child does it:
//
//   1. still single-threaded, arm an io_uring FUTEX_WAIT (PRIVATE) on a word;
//   2. start a thread (raw clone: the child must not rely on anything that is
//      unsafe after fork in a multi-threaded parent);
//   3. change the word and FUTEX_WAKE it;
//   4. wait up to kWaitMs for the FUTEX_WAIT's completion.
//
// The child reports through a pipe and exits; the parent waits for it with a
// deadline and kills it if it overstays. A child has an address space of its
// own, so the parent's futex hash (global after futex_mode()'s prctl) does not
// leak into the measurement.
#include <liburing.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <sync/capabilities.hpp>

#include "linux/uring_compat.hpp"

namespace libsync {
namespace {

constexpr int kWaitMs = 300;          // how long the child waits for its wake
constexpr int kChildBudgetMs = 3000;  // how long the parent waits for the child

// Exit codes of the child.
constexpr int kChildWoken = 10;
constexpr int kChildLost = 11;
constexpr int kChildCannot = 12;

alignas(4) std::uint32_t g_word = 0;       // the child's FUTEX_WAIT word
alignas(4) std::uint32_t g_park_word = 0;  // the child's extra thread sleeps here

int park_forever(void*) {
  for (;;) syscall(SYS_futex, &g_park_word, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
  return 0;
}

// Only async-signal-safe calls and raw syscalls from here on: the parent may
// have had other threads when it forked.
void report(int fd, const char* text) {
  std::size_t n = std::strlen(text);
  while (n > 0) {
    ssize_t w = ::write(fd, text, n);
    if (w <= 0) return;
    text += w;
    n -= static_cast<std::size_t>(w);
  }
}

[[noreturn]] void child_main(int fd) {
  char buf[256];
  io_uring ring;
  int r = io_uring_queue_init(4, &ring, 0);
  if (r < 0) {
    std::snprintf(buf, sizeof buf, "io_uring_queue_init failed in the child: %s", std::strerror(-r));
    report(fd, buf);
    _exit(kChildCannot);
  }
  const int before = prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS, 0UL, 0UL, 0UL);
  if (before > 0) {
    // A forked child keeps its parent's private hash: the state the hazard
    // needs (no private hash until the first thread) cannot be had here.
    std::snprintf(
        buf, sizeof buf,
        "the checking child inherited a private futex hash of %d slots from this process (it had "
        "threads and no global hash when it forked), so the sequence cannot be reproduced from here",
        before);
    report(fd, buf);
    _exit(kChildCannot);
  }
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  detail::prep_futex_wait(sqe, &g_word, 0, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE);
  io_uring_sqe_set_data64(sqe, 1);
  if (io_uring_submit(&ring) != 1) {
    report(fd, "could not submit the child's FUTEX_WAIT");
    _exit(kChildCannot);
  }
  io_uring_cqe* cqe = nullptr;
  if (io_uring_peek_cqe(&ring, &cqe) == 0 && cqe) {
    std::snprintf(buf, sizeof buf, "the child's FUTEX_WAIT completed before any wake (%s)",
                  std::strerror(-cqe->res));
    report(fd, buf);
    _exit(kChildCannot);
  }
  // The first extra thread of the child process.
  constexpr std::size_t kStack = 64 * 1024;
  void* stack = mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    report(fd, "mmap of a thread stack failed in the child");
    _exit(kChildCannot);
  }
  const int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
  if (clone(park_forever, static_cast<char*>(stack) + kStack, flags, nullptr) < 0) {
    std::snprintf(buf, sizeof buf, "clone of a thread failed in the child: %s", std::strerror(errno));
    report(fd, buf);
    _exit(kChildCannot);
  }
  const int after = prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS, 0UL, 0UL, 0UL);
  __atomic_store_n(&g_word, 1u, __ATOMIC_SEQ_CST);
  const long woken = syscall(SYS_futex, &g_word, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
  __kernel_timespec ts{};
  ts.tv_sec = kWaitMs / 1000;
  ts.tv_nsec = (kWaitMs % 1000) * 1000000L;
  cqe = nullptr;
  r = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
  const bool completed = r == 0 && cqe;
  const int res = completed ? cqe->res : 0;
  std::snprintf(buf, sizeof buf,
                "child: PR_FUTEX_HASH GET_SLOTS %d before its first thread, %d after; FUTEX_WAKE "
                "reported %ld woken; the FUTEX_WAIT armed before the thread %s",
                before, after, woken,
                completed ? (res == 0 ? "completed (woken)" : "completed with an error")
                          : "did not complete within 300 ms (the wake was lost)");
  report(fd, buf);
  if (completed && res != 0) _exit(kChildCannot);
  _exit(completed ? kChildWoken : kChildLost);
}

FutexHashHazard measure() {
  FutexHashHazard h;
  errno = 0;
  if (prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS, 0UL, 0UL, 0UL) < 0) {
    const int err = errno;
    if (err == EINVAL) {
      h.state = FutexHashHazard::State::not_applicable;
      h.detail = "PR_FUTEX_HASH is rejected (EINVAL): this kernel has no private futex hash";
    } else {
      h.detail = std::string("PR_FUTEX_HASH GET_SLOTS failed: ") + std::strerror(err) +
                 " (a seccomp filter?), so the check did not run";
    }
    return h;
  }
  io_uring_probe* probe = io_uring_get_probe();
  const bool has_futex_wait = probe && io_uring_opcode_supported(probe, LIBSYNC_IORING_OP_FUTEX_WAIT);
  if (probe) io_uring_free_probe(probe);
  if (!has_futex_wait) {
    h.detail = "io_uring FUTEX_WAIT is unavailable here, so the sequence cannot be run";
    return h;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    h.detail = std::string("pipe2 failed: ") + std::strerror(errno);
    return h;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    h.detail = std::string("fork failed: ") + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return h;
  }
  if (pid == 0) {
    ::close(fds[0]);
    child_main(fds[1]);
  }
  ::close(fds[1]);
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kChildBudgetMs);
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    char buf[256];
    ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF: the child exited
    text.append(buf, static_cast<std::size_t>(got));
  }
  ::close(fds[0]);
  int status = 0;
  pid_t w = 0;
  while ((w = ::waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
    ::usleep(1000);
  if (w == 0) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    h.detail =
        "the checking child did not finish within 3 s and was killed" + (text.empty() ? "" : ": " + text);
    return h;
  }
  if (w < 0) {
    // SIGCHLD ignored by the application: the child was reaped for us, and
    // its report is all there is.
    status = 0;
  }
  const int code = (w > 0 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  h.detail = text.empty() ? "the checking child reported nothing" : text;
  if (code == kChildWoken || (code == -1 && text.find("(woken)") != std::string::npos)) {
    h.state = FutexHashHazard::State::absent;
  } else if (code == kChildLost || (code == -1 && text.find("was lost") != std::string::npos)) {
    h.state = FutexHashHazard::State::present;
  }
  return h;
}

}  // namespace

const FutexHashHazard& futex_hash_hazard() {
  static const FutexHashHazard result = [] {
    const auto t0 = std::chrono::steady_clock::now();
    FutexHashHazard h = measure();
    h.cost_us = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
    return h;
  }();
  return result;
}

}  // namespace libsync
