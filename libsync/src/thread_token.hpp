// ThreadToken: a small shared object per thread that says whether the thread
// is still running. A backend whose kernel object is bound to the thread that
// set it up (an io_uring ring with SINGLE_ISSUER) keeps its owner's token, so
// when the loop is run or destroyed on another thread it can tell "the owner
// exited, and the kernel cancelled what it had in flight" from "the owner is
// alive and still owns those operations".
#pragma once

#include <atomic>
#include <memory>

namespace libsync::detail {

struct ThreadToken {
  std::atomic<bool> alive{true};
};

// The calling thread's token; `alive` turns false when the thread's
// thread-local objects are destroyed, i.e. as it exits.
inline const std::shared_ptr<ThreadToken>& this_thread_token() {
  struct Holder {
    std::shared_ptr<ThreadToken> token = std::make_shared<ThreadToken>();
    ~Holder() { token->alive.store(false, std::memory_order_release); }
  };
  thread_local Holder holder;
  return holder.token;
}

}  // namespace libsync::detail
