// The Windows SDK headers the tests use, included the one way they must be:
// WIN32_LEAN_AND_MEAN keeps <windows.h> from pulling in the old <winsock.h>,
// which clashes with <winsock2.h>, and NOMINMAX keeps it from defining min
// and max as macros, which breaks std::min/std::max and numeric_limits.
// Every test source that needs Winsock or Win32 gets them through here.
#pragma once

#if !defined(_WIN32)
#error "windows_headers.hpp is for Windows builds only"
#endif

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
