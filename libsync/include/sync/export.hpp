// LIBSYNC_API marks what the shared library exports. libsync is compiled
// with hidden visibility (-fvisibility=hidden), so everything else stays
// internal to libsync.so: its ABI is what the public headers declare, and
// what they reach through inline code, nothing more. In a static library the
// mark changes nothing.
#pragma once

// The definition depends on the platform and on how libsync was built, so
// CMake writes it into the generated sync/config.hpp.
#include <sync/config.hpp>
