// Message framing and connection close: every answer written before a
// close reaches the client (the close is staged, RFC 9112 §9.6), a request
// whose body length is ambiguous is refused and the connection closed
// (RFC 9112 §6.3), and a client's half-close still gets its answer.
#include <doctest/doctest.h>

#include "harness.hpp"

using namespace itest;

namespace {

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// Sends `bytes` in one write on a connection with a small receive window,
// waits before reading so the server finishes (and closes) first, then
// reads to the end. The answers, and whether the close was a reset.
struct Exchange {
  std::vector<HttpResponse> responses;
  bool reset = false;
};
Exchange exchange_slowly(std::uint16_t port, const std::string& bytes) {
  HttpClient c(port, 20s, 16384);
  c.send(bytes);
  std::this_thread::sleep_for(1s);
  Exchange e;
  std::string all = c.read_until_close(e.reset);
  e.responses = HttpClient::split_responses(all);
  return e;
}

// One connection: `bytes`, then every answer until the server closes.
std::vector<HttpResponse> answers(std::uint16_t port, const std::string& bytes) {
  HttpClient c(port, 10s);
  c.send(bytes);
  bool reset = false;
  std::string all = c.read_until_close(reset);
  return HttpClient::split_responses(all);
}

}  // namespace

TEST_CASE("answers written before Connection: close survive unread pipelined input") {
  ServerProcess server;
  const std::string bytes = repeat(request("GET", "/"), 100) + request("GET", "/", {}, false) +
                            repeat(request("GET", "/healthz"), 1000);
  Exchange e = exchange_slowly(server.port(), bytes);
  CHECK(e.responses.size() == 101);
  CHECK_FALSE(e.reset);
  if (!e.responses.empty()) CHECK(e.responses.back().header("Connection") == "close");
}

TEST_CASE("answers up to max_requests survive the requests past it") {
  ServerProcess server({"--http.max_requests", "50"});
  // More than the server reads at once, so some of it is still unread.
  Exchange e = exchange_slowly(server.port(), repeat(request("GET", "/"), 300));
  CHECK(e.responses.size() == 50);
  CHECK_FALSE(e.reset);
}

TEST_CASE("a 400 answer survives the rest of a pipelined write") {
  ServerProcess server;
  Exchange e = exchange_slowly(server.port(), repeat(request("GET", "/"), 20) + "BROKEN\r\n\r\n" +
                                                  repeat(request("GET", "/healthz"), 1000));
  REQUIRE(e.responses.size() == 21);
  CHECK(e.responses.back().status == 400);
  CHECK_FALSE(e.reset);
}

TEST_CASE("a Transfer-Encoding that does not end in chunked is refused and closes") {
  ServerProcess server;
  for (std::string te : {"chunked, gzip", "gzip", "identity", "xchunked", "", ",", "chunked, chunked"}) {
    CAPTURE(te);
    auto rs = answers(server.port(), request("POST", "/healthz", "Transfer-Encoding: " + te + "\r\n") +
                                         request("GET", "/nope", {}, false));
    REQUIRE(rs.size() == 1);  // nothing after the header runs as a request
    CHECK(rs[0].status == 400);
    CHECK(rs[0].header("Connection") == "close");
  }
  // A coding the server cannot decode before chunked: not implemented.
  auto gz = answers(server.port(),
                    request("POST", "/healthz", "Transfer-Encoding: gzip, chunked\r\n") + "0\r\n\r\n");
  REQUIRE(gz.size() == 1);
  CHECK(gz[0].status == 501);
}

TEST_CASE("Content-Length with Transfer-Encoding is refused in either order") {
  ServerProcess server;
  const std::string body(40, 'x');
  for (std::string fields : {"Content-Length: 40\r\nTransfer-Encoding: identity\r\n",
                             "Transfer-Encoding: identity\r\nContent-Length: 40\r\n",
                             "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n",
                             "Content-Length: 40\r\nTransfer-Encoding: chunked\r\n"}) {
    CAPTURE(fields);
    auto rs = answers(server.port(),
                      request("POST", "/healthz", fields) + body + request("GET", "/nope", {}, false));
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 400);
  }
}

TEST_CASE("Transfer-Encoding in an HTTP/1.0 request is faulty framing") {
  ServerProcess server;
  auto rs = answers(server.port(),
                    "POST /work?ms=0 HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "3\r\nabc\r\n0\r\n\r\n" +
                        request("GET", "/healthz", {}, false));
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].status == 400);
}

TEST_CASE("chunked bodies still work, and keep the connection") {
  ServerProcess server;
  HttpClient c(server.port());
  c.send(request("POST", "/work?ms=0", "Transfer-Encoding: chunked\r\n") + "3\r\nabc\r\n0\r\n\r\n");
  CHECK(c.read_response().status == 200);
  c.send(request("GET", "/healthz"));
  CHECK(c.read_response().status == 200);
}

TEST_CASE("a client that half-closes after its request still gets the answer") {
  ServerProcess server;
  for (std::string target : {"/work?ms=200", "/events?timeout_ms=5000", "/healthz"}) {
    CAPTURE(target);
    HttpClient c(server.port());
    c.send(request("GET", target, {}, false));
    c.shutdown_write();
    bool reset = false;
    std::string all = c.read_until_close(reset);
    auto rs = HttpClient::split_responses(all);
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].status == 200);
    CHECK_FALSE(reset);
  }
  // Pipelined requests before the FIN are all answered.
  HttpClient c(server.port());
  c.send(request("GET", "/work?ms=50") + request("GET", "/healthz"));
  c.shutdown_write();
  bool reset = false;
  std::string all = c.read_until_close(reset);
  CHECK(HttpClient::split_responses(all).size() == 2);
  CHECK(stats_number(server.port(), {"connections", "client_aborts"}) == 0);
}
