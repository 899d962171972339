// The tiers and backends of this build, best first. This is the one file
// outside the platform folders that asks which platform it is built for.
#include "tier_table.hpp"

namespace libsync::detail {

std::span<const TierEntry* const> tier_table() noexcept {
  static constexpr const TierEntry* kTiers[] = {
#if defined(__linux__)
    &uring_futex_tier,
#elif defined(_WIN32)
    &iocp_tier,
#endif
    &generic_tier,
  };
  return kTiers;
}

std::span<const BackendEntry* const> backend_table() noexcept {
#if defined(__linux__)
  static constexpr const BackendEntry* kBackends[] = {&uring_backend, &epoll_backend};
  return kBackends;
#elif defined(_WIN32)
  static constexpr const BackendEntry* kBackends[] = {&iocp_backend};
  return kBackends;
#else
  // No loop backend exists elsewhere yet: a Loop cannot start, and the
  // probe says so.
  return {};
#endif
}

}  // namespace libsync::detail
