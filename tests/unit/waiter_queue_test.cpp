// WaiterQueue (sync/detail/waiter_queue.hpp), the FIFO every primitive keeps
// its waiters in: against a std::list model, under random mixes of push,
// pop and unlink-from-anywhere (what timeouts and cancellation do). Taking
// the head leaves the next node's back link stale on purpose; the model
// checks that nothing ever reads it.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <list>
#include <random>
#include <sync/detail/waiter_queue.hpp>

using libsync::detail::WaiterNode;
using libsync::detail::WaiterQueue;

namespace {

// Walks the queue from the head and compares it with the model, both ways
// the queue is used: front-to-back order and each node's `queued` flag.
void check_same(const WaiterQueue& q, const std::list<WaiterNode*>& model,
                const std::array<WaiterNode, 64>& nodes) {
  REQUIRE(q.size() == model.size());
  CHECK(q.empty() == model.empty());
  const WaiterNode* n = q.front();
  for (WaiterNode* m : model) {
    REQUIRE(n == m);
    n = n->next;
  }
  CHECK(n == nullptr);
  for (const WaiterNode& node : nodes)
    CHECK(node.queued == (std::find(model.begin(), model.end(), &node) != model.end()));
}

}  // namespace

TEST_CASE("WaiterQueue keeps FIFO order through pops and unlinks from anywhere") {
  std::array<WaiterNode, 64> nodes{};
  WaiterQueue q;
  std::list<WaiterNode*> model;
  std::mt19937 rng(12345);
  std::lock_guard lk(q.mutex());
  for (int step = 0; step < 200000; ++step) {
    const unsigned what = rng() % 8;
    if (what < 3) {  // push a node that is not queued
      WaiterNode& n = nodes[rng() % nodes.size()];
      if (n.queued) continue;
      q.push_back(n);
      model.push_back(&n);
    } else if (what < 5) {  // pop the head
      WaiterNode* n = q.pop_front();
      if (model.empty()) {
        CHECK(n == nullptr);
      } else {
        CHECK(n == model.front());
        model.pop_front();
      }
    } else if (!model.empty()) {  // unlink a queued node: the head, the tail or one between
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % model.size()));
      if (what == 5) it = model.begin();
      if (what == 6) it = std::prev(model.end());
      q.erase(**it);
      model.erase(it);
    }
    if (step % 97 == 0) check_same(q, model, nodes);
  }
  check_same(q, model, nodes);
  while (WaiterNode* n = q.pop_front()) {
    REQUIRE(!model.empty());
    CHECK(n == model.front());
    model.pop_front();
  }
  CHECK(model.empty());
}

TEST_CASE("WaiterQueue: unlinking the node behind a popped head, then the head itself") {
  // The exact sequence a stale back link would break: pop A (B's back link
  // still names A), then unlink B while it is the head, then C.
  WaiterNode a, b, c, d;
  WaiterQueue q;
  std::lock_guard lk(q.mutex());
  q.push_back(a);
  q.push_back(b);
  q.push_back(c);
  q.push_back(d);
  CHECK(q.pop_front() == &a);
  q.erase(c);  // between: B keeps its place, D follows it
  CHECK(q.front() == &b);
  CHECK(b.next == &d);
  q.erase(b);  // the head
  CHECK(q.front() == &d);
  q.erase(d);  // the last one: the queue is empty and takes new nodes
  CHECK(q.empty());
  q.push_back(a);
  CHECK(q.front() == &a);
  CHECK(q.pop_front() == &a);
  CHECK(q.pop_front() == nullptr);
}
