// WaitStatus: how a wait ended.
#pragma once

#include <sync/export.hpp>

#include <cstdint>
#include <string_view>

namespace libsync {

// How a wait ended. Every waiting operation in libsync reports one of these.
enum class WaitStatus : std::uint8_t {
  acquired,     // got what it waited for (permits, the lock, a notify, the event)
  timed_out,    // the deadline passed first
  cancelled,    // the stop_token was triggered first
  closed,       // the primitive was closed (semaphores)
  would_block,  // try_* only: not available right now
};

LIBSYNC_API std::string_view to_string(WaitStatus s) noexcept;

}  // namespace libsync
