// Tier selection: the only file that knows which tiers and backends exist on
// which platform. Everything else asks it.
//
// auto = the first tier in platform_tiers() that is available here and whose
// live self-test passed. The self-test runs once per process, lazily, on the
// first auto selection or tier_report() call.
#include "selector.hpp"

#include "parker.hpp"

#include <sync/capabilities.hpp>
#include <sync/semaphore.hpp>

#if defined(__linux__)
#include "linux/futex.hpp"
#endif

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace libsync {

std::string_view to_string(Tier t) noexcept {
  switch (t) {
    case Tier::automatic: return "auto";
    case Tier::generic: return "generic";
    case Tier::uring_futex: return "uring-futex";
    case Tier::iocp: return "iocp";
  }
  return "unknown";
}

std::string_view to_string(BackendKind b) noexcept {
  switch (b) {
    case BackendKind::automatic: return "auto";
    case BackendKind::epoll: return "epoll";
    case BackendKind::uring: return "uring";
    case BackendKind::iocp: return "iocp";
  }
  return "unknown";
}

std::optional<Tier> parse_tier(std::string_view s) noexcept {
  for (Tier t : {Tier::automatic, Tier::generic, Tier::uring_futex, Tier::iocp})
    if (s == to_string(t)) return t;
  return std::nullopt;
}

std::optional<BackendKind> parse_backend(std::string_view s) noexcept {
  for (BackendKind b : {BackendKind::automatic, BackendKind::epoll, BackendKind::uring, BackendKind::iocp})
    if (s == to_string(b)) return b;
  return std::nullopt;
}

std::vector<Tier> platform_tiers() {
#if defined(__linux__)
  return {Tier::uring_futex, Tier::generic};
#elif defined(_WIN32)
  return {Tier::iocp, Tier::generic};
#else
  return {Tier::generic};
#endif
}

namespace {

std::vector<BackendKind> platform_backends() {
#if defined(__linux__)
  return {BackendKind::uring, BackendKind::epoll};
#elif defined(_WIN32)
  return {BackendKind::iocp};
#else
  return {};
#endif
}

// Whether a backend can run here, from the probe alone.
BackendStatus backend_status(BackendKind b) {
  const Capabilities& caps = capabilities();
  BackendStatus s{b, false, {}};
  switch (b) {
    case BackendKind::epoll:
      s.available = caps.epoll;
      s.reason = caps.epoll ? "epoll_create1 works" : "epoll is not available on this system";
      break;
    case BackendKind::uring:
      if (!caps.io_uring.compiled_in) {
        s.reason = "built without io_uring support";
      } else if (!caps.io_uring.setup_ok) {
        s.reason = "io_uring_setup failed: " + caps.io_uring.setup_error;
      } else {
        s.available = true;
        s.reason = "io_uring ring set up (kernel " + caps.kernel.release + ")";
      }
      break;
    case BackendKind::iocp:
      s.available = caps.windows.iocp;
      s.reason = caps.windows.iocp ? "I/O completion ports available" : "IOCP exists only on Windows";
      break;
    case BackendKind::automatic:
      s.reason = "not a concrete backend";
      break;
  }
  return s;
}

// The backend a tier runs on, and whether the probe allows the tier at all.
BackendKind tier_backend(Tier t) {
  switch (t) {
    case Tier::uring_futex: return BackendKind::uring;
    case Tier::iocp: return BackendKind::iocp;
    default: break;
  }
  for (BackendKind b : platform_backends())
    if (backend_status(b).available) return b;
  return BackendKind::automatic;
}

TierStatus static_tier_status(Tier t) {
  const Capabilities& caps = capabilities();
  TierStatus s{t, false, {}, {}};
  auto tiers = platform_tiers();
  if (std::find(tiers.begin(), tiers.end(), t) == tiers.end()) {
    s.reason = std::string(to_string(t)) + " does not exist on this platform";
    return s;
  }
  switch (t) {
    case Tier::generic: {
      BackendKind b = tier_backend(t);
      s.available = b != BackendKind::automatic;
      s.reason = s.available ? "portable tier; runs on the " + std::string(to_string(b)) + " backend"
                             : "no loop backend is available on this system";
      break;
    }
    case Tier::uring_futex: {
      BackendStatus u = backend_status(BackendKind::uring);
      if (!u.available) {
        s.reason = "needs the uring backend: " + u.reason;
      } else if (!caps.io_uring.futex_wait || !caps.io_uring.futex_wake) {
        s.reason = "kernel " + caps.kernel.release +
                   " lacks IORING_OP_FUTEX_WAIT/WAKE in the io_uring opcode probe (needs Linux >= 6.7)";
      } else {
        s.available = true;
        s.reason = "io_uring FUTEX_WAIT/WAKE supported (kernel " + caps.kernel.release + ")";
      }
      break;
    }
    case Tier::iocp:
      s.available = caps.windows.iocp;
      s.reason = s.available ? "I/O completion port available" : "IOCP not available";
      break;
    case Tier::automatic:
      break;
  }
  return s;
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string tier_names() {
  std::string out = "auto";
  for (Tier t : platform_tiers()) out += std::string(", ") + std::string(to_string(t));
  return out;
}

}  // namespace

const TierReport& tier_report() {
  static TierReport report = [] {
    TierReport r;
    for (BackendKind b : platform_backends()) r.backends.push_back(backend_status(b));
    bool chosen = false;
    for (Tier t : platform_tiers()) {
      TierStatus s = static_tier_status(t);
      if (s.available) {
        s.self_test = detail::run_self_test(t, tier_backend(t), 2000);
        if (!s.self_test.passed) {
          s.reason += "; live self-test failed: " + s.self_test.detail;
        }
      }
      if (!chosen && s.available && s.self_test.passed) {
        chosen = true;
        r.auto_tier = t;
        r.auto_backend = tier_backend(t);
        r.auto_reason = std::string(to_string(t)) + ": " + s.reason + "; self-test passed";
      } else if (s.available && !chosen) {
        r.auto_reason += std::string(to_string(t)) + " skipped (self-test failed). ";
      } else if (!chosen) {
        r.auto_reason += std::string(to_string(t)) + " unavailable (" + s.reason + "). ";
      }
      r.tiers.push_back(std::move(s));
    }
    if (!chosen) {
      // The TierReport defaults name epoll, which does not exist everywhere.
      r.auto_tier = Tier::generic;
      r.auto_backend = tier_backend(Tier::generic);
      for (TierStatus& s : r.tiers) {
        if (s.tier != Tier::generic || !s.available) continue;
        s.selected_as_fallback = true;
        r.auto_reason += "no tier passed its live self-test; generic is selected as the fallback although its "
                         "self-test failed (" + s.self_test.detail + "): it is the last tier there is";
      }
      if (r.auto_reason.find("fallback") == std::string::npos)
        r.auto_reason += "no tier is available; generic is named, but a Loop cannot start here";
    }
#if defined(__linux__)
    r.futex_hash_mitigation = linux_detail::futex_mode().mitigation;
#endif
    return r;
  }();
  return report;
}

Selection select_tier(const LoopOptions& opts) {
  Tier tier = opts.tier;
  BackendKind backend = opts.backend;
  std::string source = "loop option";
  if (opts.use_environment) {
    if (tier == Tier::automatic) {
      std::string v = env_or_empty("SYNC_TIER");
      if (!v.empty()) {
        auto t = parse_tier(v);
        if (!t) throw TierUnavailable("libsync: SYNC_TIER=" + v + " is not a tier; expected one of " + tier_names());
        tier = *t;
        source = "SYNC_TIER";
      }
    }
    if (backend == BackendKind::automatic) {
      std::string v = env_or_empty("SYNC_BACKEND");
      if (!v.empty()) {
        auto b = parse_backend(v);
        if (!b) throw TierUnavailable("libsync: SYNC_BACKEND=" + v + " is not a backend; expected auto, epoll, uring or iocp");
        backend = *b;
      }
    }
  }

  if (tier == Tier::automatic) {
    const TierReport& r = tier_report();
    tier = r.auto_tier;
    if (backend == BackendKind::automatic) {
      return Selection{tier, r.auto_backend, "auto: " + r.auto_reason};
    }
    // A forced backend narrows auto to the tiers that run on it.
    if (tier == Tier::uring_futex && backend != BackendKind::uring) tier = Tier::generic;
    BackendStatus bs = backend_status(backend);
    if (!bs.available)
      throw TierUnavailable("libsync: backend " + std::string(to_string(backend)) + " is unavailable: " + bs.reason);
    return Selection{tier, backend, "auto tier on forced backend " + std::string(to_string(backend))};
  }

  TierStatus ts = static_tier_status(tier);
  if (!ts.available)
    throw TierUnavailable("libsync: tier " + std::string(to_string(tier)) + " was forced (" + source +
                          ") but is unavailable here: " + ts.reason);
  BackendKind needed = tier_backend(tier);
  if (tier == Tier::generic && backend != BackendKind::automatic) needed = backend;
  if (backend != BackendKind::automatic && backend != needed)
    throw TierUnavailable("libsync: tier " + std::string(to_string(tier)) + " cannot run on the " +
                          std::string(to_string(backend)) + " backend; it needs " +
                          std::string(to_string(needed)));
  BackendStatus bs = backend_status(needed);
  if (!bs.available)
    throw TierUnavailable("libsync: backend " + std::string(to_string(needed)) + " is unavailable: " + bs.reason);
  // The generic tier's probe reason names the backend auto would give it,
  // which is not necessarily the one asked for here.
  const std::string why = tier == Tier::generic ? "portable tier" : ts.reason;
  return Selection{tier, needed,
                   "forced by " + source + ": " + std::string(to_string(tier)) + " on the " +
                       std::string(to_string(needed)) + " backend (" + why + ")"};
}

namespace detail {

std::unique_ptr<Backend> make_backend(Loop& loop, const Selection& sel, [[maybe_unused]] const LoopOptions& opts) {
  switch (sel.backend) {
#if defined(__linux__)
    case BackendKind::epoll:
      return make_epoll_backend(loop);
    case BackendKind::uring:
      return make_uring_backend(loop, opts.ring_entries, sel.tier == Tier::uring_futex);
#endif
#if defined(_WIN32)
    case BackendKind::iocp:
      return make_iocp_backend(loop);
#endif
    default:
      throw TierUnavailable("libsync: no backend implementation for " + std::string(to_string(sel.backend)));
  }
}

std::unique_ptr<WakePath> make_wake_path(Loop& loop, const Selection& sel) {
  switch (sel.tier) {
    case Tier::generic:
      return make_generic_wake_path(loop);
#if defined(__linux__)
    case Tier::uring_futex:
      return make_futex_wake_path(loop);
#endif
#if defined(_WIN32)
    case Tier::iocp:
      return make_iocp_wake_path(loop);
#endif
    default:
      throw TierUnavailable("libsync: no wake path implementation for " + std::string(to_string(sel.tier)));
  }
}

SelfTestResult run_self_test(Tier tier, BackendKind backend, unsigned wakes) {
  using namespace std::chrono;
  SelfTestResult r;
  r.ran = true;
  r.late_threshold_ns = 1'000'000;  // a wake later than 1 ms counts as late
  r.wakes = wakes;
  std::unique_ptr<Loop> loop;
  try {
    LoopOptions o;
    o.tier = tier;
    o.backend = backend;
    o.use_environment = false;
    loop = std::make_unique<Loop>(o);
  } catch (const std::exception& e) {
    r.detail = std::string("could not start a loop: ") + e.what();
    return r;
  }

  // The waiter task acquires `wakes` times from an empty semaphore; this
  // thread releases one permit at a time and waits (bounded) for the ack.
  // The state is shared so that a failed run can be abandoned safely.
  struct State {
    Semaphore sem{0};
    std::atomic<std::uint32_t> acks{0};
    std::vector<Clock::time_point> woke;
  };
  auto st = std::make_shared<State>();
  st->woke.resize(wakes);
  Loop* lp = loop.get();
  std::thread runner([st, lp, wakes] {
    lp->block_on([](std::shared_ptr<State> s, unsigned n) -> Task<> {
      for (unsigned i = 0; i < n; ++i) {
        auto p = co_await s->sem.acquire();
        if (!p) co_return;  // closed: the test gave up
        s->woke[i] = Clock::now();
        p.permit.forget();
        s->acks.store(i + 1, std::memory_order_release);
        detail::unpark_all(s->acks);
      }
    }(st, wakes));
  });

  std::vector<std::uint64_t> lat;
  lat.reserve(wakes);
  bool lost_one = false;
  for (unsigned i = 0; i < wakes && !lost_one; ++i) {
    // Let the waiter get back to sleep so each wake crosses threads for real.
    while (st->sem.waiters() == 0) std::this_thread::yield();
    auto t0 = Clock::now();
    st->sem.add_permits(1);
    auto give_up = t0 + milliseconds(500);
    while (st->acks.load(std::memory_order_acquire) <= i) {
      if (Clock::now() >= give_up) {
        lost_one = true;
        break;
      }
      detail::park(st->acks, i, give_up);
    }
    if (lost_one) {
      ++r.lost;
      break;
    }
    auto ns = static_cast<std::uint64_t>(duration_cast<nanoseconds>(st->woke[i] - t0).count());
    lat.push_back(ns);
    if (ns > r.late_threshold_ns) ++r.late;
  }
  if (lost_one) {
    // The wake path is broken; closing the semaphore may not get through
    // either, so the runner thread and its loop are left behind rather than
    // hang start-up.
    st->sem.close();
    runner.detach();
    (void)loop.release();
    r.detail = "a wake was lost (no resume within 500 ms)";
    r.passed = false;
    return r;
  }
  runner.join();
  std::sort(lat.begin(), lat.end());
  if (!lat.empty()) {
    r.p50_ns = lat[lat.size() / 2];
    r.p99_ns = lat[std::min(lat.size() - 1, lat.size() * 99 / 100)];
    r.max_ns = lat.back();
  }
  // Shared, noisy VMs deliver the odd late wake on any path; a systematic
  // problem shows as many.
  r.passed = r.lost == 0 && r.late * 50 <= r.wakes;
  r.detail = std::to_string(r.wakes) + " cross-thread wakes, " + std::to_string(r.lost) + " lost, " +
             std::to_string(r.late) + " later than 1 ms";
  if (!capabilities().windows.wine_version.empty()) {
    // Under Wine every call goes through the wineserver process, so lateness
    // says nothing about the wake path; only lost wakes count there.
    r.passed = r.lost == 0;
    r.detail += " (under Wine " + capabilities().windows.wine_version + ": only lost wakes fail the test)";
  }
  return r;
}

}  // namespace detail
}  // namespace libsync
