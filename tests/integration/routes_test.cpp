// Every route over real sockets, keep-alive, pipelining, HEAD and
// Connection: close.
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace itest;

TEST_CASE("every route answers with its content type") {
  ServerProcess server({"--stats_interval_ms", "100"});
  const auto port = server.port();

  auto health = get(port, "/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == "ok\n");

  auto ready = get(port, "/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.body == "ready\n");

  auto work = get(port, "/work?ms=5&cost=2");
  CHECK(work.status == 200);
  CHECK(work.header("Content-Type") == "application/json");
  CHECK(work.body.find("\"ms\":5") != std::string::npos);
  CHECK(work.body.find("\"cost\":2") != std::string::npos);

  auto posted = fetch(port, "POST", "/work?ms=1", "Content-Length: 5\r\n\r\nhello");
  CHECK(posted.status == 200);

  auto events = get(port, "/events?timeout_ms=5000");
  CHECK(events.status == 200);
  CHECK(events.body.find("\"timed_out\":false") != std::string::npos);  // the 100 ms tick woke it
  auto events_timeout = get(port, "/events?timeout_ms=1");
  CHECK(events_timeout.status == 200);

  auto metrics = get(port, "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.header("Content-Type").find("text/plain; version=0.0.4") == 0);
  CHECK(metrics.body.find("demo_http_requests_total{route=\"healthz\",code=\"200\"} 1") != std::string::npos);
  CHECK(metrics.body.find("demo_http_request_duration_seconds_bucket{route=\"work\",le=\"+Inf\"} 2") !=
        std::string::npos);
  CHECK(metrics.body.find("demo_semaphore_permits{semaphore=\"work\",state=\"available\"} 8") !=
        std::string::npos);
  CHECK(metrics.body.find("demo_semaphore_waiters{semaphore=\"work\"} 0") != std::string::npos);
  CHECK(metrics.body.find("demo_loop_wakes_total{loop=\"worker-0\",kind=\"futex_cqe\"}") !=
        std::string::npos);
  CHECK(metrics.body.find("demo_connections_open 1") != std::string::npos);

  auto stats = get(port, "/stats");
  CHECK(stats.status == 200);
  CHECK(stats.header("Content-Type") == "application/json");
  CHECK(json_number(stats.body, {"semaphores", "work", "max"}) == 8);
  CHECK(json_number(stats.body, {"routes", "work", "requests"}) == 2);
  CHECK(stats.body.find("\"history\":{") != std::string::npos);

  auto page = get(port, "/");
  CHECK(page.status == 200);
  CHECK(page.header("Content-Type") == "text/html; charset=utf-8");
  CHECK(page.body.find("<svg") != std::string::npos);
  CHECK(page.body.find("fetch(\"/stats\"") != std::string::npos);
  // Self-contained: nothing loaded from elsewhere.
  CHECK(page.body.find("<script src") == std::string::npos);
  CHECK(page.body.find("<link") == std::string::npos);
  CHECK(page.body.find("https://") == std::string::npos);
}

TEST_CASE("HEAD answers with the GET headers and no body") {
  ServerProcess server;
  HttpClient c(server.port());
  c.send(request("HEAD", "/healthz"));
  auto head = c.read_response(/*head=*/true);
  CHECK(head.status == 200);
  CHECK(head.header("Content-Length") == "3");
  // The next answer on the connection starts right after the header: no body was sent.
  c.send(request("GET", "/readyz"));
  auto next = c.read_response();
  CHECK(next.status == 200);
  CHECK(next.body == "ready\n");
}

TEST_CASE("a keep-alive connection serves many requests and closes on Connection: close") {
  ServerProcess server;
  HttpClient c(server.port());
  for (int i = 0; i < 50; ++i) {
    c.send(request("GET", i % 2 ? "/healthz" : "/work?ms=0"));
    auto r = c.read_response();
    REQUIRE(r.status == 200);
    CHECK(r.header("Connection") != "close");
  }
  c.send(request("GET", "/healthz", {}, /*keep_alive=*/false));
  auto last = c.read_response();
  CHECK(last.status == 200);
  CHECK(last.header("Connection") == "close");
  CHECK(c.closed_within(2s));
  CHECK(stats_number(server.port(), {"connections", "accepted"}) == 2);
}

TEST_CASE("HTTP/1.0 without keep-alive gets one answer and a close") {
  ServerProcess server;
  HttpClient c(server.port());
  c.send("GET /healthz HTTP/1.0\r\n\r\n");
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.version == "HTTP/1.1");  // the server's version (RFC 9110 §6.2)
  CHECK(c.closed_within(2s));
}

TEST_CASE("HTTP/1.0 with keep-alive is told the connection stays open") {
  ServerProcess server;
  HttpClient c(server.port());
  c.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.header("Connection") == "keep-alive");
  c.send("GET /healthz HTTP/1.0\r\n\r\n");
  CHECK(c.read_response().status == 200);
  CHECK(c.closed_within(2s));
}

TEST_CASE("pipelined requests are answered in order, a slow one included") {
  ServerProcess server;
  HttpClient c(server.port());
  c.send(request("GET", "/healthz") + request("GET", "/work?ms=50") + request("GET", "/nope") +
         request("HEAD", "/readyz") + request("GET", "/work?ms=0&cost=3") + request("GET", "/healthz"));
  CHECK(c.read_response().body == "ok\n");
  auto slow = c.read_response();
  CHECK(slow.status == 200);
  CHECK(slow.body.find("\"ms\":50") != std::string::npos);
  CHECK(c.read_response().status == 404);
  auto head = c.read_response(true);
  CHECK(head.status == 200);
  CHECK(head.header("Content-Length") == "6");
  auto cost = c.read_response();
  CHECK(cost.body.find("\"cost\":3") != std::string::npos);
  CHECK(c.read_response().body == "ok\n");
}

TEST_CASE("many pipelined requests in one write are all answered") {
  ServerProcess server({"--http.max_pipeline", "4"});
  HttpClient c(server.port());
  std::string batch;
  for (int i = 0; i < 200; ++i) batch += request("GET", "/healthz");
  c.send(batch);
  for (int i = 0; i < 200; ++i) REQUIRE(c.read_response().body == "ok\n");
  CHECK(stats_number(server.port(), {"routes", "healthz", "requests"}) == 200);
}

TEST_CASE("a chunked request body is read to its end") {
  ServerProcess server;
  HttpClient c(server.port());
  c.send(request("POST", "/work?ms=1", "Transfer-Encoding: chunked\r\n") +
         "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  CHECK(c.read_response().status == 200);
  c.send(request("GET", "/healthz"));  // the connection is still in step
  CHECK(c.read_response().body == "ok\n");
}

TEST_CASE("Expect: 100-continue is answered before the body is sent") {
  ServerProcess server;
  HttpClient c(server.port());
  c.send(request("POST", "/work?ms=0", "Content-Length: 4\r\nExpect: 100-continue\r\n"));
  auto interim = c.read_response();
  CHECK(interim.status == 100);
  c.send("data");
  CHECK(c.read_response().status == 200);
}
