// Socket operations whose start fails: an allocation made while starting
// one (the epoll backend's first state for a socket) is made to fail, and
// the awaiter, destroyed as the exception leaves the co_await, must undo
// nothing it never did. This binary replaces operator new (malloc/free,
// failing on request on the calling thread), so it does not run under TSan,
// whose runtime supplies operator new itself. Also a spawn whose own
// bookkeeping runs out of memory.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <sync/io.hpp>
#include <sync/loop.hpp>

#include "socket_pair.hpp"
#include "test_util.hpp"

namespace {
// How many more allocations on this thread succeed before one fails; -1:
// never fail.
thread_local int t_allocations_until_failure = -1;
thread_local bool t_failed = false;

void* allocate(std::size_t n) {
  if (t_allocations_until_failure >= 0 && t_allocations_until_failure-- == 0) {
    t_failed = true;
    return nullptr;
  }
  return std::malloc(n == 0 ? 1 : n);
}
}  // namespace

void* operator new(std::size_t n) {
  if (void* p = allocate(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = allocate(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return allocate(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return allocate(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

using namespace libsync;
using namespace libsync::test;

namespace {

// Descriptor 0 for the duration of a test: a pipe's read end, whose
// survival the test checks; the original descriptor 0 (if any) comes back.
class WatchedStdin {
 public:
  WatchedStdin() {
    saved_ = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
    REQUIRE(::pipe(pipe_) == 0);
    REQUIRE(::dup2(pipe_[0], 0) == 0);
  }
  ~WatchedStdin() {
    if (saved_ >= 0) {
      ::dup2(saved_, 0);
      ::close(saved_);
    } else {
      ::close(0);
    }
    ::close(pipe_[0]);
    ::close(pipe_[1]);
  }
  // Descriptor 0 is still the pipe's read end.
  bool intact() const {
    char c = 'x';
    if (::write(pipe_[1], &c, 1) != 1) return false;
    pollfd p{0, POLLIN, 0};
    if (::poll(&p, 1, 1000) != 1) return false;
    return ::read(0, &c, 1) == 1 && c == 'x';
  }

 private:
  int saved_ = -1;
  int pipe_[2] = {-1, -1};
};

}  // namespace

TEST_CASE("an accept that fails to start closes no descriptor") {
  // On epoll an accept that has to wait allocates the listener's state
  // first; that allocation fails here, so the co_await throws bad_alloc
  // (io.hpp) having accepted nothing. The awaiter closes "a connection
  // accepted but never seen" only if there is one.
  SocketLibrary sockets;
  LoopbackListener l;
  Loop loop(tier_options());
  if (loop.backend_kind() != BackendKind::epoll) {
    MESSAGE("only the epoll backend allocates while starting an accept");
    return;
  }
  WatchedStdin in;
  REQUIRE(in.intact());
  SUBCASE("a plain accept") {
    const bool threw = loop.block_on([](socket_handle fd) -> Task<bool> {
      bool threw = false;
      try {
        t_failed = false;
        t_allocations_until_failure = 0;
        [[maybe_unused]] auto r = co_await libsync::accept(fd);
      } catch (const std::bad_alloc&) {
        threw = true;
      }
      t_allocations_until_failure = -1;
      co_return threw&& t_failed;
    }(l.fd));
    CHECK(threw);
  }
  SUBCASE("a plain accept whose socket state is made but cannot be recorded") {
    // The second allocation (the state's slot in the backend's table) fails:
    // the state already made must not leak (LeakSanitizer reports it).
    const bool threw = loop.block_on([](socket_handle fd) -> Task<bool> {
      bool threw = false;
      try {
        t_failed = false;
        t_allocations_until_failure = 1;
        [[maybe_unused]] auto r = co_await libsync::accept(fd);
      } catch (const std::bad_alloc&) {
        threw = true;
      }
      t_allocations_until_failure = -1;
      co_return threw&& t_failed;
    }(l.fd));
    CHECK(threw);
  }
  SUBCASE("an Acceptor's accept") {
    const bool threw = loop.block_on([](socket_handle fd) -> Task<bool> {
      Acceptor acceptor(fd);
      bool threw = false;
      try {
        t_failed = false;
        t_allocations_until_failure = 0;
        [[maybe_unused]] auto r = co_await acceptor.accept();
      } catch (const std::bad_alloc&) {
        threw = true;
      }
      t_allocations_until_failure = -1;
      co_return threw&& t_failed;
    }(l.fd));
    CHECK(threw);
  }
  CHECK(in.intact());
}

namespace {
Task<> hold(std::shared_ptr<int> token) {
  (void)token;
  co_return;
}
}  // namespace

TEST_CASE("a spawn that runs out of memory leaves nothing of its task behind") {
  // spawn makes the root frame, records it in the loop's task set and
  // queues it to start; any of the three may throw std::bad_alloc
  // (loop.hpp), and then the task must be gone: neither kept alive
  // unrecorded (a leak of the task and of all it owns) nor recorded but
  // never queued (it would never run, and run_until_idle would never
  // return). The loop's ready queue starts with room for 64 tasks, so the
  // 65th spawn also has to grow it.
  for (int fail_after = 0; fail_after < 4; ++fail_after) {
    CAPTURE(fail_after);
    auto token = std::make_shared<int>(0);
    {
      Loop loop(tier_options());
      for (int i = 0; i < 64; ++i) loop.spawn(hold(token));
      auto t = hold(token);
      bool threw = false;
      t_allocations_until_failure = fail_after;
      try {
        loop.spawn(std::move(t));
      } catch (const std::bad_alloc&) {
        threw = true;
      }
      t_allocations_until_failure = -1;
      CHECK(loop.spawned_tasks() == (threw ? 64u : 65u));
      CHECK(token.use_count() == static_cast<long>(1 + loop.spawned_tasks()));
      Watchdog dog(20s, "run_until_idle after a spawn ran out of memory");
      if (loop.spawned_tasks() == (threw ? 64u : 65u)) loop.run_until_idle();
      CHECK(loop.spawned_tasks() == 0u);
    }
    CHECK(token.use_count() == 1);
  }
}

TEST_CASE("a sleep whose timer cannot be added leaves the loop's other timers alone") {
  // sleep_for throws std::bad_alloc when the loop's timer heap cannot grow
  // (loop.hpp). The sleep's timer is then not on the heap, and the awaiter
  // destroyed as the exception leaves the co_await must not take it off:
  // that would drop another task's timer, and write past the heap.
  Watchdog dog(20s, "a sleep after another's timer could not be added");
  Loop loop(tier_options());
  bool other_woke = false;
  loop.spawn([](bool& woke) -> Task<> {
    co_await sleep_for(20ms);  // the heap now holds one timer, and room for no more
    woke = true;
  }(other_woke));
  const bool threw = loop.block_on([]() -> Task<bool> {
    co_await yield();
    bool threw = false;
    t_allocations_until_failure = 0;
    try {
      co_await sleep_for(1ms);
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    t_allocations_until_failure = -1;
    co_return threw;
  }());
  CHECK(threw);
  loop.run_until_idle();
  CHECK(other_woke);
}
