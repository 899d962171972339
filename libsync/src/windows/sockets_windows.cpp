// Sockets are Winsock SOCKETs on Windows.
#include "sockets.hpp"
#include "windows/windows.hpp"

namespace libsync {

bool make_nonblocking(socket_handle s) noexcept {
  u_long on = 1;
  return ioctlsocket(s, FIONBIO, &on) == 0;
}

namespace detail {
void close_socket(socket_handle s) noexcept {
  ::closesocket(s);
}
}  // namespace detail

}  // namespace libsync
