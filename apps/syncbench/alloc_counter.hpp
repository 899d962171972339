// Heap allocations made by the whole process, counted by syncbench's own
// replacement of the global operator new. The project's goal "co_await
// acquire() + release with zero heap allocations" is checked with it.
#pragma once

#include <cstdint>

namespace syncbench {

// Allocations through any form of operator new since the process started.
std::uint64_t allocation_count() noexcept;

}  // namespace syncbench
