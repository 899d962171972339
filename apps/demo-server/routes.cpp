// Routes: the table and every handler. The handlers talk to the rest of the
// server only through Server (semaphores, draining, config, the events
// condition) and their Worker (metrics shard).
#include "routes.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <string>
#include <sync/semaphore.hpp>

#include "common/json_writer.hpp"
#include "dashboard.hpp"
#include "server.hpp"
#include "worker.hpp"

namespace demo {
namespace {

using libsync::WaitStatus;

constexpr std::uint8_t kGet = method_bit(Method::get) | method_bit(Method::head);
constexpr std::uint8_t kPost = method_bit(Method::post);

Outcome outcome_of(WaitStatus s) {
  switch (s) {
    case WaitStatus::acquired:
      return Outcome::acquired;
    case WaitStatus::timed_out:
      return Outcome::timed_out;
    case WaitStatus::cancelled:
      return Outcome::cancelled;
    case WaitStatus::closed:
      return Outcome::closed;
    case WaitStatus::would_block:
      return Outcome::rejected;
  }
  return Outcome::rejected;
}

void count(RouteContext& ctx, GateId g, WaitStatus s) {
  ctx.worker.metrics().outcomes[static_cast<std::size_t>(g)][static_cast<std::size_t>(outcome_of(s))].add();
}

// Unsigned decimal query parameter: nullopt when present but not a number;
// `fallback` when absent.
std::optional<std::uint64_t> uint_param(std::string_view query, std::string_view name,
                                        std::uint64_t fallback) {
  QueryValue q = query_param(query, name);
  if (!q.found) return fallback;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(q.value.data(), q.value.data() + q.value.size(), v);
  if (q.value.empty() || ec != std::errc{} || p != q.value.data() + q.value.size()) return std::nullopt;
  return v;
}

// A compact JSON object as the body: `fields` writes its members. Written
// into the body's buffer, which the connection keeps between requests.
template <class Fields>
void json_response(Response& res, Fields fields) {
  res.body.clear();
  apps::JsonWriter j(res.body, apps::JsonWriter::Layout::compact);
  j.begin_object();
  fields(j);
  j.end_object();
  j.finish();
  res.content_type = "application/json";
}

void service_unavailable(RouteContext& ctx, Response& res, std::string_view why) {
  error_response(res, 503, why);
  res.retry_after_s = ctx.server.config().retry_after_s;
}

// ---- plain handlers ----

void healthz(RouteContext&, const Request&, Response& res) {
  res.body = "ok\n";
  res.no_store = true;
}

void readyz(RouteContext& ctx, const Request&, Response& res) {
  res.no_store = true;
  if (ctx.server.draining()) return service_unavailable(ctx, res, "draining");
  res.body = "ready\n";
}

void metrics(RouteContext& ctx, const Request&, Response& res) {
  res.content_type = "text/plain; version=0.0.4; charset=utf-8";
  res.no_store = true;
  res.body = render_prometheus(ctx.server);
}

void stats(RouteContext& ctx, const Request&, Response& res) {
  res.content_type = "application/json";
  res.no_store = true;
  res.body = render_stats_json(ctx.server);
}

void dashboard(RouteContext&, const Request&, Response& res) {
  res.content_type = "text/html; charset=utf-8";
  res.no_store = true;
  res.body = std::string(dashboard_html());
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// Looks at every byte of what was presented whatever it holds, so the time
// taken does not tell how much of a guessed token was right. `secret` is
// never empty here (an empty token disables the API).
bool same_secret(std::string_view presented, std::string_view secret) {
  unsigned char diff = presented.size() == secret.size() ? 0 : 1;
  for (std::size_t i = 0; i < presented.size(); ++i)
    diff |= static_cast<unsigned char>(presented[i] ^ secret[i % secret.size()]);
  return diff == 0;
}

void admin_permits(RouteContext& ctx, const Request& req, Response& res) {
  const std::string& token = ctx.server.config().admin_token;
  res.no_store = true;
  if (token.empty()) return error_response(res, 403, "admin API disabled: no admin.token configured");
  if (!starts_with_nocase(req.authorization, "bearer ")) {
    error_response(res, 401, "admin API: send Authorization: Bearer <token>");
    res.bearer_challenge = true;
    return;
  }
  std::string_view presented = req.authorization.substr(7);
  while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
  if (!same_secret(presented, token)) return error_response(res, 403, "admin API: wrong token");

  QueryValue route = query_param(req.query, "route");
  GateId gate;
  if (route.value == "work")
    gate = GateId::work;
  else if (route.value == "events")
    gate = GateId::events;
  else if (route.value == "connections")
    gate = GateId::connections;
  else
    return error_response(res, 400, "route= must be work, events or connections");

  QueryValue nq = query_param(req.query, "n");
  long long n = 0;
  auto [p, ec] = std::from_chars(nq.value.data(), nq.value.data() + nq.value.size(), n);
  if (!nq.found || ec != std::errc{} || p != nq.value.data() + nq.value.size() || n == 0 || n > 1000000 ||
      n < -1000000)
    return error_response(res, 400, "n= must be a non-zero integer in [-1000000, 1000000]");

  libsync::Semaphore& sem = ctx.server.gate(gate);
  long long changed;
  if (n > 0) {
    sem.add_permits(static_cast<std::size_t>(n));
    changed = n;
  } else {
    // Only free permits can be forgotten; held ones stay until released.
    changed = -static_cast<long long>(sem.forget_permits(static_cast<std::size_t>(-n)));
  }
  json_response(res, [&](apps::JsonWriter& j) {
    j.field("semaphore", gate_name(gate)).field("requested", n).field("changed", changed);
    j.field("max", sem.max()).field("available", sem.available()).field("in_use", sem.in_use());
    j.field("waiters", sem.waiters());
  });
}

// ---- handlers that wait ----

libsync::Task<void> work(RouteContext& ctx, const Request& req, Response& res) {
  const Config& cfg = ctx.server.config();
  auto n_ms = uint_param(req.query, "ms", 0);
  auto cost = uint_param(req.query, "cost", 1);
  if (!n_ms || *n_ms > cfg.work_max_ms) {
    error_response(res, 400, "ms= must be an integer in [0, " + std::to_string(cfg.work_max_ms) + "]");
    co_return;
  }
  if (!cost || *cost == 0 || *cost > cfg.work_max_cost) {
    error_response(res, 400, "cost= must be an integer in [1, " + std::to_string(cfg.work_max_cost) + "]");
    co_return;
  }

  libsync::Semaphore& gate = ctx.server.gate(GateId::work);
  // More permits than the semaphore has (now: the admin API resizes it)
  // can never be granted; waiting for them would only end in a 503.
  if (*cost > gate.max()) {
    error_response(res, 400,
                   "cost= exceeds the " + std::to_string(gate.max()) + " permits of the work semaphore");
    co_return;
  }
  // The queue is FIFO: a request waiting for several permits holds every
  // request behind it, including ones that would fit in the permits free
  // meanwhile (they are reserved for it). Such a request may wait only
  // work.large_wait_ms.
  const std::uint64_t wait_ms =
      *cost > 1 ? std::min(cfg.work_large_wait_ms, cfg.work_queue_timeout_ms) : cfg.work_queue_timeout_ms;
  // Permits free and nobody queued: taken at once, with no deadline, stop
  // callback or clock read to set up. Otherwise wait in FIFO order.
  auto got = gate.try_acquire(static_cast<std::size_t>(*cost));
  std::chrono::nanoseconds waited_for{0};
  if (got.status == WaitStatus::would_block) {
    const auto t0 = libsync::Clock::now();
    got = co_await gate.acquire_for(ms(wait_ms), static_cast<std::size_t>(*cost), ctx.stop);
    waited_for = std::chrono::duration_cast<std::chrono::nanoseconds>(libsync::Clock::now() - t0);
  }
  count(ctx, GateId::work, got.status);
  switch (got.status) {
    case WaitStatus::acquired:
      break;
    case WaitStatus::timed_out:
      service_unavailable(ctx, res,
                          *cost > 1 ? "work: not enough permits within work.large_wait_ms"
                                    : "work: no permit within work.queue_timeout_ms");
      co_return;
    case WaitStatus::closed:
      service_unavailable(ctx, res, "draining");
      co_return;
    default:  // cancelled: the client went away or the drain deadline passed
      res.abort = true;
      co_return;
  }
  const auto waited = waited_for.count() / 1000;
  ctx.worker.metrics().work_queue_wait.record(waited_for);

  if (*n_ms > 0 && co_await libsync::sleep_for(ms(*n_ms), ctx.stop) == WaitStatus::cancelled) {
    res.abort = true;  // the permit goes back as `got` is destroyed
    co_return;
  }
  json_response(res, [&](apps::JsonWriter& j) {
    j.field("ms", *n_ms).field("cost", *cost).field("queued_us", static_cast<long long>(waited));
  });
}

libsync::Task<void> events(RouteContext& ctx, const Request& req, Response& res) {
  const Config& cfg = ctx.server.config();
  auto timeout = uint_param(req.query, "timeout_ms", cfg.events_timeout_ms);
  if (!timeout || *timeout == 0 || *timeout > cfg.events_max_timeout_ms) {
    error_response(
        res, 400, "timeout_ms= must be an integer in [1, " + std::to_string(cfg.events_max_timeout_ms) + "]");
    co_return;
  }
  res.no_store = true;
  // Long-polls hold a connection each; the events gate bounds them without
  // queueing (a long-poll that has to queue is better retried).
  auto slot = ctx.server.gate(GateId::events).try_acquire();
  count(ctx, GateId::events, slot.status);
  if (!slot) {
    service_unavailable(ctx, res, slot.status == WaitStatus::closed ? "draining" : "too many long-polls");
    co_return;
  }

  Server& server = ctx.server;
  auto lock = co_await server.events_mutex().lock(ctx.stop);
  if (!lock) {
    res.abort = true;
    co_return;
  }
  const std::uint64_t seen = server.events_generation();
  auto status = co_await server.events_cv().wait_for(
      lock.guard, ms(*timeout), [&] { return server.events_generation() != seen || server.draining(); },
      ctx.stop);
  const std::uint64_t now_gen = server.events_generation();
  lock.guard.unlock();

  if (status == WaitStatus::cancelled) {
    res.abort = true;
    co_return;
  }
  if (server.draining()) {
    service_unavailable(ctx, res, "draining");
    co_return;
  }
  json_response(res, [&](apps::JsonWriter& j) {
    j.field("tick", now_gen).field("timed_out", status == WaitStatus::timed_out);
  });
}

constexpr std::array<Route, 8> kRoutes = {{
    {"/healthz", RouteId::healthz, kGet, "GET, HEAD", &healthz, nullptr},
    {"/work", RouteId::work, kGet | kPost, "GET, HEAD, POST", nullptr, &work},
    {"/", RouteId::dashboard, kGet, "GET, HEAD", &dashboard, nullptr},
    {"/readyz", RouteId::readyz, kGet, "GET, HEAD", &readyz, nullptr},
    {"/stats", RouteId::stats, kGet, "GET, HEAD", &stats, nullptr},
    {"/metrics", RouteId::metrics, kGet, "GET, HEAD", &metrics, nullptr},
    {"/events", RouteId::events, kGet, "GET, HEAD", nullptr, &events},
    {"/admin/permits", RouteId::admin, kPost, "POST", &admin_permits, nullptr},
}};

}  // namespace

const Route* find_route(std::string_view path) noexcept {
  for (const Route& r : kRoutes)
    if (r.path == path) return &r;
  return nullptr;
}

void error_response(Response& res, unsigned status, std::string_view message) {
  res.status = status;
  res.content_type = "text/plain; charset=utf-8";
  res.body.assign(message);
  res.body += '\n';
}

}  // namespace demo
