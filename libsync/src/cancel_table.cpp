#include "cancel_table.hpp"

namespace libsync::detail {

std::uint32_t CancelTable::add(Fn fn, void* ctx, std::uint64_t& generation) {
  std::uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
    free_.reserve(slots_.capacity());  // so remove() never allocates
  }
  slots_[slot].fn = fn;
  slots_[slot].ctx = ctx;
  generation = slots_[slot].generation;
  return slot;
}

void CancelTable::remove(std::uint32_t slot) noexcept {
  Slot& c = slots_[slot];
  c.fn = nullptr;
  c.ctx = nullptr;
  ++c.generation;
  free_.push_back(slot);
}

void CancelTable::run(std::uint32_t slot, std::uint64_t generation) noexcept {
  if (slot >= slots_.size()) return;
  const Slot c = slots_[slot];  // a copy: fn may change the table
  if (c.generation != generation || !c.fn) return;
  c.fn(c.ctx);
}

}  // namespace libsync::detail
