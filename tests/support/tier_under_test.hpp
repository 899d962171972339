// The tier a test process runs its suite on.
//
// Each suite is written once; ctest runs its binary once per tier/backend
// pair with LIBSYNC_TEST_TIER set ("generic/epoll", "generic/uring",
// "uring-futex/uring", "iocp/iocp", "generic/iocp"). test_main.cpp checks the
// pair can run here and otherwise exits with the skip code (77), printing
// which tier was skipped and why, so ctest lists it as skipped.
#pragma once

#include <string>
#include <sync/loop.hpp>
#include <sync/tier.hpp>

namespace libsync::test {

// Options for a loop on the tier under test.
LoopOptions tier_options();
// "uring-futex/uring" etc.
const std::string& tier_name();

}  // namespace libsync::test
