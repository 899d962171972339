// seccomp_deny_io_uring PROGRAM [ARG...]: runs PROGRAM under a seccomp filter
// that answers EPERM to io_uring_setup, io_uring_enter and io_uring_register
// and allows everything else. That is how a container runtime's default
// profile refuses io_uring, so libsync can be shown to notice the refusal,
// say so, and carry on with epoll, on any kernel that has io_uring.
//
// The filter is raw classic BPF (no libseccomp). It is installed after
// PR_SET_NO_NEW_PRIVS, which lets an unprivileged process install one, and it
// survives execve, so everything PROGRAM starts is filtered too.
//
// Exit status: PROGRAM's own, or 125 when the filter cannot be installed here
// (the caller treats that as a skip), or 127 when PROGRAM cannot be run.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

namespace {

constexpr int kCannotFilter = 125;
constexpr int kCannotExec = 127;

// The audit architecture of this build. A syscall made under another ABI (a
// 32-bit one, say) is left alone: its numbers mean other calls there.
#if defined(__x86_64__)
constexpr unsigned kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kArch = AUDIT_ARCH_AARCH64;
#elif defined(__i386__)
constexpr unsigned kArch = AUDIT_ARCH_I386;
#elif defined(__riscv) && __riscv_xlen == 64
constexpr unsigned kArch = AUDIT_ARCH_RISCV64;
#else
constexpr unsigned kArch = 0;  // unknown here: refuse to guess (exit 125)
#endif

int install_filter() {
  if (kArch == 0) {
    std::fprintf(stderr, "seccomp_deny_io_uring: no audit architecture known for this build\n");
    return -1;
  }
  // Jump offsets count instructions after the jump itself.
  sock_filter prog[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
  };
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(sizeof prog / sizeof prog[0]);
  fprog.filter = prog;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    std::fprintf(stderr, "seccomp_deny_io_uring: PR_SET_NO_NEW_PRIVS failed: %s\n", std::strerror(errno));
    return -1;
  }
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) {
    std::fprintf(stderr, "seccomp_deny_io_uring: installing the filter failed: %s\n", std::strerror(errno));
    return -1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PROGRAM [ARG...]\n", argv[0]);
    return 2;
  }
  if (install_filter() != 0) return kCannotFilter;
  execvp(argv[1], argv + 1);
  std::fprintf(stderr, "seccomp_deny_io_uring: cannot run %s: %s\n", argv[1], std::strerror(errno));
  return kCannotExec;
}
