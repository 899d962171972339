// Metrics: histogram arithmetic, the tick sampler, and the Prometheus and
// JSON renderings. Readers sum every worker's shard at read time.
#include "metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "common/json_writer.hpp"
#include "server.hpp"
#include "worker.hpp"

namespace demo {

std::string_view route_name(RouteId r) noexcept {
  switch (r) {
    case RouteId::dashboard:
      return "dashboard";
    case RouteId::healthz:
      return "healthz";
    case RouteId::readyz:
      return "readyz";
    case RouteId::metrics:
      return "metrics";
    case RouteId::stats:
      return "stats";
    case RouteId::work:
      return "work";
    case RouteId::events:
      return "events";
    case RouteId::admin:
      return "admin";
    case RouteId::unmatched:
      return "unmatched";
    case RouteId::invalid:
      return "invalid";
  }
  return "?";
}

std::size_t status_index(unsigned status) noexcept {
  for (std::size_t i = 0; i + 1 < kStatusCount; ++i)
    if (kStatusCodes[i] == status) return i;
  return kStatusCount - 1;
}

std::string_view gate_name(GateId g) noexcept {
  switch (g) {
    case GateId::connections:
      return "connections";
    case GateId::work:
      return "work";
    case GateId::events:
      return "events";
  }
  return "?";
}

namespace {

constexpr std::array<std::string_view, kOutcomeCount> kOutcomeNames = {"acquired", "timed_out", "cancelled",
                                                                       "closed", "rejected"};
constexpr std::array<std::string_view, kTimeoutKindCount> kTimeoutNames = {"header", "body", "idle", "send"};

void add(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}
void add(std::string& out, double v) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.3f", v);
  out.append(buf, static_cast<std::size_t>(n));
}
void add(std::string& out, std::string_view s) {
  out.append(s);
}

template <class... Parts>
void line(std::string& out, Parts&&... parts) {
  (add(out, parts), ...);
  out += '\n';
}

// Everything the renderers need, summed over shards once per render.
struct Totals {
  std::array<std::array<std::uint64_t, kStatusCount>, kRouteCount> requests{};
  std::array<HistogramData, kRouteCount> latency{};
  std::array<std::array<std::uint64_t, kOutcomeCount>, kGateCount> outcomes{};
  HistogramData queue_wait;
  std::uint64_t accepted = 0, open = 0, accept_waits = 0, aborts = 0, bytes_in = 0, bytes_out = 0;
  std::array<std::uint64_t, kTimeoutKindCount> timeouts{};

  std::uint64_t all_requests() const {
    std::uint64_t n = 0;
    for (const auto& r : requests)
      for (auto v : r) n += v;
    return n;
  }
  // Latency of the routes that answer at once or after a bounded wait; the
  // long-poll is left out, its duration is the poll timeout by design.
  HistogramData served_latency() const {
    HistogramData h;
    for (std::size_t r = 0; r < kRouteCount; ++r)
      if (static_cast<RouteId>(r) != RouteId::events) h.add(latency[r]);
    return h;
  }
};

Totals totals(const Server& s) {
  Totals t;
  for (const auto& w : s.workers()) {
    const MetricsShard& m = w->metrics();
    for (std::size_t r = 0; r < kRouteCount; ++r) {
      for (std::size_t c = 0; c < kStatusCount; ++c) t.requests[r][c] += m.requests[r][c].get();
      t.latency[r].add(m.latency[r]);
    }
    for (std::size_t g = 0; g < kGateCount; ++g)
      for (std::size_t o = 0; o < kOutcomeCount; ++o) t.outcomes[g][o] += m.outcomes[g][o].get();
    t.queue_wait.add(m.work_queue_wait);
    t.accepted += m.connections_accepted.get();
    t.open += m.connections_open.get();
    t.accept_waits += m.accept_waits.get();
    t.aborts += m.client_aborts.get();
    t.bytes_in += m.bytes_received.get();
    t.bytes_out += m.bytes_sent.get();
    for (std::size_t k = 0; k < kTimeoutKindCount; ++k) t.timeouts[k] += m.timeouts[k].get();
  }
  return t;
}

struct NamedLoop {
  std::string name;
  libsync::LoopStats stats;
  libsync::Tier tier;
  libsync::BackendKind backend;
};

std::vector<NamedLoop> loops(const Server& s) {
  std::vector<NamedLoop> out;
  for (const auto& w : s.workers())
    if (const libsync::Loop* l = w->loop())
      out.push_back({"worker-" + std::to_string(w->index()), l->stats(), l->tier(), l->backend_kind()});
  if (const libsync::Loop* c = s.control_loop())
    out.push_back({"control", c->stats(), c->tier(), c->backend_kind()});
  return out;
}

// Wakes that crossed threads: futex-wait completions on the ring
// (uring-futex) plus handles that came through a loop's remote queue
// (generic tier, and posts).
std::uint64_t cross_loop_wakes(const libsync::LoopStats& st) {
  return st.futex_wait_cqes + st.remote_wakes;
}

// Permits handed to a queued waiter that is still short of its count: in
// neither in_use() nor available(). From three separate reads, so clamped.
std::uint64_t reserved_permits(const libsync::Semaphore& sem) {
  const std::size_t max = sem.max(), free = sem.available(), used = sem.in_use();
  return max > free + used ? max - free - used : 0;
}

double seconds_since(libsync::Clock::time_point t0) {
  return std::chrono::duration<double>(libsync::Clock::now() - t0).count();
}

void prom_histogram(std::string& out, std::string_view name, std::string_view labels,
                    const HistogramData& h) {
  std::uint64_t cum = 0;
  const std::string sep = labels.empty() ? "" : ",";
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    cum += h.buckets[i];
    std::string le = "+Inf";
    if (i < kBucketBoundsUs.size()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", static_cast<double>(kBucketBoundsUs[i]) / 1e6);
      le = buf;
    }
    line(out, name, "_bucket{", labels, sep, "le=\"", le, "\"} ", cum);
  }
  char sum[40];
  std::snprintf(sum, sizeof sum, "%.9f", static_cast<double>(h.sum_ns) / 1e9);
  // No braces without labels: `x_sum{} 1` is valid, `x_sum 1` is what
  // exposition tools print.
  const std::string_view open = labels.empty() ? " " : "{";
  const std::string_view close = labels.empty() ? "" : "} ";
  line(out, name, "_sum", open, labels, close, std::string_view(sum));
  line(out, name, "_count", open, labels, close, h.count());
}

void help(std::string& out, std::string_view name, std::string_view type, std::string_view text) {
  line(out, "# HELP ", name, " ", text);
  line(out, "# TYPE ", name, " ", type);
}

// The standard process_* metrics (as Prometheus client libraries name
// them), from getrusage, getrlimit and /proc.
void process_metrics(std::string& out, const Server& s) {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  help(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.");
  line(out, "process_cpu_seconds_total ", cpu);
  const double start =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() -
      seconds_since(s.started());
  help(out, "process_start_time_seconds", "gauge",
       "Start time of the process since the Unix epoch, in seconds.");
  line(out, "process_start_time_seconds ", start);
  unsigned long long pages_virtual = 0, pages_resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%llu %llu", &pages_virtual, &pages_resident) != 2) pages_virtual = pages_resident = 0;
    std::fclose(f);
  }
  const auto page = static_cast<unsigned long long>(::sysconf(_SC_PAGESIZE));
  help(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  line(out, "process_virtual_memory_bytes ", std::uint64_t{pages_virtual * page});
  help(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  line(out, "process_resident_memory_bytes ", std::uint64_t{pages_resident * page});
  std::uint64_t fds = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++fds;
    ::closedir(d);
    --fds;  // the directory's own descriptor
  }
  help(out, "process_open_fds", "gauge", "Number of open file descriptors.");
  line(out, "process_open_fds ", fds);
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  help(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
  line(out, "process_max_fds ", std::uint64_t{rl.rlim_cur});
}

}  // namespace

void Histogram::record(std::chrono::nanoseconds d) noexcept {
  const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0));
  std::size_t i = 0;
  while (i < kBucketBoundsUs.size() && ns > kBucketBoundsUs[i] * 1000) ++i;
  buckets_[i].add();
  sum_ns_.add(ns);
}

void HistogramData::add(const Histogram& h) noexcept {
  for (std::size_t i = 0; i < kBucketCount; ++i) buckets[i] += h.bucket(i);
  sum_ns += h.sum_ns();
}

void HistogramData::add(const HistogramData& h) noexcept {
  for (std::size_t i = 0; i < kBucketCount; ++i) buckets[i] += h.buckets[i];
  sum_ns += h.sum_ns;
}

std::uint64_t HistogramData::count() const noexcept {
  std::uint64_t n = 0;
  for (auto b : buckets) n += b;
  return n;
}

HistogramData HistogramData::minus(const HistogramData& earlier) const noexcept {
  HistogramData d;
  for (std::size_t i = 0; i < kBucketCount; ++i) d.buckets[i] = buckets[i] - earlier.buckets[i];
  d.sum_ns = sum_ns - earlier.sum_ns;
  return d;
}

double HistogramData::quantile_ms(double q) const noexcept {
  const std::uint64_t n = count();
  if (n == 0) return 0;
  const double rank = q * static_cast<double>(n);
  std::uint64_t cum = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    if (buckets[i] == 0) continue;
    if (static_cast<double>(cum + buckets[i]) >= rank) {
      const double lo = i == 0 ? 0.0 : static_cast<double>(kBucketBoundsUs[i - 1]);
      const double hi = i < kBucketBoundsUs.size() ? static_cast<double>(kBucketBoundsUs[i]) : lo * 2;
      const double frac = (rank - static_cast<double>(cum)) / static_cast<double>(buckets[i]);
      return (lo + (hi - lo) * std::clamp(frac, 0.0, 1.0)) / 1000.0;
    }
    cum += buckets[i];
  }
  return static_cast<double>(kBucketBoundsUs.back()) / 1000.0;
}

void StatsHistory::push(const StatsSample& s) {
  std::lock_guard lk(mu_);
  samples_.push_back(s);
  while (samples_.size() > capacity_) samples_.pop_front();
}

std::vector<StatsSample> StatsHistory::copy() const {
  std::lock_guard lk(mu_);
  return {samples_.begin(), samples_.end()};
}

StatsSample StatsSampler::sample(const Server& s) {
  const auto now = libsync::Clock::now();
  const Totals t = totals(s);
  const std::uint64_t requests = t.all_requests();
  const HistogramData latency = t.served_latency();
  std::uint64_t wakes = 0;
  for (const auto& l : loops(s)) wakes += cross_loop_wakes(l.stats);

  StatsSample out;
  out.t_s = std::chrono::duration<double>(now - s.started()).count();
  if (primed_) {
    const double dt = std::chrono::duration<double>(now - last_t_).count();
    if (dt > 0) out.rps = static_cast<double>(requests - last_requests_) / dt;
    const HistogramData window = latency.minus(last_latency_);
    out.p50_ms = window.quantile_ms(0.50);
    out.p99_ms = window.quantile_ms(0.99);
    out.cross_loop_wakes = wakes - last_cross_wakes_;
    for (std::size_t r = 0; r < kRouteCount; ++r) {
      const HistogramData w = t.latency[r].minus(last_route_latency_[r]);
      if (dt > 0) out.route_rps[r] = static_cast<double>(w.count()) / dt;
      out.route_p50_ms[r] = w.quantile_ms(0.50);
      out.route_p99_ms[r] = w.quantile_ms(0.99);
    }
  }
  last_route_latency_ = t.latency;
  for (std::size_t g = 0; g < kGateCount; ++g) {
    const libsync::Semaphore& sem = s.gate(static_cast<GateId>(g));
    out.in_use[g] = sem.in_use();
    out.available[g] = sem.available();
    out.reserved[g] = reserved_permits(sem);
    out.waiters[g] = sem.waiters();
    out.max[g] = sem.max();
  }
  out.connections = t.open;
  primed_ = true;
  last_t_ = now;
  last_requests_ = requests;
  last_latency_ = latency;
  last_cross_wakes_ = wakes;
  return out;
}

namespace {

// Requests by route and status, and their latency by route.
void prom_requests(std::string& out, const Totals& t) {
  help(out, "demo_http_requests_total", "counter", "Requests answered, by route and status code.");
  for (std::size_t r = 0; r < kRouteCount; ++r)
    for (std::size_t c = 0; c < kStatusCount; ++c)
      if (t.requests[r][c] != 0) {
        const std::string code = kStatusCodes[c] ? std::to_string(kStatusCodes[c]) : "other";
        line(out, "demo_http_requests_total{route=\"", route_name(static_cast<RouteId>(r)), "\",code=\"",
             code, "\"} ", t.requests[r][c]);
      }

  help(out, "demo_http_request_duration_seconds", "histogram",
       "From a request being parsed to its answer being ready to send (includes waiting for permits).");
  for (std::size_t r = 0; r < kRouteCount; ++r)
    if (t.latency[r].count() != 0)
      prom_histogram(out, "demo_http_request_duration_seconds",
                     "route=\"" + std::string(route_name(static_cast<RouteId>(r))) + "\"", t.latency[r]);
}

// The semaphores: permits, size, queue, and how attempts to take them ended.
void prom_semaphores(std::string& out, const Server& s, const Totals& t) {
  help(out, "demo_semaphore_permits", "gauge",
       "Permits of each semaphore: in use, available, or reserved for a queued request waiting for more.");
  for (std::size_t g = 0; g < kGateCount; ++g) {
    const libsync::Semaphore& sem = s.gate(static_cast<GateId>(g));
    const std::string_view n = gate_name(static_cast<GateId>(g));
    line(out, "demo_semaphore_permits{semaphore=\"", n, "\",state=\"in_use\"} ", std::uint64_t{sem.in_use()});
    line(out, "demo_semaphore_permits{semaphore=\"", n, "\",state=\"available\"} ",
         std::uint64_t{sem.available()});
    line(out, "demo_semaphore_permits{semaphore=\"", n, "\",state=\"reserved\"} ",
         std::uint64_t{reserved_permits(sem)});
  }
  help(out, "demo_semaphore_max_permits", "gauge",
       "Current size of each semaphore (changed by /admin/permits).");
  for (std::size_t g = 0; g < kGateCount; ++g)
    line(out, "demo_semaphore_max_permits{semaphore=\"", gate_name(static_cast<GateId>(g)), "\"} ",
         std::uint64_t{s.gate(static_cast<GateId>(g)).max()});
  help(out, "demo_semaphore_waiters", "gauge", "Tasks queued on each semaphore.");
  for (std::size_t g = 0; g < kGateCount; ++g)
    line(out, "demo_semaphore_waiters{semaphore=\"", gate_name(static_cast<GateId>(g)), "\"} ",
         std::uint64_t{s.gate(static_cast<GateId>(g)).waiters()});
  help(out, "demo_semaphore_acquires_total", "counter", "Attempts to take permits, by how they ended.");
  for (std::size_t g = 0; g < kGateCount; ++g)
    for (std::size_t o = 0; o < kOutcomeCount; ++o)
      line(out, "demo_semaphore_acquires_total{semaphore=\"", gate_name(static_cast<GateId>(g)),
           "\",outcome=\"", kOutcomeNames[o], "\"} ", t.outcomes[g][o]);
  help(out, "demo_work_queue_wait_seconds", "histogram", "Time /work waited for its permits.");
  prom_histogram(out, "demo_work_queue_wait_seconds", "", t.queue_wait);
}

// Connections, timeouts, bytes, and the access log's dropped lines.
void prom_connections(std::string& out, const Server& s, const Totals& t) {
  help(out, "demo_connections_open", "gauge", "Open client connections.");
  line(out, "demo_connections_open ", t.open);
  help(out, "demo_connections_accepted_total", "counter", "Connections accepted.");
  line(out, "demo_connections_accepted_total ", t.accepted);
  help(out, "demo_accept_waits_total", "counter",
       "Accepted connections that waited for a connection permit (max_connections reached).");
  line(out, "demo_accept_waits_total ", t.accept_waits);
  help(out, "demo_client_aborts_total", "counter", "Clients that went away while their request was handled.");
  line(out, "demo_client_aborts_total ", t.aborts);
  help(out, "demo_access_log_dropped_lines_total", "counter",
       "Access log lines dropped because stdout's reader fell behind.");
  line(out, "demo_access_log_dropped_lines_total ",
       std::uint64_t{s.log_output() ? s.log_output()->dropped_lines() : 0});
  help(out, "demo_timeouts_total", "counter", "Connections closed by a timeout, by kind.");
  for (std::size_t k = 0; k < kTimeoutKindCount; ++k)
    line(out, "demo_timeouts_total{kind=\"", kTimeoutNames[k], "\"} ", t.timeouts[k]);
  help(out, "demo_bytes_total", "counter", "Bytes received and sent on client connections.");
  line(out, "demo_bytes_total{direction=\"received\"} ", t.bytes_in);
  line(out, "demo_bytes_total{direction=\"sent\"} ", t.bytes_out);
}

// Each event loop: its tier and backend, wakes received and sent, work done.
void prom_loops(std::string& out, const Server& s) {
  const auto ls = loops(s);
  help(out, "demo_loop_info", "gauge", "Each event loop with its wait tier and backend.");
  for (const auto& l : ls)
    line(out, "demo_loop_info{loop=\"", l.name, "\",tier=\"", libsync::to_string(l.tier), "\",backend=\"",
         libsync::to_string(l.backend), "\"} 1");
  help(out, "demo_loop_wakes_total", "counter",
       "Synchronization wake-ups delivered to each loop, by kind: local (same loop, no syscall), "
       "futex_cqe (FUTEX_WAIT completion on the ring), remote_queue (handed over through the loop's queue), "
       "notifier (eventfd reads that woke a parked loop).");
  for (const auto& l : ls) {
    line(out, "demo_loop_wakes_total{loop=\"", l.name, "\",kind=\"local\"} ", l.stats.local_wakes);
    line(out, "demo_loop_wakes_total{loop=\"", l.name, "\",kind=\"futex_cqe\"} ", l.stats.futex_wait_cqes);
    line(out, "demo_loop_wakes_total{loop=\"", l.name, "\",kind=\"remote_queue\"} ", l.stats.remote_wakes);
    line(out, "demo_loop_wakes_total{loop=\"", l.name, "\",kind=\"notifier\"} ", l.stats.notifier_reads);
  }
  help(out, "demo_loop_wakes_sent_total", "counter", "Futex wakes each loop sent to others, by path.");
  for (const auto& l : ls) {
    line(out, "demo_loop_wakes_sent_total{loop=\"", l.name, "\",via=\"sqe\"} ", l.stats.futex_wake_sqes);
    line(out, "demo_loop_wakes_sent_total{loop=\"", l.name, "\",via=\"syscall\"} ",
         l.stats.futex_wake_syscalls);
    line(out, "demo_loop_wakes_sent_total{loop=\"", l.name, "\",via=\"notifier\"} ", l.stats.notifier_writes);
  }
  help(out, "demo_loop_iterations_total", "counter", "Loop iterations.");
  for (const auto& l : ls)
    line(out, "demo_loop_iterations_total{loop=\"", l.name, "\"} ", l.stats.iterations);
  help(out, "demo_loop_syscalls_total", "counter", "Syscalls made by each loop itself.");
  for (const auto& l : ls) line(out, "demo_loop_syscalls_total{loop=\"", l.name, "\"} ", l.stats.syscalls);
  help(out, "demo_loop_io_completed_total", "counter", "I/O operations completed on each loop.");
  for (const auto& l : ls)
    line(out, "demo_loop_io_completed_total{loop=\"", l.name, "\"} ", l.stats.io_completed);
}

void prom_server(std::string& out, const Server& s) {
  help(out, "demo_draining", "gauge", "1 while the server drains for shutdown.");
  line(out, "demo_draining ", std::uint64_t{s.draining() ? 1u : 0u});
  help(out, "demo_uptime_seconds", "gauge", "Seconds since start.");
  line(out, "demo_uptime_seconds ", seconds_since(s.started()));
}

}  // namespace

std::string render_prometheus(const Server& s) {
  const Totals t = totals(s);
  std::string out;
  out.reserve(16384);
  prom_requests(out, t);
  prom_semaphores(out, s, t);
  prom_connections(out, s, t);
  prom_loops(out, s);
  prom_server(out, s);
  process_metrics(out, s);
  return out;
}

namespace {

// /stats is compact JSON; its fractional figures keep three decimals, as the
// dashboard and scripts have always read them.
constexpr int kStatsDecimals = 3;

void stats_number(apps::JsonWriter& j, double v) {
  j.fixed(v, kStatsDecimals);
}
void stats_number(apps::JsonWriter& j, std::uint64_t v) {
  j.value(v);
}

std::uint64_t route_requests(const Totals& t, std::size_t r) {
  std::uint64_t n = 0;
  for (auto v : t.requests[r]) n += v;
  return n;
}

void write_server_fields(apps::JsonWriter& j, const Server& s, const Totals& t) {
  j.key("uptime_s");
  stats_number(j, seconds_since(s.started()));
  j.field("draining", s.draining());
  j.field("tier", libsync::to_string(s.tier()));
  j.field("backend", libsync::to_string(s.backend()));
  j.field("threads", std::uint64_t{s.workers().size()});
  j.field("requests_total", t.all_requests());
}

// Routes that answered at least once: totals, latency, and counts by status.
void write_routes(apps::JsonWriter& j, const Totals& t) {
  j.key("routes").begin_object();
  for (std::size_t r = 0; r < kRouteCount; ++r) {
    const std::uint64_t n = route_requests(t, r);
    if (n == 0) continue;
    j.key(route_name(static_cast<RouteId>(r))).begin_object();
    j.field("requests", n);
    j.key("p50_ms");
    stats_number(j, t.latency[r].quantile_ms(0.5));
    j.key("p99_ms");
    stats_number(j, t.latency[r].quantile_ms(0.99));
    j.key("by_status").begin_object();
    for (std::size_t c = 0; c < kStatusCount; ++c)
      if (t.requests[r][c] != 0)
        j.field(kStatusCodes[c] ? std::to_string(kStatusCodes[c]) : "other", t.requests[r][c]);
    j.end_object();
    j.end_object();
  }
  j.end_object();
}

void write_semaphores(apps::JsonWriter& j, const Server& s, const Totals& t) {
  j.key("semaphores").begin_object();
  for (std::size_t g = 0; g < kGateCount; ++g) {
    const libsync::Semaphore& sem = s.gate(static_cast<GateId>(g));
    j.key(gate_name(static_cast<GateId>(g))).begin_object();
    j.field("max", std::uint64_t{sem.max()});
    j.field("available", std::uint64_t{sem.available()});
    j.field("in_use", std::uint64_t{sem.in_use()});
    j.field("reserved", reserved_permits(sem));
    j.field("waiters", std::uint64_t{sem.waiters()});
    j.field("is_closed", sem.is_closed());
    for (std::size_t o = 0; o < kOutcomeCount; ++o) j.field(kOutcomeNames[o], t.outcomes[g][o]);
    j.end_object();
  }
  j.end_object();
}

void write_connections(apps::JsonWriter& j, const Totals& t) {
  j.key("connections").begin_object();
  j.field("open", t.open).field("accepted", t.accepted);
  j.field("accept_waits", t.accept_waits).field("client_aborts", t.aborts);
  j.key("timeouts").begin_object();
  for (std::size_t k = 0; k < kTimeoutKindCount; ++k) j.field(kTimeoutNames[k], t.timeouts[k]);
  j.end_object();
  j.end_object();
}

void write_loops(apps::JsonWriter& j, const Server& s) {
  j.key("loops").begin_array();
  for (const auto& l : loops(s)) {
    j.begin_object();
    j.field("name", l.name);
    j.field("tier", libsync::to_string(l.tier)).field("backend", libsync::to_string(l.backend));
    j.key("wakes").begin_object();
    j.field("local", l.stats.local_wakes).field("futex_cqe", l.stats.futex_wait_cqes);
    j.field("remote_queue", l.stats.remote_wakes).field("notifier", l.stats.notifier_reads);
    j.end_object();
    j.key("wakes_sent").begin_object();
    j.field("sqe", l.stats.futex_wake_sqes).field("syscall", l.stats.futex_wake_syscalls);
    j.field("notifier", l.stats.notifier_writes);
    j.end_object();
    j.field("iterations", l.stats.iterations).field("syscalls", l.stats.syscalls);
    j.field("io_completed", l.stats.io_completed);
    j.end_object();
  }
  j.end_array();
}

// One array per series of the tick history (compact, and what the charts want).
class HistoryWriter {
 public:
  HistoryWriter(apps::JsonWriter& j, const std::vector<StatsSample>& hist) : j_(j), hist_(hist) {}

  template <class Get>
  void series(std::string_view name, Get get) {
    j_.key(name).begin_array();
    for (const StatsSample& x : hist_) stats_number(j_, get(x));
    j_.end_array();
  }

 private:
  apps::JsonWriter& j_;
  const std::vector<StatsSample>& hist_;
};

void write_overall_series(HistoryWriter& h) {
  h.series("t_s", [](const StatsSample& x) { return x.t_s; });
  h.series("rps", [](const StatsSample& x) { return x.rps; });
  h.series("p50_ms", [](const StatsSample& x) { return x.p50_ms; });
  h.series("p99_ms", [](const StatsSample& x) { return x.p99_ms; });
}

void write_route_series(HistoryWriter& h) {
  for (std::size_t r = 0; r < kRouteCount; ++r) {
    const std::string n = "route_" + std::string(route_name(static_cast<RouteId>(r)));
    h.series(n + "_rps", [r](const StatsSample& x) { return x.route_rps[r]; });
    h.series(n + "_p50_ms", [r](const StatsSample& x) { return x.route_p50_ms[r]; });
    h.series(n + "_p99_ms", [r](const StatsSample& x) { return x.route_p99_ms[r]; });
  }
}

void write_gate_series(HistoryWriter& h) {
  for (std::size_t g = 0; g < kGateCount; ++g) {
    const std::string n(gate_name(static_cast<GateId>(g)));
    h.series(n + "_in_use", [g](const StatsSample& x) { return x.in_use[g]; });
    h.series(n + "_available", [g](const StatsSample& x) { return x.available[g]; });
    h.series(n + "_reserved", [g](const StatsSample& x) { return x.reserved[g]; });
    h.series(n + "_waiters", [g](const StatsSample& x) { return x.waiters[g]; });
    h.series(n + "_max", [g](const StatsSample& x) { return x.max[g]; });
  }
}

void write_history(apps::JsonWriter& j, const Server& s) {
  const auto hist = s.history().copy();
  j.key("history").begin_object();
  j.field("interval_ms", std::uint64_t{s.config().stats_interval_ms});
  HistoryWriter h(j, hist);
  write_overall_series(h);
  write_route_series(h);
  h.series("connections", [](const StatsSample& x) { return x.connections; });
  h.series("cross_loop_wakes", [](const StatsSample& x) { return x.cross_loop_wakes; });
  write_gate_series(h);
  j.end_object();
}

}  // namespace

std::string render_stats_json(const Server& s) {
  const Totals t = totals(s);
  std::string out;
  out.reserve(8192);
  apps::JsonWriter j(out, apps::JsonWriter::Layout::compact);
  j.begin_object();
  write_server_fields(j, s, t);
  write_routes(j, t);
  write_semaphores(j, s, t);
  write_connections(j, t);
  write_loops(j, s);
  write_history(j, s);
  j.end_object();
  j.finish();
  return out;
}

}  // namespace demo
