// The plain-thread parker (libsync/src/parker.hpp) after a Loop exists: its
// one-time set-up is done, so a loop thread whose queue lock is contended
// past the spin parks without allocating. Its own process: the set-up runs
// once per process, and any earlier test could have done it first.
#include "parker.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <optional>
#include <sync/loop.hpp>

#include "common/alloc_counter.hpp"

TEST_CASE("once a Loop has been built, parking and unparking a thread allocate nothing") {
  // The portable tier on epoll: building it touches no futex itself, so only
  // the Loop's own preparation can have made the parker's choices.
  libsync::LoopOptions o;
  o.tier = libsync::Tier::generic;
  o.backend = libsync::BackendKind::epoll;
  o.use_environment = false;
  libsync::Loop loop(o);
  std::atomic<std::uint32_t> word{1};
  const std::uint64_t before = apps::thread_allocation_count();
  libsync::detail::park(word, 0, std::nullopt);  // the word is not 0: returns at once, after the set-up
  libsync::detail::unpark_one(word);
  libsync::detail::unpark_all(word);
  const std::uint64_t allocations = apps::thread_allocation_count() - before;
  CHECK(allocations == 0);
}
