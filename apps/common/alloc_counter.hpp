// Heap allocations counted by a replacement of the global operator new.
//
// Linking the `libsync_apps_alloc_counter` object library into an executable
// replaces operator new / delete (every form) in that executable: malloc and
// free plus two counter increments per allocation. Replacing them is a
// whole-program decision, so it is opt-in per executable; syncbench and the
// allocation test suite opt in. Under TSan the sanitizer's own operator new
// takes precedence and the counts stay zero.
#pragma once

#include <cstdint>

namespace apps {

// Allocations through any form of operator new since the process started,
// on every thread.
std::uint64_t allocation_count() noexcept;

// Allocations through any form of operator new made so far by the calling
// thread: a measurement on one thread is not disturbed by the others.
std::uint64_t thread_allocation_count() noexcept;

}  // namespace apps
