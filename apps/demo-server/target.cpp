// Request targets: a fast path for the plain targets almost every client
// sends, and Boost.URL for everything else (percent-encoding, dot segments,
// absolute-form). Boost.URL is compiled into this file (its header-only mode).
#include "target.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/src.hpp>
#include <boost/url/url.hpp>

namespace demo {
namespace urls = boost::urls;

namespace {

bool alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Characters that need no decoding or normalisation in a path or query.
bool plain(char c) noexcept {
  constexpr std::string_view kPunctuation = "-._~/?=&!$'()*+,;:@";
  return alnum(c) || kPunctuation.find(c) != std::string_view::npos;
}

// True when an origin-form target can be routed as sent: only plain
// characters, no "//", and no segment that starts with '.'.
bool routable_as_sent(std::string_view t) noexcept {
  if (t.empty() || t[0] != '/') return false;
  const std::size_t q = t.find('?');
  const std::string_view path = t.substr(0, q);
  for (std::size_t i = 0; i < t.size(); ++i)
    if (!plain(t[i])) return false;
  for (std::size_t i = 0; i + 1 < path.size(); ++i)
    if (path[i] == '/' && (path[i + 1] == '/' || path[i + 1] == '.')) return false;
  return true;
}

int hex(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX in a query, except where the decoded byte would change how the
// query splits into pairs (the routes split on '&' and '=') or be read as an
// escape or a space again. False on a malformed escape.
bool decode_query(std::string_view q, std::string& out) {
  for (std::size_t i = 0; i < q.size(); ++i) {
    if (q[i] != '%') {
      out += q[i];
      continue;
    }
    if (i + 2 >= q.size()) return false;
    const int hi = hex(q[i + 1]), lo = hex(q[i + 2]);
    if (hi < 0 || lo < 0) return false;
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '&' || c == '=' || c == '%' || c == '+')
      out.append(q.substr(i, 3));
    else
      out += c;
    i += 2;
  }
  return true;
}

// Appends the decoded `path` without "." and ".." segments (RFC 3986
// §5.2.4) and with runs of '/' merged, as most servers route. Always starts
// with '/'; ".." at the root stays at the root.
void remove_dot_segments(std::string_view path, std::string& out) {
  const std::size_t root = out.size();
  out += '/';
  // The path ends in a directory ("/x/", "/x/."): its final '/' is kept.
  const bool ends_in_slash = !path.empty() && path.back() == '/';
  bool trailing = false;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    const std::string_view seg = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    trailing = seg.empty() || seg == "." || seg == "..";
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      // Drop the last segment written, keeping the root.
      if (out.size() > root + 1) {
        out.pop_back();  // its trailing '/'
        out.erase(out.rfind('/') + 1);
      }
      continue;
    }
    out.append(seg);
    out += '/';
  }
  if (!trailing && !ends_in_slash && out.size() > root + 1) out.pop_back();
}

// An encoded '/' (or a backslash, which some servers also take for one): decoded
// before dot segments are removed it would be a separator here, while a
// proxy in front that leaves it encoded sees one segment.
bool has_encoded_separator(std::string_view path) noexcept {
  for (std::size_t i = path.find('%'); i != std::string_view::npos && i + 2 < path.size();
       i = path.find('%', i + 1)) {
    const char a = path[i + 1], b = path[i + 2];
    if ((a == '2' && (b == 'f' || b == 'F')) || (a == '5' && (b == 'c' || b == 'C'))) return true;
  }
  return false;
}

}  // namespace

Target parse_target(std::string_view target, std::string& scratch) {
  Target t;
  if (routable_as_sent(target)) {
    const std::size_t q = target.find('?');
    t.valid = true;
    t.path = target.substr(0, q);
    if (q != std::string_view::npos) t.query = target.substr(q + 1);
    return t;
  }
  // A read-only view of the parsed target: only its path and query are used,
  // so an absolute-form target needs no rewriting (Boost.URL 1.81's
  // url::remove_scheme() overflows its buffer when the remaining path must be
  // prefixed, as a fuzzed "http://h/a:b" showed).
  urls::url_view u;
  if (!target.empty() && target[0] == '/') {
    auto r = urls::parse_origin_form(target);
    if (!r) return t;
    u = *r;
  } else {
    auto r = urls::parse_absolute_uri(target);
    if (!r) return t;
    if (r->scheme_id() != urls::scheme::http && r->scheme_id() != urls::scheme::https) return t;
    u = *r;
  }
  const auto encoded_path = u.encoded_path();
  if (has_encoded_separator(std::string_view(encoded_path.data(), encoded_path.size()))) return t;
  scratch.clear();
  remove_dot_segments(u.path(), scratch);
  const std::size_t path_len = scratch.size();
  if (u.has_query()) {
    scratch += '?';
    const auto q = u.encoded_query();
    if (!decode_query(std::string_view(q.data(), q.size()), scratch)) return t;
  }
  t.valid = true;
  t.path = std::string_view(scratch).substr(0, path_len);
  if (u.has_query()) t.query = std::string_view(scratch).substr(path_len + 1);
  return t;
}

// host [":" port] of RFC 3986 §3.2.2-3.2.3: an IP literal in brackets
// (IPv6 digits, or "v" IPvFuture), or a reg-name / IPv4 address of
// unreserved characters, sub-delims and well-formed percent-encodings; then
// an optional port of digits (it may be empty). An empty host is allowed.
bool valid_host(std::string_view host) noexcept {
  constexpr std::string_view kSubDelims = "!$&'()*+,;=";
  constexpr std::string_view kUnreservedPunct = "-._~";
  const auto name_char = [&](char c) {
    return alnum(c) || kUnreservedPunct.find(c) != std::string_view::npos ||
           kSubDelims.find(c) != std::string_view::npos;
  };
  std::string_view rest;
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    const std::string_view literal = host.substr(1, close - 1);
    if (literal.front() == 'v' || literal.front() == 'V') {
      for (char c : literal)
        if (!name_char(c) && c != ':') return false;
    } else {
      for (char c : literal)
        if (hex(c) < 0 && c != ':' && c != '.') return false;
    }
    rest = host.substr(close + 1);
  } else {
    const std::size_t colon = host.find(':');
    const std::string_view name = host.substr(0, colon);
    for (std::size_t i = 0; i < name.size(); ++i) {
      if (name[i] == '%') {
        if (i + 2 >= name.size() || hex(name[i + 1]) < 0 || hex(name[i + 2]) < 0) return false;
        i += 2;
      } else if (!name_char(name[i])) {
        return false;
      }
    }
    if (colon != std::string_view::npos) rest = host.substr(colon);
  }
  if (rest.empty()) return true;
  if (rest.front() != ':') return false;
  for (char c : rest.substr(1))
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace demo
