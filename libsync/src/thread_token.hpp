// ThreadToken: a small shared object per thread that says whether the thread
// is still running, and runs exit hooks on that thread as it exits.
//
// An io_uring ring set up with SINGLE_ISSUER accepts submissions only from
// the thread that enabled it, so operations in flight on it can be cancelled
// only by that thread. The ring's backend registers a hook with its owner's
// token; when the owner exits, the hook runs on the owner itself (during its
// thread-local destruction, while it may still use the ring) and cancels and
// reaps what is still in flight. After that `alive` reads false, and another
// thread can take the loop over.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace libsync::detail {

// What a backend leaves with its owner's token. `run` is called with `mu`
// held, on the exiting owner thread; the backend clears `run` (under `mu`)
// when it is destroyed or changes owner.
struct ThreadToken;
struct ExitHook {
  std::mutex mu;
  void (*run)(void* ctx, const ThreadToken* exiting) = nullptr;
  void* ctx = nullptr;
};

struct ThreadToken {
  std::atomic<bool> alive{true};
  std::mutex mu;
  std::vector<std::shared_ptr<ExitHook>> hooks;

  void add_hook(std::shared_ptr<ExitHook> h) {
    std::lock_guard lk(mu);
    hooks.push_back(std::move(h));
  }
};

// The calling thread's token.
inline const std::shared_ptr<ThreadToken>& this_thread_token() {
  struct Holder {
    std::shared_ptr<ThreadToken> token = std::make_shared<ThreadToken>();
    ~Holder() {
      std::vector<std::shared_ptr<ExitHook>> hooks;
      {
        std::lock_guard lk(token->mu);
        hooks.swap(token->hooks);
      }
      for (auto& h : hooks) {
        std::lock_guard lk(h->mu);
        if (h->run) h->run(h->ctx, token.get());
      }
      token->alive.store(false, std::memory_order_release);
    }
  };
  thread_local Holder holder;
  return holder.token;
}

}  // namespace libsync::detail
