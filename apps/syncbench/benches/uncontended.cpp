// Family 1: the uncontended fast path.
//
// `try_acquire` + release and `co_await acquire()` + release on a semaphore
// nobody else touches, beside the floor (one CAS to take, one fetch_add to
// give back: what any counting semaphore must at least do) and
// std::counting_semaphore. The libsync fast path never touches the tier, so
// the rows per tier differ only by noise; they run inside a task on a loop
// of that tier so the co_await form has a loop to run on.
//
// Each libsync row is laid out like the floor it is compared with. The
// try_acquire loop is a plain function the task calls, as the floor's is:
// written in the coroutine body, its counter and Permit would live in the
// coroutine frame and be stored and reloaded around every locked
// instruction, a cost of the benchmark's loop and not of try_acquire. The
// co_await form cannot leave the coroutine, so it has a second floor that
// pays what any coroutine pays: the same CAS + fetch_add, taken through an
// awaiter that is ready when the CAS succeeds, in a loop in a task on a
// loop. Its row is that scenario's baseline; the bare floor stays beside it.
#include <atomic>
#include <coroutine>
#include <semaphore>
#include <sync/semaphore.hpp>

#include "benches/scenarios.hpp"

namespace syncbench {
namespace {

// The floor's two steps, on a word laid out like libsync's state word
// (count << 2 | flags).
inline bool floor_take(std::atomic<std::size_t>& state) noexcept {
  std::size_t s = state.load(std::memory_order_relaxed);
  for (;;) {
    if ((s >> 2) == 0) return false;
    if (state.compare_exchange_weak(s, s - 4, std::memory_order_acquire, std::memory_order_relaxed))
      return true;
  }
}
inline void floor_give(std::atomic<std::size_t>& state) noexcept {
  state.fetch_add(4, std::memory_order_release);
}

class AtomicFloor final : public Subject {
 public:
  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>&) override {
    const std::uint64_t t0 = now_ns();
    for (std::uint64_t i = 0; i < ops; ++i) {
      if (floor_take(state_)) floor_give(state_);
    }
    return {ops, now_ns() - t0, std::nullopt};
  }

 private:
  std::atomic<std::size_t> state_{1 << 2};
};

// The least a coroutine semaphore's uncontended co_await can be: ready when
// the CAS takes a permit. Nobody else touches the word, so the CAS always
// takes one and await_suspend, which would resume at once, never runs.
struct FloorTake {
  std::atomic<std::size_t>& state;
  bool took = false;
  bool await_ready() noexcept { return took = floor_take(state); }
  bool await_suspend(std::coroutine_handle<>) noexcept { return false; }
  bool await_resume() const noexcept { return took; }
};

class AtomicFloorInTask final : public Subject {
 public:
  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>&) override {
    const std::uint64_t t0 = now_ns();
    loop_.block_on(floor_loop(state_, ops));
    return {ops, now_ns() - t0, std::nullopt};
  }

 private:
  static libsync::Task<> floor_loop(std::atomic<std::size_t>& state, std::uint64_t ops) {
    for (std::uint64_t i = 0; i < ops; ++i) {
      if (co_await FloorTake{state}) floor_give(state);
    }
  }

  libsync::Loop loop_;
  std::atomic<std::size_t> state_{1 << 2};
};

class StdTryAcquire final : public Subject {
 public:
  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>&) override {
    const std::uint64_t t0 = now_ns();
    for (std::uint64_t i = 0; i < ops; ++i) {
      bool ok = sem_.try_acquire();
      keep(ok);
      sem_.release();
    }
    return {ops, now_ns() - t0, std::nullopt};
  }

 private:
  std::counting_semaphore<> sem_{1};
};

class StdAcquire final : public Subject {
 public:
  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>&) override {
    const std::uint64_t t0 = now_ns();
    for (std::uint64_t i = 0; i < ops; ++i) {
      sem_.acquire();
      sem_.release();
    }
    return {ops, now_ns() - t0, std::nullopt};
  }

 private:
  std::counting_semaphore<> sem_{1};
};

class LibsyncUncontended final : public Subject {
 public:
  LibsyncUncontended(const TierPair& p, bool co_await_form) : loop_(p.options()), co_await_(co_await_form) {}

  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>&) override {
    const libsync::LoopStats s0 = loop_.stats();
    const std::uint64_t t0 = now_ns();
    if (co_await_)
      loop_.block_on(acquire_loop(sem_, ops));
    else
      loop_.block_on(try_task(sem_, ops));
    const std::uint64_t t1 = now_ns();
    return {ops, t1 - t0, loop_counts(loop_.stats()) - loop_counts(s0)};
  }

 private:
  static void try_loop(libsync::Semaphore& sem, std::uint64_t ops) noexcept {
    for (std::uint64_t i = 0; i < ops; ++i) {
      auto r = sem.try_acquire();
      keep(r.status);
    }  // each Permit releases at the end of its iteration
  }
  static libsync::Task<> try_task(libsync::Semaphore& sem, std::uint64_t ops) {
    try_loop(sem, ops);
    co_return;
  }
  static libsync::Task<> acquire_loop(libsync::Semaphore& sem, std::uint64_t ops) {
    for (std::uint64_t i = 0; i < ops; ++i) {
      auto r = co_await sem.acquire();
      keep(r.status);
    }
  }

  libsync::Loop loop_;
  libsync::Semaphore sem_{1};
  bool co_await_;
};

}  // namespace

void add_uncontended_scenarios(std::vector<Scenario>& out, const BenchPlan& plan) {
  for (bool co_await_form : {false, true}) {
    Scenario sc;
    sc.family = 1;
    sc.name = co_await_form ? "uncontended/acquire" : "uncontended/try_acquire";
    sc.title = co_await_form ? "uncontended co_await acquire() + release, vs the atomic floor"
                             : "uncontended try_acquire() + release, vs the atomic floor";
    sc.op_unit = co_await_form ? "co_await acquire + release" : "try_acquire + release";
    sc.basis = StatBasis::per_repetition;
    sc.baseline = co_await_form ? "atomic-floor-in-task" : "atomic-floor";
    sc.min_ops = 1000;
    if (co_await_form)
      sc.subjects.push_back({"atomic-floor-in-task", std::nullopt,
                             "co_await a CAS, then fetch_add, in a task",
                             [] { return std::make_unique<AtomicFloorInTask>(); }, ""});
    sc.subjects.push_back({"atomic-floor", std::nullopt, "CAS + fetch_add",
                           [] { return std::make_unique<AtomicFloor>(); }, ""});
    if (co_await_form)
      sc.subjects.push_back({"std::counting_semaphore", std::nullopt, "acquire + release",
                             [] { return std::make_unique<StdAcquire>(); }, ""});
    else
      sc.subjects.push_back({"std::counting_semaphore", std::nullopt, "try_acquire + release",
                             [] { return std::make_unique<StdTryAcquire>(); }, ""});
    for (const TierPair& p : plan.pairs)
      sc.subjects.push_back(
          {"libsync", p, "",
           [p, co_await_form] { return std::make_unique<LibsyncUncontended>(p, co_await_form); }, ""});
    out.push_back(std::move(sc));
  }
}

}  // namespace syncbench
