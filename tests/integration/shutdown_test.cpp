// Graceful shutdown on SIGTERM/SIGINT: readiness flips, accepting stops,
// in-flight requests finish, queued ones answer 503, idle connections close,
// the process exits 0; the drain deadline and a second signal bound it.
#include <doctest/doctest.h>
#include <signal.h>

#include <memory>
#include <thread>
#include <vector>

#include "harness.hpp"

using namespace itest;

TEST_CASE("SIGTERM drains: the in-flight request completes, new connections are refused, exit 0") {
  ServerProcess server({"--drain_timeout_ms", "10000"});
  const auto port = server.port();

  HttpClient inflight(port);
  inflight.send(request("GET", "/work?ms=500"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "in_use"}) == 1; }));

  HttpClient idle(port);  // keep-alive, between requests
  idle.send(request("GET", "/healthz"));
  REQUIRE(idle.read_response().status == 200);

  HttpClient readiness(port);  // in the middle of sending a request
  readiness.send("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  // All three accepted (plus the /stats request asking): the drain must not
  // find the last one still in the listen backlog.
  REQUIRE(eventually([&] { return stats_number(port, {"connections", "open"}) == 4; }));

  server.signal(SIGTERM);

  // Accepting stops: the listener is closed, so connecting is refused.
  CHECK(eventually([&] { return connection_refused(port); }, 3s));
  // An idle keep-alive connection is closed at once.
  CHECK(idle.closed_within(3s));
  // A request still arriving is answered: not ready, and the connection closes.
  readiness.send("\r\n");
  auto ready = readiness.read_response();
  CHECK(ready.status == 503);
  CHECK(ready.body == "draining\n");
  CHECK(ready.header("Connection") == "close");

  // The request in flight finishes normally.
  auto done = inflight.read_response();
  CHECK(done.status == 200);
  CHECK(done.header("Connection") == "close");

  auto code = server.wait_exit(5s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(server.output().find("drained") != std::string::npos);
}

TEST_CASE("SIGINT drains too, and queued requests answer 503 when the semaphores close") {
  ServerProcess server({"--permits.work", "1", "--work.queue_timeout_ms", "30000", "--retry_after_s", "2"});
  const auto port = server.port();
  HttpClient holder(port), queued(port);
  holder.send(request("GET", "/work?ms=400"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "in_use"}) == 1; }));
  queued.send(request("GET", "/work?ms=0"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "waiters"}) == 1; }));

  server.signal(SIGINT);
  auto refused = queued.read_response();
  CHECK(refused.status == 503);
  CHECK(refused.header("Retry-After") == "2");
  CHECK(refused.header("Connection") == "close");
  CHECK(queued.closed_within(2s));
  CHECK(holder.read_response().status == 200);
  auto code = server.wait_exit(5s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}

// A drain closes the semaphores first and tells the workers a moment later;
// a request that was queued on a semaphore is answered in between, and its
// answer must still say that the connection closes after it.
TEST_CASE("a queued request refused by a drain is told that the connection closes") {
  ServerProcess server({"--permits.work", "4", "--drain_timeout_ms", "3000"});
  const auto port = server.port();
  std::vector<std::unique_ptr<HttpClient>> holders;
  for (int i = 0; i < 4; ++i) {
    holders.push_back(std::make_unique<HttpClient>(port));
    holders.back()->send(request("GET", "/work?ms=1000"));
  }
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "in_use"}) == 4; }));
  // A long-poll too: the drain wakes it through the events condvar, which
  // keeps the worker loop busy while the drain's messages arrive.
  HttpClient poll(port);
  poll.send(request("GET", "/events?timeout_ms=20000"));
  HttpClient queued(port);
  queued.send(request("GET", "/work?ms=0"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "waiters"}) == 1; }));
  std::this_thread::sleep_for(100ms);
  server.signal(SIGTERM);
  auto refused = queued.read_response();
  CHECK(refused.status == 503);
  CHECK(refused.header("Connection") == "close");
  CHECK(queued.closed_within(2s));
  for (auto& h : holders) CHECK(h->read_response().status == 200);
  auto code = server.wait_exit(5s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}

TEST_CASE("the drain deadline cuts requests that would take longer") {
  ServerProcess server({"--drain_timeout_ms", "300"});
  const auto port = server.port();
  HttpClient slow(port);
  slow.send(request("GET", "/work?ms=10000"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "in_use"}) == 1; }));
  server.signal(SIGTERM);
  CHECK(slow.closed_within(3s));  // cut without an answer
  auto code = server.wait_exit(3s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}

TEST_CASE("a second signal exits at once") {
  ServerProcess server({"--drain_timeout_ms", "60000"});
  const auto port = server.port();
  HttpClient slow(port);
  slow.send(request("GET", "/work?ms=10000"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "in_use"}) == 1; }));
  server.signal(SIGTERM);
  REQUIRE(eventually([&] { return connection_refused(port); }, 3s));
  server.signal(SIGTERM);
  auto code = server.wait_exit(3s);
  REQUIRE(code.has_value());
  CHECK(*code == 128 + SIGTERM);
}

TEST_CASE("an idle server exits 0 on SIGTERM without waiting for the deadline") {
  ServerProcess server({"--drain_timeout_ms", "60000"});
  CHECK(get(server.port(), "/healthz").status == 200);
  server.signal(SIGTERM);
  auto code = server.wait_exit(5s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}
