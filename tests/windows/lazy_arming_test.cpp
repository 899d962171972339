// The iocp tier's pending list (lazy_arming.hpp): its position table against
// a reference map, and the list's order and membership after removals.
// Nothing here is Windows-specific, but the iocp tier is its user.
#include "windows/lazy_arming.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <random>
#include <sync/detail/waiter_queue.hpp>
#include <sync/loop.hpp>
#include <unordered_map>
#include <vector>

#include "iocp_test_util.hpp"

using namespace libsync;
using namespace libsync::detail;
using namespace libsync::test;

TEST_CASE("the pending list's position table agrees with a reference map") {
  // Many inserts and erases in random order, with enough entries for long
  // probe runs, so erase's backward shift is exercised across wrap-around.
  constexpr int kNodes = 20000;
  std::vector<WaiterNode> nodes(kNodes);
  NodePositions table;
  std::unordered_map<const WaiterNode*, std::size_t> ref;
  std::mt19937 rng(12345);
  for (int step = 0; step < 200000; ++step) {
    const WaiterNode* n = &nodes[rng() % kNodes];
    auto it = ref.find(n);
    if (it == ref.end()) {
      std::size_t pos = rng();
      table.insert(n, pos);
      ref.emplace(n, pos);
    } else if (rng() % 3 == 0) {
      *table.find(n) = it->second = rng();  // positions are updated in place
    } else {
      table.erase(n);
      ref.erase(it);
    }
    if (step % 1000 == 0) {
      REQUIRE(table.size() == ref.size());
      std::size_t wrong = 0;
      for (const WaiterNode& m : nodes) {
        std::size_t* p = table.find(&m);
        auto r = ref.find(&m);
        if ((p != nullptr) != (r != ref.end()) || (p && *p != r->second)) ++wrong;
      }
      REQUIRE_MESSAGE(wrong == 0, wrong << " nodes misplaced after step " << step);
    }
  }
}

TEST_CASE("the pending list arms what was not removed, in suspension order") {
  Loop loop(iocp_options());
  LazyArming lazy(loop);
  constexpr int kNodes = 100000;
  std::vector<WaiterNode> nodes(kNodes);
  auto never = [](WaiterNode&) { FAIL("added nodes are listed, not armed at once"); };
  for (WaiterNode& n : nodes) lazy.add(n, never);
  // Remove every third node, from the back: in any order removal is O(1).
  for (int i = kNodes - 1; i >= 0; --i)
    if (i % 3 == 0) CHECK(lazy.remove(nodes[i]));
  CHECK_FALSE(lazy.remove(nodes[0]));  // already gone
  lazy.poll();                         // nothing woken: only closes the holes
  CHECK(lazy.remove(nodes[1]));        // still found after the holes were closed
  std::vector<int> armed;
  armed.reserve(kNodes);
  bool all = lazy.arm_all([&](WaiterNode& n) { armed.push_back(static_cast<int>(&n - nodes.data())); });
  CHECK(all);
  std::vector<int> expected;
  for (int i = 0; i < kNodes; ++i)
    if (i % 3 != 0 && i != 1) expected.push_back(i);
  CHECK(armed == expected);
  std::size_t marked = 0;
  for (int i : expected) marked += nodes[i].word.load() == kWordArmed;
  CHECK(marked == expected.size());
  CHECK_FALSE(lazy.remove(nodes[2]));  // armed nodes are no longer pending
}
