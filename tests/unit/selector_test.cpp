// The tier selector: names, forced tiers, the environment, auto.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <sync/capabilities.hpp>
#include <sync/loop.hpp>
#include <sync/tier.hpp>

using namespace libsync;

namespace {
struct EnvVar {
  std::string name;
  EnvVar(const char* n, const char* v) : name(n) {
#if defined(_WIN32)
    _putenv_s(n, v);
#else
    setenv(n, v, 1);
#endif
  }
  ~EnvVar() {
#if defined(_WIN32)
    _putenv_s(name.c_str(), "");
#else
    unsetenv(name.c_str());
#endif
  }
};

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}
}  // namespace

TEST_CASE("every tier and backend name parses back to itself") {
  for (Tier t : {Tier::automatic, Tier::generic, Tier::uring_futex, Tier::iocp})
    CHECK(parse_tier(to_string(t)) == t);
  for (BackendKind b : {BackendKind::automatic, BackendKind::epoll, BackendKind::uring, BackendKind::iocp})
    CHECK(parse_backend(to_string(b)) == b);
  CHECK_FALSE(parse_tier("futex").has_value());
  CHECK_FALSE(parse_backend("kqueue").has_value());
}

TEST_CASE("an unknown SYNC_TIER is a clear error") {
  EnvVar e("SYNC_TIER", "bogus");
  try {
    Loop loop;
    FAIL("a loop was created with SYNC_TIER=bogus");
  } catch (const TierUnavailable& ex) {
    CHECK(contains(ex.what(), "SYNC_TIER=bogus"));
    CHECK(contains(ex.what(), "generic"));
  }
}

TEST_CASE("forcing a tier this platform does not have is a clear error") {
#if defined(_WIN32)
  Tier missing = Tier::uring_futex;
#else
  Tier missing = Tier::iocp;
#endif
  LoopOptions o;
  o.tier = missing;
  o.use_environment = false;
  try {
    Loop loop(o);
    FAIL("a loop was created on a tier this platform lacks");
  } catch (const TierUnavailable& ex) {
    CHECK(contains(ex.what(), std::string(to_string(missing))));
    CHECK(contains(ex.what(), "unavailable"));
  }
}

TEST_CASE("SYNC_TIER=generic gives a generic loop") {
  EnvVar e("SYNC_TIER", "generic");
  Loop loop;
  CHECK(loop.tier() == Tier::generic);
  CHECK(contains(loop.selection_reason(), "SYNC_TIER"));
}

TEST_CASE("a loop option beats the environment") {
  EnvVar e("SYNC_TIER", "bogus");
  LoopOptions o;
  o.tier = Tier::generic;
  Loop loop(o);
  CHECK(loop.tier() == Tier::generic);
}

#if defined(__linux__)
TEST_CASE("uring-futex cannot be forced onto the epoll backend") {
  LoopOptions o;
  o.tier = Tier::uring_futex;
  o.backend = BackendKind::epoll;
  o.use_environment = false;
  const auto& caps = capabilities();
  if (!caps.io_uring.futex_wait) {
    MESSAGE("uring-futex unavailable here: the check below is about that instead");
  }
  CHECK_THROWS_AS(Loop{o}, TierUnavailable);
}

TEST_CASE("generic runs on both Linux backends when asked") {
  for (BackendKind b : {BackendKind::epoll, BackendKind::uring}) {
    LoopOptions o;
    o.tier = Tier::generic;
    o.backend = b;
    o.use_environment = false;
    if (b == BackendKind::uring && !capabilities().io_uring.setup_ok) {
      MESSAGE("skipping generic/uring: io_uring unavailable: " << capabilities().io_uring.setup_error);
      continue;
    }
    Loop loop(o);
    CHECK(loop.tier() == Tier::generic);
    CHECK(loop.backend_kind() == b);
  }
}
#endif

TEST_CASE("auto picks the best tier the report shows available and self-tested") {
  const TierReport& r = tier_report();
  REQUIRE_FALSE(r.tiers.empty());
  const TierStatus* best = nullptr;
  for (const auto& t : r.tiers)
    if (t.available && t.self_test.passed) {
      best = &t;
      break;
    }
  if (best) {
    CHECK(r.auto_tier == best->tier);
    for (const auto& t : r.tiers) CHECK_FALSE(t.selected_as_fallback);
  } else {
    // No tier passed here (a slow emulator, say): generic is the fallback,
    // and the report says so instead of claiming a pass.
    CHECK(r.auto_tier == Tier::generic);
    bool flagged = false;
    for (const auto& t : r.tiers) flagged |= t.tier == Tier::generic && t.selected_as_fallback;
    CHECK(flagged);
    CHECK(r.auto_reason.find("fallback") != std::string::npos);
  }
  MESSAGE("auto: " << to_string(r.auto_tier) << " on " << to_string(r.auto_backend) << " — "
                   << r.auto_reason);
  for (const auto& t : r.tiers) {
    if (!t.available) continue;
    CHECK(t.self_test.ran);
    CHECK(t.self_test.wakes > 0);
    CHECK(t.self_test.lost == 0);
  }
  LoopOptions o;
  o.use_environment = false;
  Loop loop(o);
  CHECK(loop.tier() == r.auto_tier);
#if defined(__linux__)
  // Where the kernel has the io_uring futex opcodes and the live test passes,
  // auto must take the unified-loop tier.
  const auto& caps = capabilities();
  if (caps.io_uring.setup_ok && caps.io_uring.futex_wait && caps.io_uring.futex_wake &&
      r.tiers.front().self_test.passed)
    CHECK(r.auto_tier == Tier::uring_futex);
#endif
}
