// The one way libsync includes the Windows headers: without the rarely used
// parts of <windows.h> (which also keeps it from pulling in the old
// <winsock.h> ahead of <winsock2.h>), and without its min/max macros, which
// break std::min, std::max and numeric_limits<>::max().
#pragma once

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
// clang-format off: <winsock2.h> first, the order Microsoft documents
#include <windows.h>
#include <winsock2.h>
// clang-format on
