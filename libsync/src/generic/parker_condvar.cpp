// Parking for systems with neither futex nor WaitOnAddress: a fixed table of
// mutex + condition variable stripes, chosen by the word's address. A waker
// takes the stripe lock before notifying, so a parked thread is either still
// before its check (and sees the new value) or already waiting (and is woken).
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "parker.hpp"

namespace libsync::detail {
namespace {
struct Stripe {
  std::mutex mu;
  std::condition_variable cv;
};
Stripe& stripe_for(const void* addr) {
  static Stripe stripes[64];
  auto a = reinterpret_cast<std::uintptr_t>(addr);
  return stripes[(a >> 4) % 64];
}
}  // namespace

void park(std::atomic<std::uint32_t>& word, std::uint32_t expected,
          std::optional<Clock::time_point> deadline) noexcept {
  Stripe& s = stripe_for(&word);
  std::unique_lock lk(s.mu);
  if (word.load(std::memory_order_acquire) != expected) return;
  if (deadline)
    s.cv.wait_until(lk, *deadline);
  else
    s.cv.wait(lk);
}

void prepare_parking() noexcept {}  // the stripes are built on first use, without allocating

void unpark_all(std::atomic<std::uint32_t>& word) noexcept {
  Stripe& s = stripe_for(&word);
  std::lock_guard lk(s.mu);
  s.cv.notify_all();
}

void unpark_one(std::atomic<std::uint32_t>& word) noexcept {
  // Other words' sleepers may wait on the same condition variable, and a
  // notify_one could pick one of them: wake the stripe.
  unpark_all(word);
}

}  // namespace libsync::detail
