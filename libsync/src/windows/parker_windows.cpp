// Parking a plain thread on Windows: WaitOnAddress / WakeByAddressAll, the
// address-keyed wait Windows 8 added (the futex analogue).
//
// Not std::atomic::wait or the std semaphores: with mingw-w64's libstdc++ 12
// they hang under stress. WaitOnAddress compares the word with `expected`
// inside the wait, so a wake between the caller's check and the sleep is not
// lost, and waking an address whose memory was reused only causes a spurious
// return, which every caller tolerates.
#include <chrono>

#include "parker.hpp"
#include "windows/windows.hpp"

namespace libsync::detail {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t),
              "WaitOnAddress compares the atomic's bytes directly");

void park(std::atomic<std::uint32_t>& word, std::uint32_t expected,
          std::optional<Clock::time_point> deadline) noexcept {
  DWORD ms = INFINITE;
  if (deadline) {
    auto left = *deadline - Clock::now();
    if (left <= Clock::duration::zero()) return;
    // Round up so a deadline under a millisecond away does not spin.
    auto n = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    ms = n >= static_cast<long long>(INFINITE) ? INFINITE - 1 : static_cast<DWORD>(n);
  }
  WaitOnAddress(reinterpret_cast<volatile void*>(&word), &expected, sizeof expected, ms);
}

void prepare_parking() noexcept {}  // WaitOnAddress needs no set-up

void unpark_all(std::atomic<std::uint32_t>& word) noexcept {
  WakeByAddressAll(reinterpret_cast<void*>(&word));
}

void unpark_one(std::atomic<std::uint32_t>& word) noexcept {
  WakeByAddressSingle(reinterpret_cast<void*>(&word));
}

}  // namespace libsync::detail
