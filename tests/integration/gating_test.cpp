// The semaphores as a client sees them: overflow answers 503 with
// Retry-After while ungated routes keep answering, the admin API resizes a
// semaphore only with the token, and a client that leaves never keeps a
// permit.
#include <doctest/doctest.h>

#include <memory>

#include "harness.hpp"

using namespace itest;

TEST_CASE("an overflowing gated route answers 503 with Retry-After while /healthz still answers") {
  ServerProcess server({"--permits.work", "2", "--work.queue_timeout_ms", "500", "--retry_after_s", "3"});
  const auto port = server.port();

  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<HttpClient>(port));
    clients.back()->send(request("GET", "/work?ms=3000"));
  }
  // Two hold the permits, the other four queue behind them.
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "in_use"}) == 2; }));

  // The queue waits on the loop: an ungated request is served meanwhile,
  // and the permits are still held when it has been answered.
  auto health = get(port, "/healthz");
  CHECK(health.status == 200);
  CHECK(stats_number(port, {"semaphores", "work", "in_use"}) == 2);

  int ok = 0, unavailable = 0;
  for (auto& c : clients) {
    auto r = c->read_response();
    if (r.status == 200) ++ok;
    if (r.status == 503) {
      ++unavailable;
      CHECK(r.header("Retry-After") == "3");
    }
  }
  CHECK(ok == 2);
  CHECK(unavailable == 4);
  CHECK(stats_number(port, {"semaphores", "work", "timed_out"}) == 4);
  CHECK(stats_number(port, {"semaphores", "work", "in_use"}) == 0);
}

TEST_CASE("queued requests are served in arrival order as permits free up") {
  ServerProcess server({"--permits.work", "1", "--work.queue_timeout_ms", "10000"});
  const auto port = server.port();
  HttpClient first(port);
  first.send(request("GET", "/work?ms=300"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "in_use"}) == 1; }));
  HttpClient second(port), third(port);
  second.send(request("GET", "/work?ms=200"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "waiters"}) == 1; }));
  third.send(request("GET", "/work?ms=0"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "waiters"}) == 2; }));
  CHECK(first.read_response().status == 200);
  auto a = second.read_response();
  auto b = third.read_response();
  CHECK(a.status == 200);
  CHECK(b.status == 200);
  // FIFO: the second got the permit first and held it 200 ms, so the third
  // queued about 200 ms longer (it would be shorter had it barged ahead).
  CHECK(json_number(b.body, {"queued_us"}) > json_number(a.body, {"queued_us"}) + 100000);
}

TEST_CASE("the admin API needs the bearer token and resizes the semaphore") {
  ServerProcess server({"--admin.token", "s3cret", "--permits.work", "8"});
  const auto port = server.port();
  const std::string target = "/admin/permits?route=work&n=2";

  auto anonymous = fetch(port, "POST", target);
  CHECK(anonymous.status == 401);
  CHECK(anonymous.header("WWW-Authenticate").find("Bearer") == 0);
  CHECK(fetch(port, "POST", target, "Authorization: Basic dXNlcjpwYXNz\r\n").status == 401);
  CHECK(fetch(port, "POST", target, "Authorization: Bearer wrong\r\n").status == 403);
  CHECK(fetch(port, "POST", target, "Authorization: Bearer s3cre\r\n").status == 403);
  CHECK(stats_number(port, {"semaphores", "work", "max"}) == 8);

  auto grow = fetch(port, "POST", target, "Authorization: Bearer s3cret\r\n");
  CHECK(grow.status == 200);
  CHECK(json_number(grow.body, {"max"}) == 10);
  CHECK(stats_number(port, {"semaphores", "work", "max"}) == 10);

  auto shrink = fetch(port, "POST", "/admin/permits?route=work&n=-3", "Authorization: Bearer s3cret\r\n");
  CHECK(shrink.status == 200);
  CHECK(json_number(shrink.body, {"changed"}) == -3);
  CHECK(stats_number(port, {"semaphores", "work", "max"}) == 7);

  CHECK(fetch(port, "POST", "/admin/permits?route=nope&n=1", "Authorization: Bearer s3cret\r\n").status ==
        400);
  CHECK(fetch(port, "POST", "/admin/permits?route=work&n=0", "Authorization: Bearer s3cret\r\n").status ==
        400);
  CHECK(fetch(port, "POST", "/admin/permits?route=work", "Authorization: Bearer s3cret\r\n").status == 400);
}

TEST_CASE("the admin API is disabled without a configured token") {
  ServerProcess server;
  auto r =
      fetch(server.port(), "POST", "/admin/permits?route=work&n=1", "Authorization: Bearer anything\r\n");
  CHECK(r.status == 403);
  CHECK(r.body.find("disabled") != std::string::npos);
  CHECK(stats_number(server.port(), {"semaphores", "work", "max"}) == 8);
}

TEST_CASE("a client that disconnects mid-request leaves no permit held") {
  ServerProcess server({"--permits.work", "1", "--work.queue_timeout_ms", "30000"});
  const auto port = server.port();

  // The holder: its work would take 10 s.
  auto holder = std::make_unique<HttpClient>(port);
  holder->send(request("GET", "/work?ms=10000"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "in_use"}) == 1; }));

  // A queued waiter leaves (with a reset): the queue empties at once.
  auto waiter = std::make_unique<HttpClient>(port);
  waiter->send(request("GET", "/work?ms=10000"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "waiters"}) == 1; }));
  waiter->close(/*reset=*/true);
  CHECK(eventually([&] { return stats_number(port, {"semaphores", "work", "waiters"}) == 0; }, 3s));
  CHECK(stats_number(port, {"semaphores", "work", "in_use"}) == 1);

  // The holder leaves (with a reset) long before its 10 s are up: the permit
  // comes back. (A plain FIN is a half-close: that request is still answered.)
  holder->close(/*reset=*/true);
  CHECK(eventually([&] { return stats_number(port, {"semaphores", "work", "in_use"}) == 0; }, 3s));
  CHECK(stats_number(port, {"semaphores", "work", "available"}) == 1);
  CHECK(stats_number(port, {"semaphores", "work", "cancelled"}) == 1);
  CHECK(stats_number(port, {"connections", "client_aborts"}) == 2);
  CHECK(eventually([&] { return stats_number(port, {"connections", "open"}) == 1; }));

  // And the permit is usable.
  CHECK(get(port, "/work?ms=0").status == 200);
}

TEST_CASE("max_connections holds new connections back until one closes") {
  ServerProcess server({"--max_connections", "2"});
  const auto port = server.port();
  HttpClient a(port), b(port);
  a.send(request("GET", "/healthz"));
  CHECK(a.read_response().status == 200);
  b.send(request("GET", "/healthz"));
  CHECK(b.read_response().status == 200);
  // A third connection is accepted by the kernel but not served yet.
  HttpClient c(port);
  c.send(request("GET", "/healthz"));
  CHECK_FALSE(c.readable_within(300ms));
  a.close();
  CHECK(c.readable_within(3s));
  CHECK(c.read_response().status == 200);
}

TEST_CASE("with several worker loops the semaphores and the long-poll are shared") {
  ServerProcess server({"--threads", "2", "--permits.work", "2", "--work.queue_timeout_ms", "20000",
                        "--stats_interval_ms", "100"});
  const auto port = server.port();
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < 12; ++i) {
    clients.push_back(std::make_unique<HttpClient>(port));
    clients.back()->send(request("GET", i % 3 ? "/work?ms=30" : "/events?timeout_ms=10000"));
  }
  for (auto& c : clients) CHECK(c->read_response().status == 200);
  auto stats = get(port, "/stats").body;
  CHECK(json_number(stats, {"semaphores", "work", "acquired"}) == 8);
  CHECK(json_number(stats, {"semaphores", "work", "in_use"}) == 0);
  CHECK(json_number(stats, {"semaphores", "work", "available"}) == 2);
  CHECK(stats.find("\"name\":\"worker-1\"") != std::string::npos);
  CHECK(stats.find("\"name\":\"control\"") != std::string::npos);
}

TEST_CASE("a cost above the semaphore's permits is 400 at once, not a 503 after queueing") {
  ServerProcess server({"--permits.work", "2", "--work.max_cost", "8", "--work.queue_timeout_ms", "30000"});
  auto r = get(server.port(), "/work?ms=0&cost=3");
  CHECK(r.status == 400);
  CHECK(r.body.find("2 permits") != std::string::npos);
  CHECK(get(server.port(), "/work?ms=0&cost=2").status == 200);
}

TEST_CASE("a large request holds the queue's head only for work.large_wait_ms, and its reservation shows") {
  ServerProcess server(
      {"--permits.work", "8", "--work.queue_timeout_ms", "30000", "--work.large_wait_ms", "30000"});
  const auto port = server.port();
  HttpClient holder(port);
  holder.send(request("GET", "/work?ms=8000&cost=1"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "in_use"}) == 1; }));
  HttpClient large(port);
  large.send(request("GET", "/work?ms=0&cost=8"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "waiters"}) == 1; }));
  // The 7 free permits are held for the queued request: neither in use nor available.
  auto stats = get(port, "/stats").body;
  CHECK(json_number(stats, {"semaphores", "work", "reserved"}) == 7);
  CHECK(json_number(stats, {"semaphores", "work", "available"}) == 0);
  CHECK(get(port, "/metrics").body.find("demo_semaphore_permits{semaphore=\"work\",state=\"reserved\"} 7") !=
        std::string::npos);
  large.close(/*reset=*/true);
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "waiters"}) == 0; }));
}

TEST_CASE("small requests queued behind a large one are served once its bounded wait ends") {
  ServerProcess server(
      {"--permits.work", "8", "--work.queue_timeout_ms", "30000", "--work.large_wait_ms", "300"});
  const auto port = server.port();
  HttpClient holder(port);
  holder.send(request("GET", "/work?ms=8000&cost=1"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "in_use"}) == 1; }));
  HttpClient large(port), small(port);
  large.send(request("GET", "/work?ms=0&cost=8"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "waiters"}) == 1; }));
  small.send(request("GET", "/work?ms=0&cost=1"));
  // The large one gives up (it cannot get 8 while one is held for 8 s) and
  // the small one, behind it in the FIFO, gets a permit, long before the 8 s.
  auto big = large.read_response();
  CHECK(big.status == 503);
  CHECK(big.has_header("Retry-After"));
  CHECK(small.read_response().status == 200);
  CHECK(stats_number(port, {"semaphores", "work", "in_use"}) == 1);
}
