// Socket awaitables on the current loop: accept, recv, send, connect, close
// (and read/write for other descriptors).
//
// Each call returns an awaiter holding one `IoOp`; co_await starts it on the
// loop's backend and resumes the task when it completes, with the result in
// the io_uring convention: >= 0 on success (bytes, or the new socket), or a
// negative errno (-ECANCELED when its stop_token fired first). The backend
// decides how: io_uring submits the operation to the kernel, epoll tries the
// syscall and waits for readiness if it would block, IOCP issues overlapped
// I/O. Sockets must be non-blocking on epoll (make_nonblocking() helps).
//
// The buffer passed to recv/send must stay valid until the co_await returns.
#pragma once

#include <sync/export.hpp>

#include <sync/detail/loop_cancel.hpp>
#include <sync/loop.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <stop_token>

struct sockaddr;

namespace libsync {

// socket_handle and kInvalidSocket come from sync/config.hpp.

namespace detail {

struct LIBSYNC_API IoOp {
  enum class Kind : std::uint8_t { accept, recv, send, connect, close, read, write };
  Kind kind = Kind::recv;
  socket_handle fd = kInvalidSocket;
  void* buf = nullptr;
  std::size_t len = 0;
  int flags = 0;
  const ::sockaddr* addr = nullptr;  // connect
  unsigned addrlen = 0;
  long long result = 0;

  Loop* loop = nullptr;
  std::coroutine_handle<> handle;

  // Owned by the loop's backend while the op is in flight, which alone gives
  // them a meaning; nothing else touches them.
  IoOp* next = nullptr;
  IoOp* prev = nullptr;
  bool in_flight = false;
  void* backend_data = nullptr;
};

// State of one multishot accept (io_uring, Linux >= 5.19): one SQE that keeps
// producing connections. Owned by an Acceptor; the backend fills `ready`.
struct LIBSYNC_API MultishotAccept {
  socket_handle fd = kInvalidSocket;
  Loop* loop = nullptr;
  std::deque<long long> ready;      // accepted sockets (or -errno), oldest first
  std::coroutine_handle<> waiter;   // a task waiting for the next connection
  long long* waiter_result = nullptr;
  bool armed = false;               // the SQE is live in the kernel
  bool stopping = false;
};

}  // namespace detail

struct LIBSYNC_API IoResult {
  long long value = 0;
  bool ok() const noexcept { return value >= 0; }
  int error() const noexcept { return value < 0 ? static_cast<int>(-value) : 0; }
  explicit operator bool() const noexcept { return ok(); }
};

class LIBSYNC_API IoAwaiter {
 public:
  explicit IoAwaiter(const detail::IoOp& op, std::stop_token st = {}) : op_(op), stop_(std::move(st)) {}
  IoAwaiter(IoAwaiter&&) = delete;
  ~IoAwaiter();

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h);
  IoResult await_resume() noexcept;

 private:
  static void on_cancel(void* self) noexcept;
  detail::IoOp op_;
  std::stop_token stop_;
  detail::LoopCancel cancel_;
};

LIBSYNC_API IoAwaiter accept(socket_handle listener, std::stop_token st = {});
LIBSYNC_API IoAwaiter recv(socket_handle s, void* buf, std::size_t len, std::stop_token st = {});
LIBSYNC_API IoAwaiter send(socket_handle s, const void* buf, std::size_t len, std::stop_token st = {});
LIBSYNC_API IoAwaiter connect(socket_handle s, const ::sockaddr* addr, unsigned addrlen, std::stop_token st = {});
LIBSYNC_API IoAwaiter close(socket_handle s);
// Plain read/write on any descriptor the backend can wait on (pipes,
// eventfd, signalfd, ...): POSIX only.
LIBSYNC_API IoAwaiter read(socket_handle fd, void* buf, std::size_t len, std::stop_token st = {});
LIBSYNC_API IoAwaiter write(socket_handle fd, const void* buf, std::size_t len, std::stop_token st = {});

// Accepts connections on a listening socket, one co_await at a time. On the
// io_uring backend, where the kernel has multishot accept (5.19+), a single
// armed request keeps accepting and queues connections in the Acceptor until
// they are asked for; elsewhere each accept() is one accept operation.
// Belongs to the loop that first uses it; destroy it on that loop's thread
// (connections it accepted but never handed out are closed).
class LIBSYNC_API Acceptor {
 public:
  explicit Acceptor(socket_handle listener) noexcept { ms_.fd = listener; }
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;
  ~Acceptor();

  class Awaiter {
   public:
    Awaiter(Acceptor& a, std::stop_token st) : a_(a), stop_(std::move(st)) {}
    Awaiter(Awaiter&&) = delete;
    ~Awaiter();
    bool await_ready() noexcept;
    bool await_suspend(std::coroutine_handle<> h);
    IoResult await_resume() noexcept;

   private:
    static void on_cancel(void* self) noexcept;
    Acceptor& a_;
    std::stop_token stop_;
    long long result_ = 0;
    bool queued_ = false;
    std::coroutine_handle<> handle_;  // while queued_
    std::optional<IoAwaiter> single_;
    detail::LoopCancel cancel_;
  };

  // The next connection (a socket >= 0) or -errno.
  Awaiter accept(std::stop_token st = {}) { return Awaiter(*this, std::move(st)); }
  // True once this acceptor runs a multishot accept.
  bool multishot() const noexcept { return multishot_; }
  socket_handle listener() const noexcept { return ms_.fd; }

 private:
  detail::MultishotAccept ms_;
  bool multishot_ = false;
};

// Sets O_NONBLOCK (or FIONBIO); returns false on failure.
LIBSYNC_API bool make_nonblocking(socket_handle s) noexcept;

}  // namespace libsync
