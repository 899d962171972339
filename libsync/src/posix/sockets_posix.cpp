// Sockets are descriptors on POSIX systems.
#include <fcntl.h>
#include <unistd.h>

#include "sockets.hpp"

namespace libsync {

bool make_nonblocking(socket_handle s) noexcept {
  int fl = fcntl(s, F_GETFL, 0);
  return fl >= 0 && fcntl(s, F_SETFL, fl | O_NONBLOCK) == 0;
}

namespace detail {
void close_socket(socket_handle s) noexcept {
  ::close(s);
}
}  // namespace detail

}  // namespace libsync
