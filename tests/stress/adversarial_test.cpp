// Adversarial lifetime cases for Event, Condvar and Mutex, run once per tier:
// a primitive destroyed by whoever its signal just reached, while the
// signalling call is still running on another thread. Each case's window is
// a few instructions wide, hence many rounds; ASan (heap-use-after-free) or
// TSan (a race with the free) reports a call that still touches the object
// after the moment its destroyer may legitimately free it. Then the loop's
// own teardown and the frame cache at thread exit: what destructors run by
// ~Loop or by an exiting thread may still do.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <sync/condvar.hpp>
#include <sync/event.hpp>
#include <sync/mutex.hpp>
#include <sync/semaphore.hpp>
#include <thread>

#include "test_util.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

using namespace libsync;
using namespace libsync::test;

TEST_CASE("an event used as a one-shot signal may be destroyed by whoever sees it set") {
  // One thread set()s an Event nobody waits on; another sees the flag
  // (is_set(), or a wait that finds it raised and so returns at once) and
  // destroys the event. By the header's promise the flag orders everything
  // the setter did before set(), so the destroyer may free it then; set()
  // must not touch the event after its flag is visible.
  Watchdog dog(60s, "one-shot event signals");
  constexpr int kRounds = 20000;
  std::atomic<Event*> current{nullptr};
  std::atomic<int> done{0};
  std::thread setter([&] {
    for (int i = 1; i <= kRounds; ++i) {
      Event* e;
      while (!(e = current.exchange(nullptr, std::memory_order_acq_rel))) std::this_thread::yield();
      e->set();
      done.store(i, std::memory_order_release);
    }
  });
  for (int i = 1; i <= kRounds; ++i) {
    auto* e = new Event;
    current.store(e, std::memory_order_release);
    for (int tries = 1; !e->is_set(); ++tries)
      if (tries % 1024 == 0) std::this_thread::yield();  // the setter may share this CPU
    // The setter may still be inside set().
    delete e;
    while (done.load(std::memory_order_acquire) < i) std::this_thread::yield();
  }
  setter.join();
}

TEST_CASE("a semaphore used as a shutdown flag may be destroyed by whoever sees it closed") {
  // The header promises that an is_closed() reading true is ordered after
  // the close(), like an Event's flag: a thread that sees it, with every
  // permit back and nobody waiting, may free the semaphore while close()
  // is still returning on another thread.
  Watchdog dog(60s, "semaphores closed as shutdown flags");
  constexpr int kRounds = 20000;
  std::atomic<Semaphore*> current{nullptr};
  std::atomic<int> done{0};
  std::thread closer([&] {
    for (int i = 1; i <= kRounds; ++i) {
      Semaphore* s;
      while (!(s = current.exchange(nullptr, std::memory_order_acq_rel))) std::this_thread::yield();
      s->close();
      done.store(i, std::memory_order_release);
    }
  });
  for (int i = 1; i <= kRounds; ++i) {
    auto* s = new Semaphore(1);
    current.store(s, std::memory_order_release);
    for (int tries = 1; !s->is_closed(); ++tries)
      if (tries % 1024 == 0) std::this_thread::yield();  // the closer may share this CPU
    // The closer may still be inside close().
    delete s;
    while (done.load(std::memory_order_acquire) < i) std::this_thread::yield();
  }
  closer.join();
}

TEST_CASE("a block_on ended by a posted function's exception leaves nothing of its task queued") {
  // block_on queues its task to start at the first iteration; a function
  // posted earlier runs first and throws, so block_on destroys the task
  // unstarted and rethrows. The loop may be run again afterwards (loop.hpp):
  // the next run must not resume the destroyed task's frame.
  Watchdog dog(20s, "block_on after a posted throw");
  Loop loop(tier_options());
  bool ran = false;
  loop.post([] { throw std::runtime_error("posted failure"); });
  CHECK_THROWS_AS(loop.block_on([](bool& ran) -> Task<> {
    ran = true;
    co_return;
  }(ran)),
                  std::runtime_error);
  CHECK_FALSE(ran);
  int later = loop.block_on([]() -> Task<int> { co_return 7; }());
  CHECK(later == 7);
  CHECK_FALSE(ran);
}

namespace {

// A task that only holds `token` while it lives.
Task<> hold(std::shared_ptr<int> token) {
  (void)token;
  co_return;
}

// Spawns a task that holds `token` onto the running loop when destroyed: a
// clean-up handed to the loop from a destructor.
struct SpawnOnDestroy {
  std::shared_ptr<int> token;
  ~SpawnOnDestroy() {
    if (token) Loop::current()->spawn(hold(std::move(token)));
  }
};

Task<> sleep_then_spawn(std::shared_ptr<int> token) {
  SpawnOnDestroy guard{std::move(token)};
  co_await sleep_for(std::chrono::hours(1));
}

// Runs its loop's pending work for a couple of iterations.
Task<> two_yields() {
  co_await yield();
  co_await yield();
}

}  // namespace

TEST_CASE("a task spawned while ~Loop destroys the loop's tasks is destroyed too") {
  // ~Loop destroys every task on the loop, and Loop::current() is the loop
  // meanwhile (loop.hpp), so a destructor in a task's frame may spawn onto
  // it. That task must be destroyed with the rest, not left behind with
  // whatever it owns (here a reference; a Permit would be lost for good).
  auto token = std::make_shared<int>(0);
  {
    Loop loop(tier_options());
    loop.spawn(sleep_then_spawn(token));
    loop.block_on(two_yields());
    REQUIRE(token.use_count() == 2);
  }
  CHECK(token.use_count() == 1);
}

namespace {

// Calls block_on on the running loop when destroyed, and records whether it
// was refused.
struct BlockOnWhenDestroyed {
  bool* refused;
  ~BlockOnWhenDestroyed() {
    try {
      Loop::current()->block_on([]() -> Task<> { co_return; }());
    } catch (const std::logic_error&) {
      *refused = true;
    }
  }
};

Task<> sleep_then_block_on(bool* refused) {
  BlockOnWhenDestroyed guard{refused};
  co_await sleep_for(std::chrono::hours(1));
}

}  // namespace

TEST_CASE("block_on from a destructor that ~Loop runs is refused, not a hang") {
  // While ~Loop destroys its tasks, Loop::current() is that loop; a frame's
  // destructor that runs a block_on on it would run a loop that schedules
  // nothing (its tasks are being torn down) and so never returns. It must
  // throw std::logic_error, as block_on does while the loop runs.
  Watchdog dog(20s, "block_on during ~Loop");
  bool refused = false;
  {
    Loop loop(tier_options());
    loop.spawn(sleep_then_block_on(&refused));
    loop.block_on(two_yields());
  }
  CHECK(refused);
}

namespace {

// Stops and posts to a loop when destroyed.
struct StopAndPostOnDestroy {
  Loop* loop = nullptr;
  ~StopAndPostOnDestroy() {
    if (!loop) return;
    loop->stop();
    loop->post([] {});
  }
};

}  // namespace

TEST_CASE("a posted function that ~Loop destroys unrun may stop and post to that loop from its destructor") {
  // ~Loop destroys the functions posted but never run (loop.hpp). Their
  // destructors are the user's code: one that stops the loop or posts to it
  // (a guard that ends the loop when its work goes away) must not find the
  // loop's remote queue locked by the teardown itself.
  Watchdog dog(20s, "a posted function's destructor during ~Loop");
  {
    Loop loop(tier_options());
    auto guard = std::make_shared<StopAndPostOnDestroy>();
    guard->loop = &loop;
    loop.post([guard = std::move(guard)] {});
  }
}

#if defined(__GLIBC__)
namespace {

// Allocates a frame from its destructor. Touched on a thread before the
// thread's frame cache, so the runtime destroys it after the cache.
struct FrameAtExit {
  void** out = nullptr;
  ~FrameAtExit() {
    if (out) *out = detail::frame_allocate(65);
  }
};
thread_local FrameAtExit tl_frame_at_exit;

}  // namespace

TEST_CASE("a coroutine frame made as its thread exits fits any frame that reuses it") {
  // Frames come from a per-thread cache in 64-byte classes: a frame of 65
  // bytes is given a 128-byte block, so that once freed it can hold any
  // frame of its class. A frame made after the thread's cache is gone (a
  // task created by a thread_local destructor) and freed on another thread
  // joins that thread's cache like any other, so it too must be a whole
  // class. (Under ASan and TSan the cache is off and frames are exact.)
  void* frame = nullptr;
  std::thread([&frame] {
    tl_frame_at_exit.out = &frame;
    detail::frame_deallocate(detail::frame_allocate(65), 65);  // this thread's cache now exists
  }).join();
  REQUIRE(frame != nullptr);
  detail::frame_deallocate(frame, 65);  // into this thread's cache, class 65..128
  void* reused = detail::frame_allocate(128);
  CHECK(::malloc_usable_size(reused) >= 128);
  detail::frame_deallocate(reused, 128);
}
#endif
