// Metrics: what the server counts, and the three ways it is read back
// (Prometheus text for /metrics, JSON for /stats and the dashboard, and the
// stats history the control loop samples on each tick).
//
// Each worker owns one MetricsShard and is its only writer, so counters are
// relaxed atomic load+store pairs (no locked read-modify-write on the hot
// path); readers on other threads sum the shards. The semaphores, the loops'
// own LoopStats and the history are read where they live.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace demo {

class Server;

enum class RouteId : std::uint8_t {
  dashboard,
  healthz,
  readyz,
  metrics,
  stats,
  work,
  events,
  admin,
  unmatched,
  invalid
};
inline constexpr std::size_t kRouteCount = 10;
std::string_view route_name(RouteId r) noexcept;

// The status codes the server sends; anything else is counted as "other".
inline constexpr std::array<unsigned, 14> kStatusCodes = {200, 204, 400, 401, 403, 404, 405,
                                                          408, 413, 431, 500, 501, 503, 0};
inline constexpr std::size_t kStatusCount = kStatusCodes.size();
std::size_t status_index(unsigned status) noexcept;

// The semaphores the server gates on.
enum class GateId : std::uint8_t { connections, work, events };
inline constexpr std::size_t kGateCount = 3;
std::string_view gate_name(GateId g) noexcept;

// How an attempt to take permits ended (rejected: a try_acquire that found none).
enum class Outcome : std::uint8_t { acquired, timed_out, cancelled, closed, rejected };
inline constexpr std::size_t kOutcomeCount = 5;

// Why a connection stopped waiting for its client.
enum class TimeoutKind : std::uint8_t { header, body, idle, send };
inline constexpr std::size_t kTimeoutKindCount = 4;

class Counter {
 public:
  // Single writer: a plain load and store is enough and avoids a locked add.
  void add(std::uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(std::uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

// Upper bounds of the latency buckets, in microseconds (the last bucket is +Inf).
inline constexpr std::array<std::uint64_t, 16> kBucketBoundsUs = {
    100,   250,    500,    1000,   2500,    5000,    10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
inline constexpr std::size_t kBucketCount = kBucketBoundsUs.size() + 1;

class Histogram {
 public:
  // The sum keeps nanoseconds: most requests here take well under a
  // microsecond, and whole-µs samples would sum to almost nothing.
  void record(std::chrono::nanoseconds d) noexcept;
  std::uint64_t bucket(std::size_t i) const noexcept { return buckets_[i].get(); }
  std::uint64_t sum_ns() const noexcept { return sum_ns_.get(); }

 private:
  std::array<Counter, kBucketCount> buckets_;
  Counter sum_ns_;
};

// A histogram read back: summed over shards, subtracted across ticks.
struct HistogramData {
  std::array<std::uint64_t, kBucketCount> buckets{};
  std::uint64_t sum_ns = 0;

  void add(const Histogram& h) noexcept;
  void add(const HistogramData& h) noexcept;
  std::uint64_t count() const noexcept;
  HistogramData minus(const HistogramData& earlier) const noexcept;
  // Estimated quantile in milliseconds (linear within the bucket), 0 when empty.
  double quantile_ms(double q) const noexcept;
};

struct MetricsShard {
  std::array<std::array<Counter, kStatusCount>, kRouteCount> requests;
  std::array<Histogram, kRouteCount> latency;
  std::array<std::array<Counter, kOutcomeCount>, kGateCount> outcomes;
  Histogram work_queue_wait;  // time /work spent waiting for its permits
  Counter connections_accepted;
  Counter connections_open;
  Counter accept_waits;   // accepted sockets that had to wait for a connection permit
  Counter client_aborts;  // clients that went away while their request was being handled
  std::array<Counter, kTimeoutKindCount> timeouts;
  Counter bytes_received;
  Counter bytes_sent;
};

// One tick of the history behind the dashboard's charts.
struct StatsSample {
  double t_s = 0;                 // since the server started
  double rps = 0;                 // requests completed per second over the tick
  double p50_ms = 0, p99_ms = 0;  // over all routes but the long-poll
  // Per route over the tick: one busy fast route would otherwise hide the
  // latency of the others in the merged quantiles.
  std::array<double, kRouteCount> route_rps{}, route_p50_ms{}, route_p99_ms{};
  std::array<std::uint64_t, kGateCount> in_use{}, available{}, reserved{}, waiters{}, max{};
  std::uint64_t connections = 0;
  std::uint64_t cross_loop_wakes = 0;  // futex-wait CQEs + remote-queue wakes over the tick
};

// The samples kept, written once per tick by the control loop and copied by
// /stats handlers on the workers; a plain mutex is right for that.
class StatsHistory {
 public:
  explicit StatsHistory(std::size_t capacity) : capacity_(capacity) {}
  void push(const StatsSample& s);
  std::vector<StatsSample> copy() const;

 private:
  mutable std::mutex mu_;
  std::size_t capacity_;
  std::deque<StatsSample> samples_;
};

// Takes a sample each tick: rates and quantiles over the tick from the
// totals now and at the previous tick. Used by the control loop only.
class StatsSampler {
 public:
  StatsSample sample(const Server& s);

 private:
  bool primed_ = false;
  std::chrono::steady_clock::time_point last_t_{};
  std::uint64_t last_requests_ = 0;
  std::uint64_t last_cross_wakes_ = 0;
  HistogramData last_latency_;
  std::array<HistogramData, kRouteCount> last_route_latency_{};
};

std::string render_prometheus(const Server& s);
std::string render_stats_json(const Server& s);

}  // namespace demo
