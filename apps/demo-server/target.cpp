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
  bool trailing = false;  // the path ends in a directory ("/x/", "/x/.")
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
  if (!trailing && out.size() > root + 1) out.pop_back();
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

// RFC 3986 reg-name and IP-literal characters (unreserved, sub-delims,
// percent-encoding, ':' and brackets).
bool valid_host(std::string_view host) noexcept {
  constexpr std::string_view kPunctuation = "-._~%!$&'()*+,;=:[]";
  for (char c : host)
    if (!alnum(c) && kPunctuation.find(c) == std::string_view::npos) return false;
  return true;
}

}  // namespace demo
