/// \file
/// LIBSYNC_API marks what the shared library exports. libsync is compiled
/// with hidden visibility (-fvisibility=hidden), so everything else stays
/// internal to libsync.so: its ABI is what the public headers declare, and
/// what they reach through inline code, nothing more. In a static library the
/// mark changes nothing. On Windows it is dllexport while building the DLL
/// (LIBSYNC_BUILDING_DLL) and dllimport for its users (LIBSYNC_DLL, which
/// the shared CMake target passes on to them); every public header
/// includes this one first.
#pragma once

// The definition depends on the platform and on how libsync was built, so
// CMake writes it into the generated sync/config.hpp.
#include <sync/config.hpp>
