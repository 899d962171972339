// The generic tier: a woken task's handle goes onto its loop's ready queue
// (same thread: no syscall) or remote queue (another thread: the loop is
// poked through its backend's notifier only if it is parked).
#include "backend.hpp"
#include "loop_core.hpp"
#include "loop_counters.hpp"
#include "tier_table.hpp"
#include "wake_path.hpp"

namespace libsync::detail {
namespace {

class GenericWakePath final : public WakePath {
 public:
  explicit GenericWakePath(Loop& loop) : loop_(loop) {}
  Tier tier() const noexcept override { return Tier::generic; }

  void deliver(WaiterNode& n) noexcept override {
    Loop* target = n.loop;
    std::coroutine_handle<> h = n.handle;
    if (Loop::current() == target) {
      n.word.store(kWordWoken, std::memory_order_release);
      bump(detail::core(*target).counters().local_wakes);
      detail::core(*target).schedule(h);
    } else {
      // The word is stored under the loop's remote lock, after the push: a
      // waiter being torn down with its loop waits for kWordWoken, then ~Loop
      // takes the same lock, so the loop outlives this call.
      detail::core(*target).schedule_remote(h, &n.word);
    }
  }

  void deliver_run(WaiterNode& first, std::size_t count) noexcept override {
    detail::core(*first.loop).schedule_remote_run(first, count);
  }

  // The write itself happens after the remote lock is dropped.
  DeferredWake notify_loop_locked() noexcept override {
    bump(detail::core(loop_).counters().notifier_writes);
    return detail::core(loop_).begin_notify();
  }

 private:
  Loop& loop_;
};

std::unique_ptr<WakePath> make_generic_wake_path(Loop& loop) {
  return std::make_unique<GenericWakePath>(loop);
}

// Runs wherever some loop backend does.
TierAvailability generic_availability(const Capabilities&, const BackendStatus& b) {
  if (!b.available) return {false, "no loop backend is available on this system"};
  return {true, "portable tier; runs on the " + std::string(to_string(b.backend)) + " backend"};
}

}  // namespace

const TierEntry generic_tier{Tier::generic, BackendKind::automatic, &generic_availability,
                             &make_generic_wake_path};

}  // namespace libsync::detail
