/// \file
/// WaitStatus: how a wait ended.
///
/// Every waiting operation in libsync reports one of these values: the
/// awaitable and blocking waits of Semaphore, Mutex, Condvar and Event, their
/// try_* forms, and sleep_for / sleep_until. Which values a given operation
/// can return is documented with it.
#pragma once

#include <cstdint>
#include <string_view>
#include <sync/export.hpp>

namespace libsync {

/// How a wait ended. Every waiting operation in libsync reports one of these.
enum class WaitStatus : std::uint8_t {
  acquired,     ///< Got what it waited for (permits, the lock, a notify, the event; for a sleep, the time
                ///< passed).
  timed_out,    ///< The deadline passed first.
  cancelled,    ///< The stop_token was triggered first.
  closed,       ///< The primitive was closed (semaphores).
  would_block,  ///< try_* only: not available right now.
};

/// The enumerator's name: "acquired", "timed_out", "cancelled", "closed" or
/// "would_block" ("unknown" for a value outside the enumeration). Returns a
/// view of a string literal; never allocates; any thread.
LIBSYNC_API std::string_view to_string(WaitStatus s) noexcept;

}  // namespace libsync
