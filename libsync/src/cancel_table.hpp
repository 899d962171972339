// A loop's cancel table, behind detail::LoopCancel (loop_cancel.hpp): slots
// of (function, context), each with a generation that changes whenever the
// slot is freed, so that a cancellation posted from another thread runs
// only if the wait it was meant for is still the one in its slot. Loop
// thread only.
#pragma once

#include <cstdint>
#include <vector>

namespace libsync::detail {

class CancelTable {
 public:
  using Fn = void (*)(void*) noexcept;

  // Takes a free slot (growing the table if there is none) and returns it,
  // with the generation that names this use of it.
  std::uint32_t add(Fn fn, void* ctx, std::uint64_t& generation);
  // Frees `slot`; never allocates.
  void remove(std::uint32_t slot) noexcept;
  // Runs the slot's function if `generation` still names its current use.
  void run(std::uint32_t slot, std::uint64_t generation) noexcept;

 private:
  struct Slot {
    Fn fn = nullptr;
    void* ctx = nullptr;
    std::uint64_t generation = 0;
  };
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;
};

}  // namespace libsync::detail
