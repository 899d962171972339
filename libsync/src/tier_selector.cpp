// Tier selection: walks the tier table (tier_table.hpp) and decides which
// tier and backend a loop gets. It knows no tier by name: what each tier
// needs and why it is (un)available comes from its entry.
//
// auto = the first tier in the table that is available here and whose live
// self-test passed. The self-test runs once per process, lazily, on the
// first auto selection or tier_report() call.
#include <algorithm>
#include <cstdlib>
#include <sync/capabilities.hpp>

#include "selector.hpp"
#include "tier_table.hpp"

namespace libsync {

std::string_view to_string(Tier t) noexcept {
  switch (t) {
    case Tier::automatic:
      return "auto";
    case Tier::generic:
      return "generic";
    case Tier::uring_futex:
      return "uring-futex";
    case Tier::iocp:
      return "iocp";
  }
  return "unknown";
}

std::string_view to_string(BackendKind b) noexcept {
  switch (b) {
    case BackendKind::automatic:
      return "auto";
    case BackendKind::epoll:
      return "epoll";
    case BackendKind::uring:
      return "uring";
    case BackendKind::iocp:
      return "iocp";
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
  std::vector<Tier> out;
  for (const detail::TierEntry* e : detail::tier_table()) out.push_back(e->tier);
  return out;
}

namespace {

using detail::BackendEntry;
using detail::TierEntry;

const BackendEntry* find_backend(BackendKind b) noexcept {
  for (const BackendEntry* e : detail::backend_table())
    if (e->kind == b) return e;
  return nullptr;
}

const TierEntry* find_tier(Tier t) noexcept {
  for (const TierEntry* e : detail::tier_table())
    if (e->tier == t) return e;
  return nullptr;
}

// Whether a backend can run here, from the probe alone.
BackendStatus backend_status(BackendKind b) {
  if (const BackendEntry* e = find_backend(b)) return e->status(capabilities());
  if (b == BackendKind::automatic) return {b, false, "not a concrete backend"};
  return {b, false, std::string(to_string(b)) + " does not exist on this platform"};
}

// The backend a tier runs on: its own, or the first available one for a
// tier that runs on any (automatic when there is none).
BackendKind tier_backend(const TierEntry& t) {
  if (t.backend != BackendKind::automatic) return t.backend;
  for (const BackendEntry* e : detail::backend_table())
    if (e->status(capabilities()).available) return e->kind;
  return BackendKind::automatic;
}

TierStatus static_tier_status(Tier t) {
  TierStatus s{t, false, {}, {}};
  const TierEntry* e = find_tier(t);
  if (!e) {
    s.reason = std::string(to_string(t)) + " does not exist on this platform";
    return s;
  }
  BackendKind b = tier_backend(*e);
  BackendStatus bs =
      b == BackendKind::automatic ? BackendStatus{b, false, "no loop backend"} : backend_status(b);
  detail::TierAvailability a = e->availability(capabilities(), bs);
  s.available = a.available;
  s.reason = std::move(a.reason);
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
    for (const BackendEntry* e : detail::backend_table()) r.backends.push_back(e->status(capabilities()));
    bool chosen = false;
    for (const TierEntry* e : detail::tier_table()) {
      const Tier t = e->tier;
      TierStatus s = static_tier_status(t);
      if (s.available) {
        s.self_test = detail::run_self_test(t, tier_backend(*e), 2000);
        if (!s.self_test.passed) {
          s.reason += "; live self-test failed: " + s.self_test.detail;
        }
      }
      if (!chosen && s.available && s.self_test.passed) {
        chosen = true;
        r.auto_tier = t;
        r.auto_backend = tier_backend(*e);
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
      r.auto_backend = tier_backend(*find_tier(Tier::generic));
      for (TierStatus& s : r.tiers) {
        if (s.tier != Tier::generic || !s.available) continue;
        s.selected_as_fallback = true;
        r.auto_reason +=
            "no tier passed its live self-test; generic is selected as the fallback although its "
            "self-test failed (" +
            s.self_test.detail + "): it is the last tier there is";
      }
      if (r.auto_reason.find("fallback") == std::string::npos)
        r.auto_reason += "no tier is available; generic is named, but a Loop cannot start here";
    }
    for (const TierEntry* e : detail::tier_table())
      if (e->annotate) e->annotate(r);
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
        if (!t)
          throw TierUnavailable("libsync: SYNC_TIER=" + v + " is not a tier; expected one of " +
                                tier_names());
        tier = *t;
        source = "SYNC_TIER";
      }
    }
    if (backend == BackendKind::automatic) {
      std::string v = env_or_empty("SYNC_BACKEND");
      if (!v.empty()) {
        auto b = parse_backend(v);
        if (!b)
          throw TierUnavailable("libsync: SYNC_BACKEND=" + v +
                                " is not a backend; expected auto, epoll, uring or iocp");
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
    // A forced backend narrows auto to the tiers that run on it: the best
    // one that passed, or else the first that runs on any backend.
    const TierEntry* chosen = find_tier(tier);
    if (chosen && chosen->backend != BackendKind::automatic && chosen->backend != backend) {
      chosen = nullptr;
      for (const TierStatus& ts : r.tiers) {
        const TierEntry* e = find_tier(ts.tier);
        if (e->backend == BackendKind::automatic && !chosen) chosen = e;
        if (e->backend == backend && ts.available && ts.self_test.passed) {
          chosen = e;
          break;
        }
      }
      tier = chosen ? chosen->tier : Tier::generic;
    }
    BackendStatus bs = backend_status(backend);
    if (!bs.available)
      throw TierUnavailable("libsync: backend " + std::string(to_string(backend)) +
                            " is unavailable: " + bs.reason);
    return Selection{tier, backend, "auto tier on forced backend " + std::string(to_string(backend))};
  }

  TierStatus ts = static_tier_status(tier);
  if (!ts.available)
    throw TierUnavailable("libsync: tier " + std::string(to_string(tier)) + " was forced (" + source +
                          ") but is unavailable here: " + ts.reason);
  const TierEntry& entry = *find_tier(tier);  // an available tier has an entry
  const bool any_backend = entry.backend == BackendKind::automatic;
  BackendKind needed = tier_backend(entry);
  if (any_backend && backend != BackendKind::automatic) needed = backend;
  if (backend != BackendKind::automatic && backend != needed)
    throw TierUnavailable("libsync: tier " + std::string(to_string(tier)) + " cannot run on the " +
                          std::string(to_string(backend)) + " backend; it needs " +
                          std::string(to_string(needed)));
  BackendStatus bs = backend_status(needed);
  if (!bs.available)
    throw TierUnavailable("libsync: backend " + std::string(to_string(needed)) +
                          " is unavailable: " + bs.reason);
  // The probe reason of a tier that runs on any backend names the backend
  // auto would give it, which is not necessarily the one asked for here.
  const std::string why = any_backend ? "portable tier" : ts.reason;
  return Selection{tier, needed,
                   "forced by " + source + ": " + std::string(to_string(tier)) + " on the " +
                       std::string(to_string(needed)) + " backend (" + why + ")"};
}

namespace detail {

std::unique_ptr<Backend> make_backend(Loop& loop, const Selection& sel, const LoopOptions& opts) {
  if (const BackendEntry* e = find_backend(sel.backend)) return e->make(loop, opts, sel.tier);
  throw TierUnavailable("libsync: no backend implementation for " + std::string(to_string(sel.backend)));
}

std::unique_ptr<WakePath> make_wake_path(Loop& loop, const Selection& sel) {
  if (const TierEntry* e = find_tier(sel.tier)) return e->make_wake_path(loop);
  throw TierUnavailable("libsync: no wake path implementation for " + std::string(to_string(sel.tier)));
}

}  // namespace detail
}  // namespace libsync
