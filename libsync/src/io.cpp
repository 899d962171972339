// The socket awaitables: thin wrappers that hand an IoOp to the backend.
#include <cerrno>
#include <stdexcept>

#include "backend.hpp"
#include "loop_core.hpp"
#include "sockets.hpp"

namespace libsync {

using detail::close_socket;

bool IoAwaiter::await_suspend(std::coroutine_handle<> h) {
  Loop* loop = Loop::current();
  if (!loop) throw std::logic_error("libsync: socket operation awaited outside a running Loop");
  op_.loop = loop;
  op_.handle = h;
  bool pending;
  try {
    pending = detail::core(*loop).backend().start(op_);
  } catch (...) {
    op_.loop = nullptr;  // never started: nothing to cancel, and no result to clean up
    throw;
  }
  if (!pending) return false;  // finished on the spot
  cancel_.arm(*loop, stop_, &IoAwaiter::on_cancel, this);
  return true;
}

void IoAwaiter::on_cancel(void* p) noexcept {
  auto* self = static_cast<IoAwaiter*>(p);
  if (self->op_.in_flight) detail::core(*self->op_.loop).backend().cancel(self->op_);
}

IoResult IoAwaiter::await_resume() noexcept {
  cancel_.disarm();
  op_.loop = nullptr;  // resumed: nothing of this op is queued any more
  return IoResult{op_.result};
}

IoAwaiter::~IoAwaiter() {
  cancel_.disarm();
  if (!op_.loop) return;
  if (op_.in_flight) {
    detail::core(*op_.loop).backend().abandon(op_);  // its completion is consumed, not scheduled
  } else {
    detail::core(*op_.loop).unschedule(op_.handle);  // completed, resumption still queued
    // Nobody will see the result: a connection accepted for this task is
    // closed rather than leaked.
    if (op_.kind == detail::IoOp::Kind::accept && op_.result >= 0)
      close_socket(static_cast<socket_handle>(op_.result));
  }
}

namespace {
detail::IoOp make_op(detail::IoOp::Kind k, socket_handle fd, void* buf, std::size_t len) {
  detail::IoOp op;
  op.kind = k;
  op.fd = fd;
  op.buf = buf;
  op.len = len;
  return op;
}
}  // namespace

IoAwaiter accept(socket_handle listener, std::stop_token st) {
  return IoAwaiter(make_op(detail::IoOp::Kind::accept, listener, nullptr, 0), std::move(st));
}
IoAwaiter recv(socket_handle s, void* buf, std::size_t len, std::stop_token st) {
  return IoAwaiter(make_op(detail::IoOp::Kind::recv, s, buf, len), std::move(st));
}
IoAwaiter send(socket_handle s, const void* buf, std::size_t len, std::stop_token st) {
  return IoAwaiter(make_op(detail::IoOp::Kind::send, s, const_cast<void*>(buf), len), std::move(st));
}
IoAwaiter connect(socket_handle s, const ::sockaddr* addr, unsigned addrlen, std::stop_token st) {
  auto op = make_op(detail::IoOp::Kind::connect, s, nullptr, 0);
  op.addr = addr;
  op.addrlen = addrlen;
  return IoAwaiter(op, std::move(st));
}
IoAwaiter read(socket_handle fd, void* buf, std::size_t len, std::stop_token st) {
  return IoAwaiter(make_op(detail::IoOp::Kind::read, fd, buf, len), std::move(st));
}
IoAwaiter write(socket_handle fd, const void* buf, std::size_t len, std::stop_token st) {
  return IoAwaiter(make_op(detail::IoOp::Kind::write, fd, const_cast<void*>(buf), len), std::move(st));
}
IoAwaiter close(socket_handle s) {
  return IoAwaiter(make_op(detail::IoOp::Kind::close, s, nullptr, 0));
}

// ---- Acceptor ----

Acceptor::~Acceptor() {
  // Only an armed request needs the loop: a loop destroyed first disarmed
  // it (and epoll never arms one), so a dead loop is never reached.
  if (ms_.loop && ms_.armed) detail::core(*ms_.loop).backend().stop_multishot_accept(ms_);
  for (long long fd : ms_.ready)
    if (fd >= 0) close_socket(static_cast<socket_handle>(fd));
}

bool Acceptor::Awaiter::await_ready() noexcept {
  auto& ms = a_.ms_;
  if (ms.ready.empty()) return false;
  result_ = ms.ready.front();
  ms.ready.pop_front();
  return true;
}

bool Acceptor::Awaiter::await_suspend(std::coroutine_handle<> h) {
  Loop* loop = Loop::current();
  if (!loop) throw std::logic_error("libsync: Acceptor::accept awaited outside a running Loop");
  auto& ms = a_.ms_;
  if (ms.loop && ms.loop != loop) throw std::logic_error("libsync: an Acceptor belongs to one loop");
  ms.loop = loop;
  if (!ms.armed && detail::core(*loop).backend().start_multishot_accept(ms)) a_.multishot_ = true;
  if (ms.armed) {
    if (ms.waiter) {
      result_ = -EBUSY;  // one accept() at a time per Acceptor
      return false;
    }
    ms.waiter = h;
    ms.waiter_result = &result_;
    queued_ = true;
    handle_ = h;
    cancel_.arm(*loop, stop_, &Awaiter::on_cancel, this);
    return true;
  }
  detail::IoOp op;
  op.kind = detail::IoOp::Kind::accept;
  op.fd = ms.fd;
  single_.emplace(op, stop_);
  if (single_->await_suspend(h)) return true;
  return false;
}

void Acceptor::Awaiter::on_cancel(void* p) noexcept {
  auto* self = static_cast<Awaiter*>(p);
  auto& ms = self->a_.ms_;
  // Only while this awaiter is the one waiting: once a connection was
  // handed to it (its resumption queued), the wait may already belong to
  // the next accept(), which this stop must leave alone.
  if (!self->queued_ || ms.waiter != self->handle_) return;
  auto h = ms.waiter;
  ms.waiter = {};
  self->result_ = -ECANCELED;
  detail::core(*ms.loop).schedule(h);
}

IoResult Acceptor::Awaiter::await_resume() noexcept {
  cancel_.disarm();
  queued_ = false;
  if (single_) return single_->await_resume();
  return IoResult{result_};
}

Acceptor::Awaiter::~Awaiter() {
  cancel_.disarm();
  if (!queued_) return;
  auto& ms = a_.ms_;
  if (ms.waiter == handle_) {
    ms.waiter = {};  // still waiting: nothing was handed over
    return;
  }
  // A connection (or an error) was handed over and the resumption queued,
  // but the task is being destroyed first: drop both.
  detail::core(*ms.loop).unschedule(handle_);
  if (result_ >= 0) close_socket(static_cast<socket_handle>(result_));
}

}  // namespace libsync
