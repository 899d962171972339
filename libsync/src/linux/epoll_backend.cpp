// The epoll backend: completion semantics on top of readiness.
//
// start() tries the syscall at once; only if it would block is the op queued
// on its socket (a read list and a write list, FIFO) and the socket put into
// the epoll set, edge-triggered, once. An edge retries the queued ops in
// order until one would block again. A non-blocking eventfd is the notifier
// other threads write to wake a parked loop.
//
// Sockets must be non-blocking and closed through libsync::close() (which
// drops the per-socket state) so a reused descriptor starts clean.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "backend.hpp"
#include "loop_core.hpp"
#include "loop_counters.hpp"
#include "tier_table.hpp"

namespace libsync::detail {
namespace {

struct OpList {
  IoOp* head = nullptr;
  IoOp* tail = nullptr;
  void push(IoOp& op) noexcept {
    op.next = nullptr;
    op.prev = tail;
    if (tail)
      tail->next = &op;
    else
      head = &op;
    tail = &op;
  }
  void erase(IoOp& op) noexcept {
    if (op.prev)
      op.prev->next = op.next;
    else
      head = op.next;
    if (op.next)
      op.next->prev = op.prev;
    else
      tail = op.prev;
    op.next = op.prev = nullptr;
  }
};

struct FdState {
  int fd;
  bool registered = false;
  OpList reads, writes;
};

bool is_write(const IoOp& op) {
  return op.kind == IoOp::Kind::send || op.kind == IoOp::Kind::connect || op.kind == IoOp::Kind::write;
}

class EpollBackend final : public Backend {
 public:
  explicit EpollBackend(Loop& loop) : loop_(loop) {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw std::runtime_error(std::string("libsync: epoll_create1: ") + std::strerror(errno));
    efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd_ < 0) {
      ::close(epfd_);
      throw std::runtime_error(std::string("libsync: eventfd: ") + std::strerror(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the notifier
    epoll_ctl(epfd_, EPOLL_CTL_ADD, efd_, &ev);
  }
  ~EpollBackend() override {
    for (auto& [fd, st] : fds_) delete st;
    ::close(efd_);
    ::close(epfd_);
  }

  BackendKind kind() const noexcept override { return BackendKind::epoll; }

  bool start(IoOp& op) override {
    bump(detail::core(loop_).counters().io_submitted);
    if (op.kind == IoOp::Kind::close) {
      drop_fd(op.fd);
      op.result = ::close(op.fd) == 0 ? 0 : -errno;
      bump(detail::core(loop_).counters().syscalls);
      return false;
    }
    if (attempt(op, /*first=*/true)) return false;
    FdState& st = state_for(op.fd);
    (is_write(op) ? st.writes : st.reads).push(op);
    op.backend_data = &st;
    op.in_flight = true;
    ++pending_;
    if (!st.registered) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.ptr = &st;
      bump(detail::core(loop_).counters().syscalls);
      if (epoll_ctl(epfd_, EPOLL_CTL_ADD, op.fd, &ev) != 0 && errno != EEXIST) {
        finish(op, -errno);
        return true;
      }
      st.registered = true;
    }
    return true;
  }

  void cancel(IoOp& op) noexcept override {
    if (op.in_flight) finish(op, -ECANCELED);
  }

  void abandon(IoOp& op) noexcept override {
    if (!op.in_flight) return;
    unlink(op);
  }

  bool has_outstanding() const noexcept override { return pending_ != 0; }

  void wait(std::optional<std::chrono::nanoseconds> timeout) override {
    epoll_event evs[64];
    int n;
    bump(detail::core(loop_).counters().syscalls);
    if (timeout) {
      timespec ts{};
      ts.tv_sec = static_cast<time_t>(timeout->count() / 1000000000);
      ts.tv_nsec = static_cast<long>(timeout->count() % 1000000000);
      n = epoll_pwait2(epfd_, evs, 64, &ts, nullptr);
      if (n < 0 && errno == ENOSYS) {
        auto ms = (timeout->count() + 999999) / 1000000;
        n = epoll_wait(epfd_, evs, 64, static_cast<int>(ms > 0x7fffffff ? 0x7fffffff : ms));
      }
    } else {
      n = epoll_wait(epfd_, evs, 64, -1);
    }
    for (int i = 0; i < n; ++i) {
      if (evs[i].data.ptr == nullptr) {
        std::uint64_t v;
        bump(detail::core(loop_).counters().notifier_reads);
        bump(detail::core(loop_).counters().syscalls);
        while (::read(efd_, &v, sizeof v) > 0) {
        }
        continue;
      }
      auto* st = static_cast<FdState*>(evs[i].data.ptr);
      std::uint32_t e = evs[i].events;
      if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) retry(st->reads);
      if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) retry(st->writes);
    }
  }

  void notify() noexcept override {
    std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(efd_, &one, sizeof one);
  }

 private:
  // Runs the op's syscall. True when it is finished (result set), false when
  // it would block.
  bool attempt(IoOp& op, bool first) {
    for (;;) {
      long r;
      bump(detail::core(loop_).counters().syscalls);
      switch (op.kind) {
        case IoOp::Kind::accept:
          r = ::accept4(op.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          break;
        case IoOp::Kind::recv:
          r = ::recv(op.fd, op.buf, op.len, op.flags);
          break;
        case IoOp::Kind::send:
          r = ::send(op.fd, op.buf, op.len, op.flags | MSG_NOSIGNAL);
          break;
        case IoOp::Kind::read:
          r = ::read(op.fd, op.buf, op.len);
          break;
        case IoOp::Kind::write:
          r = ::write(op.fd, op.buf, op.len);
          break;
        case IoOp::Kind::connect:
          if (first) {
            r = ::connect(op.fd, op.addr, op.addrlen);
            if (r < 0 && errno == EINPROGRESS) return false;
          } else {
            int err = 0;
            socklen_t len = sizeof err;
            if (::getsockopt(op.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
            if (err == 0) {
              // Writable with no error can also be spurious; check we are connected.
              sockaddr_storage peer{};
              socklen_t plen = sizeof peer;
              if (::getpeername(op.fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) {
                if (errno == ENOTCONN) return false;
                err = errno;
              }
            }
            op.result = -err;
            return true;
          }
          break;
        default:
          op.result = -EINVAL;
          return true;
      }
      if (r >= 0) {
        op.result = r;
        return true;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      op.result = -errno;
      return true;
    }
  }

  void retry(OpList& list) {
    while (IoOp* op = list.head) {
      if (!attempt(*op, false)) return;
      long long res = op->result;
      finish(*op, res);
    }
  }

  void unlink(IoOp& op) noexcept {
    auto* st = static_cast<FdState*>(op.backend_data);
    (is_write(op) ? st->writes : st->reads).erase(op);
    op.in_flight = false;
    --pending_;
  }

  void finish(IoOp& op, long long result) noexcept {
    unlink(op);
    op.result = result;
    bump(detail::core(loop_).counters().io_completed);
    detail::core(loop_).schedule(op.handle);
  }

  FdState& state_for(int fd) {
    auto it = fds_.find(fd);
    if (it != fds_.end()) return *it->second;
    auto st = std::make_unique<FdState>();
    st->fd = fd;
    fds_.emplace(fd, st.get());  // may throw: the state is then freed
    return *st.release();
  }

  void drop_fd(int fd) noexcept {
    auto it = fds_.find(fd);
    if (it == fds_.end()) return;
    FdState* st = it->second;
    while (st->reads.head) finish(*st->reads.head, -ECANCELED);
    while (st->writes.head) finish(*st->writes.head, -ECANCELED);
    if (st->registered) epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    fds_.erase(it);
    delete st;
  }

  Loop& loop_;
  int epfd_ = -1;
  int efd_ = -1;
  std::size_t pending_ = 0;
  std::unordered_map<int, FdState*> fds_;
};

}  // namespace

namespace {

BackendStatus epoll_status(const Capabilities& caps) {
  return {BackendKind::epoll, caps.epoll,
          caps.epoll ? "epoll_create1 works" : "epoll is not available on this system"};
}

std::unique_ptr<Backend> make_epoll_backend(Loop& loop, const LoopOptions&, Tier) {
  return std::make_unique<EpollBackend>(loop);
}

}  // namespace

const BackendEntry epoll_backend{BackendKind::epoll, &epoll_status, &make_epoll_backend};

}  // namespace libsync::detail
