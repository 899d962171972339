// IdleSpinPolicy: how long a loop's next idle spin lasts (LoopOptions::idle_spin),
// learnt from how its earlier idle periods ended. Loop thread only; no clock
// and no atomics inside, so the rules read on their own.
//
// The evidence a loop has after each idle period:
//   - its spin caught a wake: spinning pays, spin in full;
//   - its spin ended empty (at its limit, or at a due timer): spin less;
//   - it slept (spinning short or not at all), and a wake ended the sleep:
//     perhaps a full spin would have caught that wake.
// The last one is ambiguous, whatever the sleep's length. A partner on its own
// CPU that answers within the spin is caught by a full spin, even when a wake
// from a sleep takes longer than the whole spin (an idle vCPU can take 30 us
// or more to wake, longer than a short spin). A partner that shares the loop's
// CPU cannot run while the loop spins at all, so it always answers just after
// the spin gives up. Restoring the spin on every such sleep made those loops
// pay a full spin on nearly every idle period; never restoring it after a long
// sleep left loops with a busy partner on another CPU sleeping for good once a
// few spins had missed. So such a sleep earns a trial: after probe_gap_ of
// them the loop spins in full once. A trial that catches a wake restores
// spinning; one that ends empty turns it off at once and doubles probe_gap_
// (up to kMaxProbeGap). A caught wake resets all of that.
#pragma once

#include <algorithm>
#include <cstdint>

namespace libsync::detail {

class IdleSpinPolicy {
 public:
  // A spin shorter than this is not worth starting: the limit drops to zero.
  static constexpr std::int64_t kMinSpinNs = 500;
  // After failed trials, the most wake-ended sleeps a loop waits for before
  // the next (a power of two): at the default 100 us spin, a loop whose
  // partner shares its CPU wastes 100 us per 256 idle periods at worst.
  static constexpr unsigned kMaxProbeGap = 256;

  explicit IdleSpinPolicy(std::int64_t max_ns) noexcept { reset(max_ns); }

  // A new maximum (set_idle_spin): forget what was learnt, spin in full.
  void reset(std::int64_t max_ns) noexcept {
    max_ns_ = std::max<std::int64_t>(max_ns, 0);
    on_caught();
  }

  std::int64_t max_ns() const noexcept { return max_ns_; }
  // How long the next spin may last; zero: do not spin.
  std::int64_t limit_ns() const noexcept { return limit_ns_; }
  // Whether on_woken() has anything to learn: only while the spin is
  // shorter than its maximum.
  bool learning() const noexcept { return max_ns_ != 0 && limit_ns_ < max_ns_; }

  // The spin caught a wake.
  void on_caught() noexcept {
    limit_ns_ = max_ns_;
    probe_gap_ = 1;
    sleeps_ = 0;
    trial_ = false;
  }

  // The spin reached its limit without a wake.
  void on_empty() noexcept {
    if (trial_) {
      // A trial that caught nothing: the sleeps that earned it were not
      // spinning's to catch.
      limit_ns_ = 0;
      probe_gap_ = std::min(probe_gap_ * 2, kMaxProbeGap);
      trial_ = false;
    } else {
      halve();
    }
  }

  // The spin ended at a due timer, without a wake: it halves, or a loop
  // whose timers keep falling due within the spin would never sleep, and a
  // trial cut short so counts as failed, or such a loop would earn a full
  // trial after every sleep for good.
  void on_timer() noexcept {
    if (trial_) probe_gap_ = std::min(probe_gap_ * 2, kMaxProbeGap);
    trial_ = false;
    halve();
  }

  // A wake ended a sleep.
  void on_woken() noexcept {
    if (!learning() || ++sleeps_ < probe_gap_) return;
    sleeps_ = 0;
    limit_ns_ = max_ns_;
    trial_ = true;
  }

 private:
  void halve() noexcept {
    limit_ns_ /= 2;
    if (limit_ns_ < kMinSpinNs) limit_ns_ = 0;
  }

  std::int64_t max_ns_ = 0;
  std::int64_t limit_ns_ = 0;
  unsigned probe_gap_ = 1;  // wake-ended sleeps that earn the next trial
  unsigned sleeps_ = 0;     // counted towards it so far
  bool trial_ = false;      // the next spin is a trial
};

}  // namespace libsync::detail
