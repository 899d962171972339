// The load benchmark's reference: the demo server's benchmarked routes
// written the way a Boost.Beast user writes a server today, on plain
// Boost.Asio (its epoll reactor, one io_context per thread) with C++20
// coroutines, beast::tcp_stream with per-read timeouts as in Beast's own
// examples, and an Asio-style async semaphore (a FIFO of timers, one per
// waiter) gating /work.
//
//   demo-asio-reference [--port N] [--permits N] [--queue-timeout-ms N] [--timeouts 0|1]
//
//   GET /healthz                 "ok"
//   GET /work?ms=N&cost=K        K permits of `work`, then N ms on a steady_timer;
//                                503 + Retry-After when no permit within the queue timeout
//
// It prints "listening on http://127.0.0.1:PORT/" on stdout and serves until
// SIGTERM/SIGINT. Kept deliberately close to the demo server's answers (same
// headers, same bodies) so the benchmark compares the runtimes, not the work.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <string>
#include <string_view>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using net::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

// An async semaphore as Asio users build one: strict FIFO, each waiter parks
// on its own timer (which doubles as its timeout), a release hands the
// permits to the head and cancels its timer to wake it. One io_context
// thread, so no locking.
class AsyncSemaphore {
 public:
  AsyncSemaphore(net::any_io_executor ex, std::size_t permits) : ex_(std::move(ex)), available_(permits) {}

  net::awaitable<bool> acquire_for(std::chrono::milliseconds timeout, std::size_t n) {
    if (queue_.empty() && available_ >= n) {
      available_ -= n;
      co_return true;
    }
    Waiter w{net::steady_timer(ex_, timeout), n, false};
    queue_.push_back(&w);
    co_await w.timer.async_wait(kUseTuple);
    if (w.granted) co_return true;
    std::erase(queue_, &w);
    co_return false;
  }

  void release(std::size_t n) {
    available_ += n;
    while (!queue_.empty() && queue_.front()->n <= available_) {
      Waiter* w = queue_.front();
      queue_.pop_front();
      available_ -= w->n;
      w->granted = true;
      w->timer.cancel();
    }
  }

 private:
  struct Waiter {
    net::steady_timer timer;
    std::size_t n;
    bool granted;
  };
  net::any_io_executor ex_;
  std::size_t available_;
  std::deque<Waiter*> queue_;
};

struct Options {
  unsigned short port = 0;
  std::size_t permits = 8;
  std::chrono::milliseconds queue_timeout = 1000ms;
  bool timeouts = true;  // tcp_stream expiry per read and write, as Beast's examples do
};

// The Date header, formatted at most once a second.
std::string_view http_date() {
  static char buf[40];
  static std::time_t last = 0;
  std::time_t now = std::time(nullptr);
  if (now != last) {
    last = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  }
  return buf;
}

std::size_t query_number(std::string_view target, std::string_view name, std::size_t fallback, bool& ok) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return fallback;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name && eq != std::string_view::npos) {
      std::size_t v = 0;
      std::string_view s = pair.substr(eq + 1);
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      ok = ec == std::errc{} && p == s.data() + s.size() && !s.empty();
      return v;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return fallback;
}

http::response<http::string_body> make_response(http::status status, unsigned version, std::string body,
                                                std::string_view type) {
  http::response<http::string_body> res{status, version};
  res.set(http::field::server, "asio-reference");
  res.set(http::field::date, http_date());
  res.set(http::field::content_type, type);
  res.body() = std::move(body);
  return res;
}

net::awaitable<http::response<http::string_body>> handle(const http::request<http::string_body>& req,
                                                         AsyncSemaphore& work, const Options& opt) {
  std::string_view target(req.target().data(), req.target().size());
  std::string_view path = target.substr(0, target.find('?'));
  const unsigned v = req.version();
  if (path == "/healthz") {
    auto res = make_response(http::status::ok, v, "ok\n", "text/plain; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    co_return res;
  }
  if (path == "/work") {
    bool ok_ms = true, ok_cost = true;
    std::size_t ms = query_number(target, "ms", 0, ok_ms);
    std::size_t cost = query_number(target, "cost", 1, ok_cost);
    if (!ok_ms || !ok_cost || ms > 10000 || cost == 0 || cost > 8)
      co_return make_response(http::status::bad_request, v, "bad ms= or cost=\n",
                              "text/plain; charset=utf-8");
    auto t0 = std::chrono::steady_clock::now();
    if (!co_await work.acquire_for(opt.queue_timeout, cost)) {
      auto res = make_response(http::status::service_unavailable, v, "work: no permit within queue timeout\n",
                               "text/plain; charset=utf-8");
      res.set(http::field::retry_after, "1");
      co_return res;
    }
    auto waited =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
    if (ms > 0) {
      net::steady_timer t(co_await net::this_coro::executor, std::chrono::milliseconds(ms));
      co_await t.async_wait(kUseTuple);
    }
    work.release(cost);
    char buf[128];
    std::snprintf(buf, sizeof buf, "{\"ms\":%zu,\"cost\":%zu,\"queued_us\":%lld}\n", ms, cost,
                  static_cast<long long>(waited.count()));
    co_return make_response(http::status::ok, v, buf, "application/json");
  }
  co_return make_response(http::status::not_found, v, "not found\n", "text/plain; charset=utf-8");
}

net::awaitable<void> session(tcp::socket socket, AsyncSemaphore& work, const Options& opt) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    if (opt.timeouts) stream.expires_after(60s);
    http::request<http::string_body> req;
    auto [rec, rn] = co_await http::async_read(stream, buffer, req, kUseTuple);
    if (rec) break;
    auto res = co_await handle(req, work, opt);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (opt.timeouts) stream.expires_after(60s);
    auto [wec, wn] = co_await http::async_write(stream, res, kUseTuple);
    if (wec || !res.keep_alive()) break;
  }
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

net::awaitable<void> listen(tcp::acceptor& acceptor, AsyncSemaphore& work, const Options& opt) {
  auto ex = co_await net::this_coro::executor;
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
    if (ec == net::error::operation_aborted) co_return;
    if (ec) continue;
    socket.set_option(tcp::no_delay(true));
    net::co_spawn(ex, session(std::move(socket), work, opt), net::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view k = argv[i];
    long v = std::strtol(argv[i + 1], nullptr, 10);
    if (k == "--port")
      opt.port = static_cast<unsigned short>(v);
    else if (k == "--permits")
      opt.permits = static_cast<std::size_t>(v);
    else if (k == "--queue-timeout-ms")
      opt.queue_timeout = std::chrono::milliseconds(v);
    else if (k == "--timeouts")
      opt.timeouts = v != 0;
    else {
      std::fprintf(stderr, "usage: %s [--port N] [--permits N] [--queue-timeout-ms N] [--timeouts 0|1]\n",
                   argv[0]);
      return 2;
    }
  }
  // Concurrency hint 1: one thread runs this io_context, so Asio skips its locking.
  net::io_context ioc{1};
  tcp::acceptor acceptor(ioc);
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), opt.port);
  acceptor.open(ep.protocol());
  acceptor.set_option(net::socket_base::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(4096);
  AsyncSemaphore work(ioc.get_executor(), opt.permits);

  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) { ioc.stop(); });
  net::co_spawn(ioc, listen(acceptor, work, opt), net::detached);
  std::printf("listening on http://127.0.0.1:%u/\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  ioc.run();
  return 0;
}
