// The socket awaitables: thin wrappers that hand an IoOp to the backend.
#include "backend.hpp"

#include <stdexcept>

#if defined(_WIN32)
#include <winsock2.h>
#else
#include <fcntl.h>
#endif

namespace libsync {

bool IoAwaiter::await_suspend(std::coroutine_handle<> h) {
  Loop* loop = Loop::current();
  if (!loop) throw std::logic_error("libsync: socket operation awaited outside a running Loop");
  op_.loop = loop;
  op_.handle = h;
  if (!loop->backend().start(op_)) return false;  // finished on the spot
  cancel_.arm(*loop, stop_, &IoAwaiter::on_cancel, this);
  return true;
}

void IoAwaiter::on_cancel(void* p) noexcept {
  auto* self = static_cast<IoAwaiter*>(p);
  if (self->op_.in_flight) self->op_.loop->backend().cancel(self->op_);
}

IoResult IoAwaiter::await_resume() noexcept {
  cancel_.disarm();
  return IoResult{op_.result};
}

IoAwaiter::~IoAwaiter() {
  cancel_.disarm();
  if (op_.in_flight) op_.loop->backend().abandon(op_);
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
IoAwaiter close(socket_handle s) { return IoAwaiter(make_op(detail::IoOp::Kind::close, s, nullptr, 0)); }

bool make_nonblocking(socket_handle s) noexcept {
#if defined(_WIN32)
  u_long on = 1;
  return ioctlsocket(s, FIONBIO, &on) == 0;
#else
  int fl = fcntl(s, F_GETFL, 0);
  return fl >= 0 && fcntl(s, F_SETFL, fl | O_NONBLOCK) == 0;
#endif
}

}  // namespace libsync
