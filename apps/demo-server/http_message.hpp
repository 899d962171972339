// Request and Response as the route handlers see them.
//
// These are deliberately not Beast types: the connection (the one file that
// includes Beast) parses into Beast's message, hands the handlers views into
// it, and turns their Response back into a Beast response for the
// serializer. So only connection.cpp pays Beast's compile time, and handlers
// cannot depend on how the bytes were parsed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace demo {

enum class Method : std::uint8_t { get, head, post, put, del, options, patch, other };

constexpr std::uint8_t method_bit(Method m) {
  return static_cast<std::uint8_t>(1u << static_cast<unsigned>(m));
}

struct Request {
  Method method = Method::other;
  std::string_view target;  // as sent: path and query
  std::string_view path;
  std::string_view query;  // after '?', without it
  std::string_view authorization;
  std::string_view body;
  unsigned version = 11;  // 10 or 11
};

struct Response {
  unsigned status = 200;
  std::string_view content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string_view allow;         // 405: the methods the path accepts
  unsigned retry_after_s = 0;     // 503: sent as Retry-After when status is 503
  bool bearer_challenge = false;  // 401: WWW-Authenticate: Bearer
  bool no_store = false;          // Cache-Control: no-store (live data)
  bool close = false;             // end the connection after this response
  bool abort = false;             // the client is gone or the server is cutting it: send nothing
};

// The value of `name` in a query string (`a=1&b=2`), or nullopt-like empty
// view with found=false. Values are not percent-decoded: the routes only take
// numbers and plain words.
struct QueryValue {
  bool found = false;
  std::string_view value;
};
inline QueryValue query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) return {true, eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1)};
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace demo
