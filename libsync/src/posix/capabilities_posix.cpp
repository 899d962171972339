// Capability probe for POSIX systems other than Linux (the BSDs, macOS, ...).
// None of the kernel facilities libsync can accelerate with exist there, so
// only the system's identity is reported; every feature stays false and the
// caller ends up on the generic tier.

// Spelled so that a system header reaching <unistd.h> cannot clash its
// ::sync() with namespace libsync (see capabilities_linux.cpp).
#define sync libsync_posix_sync_
#include <sys/utsname.h>
#undef sync

#include <cstdio>

#include "sync/capabilities.hpp"

namespace libsync {

Capabilities probe_capabilities() {
  Capabilities caps;
  struct utsname u {};
  if (uname(&u) == 0) {
    caps.kernel.os = u.sysname;
    caps.kernel.release = u.release;
    caps.kernel.architecture = u.machine;
    // Darwin "23.1.0", FreeBSD "14.0-RELEASE": whatever is missing stays 0.
    std::sscanf(u.release, "%d.%d.%d", &caps.kernel.major, &caps.kernel.minor, &caps.kernel.patch);
  }
  caps.io_uring.setup_error = "io_uring exists only on Linux";
  caps.io_uring.seccomp = "unknown";
  caps.futex.private_hash_state = "no private futex hash outside Linux";
  return caps;
}

const Capabilities& capabilities() {
  static const Capabilities caps = probe_capabilities();
  return caps;
}

}  // namespace libsync
