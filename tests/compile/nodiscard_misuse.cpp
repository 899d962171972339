// Misuse that must not compile silently: each CASE drops a result that
// holds permits or a lock (or an awaiter that was never awaited). Compiled
// once with the result kept (USE_RESULT: must build) and once dropped, with
// -Werror=unused-result (must fail); see check_nodiscard.cmake.
#include <memory>
#include <sync/condvar.hpp>
#include <sync/event.hpp>
#include <sync/mutex.hpp>
#include <sync/semaphore.hpp>

#ifdef USE_RESULT
#define DROPPED(...)         \
  {                          \
    auto kept = __VA_ARGS__; \
    (void)kept;              \
  }
#else
#define DROPPED(...) __VA_ARGS__;
#endif

using namespace libsync;

[[maybe_unused]] static void plain(Semaphore& s, Mutex& m, Event& e, std::shared_ptr<Semaphore> sp) {
  (void)s, (void)m, (void)e, (void)sp;
#if CASE == 1
  DROPPED(s.try_acquire())
#elif CASE == 2
  DROPPED(m.try_lock())
#elif CASE == 3
  DROPPED(s.acquire())
#elif CASE == 4
  DROPPED(m.lock())
#elif CASE == 5
  DROPPED(e.wait())
#elif CASE == 6
  auto r = s.try_acquire(2);
  DROPPED(r.permit.split(1))
#elif CASE == 7
  DROPPED(Semaphore::try_acquire_owned(sp))
#elif CASE == 8
  DROPPED(m.lock_blocking())
#elif CASE == 9
  DROPPED(Semaphore::acquire_owned(sp))
#endif
}

[[maybe_unused]] static Task<> awaited(Semaphore& s, Mutex& m, std::shared_ptr<Semaphore> sp) {
  (void)s, (void)m, (void)sp;
#if CASE == 101
  DROPPED(co_await s.acquire())
#elif CASE == 102
  DROPPED(co_await m.lock())
#elif CASE == 103
  DROPPED(co_await Semaphore::acquire_owned(sp))
#elif CASE == 104
  DROPPED(co_await s.acquire_for(std::chrono::milliseconds(1)))
#endif
  co_return;
}
