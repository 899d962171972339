// Tiers and backends, and the one place that chooses between them.
//
// A *backend* is how a loop waits for I/O and timers: `epoll`, `uring`
// (io_uring) or `iocp`. A *tier* is how a task that must wait for a
// semaphore, mutex, condvar or event sleeps and how a wake reaches it:
//
//   generic      the waiter is a node in a user-space FIFO; a wake from
//                another thread is pushed onto the waiter loop's remote queue
//                and the loop is poked through its backend's notifier
//                (eventfd on Linux) only when it is parked. Runs everywhere.
//   uring-futex  the waiter sleeps as an IORING_OP_FUTEX_WAIT on its own
//                loop's ring; any thread wakes it with a futex wake on the
//                waiter's word. Linux >= 6.7, uring backend only.
//   iocp         a wake is a completion packet posted to the waiter loop's
//                port. Windows, iocp backend only.
//
// `select_tier()` resolves a LoopOptions (and the SYNC_TIER / SYNC_BACKEND
// environment variables) into a concrete pair. `auto` takes the best tier
// whose probe *and* live self-test pass and records why the others were
// passed over; forcing a tier the host cannot run throws TierUnavailable.
#pragma once

#include <sync/export.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace libsync {

enum class Tier : std::uint8_t { automatic, generic, uring_futex, iocp };
enum class BackendKind : std::uint8_t { automatic, epoll, uring, iocp };

LIBSYNC_API std::string_view to_string(Tier t) noexcept;
LIBSYNC_API std::string_view to_string(BackendKind b) noexcept;
// Accepts the names printed by to_string ("auto", "generic", "uring-futex",
// "iocp"; "auto", "epoll", "uring", "iocp"); nullopt for anything else.
LIBSYNC_API std::optional<Tier> parse_tier(std::string_view s) noexcept;
LIBSYNC_API std::optional<BackendKind> parse_backend(std::string_view s) noexcept;

// Thrown when a forced tier or backend cannot run here, or a name is unknown.
class LIBSYNC_API TierUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Result of a tier's live self-test: many cross-thread wakes through the
// tier's real wake path, counting the ones that never arrived (lost) and the
// ones that arrived later than `late_threshold_ns`.
struct LIBSYNC_API SelfTestResult {
  bool ran = false;
  bool passed = false;
  std::uint32_t wakes = 0;
  std::uint32_t lost = 0;
  std::uint32_t late = 0;
  std::uint64_t late_threshold_ns = 0;
  std::uint64_t p50_ns = 0, p99_ns = 0, max_ns = 0;
  std::string detail;
};

// The pass rule: no wake lost, and at most 1 in 50 later than
// late_threshold_ns (1 ms): shared, noisy machines deliver the odd late wake
// on any path, a broken path shows as many. (Under Wine only lost wakes count.)
struct LIBSYNC_API TierStatus {
  Tier tier{};
  bool available = false;
  std::string reason;  // why (not) available, in words
  SelfTestResult self_test;
  // auto chose this tier although its self-test failed, because no tier passed
  // and this is the last one there is (the reason says so too).
  bool selected_as_fallback = false;
};

struct LIBSYNC_API BackendStatus {
  BackendKind backend{};
  bool available = false;
  std::string reason;
};

// Everything the selector knows and decided. Cached after the first call.
struct LIBSYNC_API TierReport {
  std::vector<BackendStatus> backends;
  std::vector<TierStatus> tiers;
  Tier auto_tier = Tier::generic;
  BackendKind auto_backend = BackendKind::epoll;
  std::string auto_reason;
  std::string futex_hash_mitigation;  // Linux: what keeps private futex waits safe
};

struct LIBSYNC_API LoopOptions {
  Tier tier = Tier::automatic;
  BackendKind backend = BackendKind::automatic;
  // Read SYNC_TIER / SYNC_BACKEND when tier / backend are automatic.
  bool use_environment = true;
  unsigned ring_entries = 256;  // io_uring submission queue size
};

struct LIBSYNC_API Selection {
  Tier tier{};
  BackendKind backend{};
  std::string reason;
};

// Runs the probe and every tier's self-test once (tens of milliseconds), then
// answers from the cache.
LIBSYNC_API const TierReport& tier_report();

// Resolves options into a concrete tier and backend, or throws TierUnavailable.
LIBSYNC_API Selection select_tier(const LoopOptions& opts);

// The tiers this build knows about on this platform, best first.
LIBSYNC_API std::vector<Tier> platform_tiers();

}  // namespace libsync
