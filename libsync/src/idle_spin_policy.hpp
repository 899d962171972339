// IdleSpinPolicy: how long a loop's next idle spin lasts (LoopOptions::idle_spin),
// learnt from how its earlier idle periods ended. Loop thread only; no clock
// and no atomics inside, so the rules read on their own.
//
// The evidence a loop has after each idle period:
//   - its spin caught a wake: spinning pays, spin in full;
//   - its spin ended empty (at its limit, or at a due timer): spin less;
//   - it slept, and a wake ended the sleep within the full spin length of the
//     loop going idle: a longer spin might have caught that wake.
// The last one is ambiguous. A waker on another CPU that answers in 12 us
// would be caught by a full 20 us spin. A waker that shares the loop's CPU
// cannot run while the loop spins, so it always answers just after the spin
// gives up; restoring the spin on that evidence made such loops pay a full
// spin on nearly every idle period. So a restore is only a probe: a probe
// that ends empty turns the spin off at once, and each failed probe doubles
// how many such short sleeps the next probe waits for (up to kMaxProbeGap).
// A caught wake clears all of that.
//
// A sleep longer than the full spin says nothing either way: the time to
// wake a sleeping thread counts, and on a VM an idle vCPU can take longer to
// wake than the whole spin, so a partner on another CPU can look slow from
// here. Such a loop keeps the spin it has.
#pragma once

#include <algorithm>
#include <cstdint>

namespace libsync::detail {

class IdleSpinPolicy {
 public:
  // A spin shorter than this is not worth starting: the limit drops to zero.
  static constexpr std::int64_t kMinSpinNs = 500;
  // After failed probes, the most short sleeps a loop waits for before it
  // probes again (a power of two): at a 20 us spin, a loop whose waker
  // shares its CPU wastes 20 us per 256 idle periods at worst.
  static constexpr unsigned kMaxProbeGap = 256;

  explicit IdleSpinPolicy(std::int64_t max_ns) noexcept { reset(max_ns); }

  // A new maximum (set_idle_spin): forget what was learnt, spin in full.
  void reset(std::int64_t max_ns) noexcept {
    max_ns_ = std::max<std::int64_t>(max_ns, 0);
    limit_ns_ = max_ns_;
    probe_gap_ = 1;
    short_sleeps_ = 0;
    probing_ = false;
  }

  std::int64_t max_ns() const noexcept { return max_ns_; }
  // How long the next spin may last; zero: do not spin.
  std::int64_t limit_ns() const noexcept { return limit_ns_; }
  // Whether a sleep's length is worth reporting (on_woken_after): only
  // while the spin is shorter than its maximum.
  bool wants_sleep_lengths() const noexcept { return max_ns_ != 0 && limit_ns_ < max_ns_; }

  // The spin caught a wake.
  void on_caught() noexcept {
    limit_ns_ = max_ns_;
    probe_gap_ = 1;
    short_sleeps_ = 0;
    probing_ = false;
  }

  // The spin reached its limit without a wake.
  void on_empty() noexcept {
    if (probing_) {
      // A restored spin that caught nothing: the short sleeps that brought
      // it back were not spinning's to catch.
      limit_ns_ = 0;
      probe_gap_ = std::min(probe_gap_ * 2, kMaxProbeGap);
      probing_ = false;
    } else {
      halve();
    }
  }

  // The spin ended at a due timer, without a wake. Says nothing about wakes,
  // but a loop whose timers keep falling due within the spin would otherwise
  // never sleep.
  void on_timer() noexcept {
    probing_ = false;
    halve();
  }

  // A wake ended a sleep `idle_ns` after the loop went idle (the spin before
  // the sleep and the wake-up latency included).
  void on_woken_after(std::int64_t idle_ns) noexcept {
    if (!wants_sleep_lengths()) return;
    if (idle_ns > max_ns_ || ++short_sleeps_ < probe_gap_) return;
    short_sleeps_ = 0;
    limit_ns_ = max_ns_;
    probing_ = true;
  }

 private:
  void halve() noexcept {
    limit_ns_ /= 2;
    if (limit_ns_ < kMinSpinNs) limit_ns_ = 0;
  }

  std::int64_t max_ns_ = 0;
  std::int64_t limit_ns_ = 0;
  unsigned probe_gap_ = 1;     // short sleeps needed before the next probe
  unsigned short_sleeps_ = 0;  // wake-ended sleeps within max_ns_ of going idle, since the last probe
  bool probing_ = false;       // the spin was restored by a short sleep and has caught nothing since
};

}  // namespace libsync::detail
