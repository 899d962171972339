// ThreadToken: a small shared object per thread that says whether the thread
// is still running, and runs exit hooks on that thread as it exits.
//
// An io_uring ring set up with SINGLE_ISSUER accepts submissions only from
// the thread that enabled it, so operations in flight on it can be cancelled
// only by that thread. The ring's backend registers a hook with its owner's
// token; when the owner exits, the hook runs on the owner itself (after its
// thread_local destructors, while it may still use the ring) and cancels and
// reaps what is still in flight. After that `alive` reads false, and another
// thread can take the loop over.
//
// The hooks form an intrusive list, so registering one allocates nothing
// (a loop registers at its first wait, which must not allocate) and a
// backend takes its hook out again when it is destroyed or changes owner: a
// thread that runs a million loops one after another holds one hook, not a
// million.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

namespace libsync::detail {

struct ThreadToken;

// What a backend leaves with its owner's token. `run` is called with `mu`
// held, on the exiting owner thread; the backend clears `run` (under `mu`)
// when it is destroyed or changes owner. The links belong to the token the
// hook is in (`linked`) and are guarded by that token's `mu`.
struct ExitHook {
  std::mutex mu;
  void (*run)(void* ctx, const ThreadToken* exiting) = nullptr;
  void* ctx = nullptr;

  ThreadToken* linked = nullptr;
  std::shared_ptr<ExitHook> next;  // the list owns its nodes, front to back
  ExitHook* prev = nullptr;
};

// Lock order: a hook's `mu` before a token's `mu`, never the other way round.
struct ThreadToken {
  std::atomic<bool> alive{true};
  std::mutex mu;
  std::shared_ptr<ExitHook> head;

  // Puts `h`, which must not be in any token's list, at the front.
  void add_hook(const std::shared_ptr<ExitHook>& h) noexcept {
    std::lock_guard lk(mu);
    h->next = std::move(head);
    if (h->next) h->next->prev = h.get();
    h->prev = nullptr;
    h->linked = this;
    head = h;
  }

  // Takes `h` out of this token's list if it is still there (the exiting
  // thread may have taken it out already). The caller holds a reference to
  // `h`, so unlinking never ends its life.
  void remove_hook(ExitHook& h) noexcept {
    std::lock_guard lk(mu);
    if (h.linked == this) unlink_locked(h);
  }

  // With `mu` held: takes the front hook out of the list, or returns null.
  std::shared_ptr<ExitHook> pop_locked() noexcept {
    std::shared_ptr<ExitHook> h = head;
    if (h) unlink_locked(*h);
    return h;
  }

 private:
  void unlink_locked(ExitHook& h) noexcept {
    std::shared_ptr<ExitHook> next = std::move(h.next);
    if (next) next->prev = h.prev;
    if (h.prev)
      h.prev->next = std::move(next);
    else
      head = std::move(next);
    h.prev = nullptr;
    h.linked = nullptr;
  }
};

namespace token_detail {

// The calling thread's token lives in a heap slot named by a trivially
// destructible thread_local, and the exit hooks run from a pthread key
// destructor. glibc runs those after every C++ thread_local destructor, so
// a thread_local whose destructor still runs a loop (constructed before the
// thread's first ring use, hence destroyed after anything that use built)
// finds the token alive and its hooks not yet run.
struct Slot {
  std::shared_ptr<ThreadToken> token = std::make_shared<ThreadToken>();
};
inline thread_local Slot* t_slot = nullptr;

inline void run_exit_hooks(void* p) noexcept {
  auto* slot = static_cast<Slot*>(p);
  ThreadToken& token = *slot->token;
  // One hook at a time, each taken out of the list before it runs: the
  // token's lock is never held while a hook's is taken, and a backend that
  // moves its hook to another thread meanwhile finds it unlinked (its run
  // then sees a different owner and does nothing).
  for (;;) {
    std::shared_ptr<ExitHook> h;
    {
      std::lock_guard lk(token.mu);
      h = token.pop_locked();
    }
    if (!h) break;
    std::lock_guard lk(h->mu);
    if (h->run) h->run(h->ctx, &token);
  }
  token.alive.store(false, std::memory_order_release);
  // Backends that this thread owned keep the token alive through their own
  // references. Should another key destructor use a loop after this one,
  // the next call builds a new slot and sets the key again, and glibc calls
  // this once more (it repeats key destructors while values are set).
  t_slot = nullptr;
  delete slot;
}

inline pthread_key_t exit_key() {
  static const pthread_key_t key = [] {
    pthread_key_t k;
    if (pthread_key_create(&k, run_exit_hooks) != 0) {
      std::fputs("libsync: fatal: pthread_key_create failed (no thread exit hooks)\n", stderr);
      std::abort();
    }
    return k;
  }();
  return key;
}

}  // namespace token_detail

// The calling thread's token. The first call on a thread allocates it.
inline const std::shared_ptr<ThreadToken>& this_thread_token() {
  using token_detail::t_slot;
  if (!t_slot) {
    const pthread_key_t key = token_detail::exit_key();
    t_slot = new token_detail::Slot;
    if (pthread_setspecific(key, t_slot) != 0) {
      std::fputs("libsync: fatal: pthread_setspecific failed (no thread exit hooks)\n", stderr);
      std::abort();
    }
  }
  return t_slot->token;
}

}  // namespace libsync::detail
