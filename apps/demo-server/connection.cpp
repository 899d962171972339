// Connection: HTTP/1.1 over libsync's socket awaitables with Beast's
// buffer-oriented parser. The only file that includes Beast.
//
// Per request: bytes arrive with libsync::recv into a ReadBuffer, a fresh
// http::request_parser consumes them (with body and header limits), the
// route runs, and its answer is written as bytes into the output buffer,
// which libsync::send writes out. Errors the client caused
// get their status code (400, 408, 413, 431, 501, 505).
//
// Every close the server starts is staged (RFC 9112 §9.6): it stops reading
// requests, finishes writing its answers, half-closes (FIN), then reads and
// drops input for a bounded time until the client closes too. Closing a
// socket with unread input makes the kernel send an RST, and the client's
// kernel then discards answers it has received but the client not yet read.
// A FIN from the client only means it sends no more requests: the ones it
// sent are answered. Only a reset or a failed send means it is gone.
#include "connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "routes.hpp"
#include "server.hpp"
#include "target.hpp"
#include "worker.hpp"

namespace demo {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using libsync::Clock;
using Phase = Connection::Phase;
using StopReason = Connection::StopReason;

// ---- Connection: the part the worker sees ----

Connection::Connection(Worker& w, libsync::socket_handle fd) noexcept : worker_(w), fd_(fd) {
  w.attach(*this);
}

Connection::~Connection() {
  worker_.detach(*this);
  // Only when the task was torn down mid-flight (its loop is being
  // destroyed); a connection that ends normally closed its socket on the loop.
  if (fd_ >= 0) ::close(fd_);
}

void Connection::enter(Phase p, Clock::duration timeout) noexcept {
  phase_ = p;
  // The sweep only looks every 100 ms, so its coarse clock is precise enough
  // and saves a clock read per phase change.
  deadline_ = timeout.count() ? worker_.coarse_now() + timeout : Clock::time_point{};
}

void Connection::rearm() noexcept {
  stop_ = std::stop_source{};
  reason_ = StopReason::none;
}

void Connection::check_deadline(Clock::time_point now) noexcept {
  if (deadline_ == Clock::time_point{} || now < deadline_ || stop_.stop_requested()) return;
  auto& t = worker_.metrics().timeouts;
  switch (phase_) {
    case Phase::idle:
      t[static_cast<std::size_t>(TimeoutKind::idle)].add();
      break;
    case Phase::header:
      t[static_cast<std::size_t>(TimeoutKind::header)].add();
      break;
    case Phase::body:
      t[static_cast<std::size_t>(TimeoutKind::body)].add();
      break;
    case Phase::sending:
      t[static_cast<std::size_t>(TimeoutKind::send)].add();
      break;
    default:
      break;
  }
  stop(StopReason::timeout);
}

void Connection::stop(StopReason why) noexcept {
  if (reason_ == StopReason::none) reason_ = why;
  stop_.request_stop();
}

namespace {

// Input bytes: a flat buffer, so Beast's parser always sees an unconsumed
// header in one piece. It grows only when a single header (or chunk header)
// needs more room than it has, up to a bound above the header limit; bytes
// of pipelined requests are parsed before more are read, which bounds how
// far a client can read ahead of its answers.
class ReadBuffer {
 public:
  ReadBuffer(std::size_t initial, std::size_t max)
      : buf_(std::make_unique<char[]>(initial)), cap_(initial), max_(std::max(initial, max)) {}

  const char* data() const noexcept { return buf_.get() + begin_; }
  char* data() noexcept { return buf_.get() + begin_; }
  std::size_t size() const noexcept { return end_ - begin_; }
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // Makes room for a read. False when the buffer is full at its bound.
  bool prepare() {
    if (begin_ > 0 && cap_ - end_ < 1024) {
      std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == cap_) {
      if (cap_ >= max_) return false;
      std::size_t cap = std::min(cap_ * 2, max_);
      auto bigger = std::make_unique<char[]>(cap);
      std::memcpy(bigger.get(), buf_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      buf_ = std::move(bigger);
      cap_ = cap;
    }
    return true;
  }
  char* space() noexcept { return buf_.get() + end_; }
  std::size_t space_size() const noexcept { return cap_ - end_; }
  void commit(std::size_t n) noexcept { end_ += n; }

 private:
  std::unique_ptr<char[]> buf_;
  std::size_t cap_;
  std::size_t max_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

Method method_of(http::verb v) {
  switch (v) {
    case http::verb::get:
      return Method::get;
    case http::verb::head:
      return Method::head;
    case http::verb::post:
      return Method::post;
    case http::verb::put:
      return Method::put;
    case http::verb::delete_:
      return Method::del;
    case http::verb::options:
      return Method::options;
    case http::verb::patch:
      return Method::patch;
    default:
      return Method::other;
  }
}

std::string_view sv(beast::string_view s) {
  return {s.data(), s.size()};
}
beast::string_view bsv(std::string_view s) {
  return {s.data(), s.size()};
}

std::string peer_name(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

// Memory for one request's header fields (Beast allocates a node per field
// and one for the start line): taken from a per-connection block by bumping
// a pointer, and all given back at once when the next request starts, so a
// typical request allocates nothing. A header larger than the block spills
// to the heap, freed at the same point.
class RequestArena {
 public:
  void* allocate(std::size_t n, std::size_t align) {
    const std::size_t at = (used_ + align - 1) & ~(align - 1);
    if (at + n <= sizeof block_) {
      used_ = at + n;
      return block_ + at;
    }
    spilled_.push_back(
        std::make_unique<std::max_align_t[]>((n + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t)));
    return spilled_.back().get();
  }
  // Only when nothing allocated here is in use any more.
  void reset() noexcept {
    used_ = 0;
    spilled_.clear();
  }

 private:
  alignas(std::max_align_t) char block_[4096];
  std::size_t used_ = 0;
  std::vector<std::unique_ptr<std::max_align_t[]>> spilled_;
};

template <class T>
class ArenaAllocator {
 public:
  using value_type = T;
  explicit ArenaAllocator(RequestArena* a) noexcept : arena_(a) {}
  template <class U>
  ArenaAllocator(const ArenaAllocator<U>& o) noexcept : arena_(o.arena()) {}
  T* allocate(std::size_t n) {
    static_assert(alignof(T) <= alignof(std::max_align_t));
    return static_cast<T*>(arena_->allocate(n * sizeof(T), alignof(T)));
  }
  void deallocate(T*, std::size_t) noexcept {}  // RequestArena::reset frees
  RequestArena* arena() const noexcept { return arena_; }
  template <class U>
  bool operator==(const ArenaAllocator<U>& o) const noexcept {
    return arena_ == o.arena();
  }
  template <class U>
  bool operator!=(const ArenaAllocator<U>& o) const noexcept {
    return arena_ != o.arena();
  }

 private:
  RequestArena* arena_;
};

using RequestParser = http::request_parser<http::string_body, ArenaAllocator<char>>;

class Session {
 public:
  Session(Worker& w, Connection& conn)
      : w_(w),
        cfg_(w.config()),
        conn_(conn),
        in_(4096, std::max<std::size_t>(16384, std::size_t{cfg_.header_limit} + 8192)),
        ctx_{w.server(), w, conn.token()} {
    if (w.access_log().enabled()) remote_ = peer_name(conn.fd());
  }

  // Serves requests until the connection ends, then closes in stages
  // unless the client is gone.
  libsync::Task<void> serve();

 private:
  enum class Next { keep_going, close, abort };
  // How the connection ends: `graceful` closes in stages; `abort` when the
  // client is gone (reset, failed send) or the drain deadline cuts it.
  enum class End { graceful, abort };

  void new_parser() {
    parser_.reset();  // the previous request's fields live in arena_
    arena_.reset();
    parser_.emplace(std::piecewise_construct, std::make_tuple(),
                    std::make_tuple(ArenaAllocator<char>(&arena_)));
    parser_->header_limit(cfg_.header_limit);
    parser_->body_limit(cfg_.body_limit);
    // Stop after the header, so it is checked before any body is parsed.
    parser_->eager(false);
    sent_continue_ = false;
    line_checked_ = false;
    header_checked_ = false;
    header_bytes_ = 0;
  }
  libsync::Task<End> run();
  // The steps of run() that do not wait, so they add no coroutine frames.
  void skip_blank_lines();
  // Feeds the buffered bytes to the parser. Returns 0, or the error status
  // to answer with (`why` then says why); sets `parse_body` when the header
  // just passed its checks and body bytes are already buffered.
  unsigned parse_buffered(std::string_view& why, bool& parse_body);
  // The timeout for what the connection now waits for: a request, the rest
  // of a header or a body.
  void enter_wait_phase(bool first);
  // An HTTP/1.1 request that asked to be told before sending its body
  // (Expect: 100-continue) and was not told yet.
  bool wants_continue() const;
  // Why a recv ended without bytes: answered with a 408, or closed.
  enum class RecvEnd { graceful, abort, request_timeout };
  RecvEnd recv_end() const;
  libsync::Task<bool> flush();
  libsync::Task<void> linger();
  libsync::Task<Next> handle();
  // The handlers' view of the parsed request; `target` is its parsed target.
  Request make_request(Target& target);
  // Answers a request no handler may see (a bad Host or target, an unknown
  // method, path or method for the path) in `res` and returns null; else
  // returns the route that handles it. `route_id` is what it is counted as.
  const Route* route_for(const Request& req, const Target& target, Response& res, RouteId& route_id) const;
  // Framing checks on a complete header, before its body is read: 0 when
  // it passes, else the status to answer (and close with).
  unsigned check_header(std::string_view& why) const;
  // The protocol version of a request line still in the buffer, before the
  // parser (which takes only 1.0 and 1.1) sees it: a higher 1.x minor is
  // rewritten to 1.1 in place (RFC 9110 §2.5), another major is 505.
  unsigned check_request_line();
  // A request has begun: the parser has taken bytes of it, or its first
  // line is held back until it is whole (a CR alone may still turn out to
  // be a blank line, which is skipped).
  bool started() const;
  // An answer to a request that could not be parsed (or arrived too slowly).
  void append_error(unsigned status, std::string_view message);
  void append(Response& res, unsigned version, bool keep_alive, bool head);
  void record(RouteId route, unsigned status, Clock::time_point start, std::string_view method,
              std::string_view target, std::size_t bytes);

  Worker& w_;
  const Config& cfg_;
  Connection& conn_;
  ReadBuffer in_;
  std::string out_;
  unsigned batched_ = 0;  // answers in out_ not yet written
  RequestArena arena_;    // before parser_: the parser's fields live in it
  std::optional<RequestParser> parser_;
  bool sent_continue_ = false;
  bool line_checked_ = false;
  bool header_checked_ = false;
  std::size_t header_bytes_ = 0;  // of the current request, consumed so far
  std::string target_scratch_;    // a rewritten target (see parse_target)
  std::string spare_body_;        // the last answer's body buffer, for the next
  std::uint64_t served_ = 0;
  RouteContext ctx_;
  std::string remote_;
};

libsync::Task<void> Session::serve() {
  const End end = co_await run();
  if (end == End::graceful) co_await linger();
}

unsigned Session::check_request_line() {
  char* const begin = in_.data();
  const std::string_view bytes(begin, in_.size());
  std::size_t eol = bytes.find('\n');
  if (eol == std::string_view::npos) return 0;  // not complete yet: checked when it is
  line_checked_ = true;
  if (eol > 0 && bytes[eol - 1] == '\r') --eol;
  if (eol < 8) return 0;
  char* const v = begin + eol - 8;  // "HTTP/d.d"
  if (std::string_view(v, 5) != "HTTP/" || v[6] != '.' || v[5] < '0' || v[5] > '9' || v[7] < '0' ||
      v[7] > '9')
    return 0;  // not a version: the parser's 400
  if (v[5] != '1') return 505;
  if (v[7] > '1') v[7] = '1';
  return 0;
}

unsigned Session::check_header(std::string_view& why) const {
  const auto& msg = parser_->get();
  if (header_bytes_ > cfg_.header_limit) {
    why = "request header too large";
    return 431;
  }
  const unsigned version = msg.version();
  if (version < 10 || version >= 20) {
    why = "HTTP version not supported";
    return 505;
  }
  // RFC 9112 §6.1 and §6.3: the body length is known only when chunked is
  // the final transfer coding, applied once; anything else, or a length
  // given both ways, lets a client and an intermediary disagree on where
  // this request ends, so the request is refused and the connection closed.
  bool any_te = false, chunked_last = false, other_coding = false;
  unsigned chunked = 0;
  for (const auto& f : msg) {
    if (f.name() != http::field::transfer_encoding) continue;
    any_te = true;
    std::string_view list = sv(f.value());
    while (!list.empty()) {
      const std::size_t comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (item.empty()) continue;  // empty list elements are allowed (RFC 9110 §5.6.1)
      chunked_last = beast::iequals(bsv(item), "chunked");
      if (chunked_last)
        ++chunked;
      else
        other_coding = true;
    }
  }
  if (any_te) {
    if (version == 10) {
      why = "Transfer-Encoding in an HTTP/1.0 request";
      return 400;
    }
    if (msg.find(http::field::content_length) != msg.end()) {
      why = "both Content-Length and Transfer-Encoding";
      return 400;
    }
    if (!chunked_last || chunked > 1) {
      why = "chunked is not the final transfer coding";
      return 400;
    }
    if (other_coding) {
      why = "transfer coding not implemented";
      return 501;
    }
  }
  return 0;
}

bool Session::started() const {
  if (parser_->got_some()) return true;
  return in_.size() > 1 || (in_.size() == 1 && in_.data()[0] != '\r');
}

void Session::skip_blank_lines() {
  // Empty lines before a request line are ignored (RFC 9112 §2.2), such as
  // the CRLF some clients send after a POST body.
  std::size_t blank = 0;
  while (blank < in_.size() &&
         (in_.data()[blank] == '\n' ||
          (in_.data()[blank] == '\r' && blank + 1 < in_.size() && in_.data()[blank + 1] == '\n')))
    blank += in_.data()[blank] == '\n' ? 1 : 2;
  in_.consume(blank);
}

unsigned Session::parse_buffered(std::string_view& why, bool& parse_body) {
  beast::error_code ec;
  parse_body = false;
  if (in_.size() > 0) {
    const std::size_t n = parser_->put(net::const_buffer(in_.data(), in_.size()), ec);
    if (!header_checked_) header_bytes_ += n;
    in_.consume(n);
    if (ec == http::error::need_more) ec = {};
    if (!ec && !header_checked_ && !parser_->is_header_done() &&
        header_bytes_ + in_.size() > cfg_.header_limit)
      ec = http::error::header_limit;
  }
  why = "malformed request";
  if (ec == http::error::header_limit) {
    why = "request header too large";
    return 431;
  }
  if (ec == http::error::body_limit) {
    why = "request body too large";
    return 413;
  }
  if (ec) return 400;
  if (!header_checked_ && parser_->is_header_done()) {
    header_checked_ = true;
    const unsigned status = check_header(why);
    parser_->eager(true);
    parse_body = !status && !parser_->is_done() && in_.size() > 0;
    return status;
  }
  return 0;
}

void Session::enter_wait_phase(bool first) {
  if (!started()) {
    if (!first)
      conn_.enter(Phase::idle, ms(cfg_.idle_timeout_ms));
    else
      conn_.enter(Phase::header);
  } else if (!parser_->is_header_done()) {
    if (conn_.phase() != Phase::header) conn_.enter(Phase::header, ms(cfg_.header_timeout_ms));
  } else if (conn_.phase() != Phase::body) {
    conn_.enter(Phase::body, ms(cfg_.body_timeout_ms));
  }
}

bool Session::wants_continue() const {
  return !sent_continue_ && parser_->is_header_done() && parser_->get().version() == 11 &&
         beast::iequals(parser_->get()[http::field::expect], "100-continue");
}

Session::RecvEnd Session::recv_end() const {
  switch (conn_.stop_reason()) {
    case StopReason::timeout:
      // A client that times out in the middle of a request is told so
      // (408). One that never sent a byte of one is not sent an answer to
      // a request it did not make.
      if (started() && (conn_.phase() == Phase::header || conn_.phase() == Phase::body))
        return RecvEnd::request_timeout;
      return RecvEnd::graceful;
    case StopReason::drain:
      return RecvEnd::graceful;
    default:
      return RecvEnd::abort;  // a reset or error, a hang-up, the drain deadline
  }
}

libsync::Task<Session::End> Session::run() {
  // The first request's header must arrive within header_timeout of accept;
  // later ones get idle_timeout to start and header_timeout from their first byte.
  conn_.enter(Phase::header, ms(cfg_.header_timeout_ms));
  bool first = true;
  new_parser();
  // An answer after which the connection closes.
  unsigned status = 0;
  std::string_view why;

  for (;;) {
    if (!parser_->got_some()) skip_blank_lines();
    if (!line_checked_ && in_.size() > 0 && check_request_line() == 505) {
      status = 505, why = "HTTP version not supported";
      break;
    }
    // The parser gets a request only once its first line is whole (or too
    // long to be allowed): the line's version is rewritten only then, and
    // a CR that ends what has come so far may begin a blank line.
    const bool line_whole = line_checked_ || in_.size() > cfg_.header_limit;
    bool parse_body = false;
    if (line_whole && (status = parse_buffered(why, parse_body)) != 0) break;
    if (parse_body) continue;

    if (parser_->is_done()) {
      switch (co_await handle()) {
        case Next::abort:
          co_return End::abort;
        case Next::close:
          co_return co_await flush() ? End::graceful : End::abort;
        case Next::keep_going:
          break;
      }
      first = false;
      new_parser();
      // Nothing more buffered: write now. Otherwise parse on and batch the
      // answers of pipelined requests, within bounds.
      if ((in_.size() == 0 || batched_ >= cfg_.max_pipeline || out_.size() >= 65536) && !co_await flush())
        co_return End::abort;
      continue;
    }

    // The parser needs more bytes. Answers already made go out first: the
    // client may be waiting for them before it sends more.
    if (!out_.empty() && !co_await flush()) co_return End::abort;
    conn_.set_awaiting_request(!started());
    // A drain closes connections that wait for a request; one that came
    // back to waiting after the drain began closes itself.
    if (!started() && w_.draining()) co_return End::graceful;
    enter_wait_phase(first);
    if (wants_continue()) {
      // Told now that the header passed the limits.
      sent_continue_ = true;
      out_ = "HTTP/1.1 100 Continue\r\n\r\n";
      if (!co_await flush()) co_return End::abort;
    }
    if (!in_.prepare()) {  // only if header_limit exceeds the buffer bound; not with the bounds above
      status = 431, why = "request header too large";
      break;
    }
    const libsync::IoResult r =
        co_await libsync::recv(conn_.fd(), in_.space(), in_.space_size(), conn_.token());
    if (r.value > 0) {
      conn_.set_awaiting_request(false);
      in_.commit(static_cast<std::size_t>(r.value));
      w_.metrics().bytes_received.add(static_cast<std::uint64_t>(r.value));
      continue;
    }
    // A FIN: the client sends no more requests, and every complete one was
    // answered. The close is still staged: answers may be unread.
    if (r.value == 0) co_return End::graceful;
    const RecvEnd end = recv_end();
    if (end != RecvEnd::request_timeout) co_return end == RecvEnd::graceful ? End::graceful : End::abort;
    conn_.rearm();
    status = 408, why = "request not received in time";
    break;
  }
  append_error(status, why);
  co_return co_await flush() ? End::graceful : End::abort;
}

Request Session::make_request(Target& target) {
  auto& msg = parser_->get();
  Request req;
  req.method = method_of(msg.method());
  req.target = sv(msg.target());
  target = parse_target(req.target, target_scratch_);
  req.path = target.path;
  req.query = target.query;
  req.authorization = sv(msg[http::field::authorization]);
  req.body = msg.body();
  // Any 1.x above 1.1 is served as 1.1 (RFC 9110 §2.5); check_header
  // refused other majors.
  req.version = msg.version() >= 11 ? 11 : 10;
  return req;
}

const Route* Session::route_for(const Request& req, const Target& target, Response& res,
                                RouteId& route_id) const {
  const auto& msg = parser_->get();
  route_id = RouteId::unmatched;
  const auto hosts = msg.count(http::field::host);
  if ((req.version == 11 && hosts == 0) || hosts > 1 ||
      (hosts == 1 && !valid_host(sv(msg[http::field::host])))) {
    // RFC 9112 §3.2: a 1.1 request needs exactly one valid Host; a request
    // with several, or an invalid one, is a 400 too.
    route_id = RouteId::invalid;
    error_response(res, 400, hosts == 0 ? "missing Host header" : "invalid Host header");
    res.close = true;
  } else if (!target.valid) {
    route_id = RouteId::invalid;
    error_response(res, 400, "invalid request target");
    res.close = true;
  } else if (req.method == Method::other) {
    error_response(res, 501, "method not implemented");
  } else if (const Route* route = find_route(req.path); !route) {
    error_response(res, 404, "not found");
  } else if (route_id = route->id; !(route->methods & method_bit(req.method))) {
    error_response(res, 405, "method not allowed");
    res.allow = route->allow;
  } else {
    return route;
  }
  return nullptr;
}

libsync::Task<Session::Next> Session::handle() {
  auto& msg = parser_->get();
  const Clock::time_point start = Clock::now();
  Target target;
  const Request req = make_request(target);

  Response res;
  // The body's buffer is the connection's, kept from request to request, so
  // a handler that writes a body does not allocate one each time.
  res.body = std::move(spare_body_);
  res.body.clear();
  RouteId route_id;
  if (const Route* route = route_for(req, target, res, route_id)) {
    try {
      if (route->sync) {
        route->sync(ctx_, req, res);
      } else {
        // This handler may wait: write what is batched first, and let the
        // worker's probe watch for the client hanging up meanwhile.
        if (!out_.empty() && !co_await flush()) co_return Next::abort;
        conn_.enter(Phase::handling, Clock::duration::zero());
        co_await route->async(ctx_, req, res);
      }
    } catch (const std::exception& e) {
      res = Response{};
      error_response(res, 500, "internal error");
      res.close = true;
    }
  }
  if (res.abort || conn_.stop_reason() != StopReason::none) {
    // The client left, or the drain deadline cut the request: no answer.
    co_return Next::abort;
  }
  // The server's flag as well as the worker's: a drain reaches the workers
  // a moment after it closes the semaphores, and a request that queued on
  // one is answered in between.
  const bool keep_alive = msg.keep_alive() && !res.close && !w_.draining() && !ctx_.server.draining() &&
                          ++served_ < cfg_.max_requests;
  const std::size_t before = out_.size();
  append(res, req.version, keep_alive, req.method == Method::head);
  spare_body_ = std::move(res.body);
  // Small bodies only: a connection that fetched /stats once should not keep
  // its buffer while it idles.
  if (spare_body_.capacity() > 4096) spare_body_ = std::string();
  record(route_id, res.status, start, sv(msg.method_string()), req.target, out_.size() - before);
  co_return keep_alive ? Next::keep_going : Next::close;
}

// The answer's bytes, written straight into the output buffer: the status
// line and header fields are a handful of appends (no field container, no
// allocation once the buffer has grown), and the Date value is the worker's
// cached one.
void Session::append(Response& res, unsigned version, bool keep_alive, bool head) {
  auto num = [this](std::uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, static_cast<std::size_t>(r.ptr - buf));
  };
  // Responses carry the server's version, 1.1, whatever the request's
  // (RFC 9110 §6.2); a 1.0 client that keeps the connection is told so.
  out_ += "HTTP/1.1 ";
  num(res.status);
  out_ += ' ';
  out_ += sv(http::obsolete_reason(static_cast<http::status>(res.status)));
  out_ += "\r\nServer: libsync-demo\r\nDate: ";
  out_ += w_.http_date();
  out_ += "\r\nContent-Type: ";
  out_ += res.content_type;
  if (!res.allow.empty()) {
    out_ += "\r\nAllow: ";
    out_ += res.allow;
  }
  if (res.status == 503 && res.retry_after_s) {
    out_ += "\r\nRetry-After: ";
    num(res.retry_after_s);
  }
  if (res.bearer_challenge) out_ += "\r\nWWW-Authenticate: Bearer realm=\"demo-server\"";
  if (res.no_store) out_ += "\r\nCache-Control: no-store";
  if (!keep_alive)
    out_ += "\r\nConnection: close";
  else if (version == 10)
    out_ += "\r\nConnection: keep-alive";
  // Content-Length also for HEAD: the length GET would send.
  out_ += "\r\nContent-Length: ";
  num(res.body.size());
  out_ += "\r\n\r\n";
  if (!head) out_ += res.body;
  ++batched_;
}

void Session::append_error(unsigned status, std::string_view message) {
  Response res;
  error_response(res, status, message);
  const std::size_t before = out_.size();
  append(res, 11, false, false);
  w_.metrics().requests[static_cast<std::size_t>(RouteId::invalid)][status_index(status)].add();
  if (w_.access_log().enabled())
    w_.access_log().record({w_.index(), remote_, "-", "-", status, out_.size() - before, 0,
                            route_name(RouteId::invalid).data()});
}

void Session::record(RouteId route, unsigned status, Clock::time_point start, std::string_view method,
                     std::string_view target, std::size_t bytes) {
  const auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start);
  const auto us = static_cast<std::uint64_t>(took.count() / 1000);
  MetricsShard& m = w_.metrics();
  m.requests[static_cast<std::size_t>(route)][status_index(status)].add();
  m.latency[static_cast<std::size_t>(route)].record(took);
  if (w_.access_log().enabled())
    w_.access_log().record(
        {w_.index(), remote_, method, target, status, bytes, us, route_name(route).data()});
}

libsync::Task<bool> Session::flush() {
  conn_.enter(Phase::sending, ms(cfg_.send_timeout_ms));
  std::size_t off = 0;
  while (off < out_.size()) {
    const libsync::IoResult r =
        co_await libsync::send(conn_.fd(), out_.data() + off, out_.size() - off, conn_.token());
    if (r.value <= 0) {
      out_.clear();
      co_return false;
    }
    off += static_cast<std::size_t>(r.value);
  }
  w_.metrics().bytes_sent.add(off);
  out_.clear();
  batched_ = 0;
  co_return true;
}

// The last stages of a close: everything is written; half-close (FIN), then
// read and drop what the client still sends until it closes too, for a
// bounded time and amount, so that closing does not reset the connection
// before the client has read the answers.
libsync::Task<void> Session::linger() {
  // A timeout or the drain may have stopped the connection to get here; the
  // drain deadline still cuts a lingering connection.
  if (conn_.stop_reason() == StopReason::timeout || conn_.stop_reason() == StopReason::drain) conn_.rearm();
  if (conn_.stop_reason() != StopReason::none) co_return;
  conn_.set_awaiting_request(false);
  ::shutdown(conn_.fd(), SHUT_WR);
  conn_.enter(Phase::lingering, std::min(ms(cfg_.header_timeout_ms), ms(2000)));
  std::size_t dropped = 0;
  while (dropped < (std::size_t{4} << 20)) {
    in_.consume(in_.size());
    if (!in_.prepare()) break;
    const libsync::IoResult r =
        co_await libsync::recv(conn_.fd(), in_.space(), in_.space_size(), conn_.token());
    if (r.value <= 0) break;
    dropped += static_cast<std::size_t>(r.value);
  }
}

}  // namespace

libsync::Task<void> serve_connection(Worker& w, libsync::socket_handle fd, libsync::Permit permit) {
  Connection conn(w, fd);
  {
    Session session(w, conn);
    co_await session.serve();
  }
  // Forget the descriptor before closing it: if this frame is torn down
  // mid-close, the destructor must not close a number someone else reused.
  conn.mark_closed();
  co_await libsync::close(fd);
  (void)permit;  // held until here: the connection semaphore counts open sockets
}

}  // namespace demo
