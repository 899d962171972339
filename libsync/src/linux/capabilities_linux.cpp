// Linux capability probe: measures, at run time, what this kernel and process
// allow (uname, a scratch io_uring ring and its opcode probe, ring setup flags,
// the futex2 syscalls, PR_FUTEX_HASH, RLIMIT_MEMLOCK, epoll).
//
// Every probe is chosen so that it leaves no trace: rings are created and
// closed, the futex syscalls are made in ways that return at once, and
// PR_FUTEX_HASH is only read, never set. Nothing here starts a thread, so the
// probe cannot itself trigger the private futex hash hazard it reports on.

#include <dlfcn.h>
#include <errno.h>
#include <liburing.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

// Whether the headers are 2.3 must be decided before the guards below define
// the setup flags that 2.3 introduced.
#if defined(IO_URING_VERSION_MAJOR) && defined(IO_URING_VERSION_MINOR)
#define LIBSYNC_LIBURING_BUILD_KNOWN 1
#if IO_URING_VERSION_MAJOR > 2 || (IO_URING_VERSION_MAJOR == 2 && IO_URING_VERSION_MINOR >= 4)
#define LIBSYNC_HAVE_SETUP_BUF_RING 1  // io_uring_setup_buf_ring() arrived in 2.4
#endif
#elif defined(IORING_SETUP_DEFER_TASKRUN)
#define LIBSYNC_LIBURING_HEADERS_2_3 1
#endif

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "linux/uring_compat.hpp"
#include "sync/capabilities.hpp"

// Feature bits newer than the headers we may be built against. The kernel
// reports them whether or not we know their names.
#ifndef IORING_FEAT_REG_REG_RING
#define IORING_FEAT_REG_REG_RING (1U << 13)
#endif
#ifndef IORING_FEAT_RECVSEND_BUNDLE
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14)
#endif
#ifndef IORING_FEAT_MIN_TIMEOUT
#define IORING_FEAT_MIN_TIMEOUT (1U << 15)
#endif
#ifndef IORING_FEAT_RW_ATTR
#define IORING_FEAT_RW_ATTR (1U << 16)
#endif
#ifndef IORING_FEAT_NO_IOWAIT
#define IORING_FEAT_NO_IOWAIT (1U << 17)
#endif

#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_TASKRUN_FLAG
#define IORING_SETUP_TASKRUN_FLAG (1U << 9)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif

namespace libsync {
namespace {

constexpr unsigned kScratchEntries = 8;

std::string errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  if (const char* name = strerrorname_np(err)) return name;
#endif
  return "errno " + std::to_string(err);
}

// Reads a small text file (procfs, sysfs); empty when it cannot be read.
std::string read_small_file(const char* path) {
  std::string text;
  std::FILE* f = std::fopen(path, "re");
  if (!f) return text;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  return text;
}

// Value of a "Key:\tvalue" line from /proc/self/status, without whitespace.
std::string status_field(const std::string& status, std::string_view key) {
  std::size_t pos = 0;
  while (pos < status.size()) {
    std::size_t end = status.find('\n', pos);
    if (end == std::string::npos) end = status.size();
    std::string_view line(status.data() + pos, end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      std::string_view value = line.substr(key.size() + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
      }
      return std::string(value);
    }
    pos = end + 1;
  }
  return {};
}

// Parses a leading decimal integer; `fallback` when there is none.
long parse_long(const std::string& text, long fallback) {
  if (text.empty()) return fallback;
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || errno != 0) return fallback;
  return v;
}

std::uint64_t rlim_to_u64(rlim_t v) {
  return v == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(v);
}

void probe_kernel(KernelInfo& k) {
  struct utsname u {};
  if (uname(&u) != 0) return;
  k.os = u.sysname;
  k.release = u.release;
  k.architecture = u.machine;
  // Releases look like "6.18.44-fc-v669" or "6.1.0-13-amd64"; whatever is
  // missing stays 0.
  std::sscanf(u.release, "%d.%d.%d", &k.major, &k.minor, &k.patch);
}

void probe_limits(MemoryLimits& m) {
  struct rlimit r {};
  if (getrlimit(RLIMIT_MEMLOCK, &r) != 0) return;
  m.memlock_soft = rlim_to_u64(r.rlim_cur);
  m.memlock_hard = rlim_to_u64(r.rlim_max);
}

std::string seccomp_mode(const std::string& status) {
  const std::string v = status_field(status, "Seccomp");
  if (v == "0") return "disabled";
  if (v == "1") return "strict";
  if (v == "2") return "filter";
  return "unknown";
}

std::string memlock_text(std::uint64_t bytes) {
  if (bytes == UINT64_MAX) return "unlimited";
  return std::to_string(bytes / 1024) + " KiB";
}

// Whether this process is in kernel.io_uring_group, the group that
// io_uring_disabled=1 still lets through.
bool in_io_uring_group(long gid) {
  if (gid < 0) return false;
  const gid_t g = static_cast<gid_t>(gid);
  if (getegid() == g) return true;
  const int count = getgroups(0, nullptr);
  if (count <= 0) return false;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  const int n = getgroups(count, groups.data());
  for (int i = 0; i < n; ++i) {
    if (groups[static_cast<std::size_t>(i)] == g) return true;
  }
  return false;
}

// Says why io_uring_setup failed here. The same errno has different causes
// depending on kernel version and policy, so each is checked, not assumed.
std::string explain_setup_error(int err, const IoUringInfo& io, const KernelInfo& k,
                                const MemoryLimits& lim) {
  const bool filtered = io.seccomp == "filter";
  switch (err) {
    case ENOSYS:
      return filtered ? "ENOSYS: kernel built without io_uring, or a seccomp filter "
                        "that answers ENOSYS"
                      : "ENOSYS: kernel built without io_uring";
    case EPERM: {
      if (io.disabled_sysctl == 2) {
        return "EPERM: io_uring_disabled sysctl = 2 (disabled for all processes)";
      }
      if (io.disabled_sysctl == 1) {
        const long gid = parse_long(read_small_file("/proc/sys/kernel/io_uring_group"), -1);
        if (!in_io_uring_group(gid)) {
          return "EPERM: io_uring_disabled sysctl = 1 (only CAP_SYS_ADMIN or "
                 "kernel.io_uring_group gid " +
                 std::to_string(gid) + " may create rings)";
        }
      }
      if (filtered) return "EPERM: refused by seccomp filter (e.g. Docker default profile)";
      return "EPERM: no sysctl or seccomp cause found (an LSM policy?)";
    }
    case ENOMEM:
      // Since 5.12 ring memory is charged to the memory cgroup instead.
      if (!k.at_least(5, 12)) {
        return "ENOMEM: RLIMIT_MEMLOCK too low (" + memlock_text(lim.memlock_soft) + ")";
      }
      return "ENOMEM: out of memory (memory cgroup); RLIMIT_MEMLOCK (" + memlock_text(lim.memlock_soft) +
             ") only limits rings before 5.12";
    case EMFILE:
    case ENFILE:
      return errno_name(err) + ": out of file descriptors";
    case EINVAL:
      return "EINVAL: io_uring_setup rejected the parameters";
    default:
      return errno_name(err) + ": " + strerror(err);
  }
}

// A short-lived ring, closed on scope exit.
class ScratchRing {
 public:
  explicit ScratchRing(unsigned flags) {
    io_uring_params params{};
    params.flags = flags;
    const int ret = io_uring_queue_init_params(kScratchEntries, &ring_, &params);
    error_ = ret < 0 ? -ret : 0;
    features_ = params.features;
  }
  ~ScratchRing() {
    if (error_ == 0) io_uring_queue_exit(&ring_);
  }
  ScratchRing(const ScratchRing&) = delete;
  ScratchRing& operator=(const ScratchRing&) = delete;

  bool ok() const { return error_ == 0; }
  int error() const { return error_; }
  std::uint32_t features() const { return features_; }
  io_uring* get() { return &ring_; }

 private:
  io_uring ring_{};
  int error_ = 0;
  std::uint32_t features_ = 0;
};

struct NamedBit {
  std::uint32_t bit;
  const char* name;
};

constexpr NamedBit kFeatureBits[] = {
    {IORING_FEAT_SINGLE_MMAP, "SINGLE_MMAP"},
    {IORING_FEAT_NODROP, "NODROP"},
    {IORING_FEAT_SUBMIT_STABLE, "SUBMIT_STABLE"},
    {IORING_FEAT_RW_CUR_POS, "RW_CUR_POS"},
    {IORING_FEAT_CUR_PERSONALITY, "CUR_PERSONALITY"},
    {IORING_FEAT_FAST_POLL, "FAST_POLL"},
    {IORING_FEAT_POLL_32BITS, "POLL_32BITS"},
    {IORING_FEAT_SQPOLL_NONFIXED, "SQPOLL_NONFIXED"},
    {IORING_FEAT_EXT_ARG, "EXT_ARG"},
    {IORING_FEAT_NATIVE_WORKERS, "NATIVE_WORKERS"},
    {IORING_FEAT_RSRC_TAGS, "RSRC_TAGS"},
    {IORING_FEAT_CQE_SKIP, "CQE_SKIP"},
    {IORING_FEAT_LINKED_FILE, "LINKED_FILE"},
    {IORING_FEAT_REG_REG_RING, "REG_REG_RING"},
    {IORING_FEAT_RECVSEND_BUNDLE, "RECVSEND_BUNDLE"},
    {IORING_FEAT_MIN_TIMEOUT, "MIN_TIMEOUT"},
    {IORING_FEAT_RW_ATTR, "RW_ATTR"},
    {IORING_FEAT_NO_IOWAIT, "NO_IOWAIT"},
};

std::vector<Feature> name_feature_bits(std::uint32_t features) {
  std::vector<Feature> out;
  std::uint32_t known = 0;
  for (const NamedBit& b : kFeatureBits) {
    known |= b.bit;
    const bool set = (features & b.bit) != 0;
    out.push_back({b.name, set, set ? "" : "not reported"});
  }
  // A newer kernel may set bits we have no name for; show them rather than
  // drop them.
  for (int i = 0; i < 32; ++i) {
    const std::uint32_t bit = 1U << i;
    if ((features & bit) && !(known & bit)) {
      out.push_back({"BIT_" + std::to_string(i), true, "no name known to this build"});
    }
  }
  return out;
}

// io_uring_opcode_supported() reads p->ops[op] after checking only last_op,
// so the index is also checked against the array the kernel filled.
bool opcode_supported(const io_uring_probe* p, int op) {
  if (!p || op < 0 || op > p->last_op || op >= p->ops_len) return false;
  return io_uring_opcode_supported(p, op) != 0;
}

Feature opcode_feature(const io_uring_probe* p, const char* name, int op) {
  Feature f{name, false, {}};
  const std::string number = "opcode " + std::to_string(op);
  if (!p) {
    f.detail = number + ": no opcode probe (IORING_REGISTER_PROBE failed)";
  } else if (opcode_supported(p, op)) {
    f.supported = true;
    f.detail = number;
  } else if (op > p->last_op) {
    f.detail = number + " > last_op " + std::to_string(p->last_op);
  } else {
    f.detail = number + " not supported";
  }
  return f;
}

// Registers and removes a small provided-buffer ring, the only reliable test:
// the kernel has no probe bit for IORING_REGISTER_PBUF_RING.
Feature probe_buf_ring(io_uring* ring) {
  constexpr unsigned kEntries = 8;
  constexpr int kGroup = 0;
  Feature f{"PROVIDED_BUFFER_RING", false, {}};
#ifdef LIBSYNC_HAVE_SETUP_BUF_RING
  int ret = 0;
  io_uring_buf_ring* br = io_uring_setup_buf_ring(ring, kEntries, kGroup, 0, &ret);
  if (!br) {
    f.detail = "io_uring_setup_buf_ring: " + errno_name(ret < 0 ? -ret : ret);
    return f;
  }
  io_uring_free_buf_ring(ring, br, kEntries, kGroup);
  f.supported = true;
  f.detail = "registered an 8-entry ring (io_uring_setup_buf_ring)";
#else
  const std::size_t size = kEntries * sizeof(io_uring_buf);
  void* mem = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    f.detail = "mmap: " + errno_name(errno);
    return f;
  }
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(mem);
  reg.ring_entries = kEntries;
  reg.bgid = kGroup;
  const int ret = io_uring_register_buf_ring(ring, &reg, 0);
  if (ret == 0) {
    io_uring_unregister_buf_ring(ring, kGroup);
    f.supported = true;
    f.detail = "registered an 8-entry ring (io_uring_register_buf_ring)";
  } else {
    const int err = ret < 0 ? -ret : ret;
    f.detail = "io_uring_register_buf_ring: " + errno_name(err);
    if (err == EINVAL) f.detail += " (kernel < 5.19?)";
  }
  munmap(mem, size);
#endif
  return f;
}

Feature probe_setup_flags(const char* name, unsigned flags, const char* with) {
  ScratchRing ring(flags);
  std::string detail = ring.ok() ? "ring created" : errno_name(ring.error());
  if (*with) detail += std::string(" (with ") + with + ")";
  return {name, ring.ok(), detail};
}

std::string liburing_build_version() {
#if defined(LIBSYNC_LIBURING_BUILD_KNOWN)
  return std::to_string(IO_URING_VERSION_MAJOR) + "." + std::to_string(IO_URING_VERSION_MINOR);
#elif defined(LIBSYNC_LIBURING_HEADERS_2_3)
  return "2.3 (headers lack version macros)";
#else
  return "< 2.3 (headers lack version macros)";
#endif
}

// Asks the loaded library, not the headers: the two differ whenever the
// program runs against another liburing than it was built with. dlsym keeps
// us linkable against 2.3, which has no version functions.
std::string liburing_runtime_version() {
  using VersionFn = int (*)();
  void* major = dlsym(RTLD_DEFAULT, "io_uring_major_version");
  void* minor = dlsym(RTLD_DEFAULT, "io_uring_minor_version");
  if (major && minor) {
    return std::to_string(reinterpret_cast<VersionFn>(major)()) + "." +
           std::to_string(reinterpret_cast<VersionFn>(minor)());
  }
  // Older libraries only say their version in the file name (liburing.so.2.3).
  void* any = dlsym(RTLD_DEFAULT, "io_uring_queue_init");
  Dl_info info{};
  if (!any || !dladdr(any, &info) || !info.dli_fname) {
    return "unknown (no io_uring_major_version(), added in 2.4; liburing not found "
           "as a shared library)";
  }
  char resolved[PATH_MAX];
  const std::string path = realpath(info.dli_fname, resolved) ? resolved : info.dli_fname;
  const std::size_t pos = path.rfind(".so.");
  if (pos == std::string::npos) {
    return "unknown (no io_uring_major_version(), added in 2.4; loaded from " + path + ")";
  }
  return path.substr(pos + 4) + " (file name " + path + "; no io_uring_major_version(), added in 2.4)";
}

void probe_io_uring(IoUringInfo& io, const KernelInfo& k, const MemoryLimits& lim,
                    const std::string& status) {
  io.compiled_in = true;
  io.liburing_build_version = liburing_build_version();
  io.liburing_runtime_version = liburing_runtime_version();
  io.seccomp = seccomp_mode(status);
  io.disabled_sysctl =
      static_cast<int>(parse_long(read_small_file("/proc/sys/kernel/io_uring_disabled"), -1));

  struct OpcodeName {
    const char* name;
    int op;
  };
  const OpcodeName opcodes[] = {
      {"FUTEX_WAIT", LIBSYNC_IORING_OP_FUTEX_WAIT},
      {"FUTEX_WAKE", LIBSYNC_IORING_OP_FUTEX_WAKE},
      {"FUTEX_WAITV", LIBSYNC_IORING_OP_FUTEX_WAITV},
      {"ACCEPT", IORING_OP_ACCEPT},
      {"RECV", IORING_OP_RECV},
      {"SEND", IORING_OP_SEND},
      {"SEND_ZC", IORING_OP_SEND_ZC},
      {"LINK_TIMEOUT", IORING_OP_LINK_TIMEOUT},
      {"ASYNC_CANCEL", IORING_OP_ASYNC_CANCEL},
      {"PROVIDE_BUFFERS", IORING_OP_PROVIDE_BUFFERS},
      {"READ", IORING_OP_READ},
  };
  const char* const derived[] = {"MULTISHOT_ACCEPT", "MULTISHOT_RECV", "PROVIDED_BUFFER_RING"};
  struct SetupTrial {
    const char* name;
    unsigned flags;
    const char* with;
  };
  const SetupTrial trials[] = {
      {"SINGLE_ISSUER", IORING_SETUP_SINGLE_ISSUER, ""},
      {"DEFER_TASKRUN", IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "SINGLE_ISSUER"},
      {"COOP_TASKRUN", IORING_SETUP_COOP_TASKRUN, ""},
      {"TASKRUN_FLAG", IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, "COOP_TASKRUN"},
  };

  ScratchRing ring(0);
  if (!ring.ok()) {
    io.setup_errno = ring.error();
    io.setup_error = explain_setup_error(ring.error(), io, k, lim);
    // Keep every row so a table still lists what could not be probed.
    const std::string why = "not probed: io_uring setup failed (" + errno_name(ring.error()) + ")";
    for (const OpcodeName& o : opcodes) io.opcodes.push_back({o.name, false, why});
    for (const char* d : derived) io.opcodes.push_back({d, false, why});
    for (const SetupTrial& t : trials) io.setup_flags.push_back({t.name, false, why});
    return;
  }
  io.setup_ok = true;
  io.features = ring.features();
  io.feature_flags = name_feature_bits(io.features);

  io_uring_probe* probe = io_uring_get_probe_ring(ring.get());
  for (const OpcodeName& o : opcodes) io.opcodes.push_back(opcode_feature(probe, o.name, o.op));
  io.futex_wait = opcode_supported(probe, LIBSYNC_IORING_OP_FUTEX_WAIT);
  io.futex_wake = opcode_supported(probe, LIBSYNC_IORING_OP_FUTEX_WAKE);
  io.futex_waitv = opcode_supported(probe, LIBSYNC_IORING_OP_FUTEX_WAITV);
  io.send_zc = opcode_supported(probe, IORING_OP_SEND_ZC);
  io.link_timeout = opcode_supported(probe, IORING_OP_LINK_TIMEOUT);

  // Multishot is a flag on ACCEPT / RECV, invisible to the opcode probe, so
  // it is inferred from the release that added it.
  const bool accept = opcode_supported(probe, IORING_OP_ACCEPT);
  const bool recv = opcode_supported(probe, IORING_OP_RECV);
  io.multishot_accept = accept && k.at_least(5, 19);
  io.multishot_recv = recv && k.at_least(6, 0);
  io.opcodes.push_back({"MULTISHOT_ACCEPT", io.multishot_accept,
                        !accept               ? "ACCEPT not supported"
                        : io.multishot_accept ? "kernel >= 5.19 (inferred)"
                                              : "needs kernel >= 5.19"});
  io.opcodes.push_back({"MULTISHOT_RECV", io.multishot_recv,
                        !recv               ? "RECV not supported"
                        : io.multishot_recv ? "kernel >= 6.0 (inferred)"
                                            : "needs kernel >= 6.0"});
  if (probe) io_uring_free_probe(probe);

  Feature buf_ring = probe_buf_ring(ring.get());
  io.provided_buffer_ring = buf_ring.supported;
  io.opcodes.push_back(std::move(buf_ring));

  for (const SetupTrial& t : trials) {
    io.setup_flags.push_back(probe_setup_flags(t.name, t.flags, t.with));
  }
}

// Interprets one futex2 syscall probe. `expected` is the errno a present
// syscall gives for the harmless arguments used; ENOSYS means absent, EPERM
// or EACCES mean a filter stands in the way, anything else still proves the
// syscall exists.
Feature syscall_feature(const char* name, long ret, int err, int expected, const std::string& seccomp) {
  if (ret >= 0) return {name, true, "returned " + std::to_string(ret)};
  if (err == expected) return {name, true, errno_name(err) + " (expected: present)"};
  if (err == ENOSYS) {
    return {name, false,
            seccomp == "filter" ? "ENOSYS: absent (kernel < 6.7) or filtered by seccomp"
                                : "ENOSYS: absent (kernel < 6.7)"};
  }
  if (err == EPERM || err == EACCES) {
    return {name, false, errno_name(err) + ": refused (seccomp or LSM)"};
  }
  return {name, true, errno_name(err) + " (present)"};
}

void probe_futex(FutexInfo& fx, const KernelInfo& k, const std::string& status) {
  const std::string seccomp = seccomp_mode(status);
  constexpr unsigned kFlags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE;
  // A word of our own that nobody waits on: the wake finds no one and the
  // wait sees a value other than the expected 0, so both return at once.
  alignas(4) std::uint32_t word = 1;
  [[maybe_unused]] long ret = 0;

#if defined(SYS_futex_wake) && defined(SYS_futex_wait)
  errno = 0;
  ret = syscall(SYS_futex_wake, &word, static_cast<unsigned long>(detail::kFutexMatchAny), 1, kFlags);
  Feature wake = syscall_feature("futex_wake", ret, errno, 0, seccomp);
  errno = 0;
  ret = syscall(SYS_futex_wait, &word, 0UL, static_cast<unsigned long>(detail::kFutexMatchAny), kFlags,
                nullptr, CLOCK_MONOTONIC);
  Feature wait = syscall_feature("futex_wait", ret, errno, EAGAIN, seccomp);
#else
  Feature wake{"futex_wake", false, "syscall number unknown on this architecture"};
  Feature wait{"futex_wait", false, "syscall number unknown on this architecture"};
#endif
#if defined(SYS_futex_waitv)
  // An empty list is rejected with EINVAL before anything else happens.
  errno = 0;
  ret = syscall(SYS_futex_waitv, nullptr, 0U, 0U, nullptr, CLOCK_MONOTONIC);
  Feature waitv = syscall_feature("futex_waitv", ret, errno, EINVAL, seccomp);
#else
  Feature waitv{"futex_waitv", false, "syscall number unknown on this architecture"};
#endif
  fx.futex2_wake = wake.supported;
  fx.futex2_wait = wait.supported;
  fx.futex2_waitv = waitv.supported;
  fx.syscalls = {std::move(wake), std::move(wait), std::move(waitv)};

  // GET only: SET would change the very state later code depends on.
  errno = 0;
  const int slots = prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS, 0UL, 0UL, 0UL);
  const int err = errno;
  if (slots < 0) {
    fx.private_hash_prctl = false;
    fx.private_hash_slots = -1;
    if (err == EINVAL && !k.at_least(6, 16)) {
      fx.private_hash_state = "PR_FUTEX_HASH absent: this kernel has no private futex hash";
    } else if (err == EINVAL) {
      fx.private_hash_state =
          "PR_FUTEX_HASH rejected (EINVAL) on a 6.16+ kernel: futex support compiled out?";
    } else {
      fx.private_hash_state =
          "PR_FUTEX_HASH GET_SLOTS failed: " + errno_name(err) + " (seccomp?); hazard state unknown";
    }
    return;
  }
  fx.private_hash_prctl = true;
  fx.private_hash_slots = slots;
  const long threads = parse_long(status_field(status, "Threads"), -1);
  if (slots > 0) {
    fx.private_hash_state = "private hash with " + std::to_string(slots) +
                            " slots already installed: waiters armed from now on are "
                            "safe (resizes migrate them)";
  } else if (threads > 1) {
    fx.private_hash_state = "global hash with " + std::to_string(threads) +
                            " threads running: PR_FUTEX_HASH_SET_SLOTS 0 was applied (or the private hash is "
                            "compiled out); no hazard";
  } else {
    // GET_SLOTS answers 0 both before any private hash exists and after an
    // explicit SET_SLOTS 0; only a single-threaded process can be in the first
    // state, and there the distinction matters.
    fx.private_hash_state =
        "no private hash yet (single-threaded): unless PR_FUTEX_HASH_SET_SLOTS 0 was already "
        "applied (GET cannot tell), the first extra thread or io-wq worker installs one; whether "
        "that strands PRIVATE waiters armed before it is measured separately (the hazard check)";
  }
}

bool probe_epoll() {
  const int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return false;
  close(fd);
  return true;
}

}  // namespace

Capabilities probe_capabilities() {
  Capabilities caps;
  const std::string status = read_small_file("/proc/self/status");
  probe_kernel(caps.kernel);
  probe_limits(caps.limits);
  probe_io_uring(caps.io_uring, caps.kernel, caps.limits, status);
  probe_futex(caps.futex, caps.kernel, status);
  caps.epoll = probe_epoll();
  return caps;
}

const Capabilities& capabilities() {
  static const Capabilities caps = probe_capabilities();
  return caps;
}

}  // namespace libsync
