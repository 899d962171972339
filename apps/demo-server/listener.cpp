// Listener: binding the per-worker SO_REUSEPORT sockets, and the accept loop
// with the connection semaphore in front of it.
#include "listener.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <sync/io.hpp>

#include "config.hpp"
#include "connection.hpp"
#include "server.hpp"
#include "worker.hpp"

namespace demo {
namespace {

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

// A numeric IPv4 or IPv6 address and a port, as bind() takes them.
struct Endpoint {
  sockaddr_storage ss{};
  socklen_t len = 0;

  void set_port(std::uint16_t port) {
    if (ss.ss_family == AF_INET)
      reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(port);
    else
      reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(port);
  }
  const sockaddr* addr() const { return reinterpret_cast<const sockaddr*>(&ss); }
};

std::optional<Endpoint> numeric_endpoint(const std::string& address) {
  Endpoint e;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&e.ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    e.len = sizeof *v4;
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    e.len = sizeof *v6;
  } else {
    return std::nullopt;
  }
  return e;
}

// The workers' sockets share the port with SO_REUSEPORT, which would also
// let them join another process's listeners on it (of the same user), the
// kernel splitting connections between the two. A plain bind first fails
// when anything listens there. (Another instance starting in the moment
// between this probe and the binds after it is not caught.) Returns why the
// port is taken, or "".
std::string port_in_use(Endpoint e, std::uint16_t port, const std::string& where) {
  const int probe = ::socket(e.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return errno_text("socket", errno);
  int one = 1;
  ::setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // TIME_WAIT is no conflict
  e.set_port(port);
  const bool taken = ::bind(probe, e.addr(), e.len) != 0;
  const int err = errno;
  ::close(probe);
  return taken ? errno_text("cannot bind " + where, err) : std::string();
}

std::uint16_t bound_port(int fd) {
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  return ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                          : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
}

// One worker's listener on `port`, added to out.fds as soon as it exists
// (so that a failure later closes it too). Returns why it failed, or "".
std::string add_listener(Listeners& out, Endpoint e, std::uint16_t port, const Config& cfg,
                         const std::string& where) {
  int fd = ::socket(e.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_text("socket", errno);
  out.fds.push_back(fd);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // Every worker binds the same port; the kernel balances new connections.
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    return errno_text("SO_REUSEPORT", errno);
  e.set_port(port);
  if (::bind(fd, e.addr(), e.len) != 0) return errno_text("cannot bind " + where, errno);
  if (::listen(fd, cfg.backlog) != 0) return errno_text("listen on " + where, errno);
  return "";
}

}  // namespace

bool is_numeric_address(const std::string& address) {
  return numeric_endpoint(address).has_value();
}

Listeners open_listeners(const Config& cfg) {
  Listeners out;
  const std::optional<Endpoint> endpoint = numeric_endpoint(cfg.address);
  if (!endpoint) {
    out.error = "address '" + cfg.address + "' is not a numeric IPv4 or IPv6 address";
    return out;
  }
  const std::string where = cfg.address + ":" + std::to_string(cfg.port);
  if (cfg.port != 0) {
    out.error = port_in_use(*endpoint, cfg.port, where);
    if (!out.error.empty()) return out;
  }
  for (unsigned i = 0; i < cfg.threads && out.error.empty(); ++i) {
    // The first socket resolves port 0; the others bind the port it got.
    out.error = add_listener(out, *endpoint, i == 0 ? cfg.port : out.port, cfg, where);
    if (i == 0 && out.error.empty()) out.port = bound_port(out.fds.back());
  }
  if (!out.error.empty()) {
    for (int fd : out.fds) ::close(fd);
    out.fds.clear();
  }
  return out;
}

libsync::Task<void> accept_connections(Worker& w) {
  libsync::Semaphore& gate = w.server().gate(GateId::connections);
  auto& outcomes = w.metrics().outcomes[static_cast<std::size_t>(GateId::connections)];
  auto note = [&](Outcome o) { outcomes[static_cast<std::size_t>(o)].add(); };
  const std::stop_token stop = w.accept_stop();

  {
    // On io_uring one multishot accept serves the whole loop; it pauses by
    // itself when a few connections sit unclaimed, so while the gate below
    // is exhausted the rest wait in the kernel's backlog.
    libsync::Acceptor acceptor(w.listen_fd());
    while (!stop.stop_requested()) {
      libsync::IoResult r = co_await acceptor.accept(stop);
      if (!r) {
        if (r.error() == ECANCELED) break;
        if (r.error() == EMFILE || r.error() == ENFILE || r.error() == ENOBUFS || r.error() == ENOMEM) {
          // Out of descriptors or memory: pause instead of spinning on the
          // error; the backlog holds the clients meanwhile.
          co_await libsync::sleep_for(std::chrono::milliseconds(50), stop);
        }
        continue;  // ECONNABORTED and friends: that client is already gone
      }
      const int fd = static_cast<int>(r.value);

      // Backpressure: at max_connections, hold this socket and take no other
      // off the backlog until a connection closes.
      libsync::AcquireResult permit = gate.try_acquire();
      if (permit) {
        note(Outcome::acquired);
      } else if (permit.status == libsync::WaitStatus::would_block) {
        note(Outcome::rejected);
        w.metrics().accept_waits.add();
        permit = co_await gate.acquire(1, stop);
        note(permit                                         ? Outcome::acquired
             : permit.status == libsync::WaitStatus::closed ? Outcome::closed
                                                            : Outcome::cancelled);
      } else {
        note(Outcome::closed);
      }
      if (!permit) {
        co_await libsync::close(fd);
        break;  // closed (draining) or cancelled (stop accepting)
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      w.metrics().connections_accepted.add();
      libsync::Loop::current()->spawn(serve_connection(w, fd, std::move(permit.permit)));
    }
  }
  co_await libsync::close(w.release_listener());
  w.acceptor_finished();
}

}  // namespace demo
