// Family 5: fan-out. One waker wakes N waiters at once (N = 1, 64, 1024) and
// the time until the last of them has resumed is one operation.
//
//   release  N tasks wait in Semaphore::acquire(); the waker calls release(N).
//   notify   N tasks wait in Condvar::wait(); the waker calls notify_all(),
//            after which every waiter re-locks the mutex in turn.
//
// The waiters live on one loop thread, the waker is a task on the main
// thread's loop, so every wake crosses threads: uring-futex turns release(N)
// into N FUTEX_WAKE SQEs in one submit, generic into N remote-queue pushes
// and one eventfd write. The std:: baselines use N threads.
//
// Before each round the waker waits (spinning, no syscall) until all N are
// queued *and* the waiter loop has gone back to sleep, so that a round always
// measures waking sleepers, never catching a waiter still awake.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <semaphore>
#include <sync/condvar.hpp>
#include <sync/mutex.hpp>
#include <sync/semaphore.hpp>
#include <thread>

#include "benches/scenarios.hpp"

namespace syncbench {
namespace {

class LibsyncFanOut final : public Subject {
 public:
  LibsyncFanOut(const TierPair& p, unsigned n, bool condvar)
      : n_(n), condvar_(condvar), waker_(p.options()), waiters_(p.options()) {
    for (unsigned i = 0; i < n_; ++i) {
      if (condvar_)
        waiters_.spawn([this] { return cv_waiter(); });
      else
        waiters_.spawn([this] { return sem_waiter(); });
    }
  }
  ~LibsyncFanOut() override {
    stop_.store(true);
    sem_.close();
    if (condvar_)
      waker_.block_on([this]() -> libsync::Task<> {
        auto g = co_await mu_.lock();
        cv_.notify_all();
      }());
  }

  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>& lat) override {
    const LoopCounts s0 = loop_counts(waker_.stats()) + loop_counts(waiters_.loop().stats());
    const std::uint64_t t0 = now_ns();
    waker_.block_on(wake_rounds(std::max<std::uint64_t>(ops, 1), lat));
    const std::uint64_t t1 = now_ns();
    const LoopCounts s1 = loop_counts(waker_.stats()) + loop_counts(waiters_.loop().stats());
    return {std::max<std::uint64_t>(ops, 1), t1 - t0, s1 - s0};
  }

 private:
  // Called by the last waiter of a round, on the waiter loop.
  void round_complete() {
    t_end_.store(now_ns(), std::memory_order_relaxed);
    sleeps_mark_.store(libsync::Loop::current()->stats().waits, std::memory_order_relaxed);
    done_ = 0;
    round_done_.release();
  }

  libsync::Task<> sem_waiter() {
    for (;;) {
      auto r = co_await sem_.acquire();
      if (!r) co_return;  // closed: the subject is going away
      r.permit.detach();
      if (++done_ == n_) round_complete();
    }
  }

  libsync::Task<> cv_waiter() {
    auto lr = co_await mu_.lock();
    std::uint64_t seen = gen_.load();
    for (;;) {
      co_await cv_.wait(lr.guard, [&] { return gen_.load() != seen || stop_.load(); });
      if (stop_.load()) co_return;
      seen = gen_.load();
      if (++done_ == n_) round_complete();
    }
  }

  // Spins until every waiter is queued and their loop has blocked since the
  // last round ended; the first round, with no mark yet, settles by time.
  void wait_for_sleepers(bool first) {
    auto queued = [this] { return (condvar_ ? cv_.waiters() : sem_.waiters()) >= n_; };
    while (!queued()) cpu_relax();
    if (first) {
      spin_for(2'000'000);
      return;
    }
    const std::uint64_t mark = sleeps_mark_.load(std::memory_order_relaxed);
    const std::uint64_t give_up = now_ns() + 50'000'000;  // a loop that never sleeps: measure anyway
    while (waiters_.loop().stats().waits <= mark && now_ns() < give_up) cpu_relax();
    spin_for(5'000);  // from "about to block" to asleep in the kernel
  }

  libsync::Task<> wake_rounds(std::uint64_t rounds, std::vector<std::uint64_t>& lat) {
    for (std::uint64_t i = 0; i < rounds; ++i) {
      wait_for_sleepers(first_round_);
      first_round_ = false;
      std::uint64_t t0;
      if (condvar_) {
        auto g = co_await mu_.lock();
        gen_.fetch_add(1);
        t0 = now_ns();
        cv_.notify_all();
      } else {
        t0 = now_ns();
        sem_.release(n_);
      }
      auto r = co_await round_done_.acquire();
      r.permit.detach();
      lat.push_back(t_end_.load(std::memory_order_relaxed) - t0);
    }
  }

  const unsigned n_;
  const bool condvar_;
  libsync::Semaphore sem_{0}, round_done_{0};
  libsync::Mutex mu_;
  libsync::Condvar cv_;
  std::atomic<std::uint64_t> gen_{0};
  std::atomic<bool> stop_{false};
  unsigned done_ = 0;  // waiter loop only
  std::atomic<std::uint64_t> t_end_{0}, sleeps_mark_{0};
  bool first_round_ = true;
  libsync::Loop waker_;
  LoopThread waiters_;  // destroyed first: no task outlives the primitives
};

// N threads blocked in std::counting_semaphore::acquire(); the waker calls
// release(N). A counting semaphore has no hand-off: a thread that wakes early
// and loops back to acquire() could take a second permit of the same round
// and leave a sleeper unwoken, so a woken thread waits for the round to end
// (an atomic wait on the round number, after the round's end was recorded)
// before it re-arms. A thread counts itself "armed" just before it blocks;
// as the std:: API cannot say whether it is asleep yet, the waker then lets
// them settle for a time that grows with N. The re-arm barrier's syscalls
// are part of this row's syscall count.
class StdSemaphoreFanOut final : public Subject {
 public:
  explicit StdSemaphoreFanOut(unsigned n) : n_(n) {
    threads_.reserve(n);
    for (unsigned i = 0; i < n; ++i)
      threads_.push_back(placed_thread_at(1, [this] {  // with libsync's waiter loop
        std::uint32_t round = 0;
        for (;;) {
          armed_.fetch_add(1);
          sem_.acquire();
          if (stop_.load()) return;
          if (done_.fetch_add(1) + 1 == n_) {
            t_end_.store(now_ns());
            done_.store(0);
            round_done_.release();
          }
          for (std::uint32_t r = round_.load(); r == round; r = round_.load()) round_.wait(r);
          ++round;
        }
      }));
  }
  ~StdSemaphoreFanOut() override {
    stop_.store(true);
    sem_.release(n_);
    round_.fetch_add(1);
    round_.notify_all();
    for (auto& t : threads_) t.join();
  }
  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>& lat) override {
    const std::uint64_t rounds = std::max<std::uint64_t>(ops, 1);
    const std::uint64_t start = now_ns();
    for (std::uint64_t i = 0; i < rounds; ++i) {
      expected_armed_ += n_;
      while (armed_.load() < expected_armed_) cpu_relax();
      spin_for(20'000 + 2'000ull * n_);
      const std::uint64_t t0 = now_ns();
      sem_.release(n_);
      round_done_.acquire();
      lat.push_back(t_end_.load() - t0);
      round_.fetch_add(1);  // let the woken threads re-arm
      round_.notify_all();
    }
    return {rounds, now_ns() - start, std::nullopt};
  }

 private:
  const unsigned n_;
  std::counting_semaphore<> sem_{0};
  std::binary_semaphore round_done_{0};
  std::atomic<std::uint64_t> armed_{0}, t_end_{0};
  std::atomic<std::uint32_t> round_{0};  // a futex-sized word: atomic::wait is a plain futex wait
  std::atomic<unsigned> done_{0};
  std::atomic<bool> stop_{false};
  std::uint64_t expected_armed_ = 0;
  std::vector<std::thread> threads_;
};

// N threads in std::condition_variable::wait(); the waker calls notify_all().
// "Armed" is counted under the mutex right before the wait, so once the waker
// holds the mutex with all N armed, every one of them is inside wait().
class StdCondvarFanOut final : public Subject {
 public:
  explicit StdCondvarFanOut(unsigned n) : n_(n) {
    threads_.reserve(n);
    for (unsigned i = 0; i < n; ++i)
      threads_.push_back(placed_thread_at(1, [this] {  // with libsync's waiter loop
        std::unique_lock lk(mu_);
        std::uint64_t seen = gen_;
        for (;;) {
          armed_.fetch_add(1);
          cv_.wait(lk, [&] { return gen_ != seen || stop_; });
          if (stop_) return;
          seen = gen_;
          if (++done_ == n_) {
            t_end_ = now_ns();
            done_ = 0;
            round_done_.release();
          }
        }
      }));
  }
  ~StdCondvarFanOut() override {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>& lat) override {
    const std::uint64_t rounds = std::max<std::uint64_t>(ops, 1);
    const std::uint64_t start = now_ns();
    for (std::uint64_t i = 0; i < rounds; ++i) {
      while (armed_.load() < n_) cpu_relax();
      std::uint64_t t0;
      {
        std::lock_guard lk(mu_);
        armed_.store(0);
        ++gen_;
        t0 = now_ns();
        cv_.notify_all();
      }
      round_done_.acquire();
      lat.push_back(t_end_ - t0);
    }
    return {rounds, now_ns() - start, std::nullopt};
  }

 private:
  const unsigned n_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t gen_ = 0;
  bool stop_ = false;
  unsigned done_ = 0;
  std::uint64_t t_end_ = 0;  // written under mu_, read after round_done_
  std::atomic<unsigned> armed_{0};
  std::binary_semaphore round_done_{0};
  std::vector<std::thread> threads_;
};

}  // namespace

void add_fan_out_scenarios(std::vector<Scenario>& out, const BenchPlan& plan) {
  for (bool condvar : {false, true}) {
    for (unsigned n : {1u, 64u, 1024u}) {
      Scenario sc;
      sc.family = 5;
      const std::string ns = std::to_string(n);
      sc.name = std::string("fan-out/") + (condvar ? "notify_all" : "release") + "/N=" + ns;
      sc.title = condvar ? "Condvar::notify_all() to " + ns + (n == 1 ? " waiter" : " waiters") +
                               " on another loop, until all resumed"
                         : "Semaphore::release(" + ns + ") to " + ns + (n == 1 ? " waiter" : " waiters") +
                               " on another loop, until all resumed";
      sc.op_unit = "one round: wake " + ns + ", last one resumed";
      sc.basis = StatBasis::per_op;
      sc.baseline = condvar ? "std::condition_variable" : "std::counting_semaphore";
      sc.min_ops = 2;
      // A 1024-waiter round is long, so a quick repetition holds only 10-30
      // of them, and this VM's bursts of slow rounds moved a 15-repetition
      // median by up to 2x between identical runs; 3x the repetitions hold it.
      if (n >= 1024) sc.reps_scale = 3;
      sc.rate_from_latency = true;  // rounds are separated by settle pauses
      sc.subjects.push_back({sc.baseline, std::nullopt, ns + (n == 1 ? " thread" : " threads"),
                             [n, condvar]() -> std::unique_ptr<Subject> {
                               if (condvar) return std::make_unique<StdCondvarFanOut>(n);
                               return std::make_unique<StdSemaphoreFanOut>(n);
                             },
                             ""});
      for (const TierPair& p : plan.pairs)
        sc.subjects.push_back({"libsync", p, ns + (n == 1 ? " task" : " tasks") + " on 1 loop",
                               [p, n, condvar] { return std::make_unique<LibsyncFanOut>(p, n, condvar); },
                               ""});
      out.push_back(std::move(sc));
    }
  }
}

}  // namespace syncbench
