// A deadline on a loop's timer heap. Intrusive: it lives in the awaiter that
// waits for it, so arming a timer never allocates.
#pragma once

#include <chrono>
#include <cstddef>
#include <sync/export.hpp>

namespace libsync::detail {

struct LIBSYNC_API TimerNode {
  std::chrono::steady_clock::time_point deadline{};
  void (*fire)(TimerNode&) noexcept = nullptr;
  void* context = nullptr;
  std::size_t heap_index = static_cast<std::size_t>(-1);  // kept by the heap
  bool armed() const noexcept { return heap_index != static_cast<std::size_t>(-1); }
};

}  // namespace libsync::detail
