// What a client can get wrong, and the answer it gets: 400, 404, 405, 408,
// 413, 431, the timeouts and the per-connection request limit.
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace itest;

TEST_CASE("a malformed request gets 400 and the connection closes") {
  ServerProcess server;
  {
    HttpClient c(server.port());
    c.send("THIS IS NOT HTTP\r\n\r\n");
    auto r = c.read_response();
    CHECK(r.status == 400);
    CHECK(r.header("Connection") == "close");
    CHECK(c.closed_within(3s));
  }
  {
    HttpClient c(server.port());
    c.send("GET /healthz HTTP/1.1\r\nBad Header Without Colon\r\n\r\n");
    CHECK(c.read_response().status == 400);
  }
  {
    HttpClient c(server.port());
    c.send("GET /healthz HTTP/1.1\r\n\r\n");  // 1.1 without Host
    CHECK(c.read_response().status == 400);
  }
  // The server is fine afterwards.
  CHECK(get(server.port(), "/healthz").status == 200);
}

TEST_CASE("an unknown path is 404 and a wrong method is 405 with Allow") {
  ServerProcess server({"--admin.token", "t"});
  CHECK(get(server.port(), "/nope").status == 404);
  CHECK(get(server.port(), "/healthz/extra").status == 404);

  auto del = fetch(server.port(), "DELETE", "/healthz");
  CHECK(del.status == 405);
  CHECK(del.header("Allow") == "GET, HEAD");
  auto put = fetch(server.port(), "PUT", "/work", "Content-Length: 0\r\n");
  CHECK(put.status == 405);
  CHECK(put.header("Allow") == "GET, HEAD, POST");
  auto admin = get(server.port(), "/admin/permits?route=work&n=1");
  CHECK(admin.status == 405);
  CHECK(admin.header("Allow") == "POST");
}

TEST_CASE("bad /work parameters are 400") {
  ServerProcess server({"--work.max_ms", "1000", "--work.max_cost", "4"});
  CHECK(get(server.port(), "/work?ms=abc").status == 400);
  CHECK(get(server.port(), "/work?ms=-1").status == 400);
  CHECK(get(server.port(), "/work?ms=1001").status == 400);
  CHECK(get(server.port(), "/work?cost=0").status == 400);
  CHECK(get(server.port(), "/work?cost=5").status == 400);
  CHECK(get(server.port(), "/work?ms=1000&cost=4").status == 200);
  CHECK(get(server.port(), "/events?timeout_ms=0").status == 400);
}

TEST_CASE("a body over the limit is 413, announced or chunked") {
  ServerProcess server({"--http.body_limit", "1024"});
  {
    HttpClient c(server.port());
    c.send(request("POST", "/work", "Content-Length: 1000000\r\n"));
    auto r = c.read_response();
    CHECK(r.status == 413);
    CHECK(c.closed_within(5s));
  }
  {
    HttpClient c(server.port());
    std::string chunk(2000, 'x');
    c.send(request("POST", "/work", "Transfer-Encoding: chunked\r\n") + "7d0\r\n" + chunk + "\r\n");
    CHECK(c.read_response().status == 413);
  }
  {
    HttpClient c(server.port());
    c.send(request("POST", "/work?ms=0", "Content-Length: 1024\r\n") + std::string(1024, 'y'));
    CHECK(c.read_response().status == 200);
  }
}

TEST_CASE("a header over the limit is 431") {
  ServerProcess server({"--http.header_limit", "2048"});
  HttpClient c(server.port());
  c.send(request("GET", "/healthz", "X-Big: " + std::string(4096, 'a') + "\r\n"));
  auto r = c.read_response();
  CHECK(r.status == 431);
  CHECK(c.closed_within(5s));
  // Just under the limit is fine.
  HttpClient ok(server.port());
  ok.send(request("GET", "/healthz", "X-Big: " + std::string(1500, 'a') + "\r\n"));
  CHECK(ok.read_response().status == 200);
}

TEST_CASE("a header that trickles in too slowly is 408 (slowloris)") {
  ServerProcess server({"--http.header_timeout_ms", "400", "--http.idle_timeout_ms", "60000"});
  HttpClient c(server.port());
  c.send("GET /healthz HTTP/1.1\r\n");
  std::this_thread::sleep_for(150ms);
  c.send("Host: 127.0.0.1\r\n");  // still incomplete; bytes arriving do not extend the deadline
  auto r = c.read_response();
  CHECK(r.status == 408);
  CHECK(c.closed_within(2s));
  CHECK(stats_number(server.port(), {"timeouts", "header"}) == 1);
}

TEST_CASE("the idle timeout is separate from the header timeout") {
  ServerProcess server({"--http.header_timeout_ms", "60000", "--http.idle_timeout_ms", "300"});
  HttpClient c(server.port());
  c.send(request("GET", "/healthz"));
  CHECK(c.read_response().status == 200);
  CHECK(c.closed_within(3s));  // idle after its request: closed without an answer
  CHECK(stats_number(server.port(), {"timeouts", "idle"}) == 1);
}

TEST_CASE("a connection closes after max_requests") {
  ServerProcess server({"--http.max_requests", "3"});
  HttpClient c(server.port());
  for (int i = 1; i <= 3; ++i) {
    c.send(request("GET", "/healthz"));
    auto r = c.read_response();
    CHECK(r.status == 200);
    CHECK((r.header("Connection") == "close") == (i == 3));
  }
  CHECK(c.closed_within(2s));
}

TEST_CASE("garbage and abrupt disconnects leave the server serving and no connection open") {
  ServerProcess server;
  for (int i = 0; i < 20; ++i) {
    HttpClient c(server.port());
    switch (i % 4) {
      case 0:
        c.send("GET /heal");
        break;
      case 1:
        c.send(std::string("\0\x01\x02\xff\r\n\r\n", 8));
        break;
      case 2:
        c.send(request("POST", "/work", "Content-Length: 100\r\n") + "partial");
        break;
      case 3:
        break;
    }
    c.close(/*reset=*/i % 2 == 0);
  }
  // Only the /stats connection itself is open once the server noticed them all.
  CHECK(eventually([&] { return stats_number(server.port(), {"connections", "open"}) == 1; }));
  CHECK(get(server.port(), "/healthz").status == 200);
}

TEST_CASE("a client that does not read its answers is cut at the send timeout") {
  ServerProcess server({"--http.send_timeout_ms", "300", "--http.max_pipeline", "64"});
  HttpClient c(server.port(), 30s);
  // ~11 KB answers, far more than the socket buffers hold, never read.
  std::string batch;
  for (int i = 0; i < 400; ++i) batch += request("GET", "/");
  try {
    for (int i = 0; i < 10; ++i) c.send(batch);
  } catch (const std::exception&) {
    // The server may already have closed: that is the point.
  }
  CHECK(eventually([&] { return stats_number(server.port(), {"timeouts", "send"}) >= 1; }, 10s));
  CHECK(eventually([&] { return stats_number(server.port(), {"connections", "open"}) == 1; }, 10s));
}

TEST_CASE("mangled requests never crash the server or leak a connection") {
  ServerProcess server({"--http.header_timeout_ms", "500"});
  const std::vector<std::string> seeds = {
      request("GET", "/healthz"), request("POST", "/work?ms=0", "Content-Length: 3\r\n") + "abc",
      request("POST", "/work?ms=0", "Transfer-Encoding: chunked\r\n") + "3\r\nabc\r\n0\r\n\r\n",
      request("GET", "/work?ms=1&cost=1"), request("GET", "/events?timeout_ms=1")};
  std::uint32_t rng = 12345;
  auto next = [&] { return rng = rng * 1103515245u + 12345u, (rng >> 8) & 0xffff; };
  for (int i = 0; i < 150; ++i) {
    std::string r = seeds[next() % seeds.size()];
    switch (next() % 4) {
      case 0:
        r.resize(next() % r.size());
        break;  // truncated
      case 1:
        r[next() % r.size()] = static_cast<char>(next() & 0xff);
        break;  // a byte flipped
      case 2:
        r.insert(next() % r.size(), std::string(next() % 40, '\n'));
        break;  // stray newlines
      case 3:
        r += r.substr(0, next() % r.size());
        break;  // trailing garbage
    }
    HttpClient c(server.port(), 3s);
    c.send(r);
    if (i % 3 == 0) {
      try {
        c.read_response();
      } catch (const std::exception&) {
      }
    }
    c.close(/*reset=*/i % 2 == 1);
  }
  CHECK(get(server.port(), "/healthz").status == 200);
  CHECK(eventually([&] { return stats_number(server.port(), {"connections", "open"}) == 1; }, 5s));
  CHECK(stats_number(server.port(), {"semaphores", "work", "in_use"}) == 0);
}
