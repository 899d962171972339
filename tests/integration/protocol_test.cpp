// HTTP/1.1 details (RFC 9112, RFC 9110): Host, request-target forms and
// normalisation, versions, methods, empty lines, the exact header limit,
// and no answer to a request never made.
#include <doctest/doctest.h>
#include <signal.h>

#include <string>
#include <thread>

#include "harness.hpp"

using namespace itest;

namespace {

// Sends raw bytes on a fresh connection and reads one answer.
HttpResponse raw(std::uint16_t port, const std::string& bytes) {
  HttpClient c(port);
  c.send(bytes);
  return c.read_response();
}

}  // namespace

TEST_CASE("Host must be present once and valid") {
  ServerProcess server;
  const auto port = server.port();
  CHECK(raw(port, "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status == 400);
  CHECK(raw(port, "GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n").status == 400);
  CHECK(raw(port, "GET /healthz HTTP/1.1\r\nHost: a/b\r\n\r\n").status == 400);
  CHECK(raw(port, "GET /healthz HTTP/1.1\r\nHost: a@b\r\n\r\n").status == 400);
  CHECK(raw(port, "GET /healthz HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").status == 200);
  CHECK(raw(port, "GET /healthz HTTP/1.1\r\nHost: \r\n\r\n").status == 200);  // empty: allowed
  CHECK(raw(port, "GET /healthz HTTP/1.0\r\n\r\n").status == 200);            // 1.0 needs none
  // The shape of host [":" port] (RFC 3986 §3.2.2-3.2.3), not only its characters.
  for (std::string host : {"x:abc", "a:1:2:3", "[::1", "x]", "%zz", "a[b]c", "[]", "[::1]x", "[g::1]"}) {
    CAPTURE(host);
    CHECK(raw(port, "GET /healthz HTTP/1.1\r\nHost: " + host + "\r\n\r\n").status == 400);
  }
  for (std::string host : {"x:", "x:8080", "127.0.0.1:1", "[::1]", "[v1.x]", "a%41b", "a-b.c_d~"}) {
    CAPTURE(host);
    CHECK(raw(port, "GET /healthz HTTP/1.1\r\nHost: " + host + "\r\n\r\n").status == 200);
  }
}

TEST_CASE("request targets: absolute-form is served, other forms and invalid targets are 400") {
  ServerProcess server;
  const auto port = server.port();
  CHECK(raw(port, "GET http://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 200);
  CHECK(raw(port, "GET http://x HTTP/1.1\r\nHost: x\r\n\r\n").status == 200);  // the dashboard
  CHECK(raw(port, "GET ftp://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 400);
  CHECK(raw(port, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").status == 400);
  CHECK(raw(port, "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n").status == 400);
  CHECK(raw(port, "GET /healthz#frag HTTP/1.1\r\nHost: x\r\n\r\n").status == 400);
  CHECK(raw(port, "GET /health\xffz HTTP/1.1\r\nHost: x\r\n\r\n").status == 400);
  CHECK(raw(port, "GET healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 400);
  CHECK(raw(port, "GET /heal%zzthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 400);
}

TEST_CASE("paths are percent-decoded and normalised, and so are query values") {
  ServerProcess server;
  const auto port = server.port();
  for (std::string t :
       {"/%68ealthz", "/./healthz", "//healthz", "/x/../healthz", "/../healthz", "/%2e/healthz"}) {
    CAPTURE(t);
    CHECK(get(port, t).status == 200);
  }
  // A trailing slash is kept however the path is spelt: none of these is /healthz.
  for (std::string t : {"/healthz/", "/%68ealthz/", "/./healthz/", "/healthz/."}) {
    CAPTURE(t);
    CHECK(get(port, t).status == 404);
  }
  // An encoded slash would be a separator here and data to a proxy in
  // front that does not decode it: refused.
  for (std::string t : {"/a%2F..%2Fhealthz", "/a%2f..%2fhealthz", "/healthz%2F"}) {
    CAPTURE(t);
    CHECK(get(port, t).status == 400);
  }
  CHECK(get(port, "/work?ms=%35%30").status == 200);
  CHECK(get(port, "/work?%6ds=1").status == 200);
  // An encoded '&' stays a value byte, not a separator.
  CHECK(get(port, "/work?ms=1%26cost=1").status == 400);
}

TEST_CASE("empty lines before a request line are ignored") {
  ServerProcess server;
  HttpClient c(server.port());
  c.send("\r\n\r\n" + request("GET", "/healthz"));
  CHECK(c.read_response().status == 200);
  // A POST followed by a stray CRLF, as some clients send, then another request.
  c.send(request("POST", "/work?ms=0", "Content-Length: 2\r\n") + "ab\r\n" + request("GET", "/healthz"));
  CHECK(c.read_response().status == 200);
  CHECK(c.read_response().status == 200);
}

TEST_CASE("a blank line or a request line split across reads is answered as if it came whole") {
  ServerProcess server;
  const auto port = server.port();
  HttpClient c(port);
  // The blank line's CR in one read, its LF with the request in the next.
  c.send("\r");
  std::this_thread::sleep_for(50ms);
  c.send("\n" + request("GET", "/healthz"));
  CHECK(c.read_response().status == 200);
  // A POST whose stray CRLF after the body is cut after the CR.
  c.send(request("POST", "/work?ms=0", "Content-Length: 2\r\n") + "ab\r");
  CHECK(c.read_response().status == 200);
  std::this_thread::sleep_for(50ms);
  c.send("\n" + request("GET", "/healthz"));
  CHECK(c.read_response().status == 200);
  // A 1.2 request line cut around its version: served as 1.1 either way.
  const std::string whole = "GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n";
  for (std::size_t cut : {whole.find("1.2") + 2, whole.find("1.2") + 3, whole.find("1.2") + 4}) {
    HttpClient d(port);
    d.send(std::string_view(whole).substr(0, cut));
    std::this_thread::sleep_for(50ms);
    d.send(std::string_view(whole).substr(cut));
    auto r = d.read_response();
    CHECK_MESSAGE(r.status == 200, "cut after " << cut << " bytes");
  }
  // A CR alone is not a request yet: no answer, and the connection stays open.
  HttpClient e(port);
  e.send("\r");
  CHECK_FALSE(e.readable_within(300ms));
  e.send("\n" + request("GET", "/healthz"));
  CHECK(e.read_response().status == 200);
}

TEST_CASE("versions: 1.x above 1.1 is served as 1.1, other majors get 505, answers say 1.1") {
  ServerProcess server;
  const auto port = server.port();
  auto r = raw(port, "GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n");
  CHECK(r.status == 200);
  CHECK(r.version == "HTTP/1.1");
  CHECK(raw(port, "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n").status == 505);
  CHECK(raw(port, "GET /healthz HTTP/1.0\r\n\r\n").version == "HTTP/1.1");
}

TEST_CASE("an unknown method is 501, a known one the path does not take is 405") {
  ServerProcess server;
  const auto port = server.port();
  CHECK(raw(port, "FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 501);
  CHECK(raw(port, "TRACE /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 501);
  CHECK(fetch(port, "DELETE", "/healthz").status == 405);
}

TEST_CASE("header_limit is exact") {
  ServerProcess server({"--http.header_limit", "1024"});
  const auto port = server.port();
  // Request line, Host, X-Pad and the blank line: exactly `limit` bytes.
  auto sized = [](std::size_t limit) {
    const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    return head + std::string(limit - head.size() - 4, 'p') + "\r\n\r\n";
  };
  REQUIRE(sized(1024).size() == 1024);
  CHECK(raw(port, sized(1024)).status == 200);
  CHECK(raw(port, sized(1025)).status == 431);
  CHECK(raw(port, sized(1056)).status == 431);
}

TEST_CASE("a connection that never sends a byte is closed without a 408") {
  ServerProcess server({"--http.header_timeout_ms", "300"});
  const auto port = server.port();
  HttpClient c(port);
  CHECK(c.closed_within(5s));
  bool reset = false;
  CHECK(c.read_until_close(reset).empty());
  CHECK(stats_number(port, {"requests_total"}) == 0);  // the /stats request is counted after its answer
}

TEST_CASE("SIGHUP does not stop the server or cut requests in flight") {
  ServerProcess server({"--access_log"});
  const auto port = server.port();
  HttpClient inflight(port);
  inflight.send(request("GET", "/work?ms=500"));
  REQUIRE(eventually([&] { return stats_number(port, {"semaphores", "work", "in_use"}) == 1; }));
  server.signal(SIGHUP);
  CHECK(inflight.read_response().status == 200);
  CHECK(get(port, "/healthz").status == 200);
  CHECK_FALSE(server.wait_exit(0ms).has_value());
  CHECK(eventually([&] { return server.output().find("Hangup") != std::string::npos; }));
}
