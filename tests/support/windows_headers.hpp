// The Windows SDK headers the tests use, included the way the library
// includes them (libsync/src/windows/windows.hpp says why), plus the socket
// helpers of <ws2tcpip.h>. Every test source that needs Winsock or Win32
// gets them through here.
#pragma once

#if !defined(_WIN32)
#error "windows_headers.hpp is for Windows builds only"
#endif

// The library's own preamble, so there is one way to include them.
#include <ws2tcpip.h>

#include "../../libsync/src/windows/windows.hpp"
