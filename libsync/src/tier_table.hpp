// The tier table: every tier and backend this build has, as data.
//
// A backend entry says whether that backend can run here and builds one; a
// tier entry says which backend it needs, whether it can run here, and
// builds its wake path. Each entry is defined in its platform's folder,
// next to the code it describes (linux/uring_futex_tier.cpp,
// windows/iocp_tier.cpp, generic/generic_tier.cpp, and each backend's own
// file); tier_table.cpp lists them in order of preference. The selector
// (tier_selector.cpp) only walks these lists: adding a tier is one folder
// and one line in tier_table.cpp.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <sync/capabilities.hpp>
#include <sync/tier.hpp>

#include "backend.hpp"
#include "wake_path.hpp"

namespace libsync::detail {

struct BackendEntry {
  BackendKind kind;
  // Whether this backend can run here, from the probe alone, and why.
  BackendStatus (*status)(const Capabilities& caps);
  // Builds one for `loop`, which will run `tier` on it.
  std::unique_ptr<Backend> (*make)(Loop& loop, const LoopOptions& opts, Tier tier);
};

// Whether a tier can run here, and why, in words.
struct TierAvailability {
  bool available = false;
  std::string reason;
};

struct TierEntry {
  Tier tier;
  // The one backend this tier runs on, or BackendKind::automatic for a tier
  // that runs on any backend (it then gets the first available one in the
  // backend table, or the backend a caller forces).
  BackendKind backend;
  // From the probe alone. `backend` is the status of the backend the tier
  // would run on (available = false when there is none).
  TierAvailability (*availability)(const Capabilities& caps, const BackendStatus& backend);
  std::unique_ptr<WakePath> (*make_wake_path)(Loop& loop);
  // Optional: adds what only this tier knows to the report.
  void (*annotate)(TierReport& report) = nullptr;
};

// Best first. The first available tier whose live self-test passes is auto.
std::span<const TierEntry* const> tier_table() noexcept;
// Best first: the generic tier runs on the first available one.
std::span<const BackendEntry* const> backend_table() noexcept;

// The entries, each defined in its own folder; only tier_table.cpp names
// them, and only those its platform builds.
extern const TierEntry generic_tier;
extern const TierEntry uring_futex_tier;
extern const TierEntry iocp_tier;
extern const BackendEntry epoll_backend;
extern const BackendEntry uring_backend;
extern const BackendEntry iocp_backend;

}  // namespace libsync::detail
