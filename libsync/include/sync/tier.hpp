/// \file
/// Tiers and backends, and the one place that chooses between them.
///
/// A *backend* is how a loop waits for I/O and timers: `epoll`, `uring`
/// (io_uring) or `iocp`. A *tier* is how a task that must wait for a
/// semaphore, mutex, condvar or event sleeps and how a wake reaches it:
///
///   generic      the waiter is a node in a user-space FIFO; a wake from
///                another thread is pushed onto the waiter loop's remote queue
///                and the loop is poked through its backend's notifier
///                (eventfd on Linux) only when it is parked. Runs everywhere.
///   uring-futex  a parked loop sleeps as one IORING_OP_FUTEX_WAIT on a
///                doorbell word, on its own ring beside its socket I/O; a
///                woken task goes onto the loop's remote queue and a waker
///                on another thread rings the doorbell with a futex wake
///                (at most one per parked period), so sync wakes and I/O
///                completions arrive on one completion queue.
///                Linux >= 6.7, uring backend only.
///   iocp         a wake is a completion packet posted to the waiter loop's
///                port. Windows, iocp backend only.
///
/// `select_tier()` resolves a LoopOptions (and the SYNC_TIER / SYNC_BACKEND
/// environment variables) into a concrete pair. `auto` takes the best tier
/// whose probe *and* live self-test pass and records why the others were
/// passed over; forcing a tier the host cannot run throws TierUnavailable.
/// Everything here is thread-safe; the probe and the self-tests run once per
/// process, on first use, and their results are cached.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sync/export.hpp>
#include <vector>

namespace libsync {

/// How a loop's waiting tasks sleep and are woken (see the file comment).
enum class Tier : std::uint8_t {
  automatic,    ///< Let select_tier() choose ("auto").
  generic,      ///< User-space FIFO plus the backend's notifier; runs everywhere.
  uring_futex,  ///< A futex wait on the loop's io_uring ("uring-futex"); Linux >= 6.7.
  iocp,         ///< Completion packets on the loop's port; Windows.
};
/// How a loop waits for I/O and timers.
enum class BackendKind : std::uint8_t {
  automatic,  ///< Let select_tier() choose ("auto").
  epoll,      ///< Linux epoll.
  uring,      ///< Linux io_uring.
  iocp,       ///< Windows I/O completion ports.
};

/// The tier's name: "auto", "generic", "uring-futex" or "iocp".
LIBSYNC_API std::string_view to_string(Tier t) noexcept;
/// The backend's name: "auto", "epoll", "uring" or "iocp".
LIBSYNC_API std::string_view to_string(BackendKind b) noexcept;
/// Accepts the names printed by to_string ("auto", "generic", "uring-futex",
/// "iocp"), exactly; nullopt for anything else.
LIBSYNC_API std::optional<Tier> parse_tier(std::string_view s) noexcept;
/// Accepts the names printed by to_string ("auto", "epoll", "uring",
/// "iocp"), exactly; nullopt for anything else.
LIBSYNC_API std::optional<BackendKind> parse_backend(std::string_view s) noexcept;

/// Thrown when a forced tier or backend cannot run here, or a name is
/// unknown; what() says which and why.
class LIBSYNC_API TierUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Result of a tier's live self-test: many cross-thread wakes through the
/// tier's real wake path, counting the ones that never arrived (lost) and the
/// ones that arrived later than `late_threshold_ns`.
struct LIBSYNC_API SelfTestResult {
  bool ran = false;                     ///< The test ran (false: the tier was unavailable).
  bool passed = false;                  ///< It met the pass rule (see TierStatus).
  std::uint32_t wakes = 0;              ///< Wakes sent.
  std::uint32_t lost = 0;               ///< Wakes that never arrived.
  std::uint32_t late = 0;               ///< Wakes later than late_threshold_ns.
  std::uint64_t late_threshold_ns = 0;  ///< What counted as late, in nanoseconds.
  std::uint64_t p50_ns = 0;             ///< Median wake latency, in nanoseconds.
  std::uint64_t p99_ns = 0;             ///< 99th-percentile wake latency, in nanoseconds.
  std::uint64_t max_ns = 0;             ///< Slowest wake that arrived, in nanoseconds.
  std::string detail;                   ///< The numbers, or why it failed, in words.
};

/// One tier as the selector saw it: whether the probe allows it, and how its
/// self-test went.
///
/// The pass rule: no wake lost, and at most 1 in 50 later than
/// late_threshold_ns (1 ms): shared, noisy machines deliver the odd late wake
/// on any path, a broken path shows as many. (Under Wine only lost wakes count.)
struct LIBSYNC_API TierStatus {
  Tier tier{};               ///< Which tier.
  bool available = false;    ///< The probe allows it here (the self-test is separate).
  std::string reason;        ///< Why (not) available, in words.
  SelfTestResult self_test;  ///< Its live self-test (ran only if available).
  /// auto chose this tier although its self-test failed, because no tier passed
  /// and this is the last one there is (the reason says so too).
  bool selected_as_fallback = false;
};

/// One backend as the probe saw it.
struct LIBSYNC_API BackendStatus {
  BackendKind backend{};   ///< Which backend.
  bool available = false;  ///< It can run here.
  std::string reason;      ///< Why (not), in words.
};

/// Everything the selector knows and decided. Cached after the first call.
struct LIBSYNC_API TierReport {
  std::vector<BackendStatus> backends;            ///< Every backend of this platform.
  std::vector<TierStatus> tiers;                  ///< Every tier of this platform, best first.
  Tier auto_tier = Tier::generic;                 ///< What `auto` resolves to.
  BackendKind auto_backend = BackendKind::epoll;  ///< The backend `auto` resolves to.
  std::string auto_reason;                        ///< Why, including why better tiers were passed over.
  std::string futex_hash_mitigation;              ///< Linux: what keeps private futex waits safe.
};

/// The idle spin a Loop has unless told otherwise (LoopOptions::idle_spin):
/// long enough to cover a cross-thread hand-off and the wake-up of an idle
/// vCPU, short enough that an idle loop spends at most twice this per sleep.
/// A partner that is itself asleep answers only after its own wake-up, which
/// on a VM whose idle vCPU halts takes 30-90 us; a spin shorter than that
/// misses every such answer, and two loops handing work back and forth then
/// settle into sleeping on every hand-off for good.
inline constexpr std::chrono::nanoseconds kDefaultIdleSpin{std::chrono::microseconds(100)};
/// The longest idle spin a Loop accepts; longer values are taken as this.
inline constexpr std::chrono::nanoseconds kMaxIdleSpin{std::chrono::seconds(1)};

/// How a Loop should choose its tier and backend (see select_tier()), and
/// how it waits when idle.
struct LIBSYNC_API LoopOptions {
  Tier tier = Tier::automatic;                   ///< A tier to force, or automatic.
  BackendKind backend = BackendKind::automatic;  ///< A backend to force, or automatic.
  /// Read SYNC_TIER / SYNC_BACKEND when tier / backend are automatic, and
  /// SYNC_IDLE_SPIN_US (whole microseconds, 0 to 1000000), which replaces
  /// idle_spin whatever it was set to.
  bool use_environment = true;
  unsigned ring_entries = 256;  ///< io_uring submission queue size.
  /// The longest the loop spins before it sleeps, waiting for a wake from
  /// another thread; zero: never spins; at most kMaxIdleSpin.
  ///
  /// A loop with nothing to run and no I/O in flight (its tasks wait on
  /// primitives, or it only waits for post() or stop()) watches its remote
  /// queue for up to this long, or until a timer is due, before it blocks in
  /// the kernel. A wake that arrives meanwhile costs the waker no syscall
  /// and the loop no sleep, where waking a sleeping thread costs
  /// microseconds (tens on a VM whose idle vCPU halts). The spin only
  /// pauses, never yields: if another thread shares the CPU it waits at most
  /// this long. The spin adapts: a spin that ends without a wake (at its
  /// limit or at a timer) halves the next one, down to none; a spin that
  /// catches a wake restores the full length. While the spin is short or
  /// off, sleeps that a wake ended earn a trial: one full spin after one
  /// such sleep, then, each time a trial catches nothing, after twice as
  /// many (at most 256); a trial that catches a wake restores spinning. A
  /// partner sharing the loop's CPU cannot run during a spin, so its wakes
  /// always come just after one ends: the trials keep such a loop from
  /// spinning in vain, and bring spinning back for a partner on another CPU
  /// whose wakes only looked slow (waking a sleeping thread takes time). A
  /// loop with socket I/O in flight does not spin (its completions are seen
  /// only by entering the kernel), nor does a loop of the iocp tier (its
  /// wakes are completion packets); a generic-tier loop on the iocp backend
  /// does.
  /// With use_environment, SYNC_IDLE_SPIN_US replaces this value.
  std::chrono::nanoseconds idle_spin = kDefaultIdleSpin;
};

/// A concrete tier and backend, and why they were chosen.
struct LIBSYNC_API Selection {
  Tier tier{};            ///< Never automatic.
  BackendKind backend{};  ///< Never automatic.
  std::string reason;     ///< In words: forced by what, or auto's reasoning.
};

/// Runs the probe and every tier's self-test once (tens of milliseconds), then
/// answers from the cache. Thread-safe: concurrent first callers wait for
/// the one run.
LIBSYNC_API const TierReport& tier_report();

/// Resolves options into a concrete tier and backend.
///
/// With `use_environment`, SYNC_TIER and SYNC_BACKEND stand in for an
/// automatic tier or backend. An automatic tier runs tier_report() (once
/// per process) and takes its choice; with a forced backend it takes the
/// best tier that runs on that backend. A forced tier is checked against
/// the probe only (its self-test is not run).
/// \throws TierUnavailable when a forced tier or backend cannot run here,
///         the two do not fit together, or an environment value is not a
///         name parse_tier() / parse_backend() accepts.
LIBSYNC_API Selection select_tier(const LoopOptions& opts);

/// The tiers this build knows about on this platform, best first (never
/// automatic): uring-futex, generic on Linux; iocp, generic on Windows.
LIBSYNC_API std::vector<Tier> platform_tiers();

}  // namespace libsync
