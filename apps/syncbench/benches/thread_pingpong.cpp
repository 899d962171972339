// Thread ping-pong baselines. A persistent partner thread answers every ping
// until the subject is destroyed; the main thread times each round trip.
#include "benches/thread_pingpong.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <semaphore>
#include <thread>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace syncbench {
namespace {

// Shared shape: `round_trip()` is one ping and its pong on the main thread.
template <class Derived>
class PingPong : public Subject {
 public:
  RepResult run(std::uint64_t ops, std::vector<std::uint64_t>& lat) override {
    const std::uint64_t rounds = std::max<std::uint64_t>(ops / 2, 1);
    auto& self = static_cast<Derived&>(*this);
    const std::uint64_t start = now_ns();
    for (std::uint64_t i = 0; i < rounds; ++i) {
      const std::uint64_t t0 = now_ns();
      self.round_trip();
      lat.push_back((now_ns() - t0) / 2);
    }
    return {rounds * 2, now_ns() - start, std::nullopt};
  }
};

#if defined(__linux__)
long futex(std::atomic<std::uint32_t>& w, int op, std::uint32_t val) {
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), op, val, nullptr, nullptr, 0);
}

class RawFutexPingPong final : public PingPong<RawFutexPingPong> {
 public:
  RawFutexPingPong() {
    partner_ = placed_thread([this] {
      for (;;) {
        while (ping_.load(std::memory_order_acquire) == 0) futex(ping_, FUTEX_WAIT_PRIVATE, 0);
        ping_.store(0, std::memory_order_relaxed);
        if (stop_.load(std::memory_order_relaxed)) return;
        pong_.store(1, std::memory_order_release);
        futex(pong_, FUTEX_WAKE_PRIVATE, 1);
      }
    });
  }
  ~RawFutexPingPong() override {
    stop_.store(true, std::memory_order_relaxed);
    ping_.store(1, std::memory_order_release);
    futex(ping_, FUTEX_WAKE_PRIVATE, 1);
    partner_.join();
  }
  void round_trip() {
    ping_.store(1, std::memory_order_release);
    futex(ping_, FUTEX_WAKE_PRIVATE, 1);
    while (pong_.load(std::memory_order_acquire) == 0) futex(pong_, FUTEX_WAIT_PRIVATE, 0);
    pong_.store(0, std::memory_order_relaxed);
  }

 private:
  alignas(64) std::atomic<std::uint32_t> ping_{0};
  alignas(64) std::atomic<std::uint32_t> pong_{0};
  std::atomic<bool> stop_{false};
  std::thread partner_;
};
#endif

class BinarySemaphorePingPong final : public PingPong<BinarySemaphorePingPong> {
 public:
  BinarySemaphorePingPong() {
    partner_ = placed_thread([this] {
      for (;;) {
        ping_.acquire();
        if (stop_.load(std::memory_order_relaxed)) return;
        pong_.release();
      }
    });
  }
  ~BinarySemaphorePingPong() override {
    stop_.store(true, std::memory_order_relaxed);
    ping_.release();
    partner_.join();
  }
  void round_trip() {
    ping_.release();
    pong_.acquire();
  }

 private:
  std::binary_semaphore ping_{0}, pong_{0};
  std::atomic<bool> stop_{false};
  std::thread partner_;
};

class MutexCondvarPingPong final : public PingPong<MutexCondvarPingPong> {
 public:
  MutexCondvarPingPong() {
    partner_ = placed_thread([this] {
      std::unique_lock lk(mu_);
      for (;;) {
        to_partner_.wait(lk, [this] { return turn_ == 1; });
        if (stop_) return;
        turn_ = 0;
        lk.unlock();
        to_main_.notify_one();
        lk.lock();
      }
    });
  }
  ~MutexCondvarPingPong() override {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
      turn_ = 1;
    }
    to_partner_.notify_one();
    partner_.join();
  }
  void round_trip() {
    {
      std::lock_guard lk(mu_);
      turn_ = 1;
    }
    to_partner_.notify_one();
    std::unique_lock lk(mu_);
    to_main_.wait(lk, [this] { return turn_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable to_partner_, to_main_;
  int turn_ = 0;  // 1: the partner's move
  bool stop_ = false;
  std::thread partner_;
};

}  // namespace

std::unique_ptr<Subject> make_raw_futex_pingpong() {
#if defined(__linux__)
  return std::make_unique<RawFutexPingPong>();
#else
  return nullptr;
#endif
}
std::unique_ptr<Subject> make_binary_semaphore_pingpong() {
  return std::make_unique<BinarySemaphorePingPong>();
}
std::unique_ptr<Subject> make_mutex_condvar_pingpong() {
  return std::make_unique<MutexCondvarPingPong>();
}

void add_thread_pingpong_subjects(std::vector<SubjectSpec>& out, bool with_all) {
#if defined(__linux__)
  out.push_back({"raw-futex", std::nullopt, "2 threads", [] { return make_raw_futex_pingpong(); }, ""});
#endif
  if (!with_all) {
#if !defined(__linux__)
    out.push_back({"std::mutex+condition_variable", std::nullopt, "2 threads",
                   [] { return make_mutex_condvar_pingpong(); }, ""});
#endif
    return;
  }
  out.push_back({"std::binary_semaphore", std::nullopt, "2 threads",
                 [] { return make_binary_semaphore_pingpong(); }, ""});
  out.push_back({"std::mutex+condition_variable", std::nullopt, "2 threads",
                 [] { return make_mutex_condvar_pingpong(); }, ""});
}

}  // namespace syncbench
