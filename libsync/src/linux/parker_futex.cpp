// Parking a plain thread on Linux: FUTEX_WAIT_BITSET / FUTEX_WAKE on the
// word itself, with the process's one private/shared choice (futex.hpp), so a
// thread parked here and a loop's waker always agree on the futex key.
#include <climits>
#include <ctime>

#include "linux/futex.hpp"
#include "linux/uring_compat.hpp"
#include "parker.hpp"

namespace libsync::detail {

void park(std::atomic<std::uint32_t>& word, std::uint32_t expected,
          std::optional<Clock::time_point> deadline) noexcept {
  const auto& m = futex_mode();
  timespec ts{};
  timespec* tsp = nullptr;
  if (deadline) {
    // steady_clock is CLOCK_MONOTONIC on Linux; FUTEX_WAIT_BITSET takes an
    // absolute time on that clock.
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline->time_since_epoch()).count();
    if (ns < 0) ns = 0;
    ts.tv_sec = static_cast<time_t>(ns / 1000000000);
    ts.tv_nsec = static_cast<long>(ns % 1000000000);
    tsp = &ts;
  }
  syscall(SYS_futex, &word, FUTEX_WAIT_BITSET | m.legacy_private_flag, expected, tsp, nullptr,
          FUTEX_BITSET_MATCH_ANY);
}

void prepare_parking() noexcept {
  (void)futex_mode();
}

void unpark_all(std::atomic<std::uint32_t>& word) noexcept {
  futex_wake(&word, INT_MAX);
}

void unpark_one(std::atomic<std::uint32_t>& word) noexcept {
  futex_wake(&word, 1);
}

}  // namespace libsync::detail
