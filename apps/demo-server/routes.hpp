// Routes: the path table and the handlers.
//
// A route names its path, the methods it accepts (the 405 answer's Allow
// header is derived from them), and one handler: a plain function for the
// routes that answer at once, or a Task for the ones that may wait (/work
// waits for permits and a loop timer, /events for the stats tick). The
// connection runs plain handlers inline and awaits Task handlers, writing
// out what it had batched first.
//
//   GET  /                 live dashboard (HTML, polls /stats)
//   GET  /healthz          liveness
//   GET  /readyz           readiness: 503 while draining
//   GET  /metrics          Prometheus text exposition
//   GET  /stats            the same numbers as JSON, with the tick history
//   GET|POST /work?ms=N&cost=K   takes K permits of `work`, then N ms on a loop timer
//   GET  /events?timeout_ms=N    long-poll: waits on a Condvar for the next stats tick
//   POST /admin/permits?route=R&n=N   grows (N>0) or shrinks (N<0) semaphore R; bearer token
#pragma once

#include <cstdint>
#include <stop_token>
#include <string_view>
#include <sync/loop.hpp>
#include <sync/task.hpp>

#include "http_message.hpp"
#include "metrics.hpp"

namespace demo {

class Server;
class Worker;

struct RouteContext {
  Server& server;
  Worker& worker;
  std::stop_token stop;  // the connection's: cancels the handler's waits
};

using SyncHandler = void (*)(RouteContext&, const Request&, Response&);
using AsyncHandler = libsync::Task<void> (*)(RouteContext&, const Request&, Response&);

struct Route {
  std::string_view path;
  RouteId id;
  std::uint8_t methods;    // method_bit() set
  std::string_view allow;  // the same, as an Allow header value
  SyncHandler sync = nullptr;
  AsyncHandler async = nullptr;
};

// The route for `path`, or nullptr (404).
const Route* find_route(std::string_view path) noexcept;

// Fills `res` with a short plain-text error answer.
void error_response(Response& res, unsigned status, std::string_view message);

}  // namespace demo
