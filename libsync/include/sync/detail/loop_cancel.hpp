// LoopCancel: runs a cancellation on the loop thread when a std::stop_token
// fires, from whichever thread requested the stop.
//
// The stop callback may run on any thread, but timers and I/O operations
// belong to the loop thread. If the stop comes from elsewhere the callback
// posts the cancellation to the loop; the shared State lets the awaiter
// disarm it (on the loop thread) if the operation finished first, so a late
// posted cancellation finds nothing to do instead of a dead awaiter.
#pragma once

#include <memory>
#include <optional>
#include <stop_token>

namespace libsync {
class Loop;
namespace detail {

class LoopCancel {
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
  struct State {
    Loop* loop;
    Fn fn;
    void* ctx;  // null once disarmed; read and written on the loop thread only
  };
  struct Callback {
    std::shared_ptr<State> state;
    void operator()() noexcept;
  };
  std::shared_ptr<State> state_;
  std::optional<std::stop_callback<Callback>> cb_;
};

}  // namespace detail
}  // namespace libsync
