// demo-uring-floor: the least an io_uring HTTP/1.1 server can do per request,
// for the load benchmark (bench/run.sh) to measure beside demo-server and
// nginx on the same machine and kernel.
//
// One thread, one ring set up as demo-server's loops set theirs up
// (SINGLE_ISSUER | DEFER_TASKRUN, falling back to COOP_TASKRUN, then none),
// a multishot accept, and per connection one recv and one send in flight at
// a time. It does not parse: every request that ends in an empty line gets
// the same response, the size of demo-server's /healthz answer, with a Date
// header refreshed once a second. Pipelined requests are answered with one
// send. Whatever demo-server spends above this per request is its parser,
// routing, timers, metrics and loop; whatever this spends is the kernel's
// TCP and io_uring work, which no server on this machine can avoid.
//
// With --multishot each connection instead keeps one multishot recv armed
// for its whole life, drawing buffers from a provided-buffer ring, so no
// recv is submitted per request: what that saves the kernel shows as the
// difference between the two floors (bench/run.sh measures both).
//
//   demo-uring-floor [--port N] [--multishot]
//                                  (port 0, the default: any free port;
//                                   prints "listening on 127.0.0.1:PORT")
//
// Linux only; not installed. Stops on SIGINT or SIGTERM.
#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;

// The provided-buffer ring of --multishot: kBufs buffers of kBufSize bytes.
constexpr unsigned kBufs = 1024;  // a power of two
constexpr unsigned kBufSize = 4096;
constexpr unsigned kBufGroup = 0;

enum Kind : std::uint64_t { kAccept = 1, kRecv = 2, kSend = 3 };

struct Conn {
  int fd = -1;
  std::size_t have = 0;      // request bytes not yet answered
  std::size_t out_len = 0;   // response bytes queued in out
  std::size_t out_sent = 0;  // of which sent
  char in[8192];
  std::string out;
  // --multishot only: a send is in flight (out_len bytes of out); the
  // multishot recv is armed; the connection is to close (its input ended,
  // a send failed, or a request was too large).
  bool sending = false;
  bool recv_armed = false;
  bool closing = false;
};

// The response, rebuilt when the second changes (as demo-server's Date is).
class Response {
 public:
  const std::string& get() {
    const std::time_t now = std::time(nullptr);
    if (now != at_) {
      at_ = now;
      char date[64];
      std::tm tm{};
      gmtime_r(&now, &tm);
      std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
      text_ = std::string("HTTP/1.1 200 OK\r\nServer: libsync-floor\r\nDate: ") + date +
              "\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n"
              "Content-Length: 3\r\n\r\nok\n";
    }
    return text_;
  }

 private:
  std::time_t at_ = 0;
  std::string text_;
};

std::uint64_t tag(Conn* c, Kind k) {
  return reinterpret_cast<std::uint64_t>(c) | k;
}

class Server {
 public:
  Server(int listen_fd, bool multishot) : lfd_(listen_fd), multishot_(multishot) {
    const unsigned tries[] = {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
                              IORING_SETUP_COOP_TASKRUN, 0};
    int r = -1;
    for (unsigned flags : tries) {
      io_uring_params p{};
      p.flags = flags;
      r = io_uring_queue_init_params(4096, &ring_, &p);
      if (r == 0) break;
    }
    if (r != 0) {
      std::fprintf(stderr, "demo-uring-floor: io_uring_queue_init: %s\n", std::strerror(-r));
      std::exit(1);
    }
    if (multishot_) set_up_buffers();
  }

  int run() {
    io_uring_sqe* s = sqe();
    io_uring_prep_multishot_accept(s, lfd_, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, kAccept);
    while (!g_stop) {
      const int r = io_uring_submit_and_wait(&ring_, 1);
      if (r < 0 && r != -EINTR) {
        std::fprintf(stderr, "demo-uring-floor: io_uring_submit_and_wait: %s\n", std::strerror(-r));
        return 1;
      }
      io_uring_cqe* cqe;
      unsigned head, seen = 0;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        ++seen;
        handle(cqe->user_data, cqe->res, cqe->flags);
      }
      io_uring_cq_advance(&ring_, seen);
    }
    return 0;
  }

 private:
  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    if (!s) {
      io_uring_submit(&ring_);
      s = io_uring_get_sqe(&ring_);
    }
    return s;
  }

  void set_up_buffers() {
    void* ring = nullptr;
    if (posix_memalign(&ring, 4096, kBufs * sizeof(io_uring_buf)) != 0) {
      std::fprintf(stderr, "demo-uring-floor: out of memory for the buffer ring\n");
      std::exit(1);
    }
    br_ = static_cast<io_uring_buf_ring*>(ring);
    io_uring_buf_ring_init(br_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(br_);
    reg.ring_entries = kBufs;
    reg.bgid = kBufGroup;
    if (const int r = io_uring_register_buf_ring(&ring_, &reg, 0); r != 0) {
      std::fprintf(stderr, "demo-uring-floor: --multishot: io_uring_register_buf_ring: %s\n",
                   std::strerror(-r));
      std::exit(1);
    }
    bufs_ = std::make_unique<char[]>(std::size_t{kBufs} * kBufSize);
    for (unsigned i = 0; i < kBufs; ++i) give_buffer(i);
  }

  void give_buffer(unsigned id) {
    io_uring_buf_ring_add(br_, bufs_.get() + std::size_t{id} * kBufSize, kBufSize,
                          static_cast<unsigned short>(id), io_uring_buf_ring_mask(kBufs), 0);
    io_uring_buf_ring_advance(br_, 1);
  }

  void arm_multishot(Conn* c) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recv_multishot(s, c->fd, nullptr, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = kBufGroup;
    io_uring_sqe_set_data64(s, tag(c, kRecv));
    c->recv_armed = true;
  }

  // A closing connection closes once neither its send nor its recv is in
  // flight; shutting the socket down ends an armed recv.
  void finish_if_closing(Conn* c) {
    if (!c->closing || c->sending) return;
    if (c->recv_armed)
      ::shutdown(c->fd, SHUT_RDWR);
    else
      close_conn(c);
  }

  // Appends an answer to out for every complete request in `in`, and keeps
  // the incomplete rest. False for a request larger than the buffer.
  bool answer(Conn* c) {
    const std::string& resp = response_.get();
    std::string_view buf(c->in, c->have);
    std::size_t done = 0, end;
    while ((end = buf.find("\r\n\r\n", done)) != std::string_view::npos) {
      c->out += resp;
      done = end + 4;
    }
    std::memmove(c->in, c->in + done, c->have - done);
    c->have -= done;
    return c->have < sizeof c->in;
  }

  void send_queued(Conn* c) {
    c->sending = true;
    c->out_len = c->out.size();
    c->out_sent = 0;
    send(c);
  }

  void on_multishot_recv(Conn* c, int res, unsigned flags) {
    if (res > 0) {
      const unsigned id = flags >> IORING_CQE_BUFFER_SHIFT;
      const auto n = static_cast<std::size_t>(res);
      const bool fits = n <= sizeof c->in - c->have;
      if (fits) {
        std::memcpy(c->in + c->have, bufs_.get() + std::size_t{id} * kBufSize, n);
        c->have += n;
      }
      give_buffer(id);
      if (!fits || !answer(c)) c->closing = true;  // a request larger than the buffer
      if (!c->sending && !c->out.empty()) send_queued(c);
    }
    if (!(flags & IORING_CQE_F_MORE)) {
      // The multishot ended: out of buffers (arm it again), or the
      // connection's input did (EOF, an error).
      c->recv_armed = false;
      if (!c->closing && (res > 0 || res == -ENOBUFS))
        arm_multishot(c);
      else
        c->closing = true;
    }
    finish_if_closing(c);
  }

  void on_multishot_send(Conn* c, int res) {
    if (res < 0) {
      c->closing = true;
      c->out.clear();
    } else {
      c->out_sent += static_cast<std::size_t>(res);
      if (c->out_sent < c->out_len) {
        send(c);
        return;
      }
      c->out.erase(0, c->out_len);
    }
    c->sending = false;
    if (!c->out.empty() && !c->closing) send_queued(c);
    finish_if_closing(c);
  }

  void recv(Conn* c) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recv(s, c->fd, c->in + c->have, sizeof c->in - c->have, 0);
    io_uring_sqe_set_data64(s, tag(c, kRecv));
  }

  void send(Conn* c) {
    io_uring_sqe* s = sqe();
    io_uring_prep_send(s, c->fd, c->out.data() + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, tag(c, kSend));
  }

  void close_conn(Conn* c) {
    ::close(c->fd);
    delete c;
  }

  void handle(std::uint64_t data, int res, unsigned flags) {
    const auto kind = static_cast<Kind>(data & 7);
    Conn* c = reinterpret_cast<Conn*>(data & ~std::uint64_t{7});
    switch (kind) {
      case kAccept: {
        if (res >= 0) {
          auto* n = new Conn;
          n->fd = res;
          const int one = 1;
          ::setsockopt(n->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          if (multishot_)
            arm_multishot(n);
          else
            recv(n);
        }
        if (!(flags & IORING_CQE_F_MORE) && !g_stop) {  // re-arm a finished multishot
          io_uring_sqe* s = sqe();
          io_uring_prep_multishot_accept(s, lfd_, nullptr, nullptr, SOCK_CLOEXEC);
          io_uring_sqe_set_data64(s, kAccept);
        }
        break;
      }
      case kRecv: {
        if (multishot_) {
          on_multishot_recv(c, res, flags);
          break;
        }
        if (res <= 0) {
          close_conn(c);
          break;
        }
        c->have += static_cast<std::size_t>(res);
        // Answer every complete request in the buffer with one send.
        c->out.clear();
        if (!answer(c)) {  // a request larger than the buffer
          close_conn(c);
          break;
        }
        if (c->out.empty()) {
          recv(c);
          break;
        }
        c->out_len = c->out.size();
        c->out_sent = 0;
        send(c);
        break;
      }
      case kSend: {
        if (multishot_) {
          on_multishot_send(c, res);
          break;
        }
        if (res < 0) {
          close_conn(c);
          break;
        }
        c->out_sent += static_cast<std::size_t>(res);
        if (c->out_sent < c->out_len)
          send(c);
        else
          recv(c);
        break;
      }
    }
  }

  int lfd_;
  bool multishot_;
  io_uring_buf_ring* br_ = nullptr;  // --multishot only
  std::unique_ptr<char[]> bufs_;
  io_uring ring_{};
  Response response_;
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  bool multishot = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--port" && i + 1 < argc) {
      char* end = nullptr;
      const long v = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 0 || v > 65535) {
        std::fprintf(stderr, "demo-uring-floor: --port wants 0..65535, not '%s'\n", argv[i]);
        return 2;
      }
      port = static_cast<int>(v);
    } else if (a == "--multishot") {
      multishot = true;
    } else {
      std::fprintf(stderr, "usage: demo-uring-floor [--port N] [--multishot]\n");
      return 2;
    }
  }
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGPIPE, SIG_IGN);

  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 4096) != 0) {
    std::fprintf(stderr, "demo-uring-floor: cannot listen on 127.0.0.1:%d: %s\n", port, std::strerror(errno));
    return 1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("demo-uring-floor listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  Server server(lfd, multishot);
  return server.run();
}
