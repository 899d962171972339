// The few socket calls whose spelling differs between POSIX and Winsock;
// each platform folder defines them (posix/sockets_posix.cpp,
// windows/sockets_windows.cpp), beside make_nonblocking() from io.hpp.
#pragma once

#include <sync/io.hpp>

namespace libsync::detail {

// Closes `s` at once, without the loop (a socket nobody will hand out).
void close_socket(socket_handle s) noexcept;

}  // namespace libsync::detail
