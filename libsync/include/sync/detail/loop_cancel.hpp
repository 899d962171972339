// LoopCancel: runs a cancellation on the loop thread when a std::stop_token
// fires, from whichever thread requested the stop.
//
// The stop callback may run on any thread, but timers and I/O operations
// belong to the loop thread. The cancellation is registered in a slot of the
// loop's cancel table, and the stop callback carries only (loop, slot,
// generation): on the loop thread it runs the slot at once; from elsewhere it
// posts a call that runs the slot only if its generation still matches. The
// awaiter disarms on the loop thread (bumping the generation), so a late
// posted cancellation finds nothing to do instead of a dead awaiter, and
// arming allocates nothing once the table has grown to its working size.
#pragma once

#include <cstdint>
#include <optional>
#include <stop_token>
#include <sync/export.hpp>

namespace libsync {
class Loop;
namespace detail {

class LIBSYNC_API LoopCancel {
 public:
  using Fn = void (*)(void* ctx) noexcept;

  LoopCancel() = default;
  LoopCancel(const LoopCancel&) = delete;
  LoopCancel& operator=(const LoopCancel&) = delete;
  ~LoopCancel() { disarm(); }

  // Loop thread. Does nothing for a token that can never stop; may call
  // fn(ctx) before returning when stop was already requested.
  void arm(Loop& loop, const std::stop_token& st, Fn fn, void* ctx);
  // Loop thread. After this, fn is never called.
  void disarm() noexcept;

 private:
  struct Callback {
    Loop* loop;
    std::uint32_t slot;
    // 64 bits: a slot is reused once per wait, and a 32-bit count could wrap
    // onto a live slot in a long-running loop; 2^64 reuses cannot happen.
    std::uint64_t generation;
    void operator()() noexcept;
  };
  Loop* loop_ = nullptr;
  std::uint32_t slot_ = 0;
  std::optional<std::stop_callback<Callback>> cb_;
};

}  // namespace detail
}  // namespace libsync
