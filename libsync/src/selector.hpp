// The one place that turns a tier decision into a backend and a wake path.
#pragma once

#include "backend.hpp"
#include "wake_path.hpp"

namespace libsync::detail {

// Build the backend first: a wake path may need it.
std::unique_ptr<Backend> make_backend(Loop& loop, const Selection& sel, const LoopOptions& opts);
std::unique_ptr<WakePath> make_wake_path(Loop& loop, const Selection& sel);

// Runs a tier's live self-test: `wakes` cross-thread wakes of a task waiting
// on a semaphore in a loop forced to `tier` on `backend`.
SelfTestResult run_self_test(Tier tier, BackendKind backend, unsigned wakes);

}  // namespace libsync::detail
