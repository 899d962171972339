/// \file
/// Socket awaitables on the current loop: accept, recv, send, connect, close
/// (and read/write for other descriptors), plus Acceptor for accept loops.
///
/// Sockets are `socket_handle`s (a descriptor on POSIX systems, a Winsock
/// SOCKET on Windows) and `kInvalidSocket` names none; both are defined in
/// the generated sync/config.hpp, which this header includes through
/// sync/export.hpp.
///
/// Each call returns an awaiter holding one operation; nothing happens until
/// it is co_awaited. co_await starts it on the backend of the loop running
/// the task and resumes the task, on that loop, when it completes, with an
/// IoResult in the io_uring convention: >= 0 on success (bytes moved, 0 for
/// connect and close, or the new socket for accept), or a negative errno
/// (-ECANCELED when its stop_token fired first). On Windows, Winsock and NT
/// errors are mapped to the nearest errno value (-EIO when there is none).
/// A transfer may move fewer bytes than asked; recv returning 0 means the
/// peer shut its side down. On Linux, send never raises SIGPIPE (a closed
/// peer gives -EPIPE), and accepted sockets are non-blocking and
/// close-on-exec. "Waits" below means the task suspends while the loop
/// thread goes on with other tasks; whether an operation suspends at all
/// depends on the backend.
///
/// The backend decides how: io_uring submits the operation to the kernel at
/// the loop's next poll or wait, so the task always suspends; epoll tries
/// the syscall at once, completing without suspending if it does not have
/// to wait, and otherwise waits for readiness and retries; IOCP issues
/// overlapped I/O, which may also complete at once. Sockets must be
/// non-blocking on epoll (make_nonblocking() helps): there a blocking socket
/// would block the whole loop thread in the syscall. On IOCP a socket belongs
/// to the first loop that does I/O on it (its completion port): operations on
/// it from another loop fail with -EINVAL.
///
/// Close a socket the loop has used with libsync::close(), on that loop: it
/// also forgets the backend's state for the socket. On epoll, state left
/// behind by a socket closed some other way is taken over by the next
/// socket that gets the same descriptor number, whose operations that have
/// to wait for readiness are then never woken.
///
/// Cancellation: the stop token may be triggered from any thread; the
/// cancellation runs on the task's loop (from another thread it is posted
/// there, which allocates; should that fail, the operation simply runs to
/// its normal end). A cancelled operation still completes: with
/// -ECANCELED, or with its real result if that won the race.
///
/// A token already stopped does not keep the operation from starting (on
/// epoll the first attempt is still made), so the result may be real.
///
/// Buffer lifetime: the buffer passed to recv/send/read/write (and the
/// address passed to connect) must stay valid until the co_await returns.
/// If the task is destroyed while the operation is in flight, the awaiter
/// cancels it and, on io_uring and IOCP, waits on the loop thread until the
/// kernel has let go of the buffer before the frame goes away; a connection
/// accepted for a task destroyed before it could see it is closed. One call
/// moves at most what the system moves in one syscall (on Linux 2 GiB less a
/// page, on Windows 4 GiB less a byte); a longer `len` is clamped to that,
/// never wrapped, so the result is a short count as with a plain syscall.
///
/// Threads: every call is co_awaited from a task running on a Loop (the
/// co_await throws std::logic_error elsewhere); the operation belongs to that
/// loop. No operation allocates in the steady state: the operation lives in
/// the awaiter (the coroutine frame). A backend allocates state for a
/// socket the first time it sees it (epoll, IOCP), IOCP allocates a
/// per-operation block when its cache of them is empty, and the loop's
/// cancel table grows when a stop token needs a slot and none is free.

#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <stop_token>
#include <sync/detail/loop_cancel.hpp>
#include <sync/export.hpp>
#include <sync/loop.hpp>

struct sockaddr;

namespace libsync {

// socket_handle and kInvalidSocket come from sync/config.hpp.

namespace detail {

// One I/O operation: what to do, its result, and the backend's bookkeeping.
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
  std::deque<long long> ready;     // accepted sockets (or -errno), oldest first
  std::coroutine_handle<> waiter;  // a task waiting for the next connection
  long long* waiter_result = nullptr;
  bool armed = false;  // the SQE is live in the kernel
  bool stopping = false;
};

}  // namespace detail

/// What an I/O operation yields, in the io_uring convention (see
/// sync/io.hpp).
struct LIBSYNC_API IoResult {
  /// >= 0 on success: bytes moved, 0 (connect, close) or the accepted
  /// socket (accept, as a socket_handle value); a negative errno on failure,
  /// -ECANCELED when cancelled.
  long long value = 0;
  /// True on success (value >= 0).
  bool ok() const noexcept { return value >= 0; }
  /// The errno value of a failure (positive, e.g. ECONNRESET); 0 on success.
  int error() const noexcept { return value < 0 ? static_cast<int>(-value) : 0; }
  /// Same as ok().
  explicit operator bool() const noexcept { return ok(); }
};

/// The awaiter behind accept, recv, send, connect, close, read and write:
/// the coroutine protocol, called by `co_await`, not by hand.
///
/// It holds the operation, so it must stay where it is while the operation
/// runs: not movable or copyable; co_await the call's result directly, once.
/// Destroying it mid-operation (the task destroyed) cancels the operation
/// and waits for the backend to let go of it (see sync/io.hpp).
class LIBSYNC_API IoAwaiter {
 public:
  /// An awaiter for `op`, cancelled by `st`. Made by the functions below.
  explicit IoAwaiter(const detail::IoOp& op, std::stop_token st = {}) : op_(op), stop_(std::move(st)) {}
  IoAwaiter(IoAwaiter&&) = delete;
  /// Cancels an operation still in flight and returns once the backend no
  /// longer refers to it; closes a connection accepted but never seen.
  ~IoAwaiter();

  /// Always false: the operation is started by await_suspend.
  bool await_ready() const noexcept { return false; }
  /// Starts the operation on the current loop's backend; false (resume at
  /// once) when it completed on the spot, true when the task is suspended
  /// until its completion (the stop token is armed then).
  /// \throws std::logic_error when the coroutine is not running on a Loop;
  ///         std::bad_alloc if backend bookkeeping cannot grow; on io_uring,
  ///         std::runtime_error if the submission queue stays full.
  bool await_suspend(std::coroutine_handle<> h);
  /// The result (see IoResult).
  IoResult await_resume() noexcept;

 private:
  static void on_cancel(void* self) noexcept;
  detail::IoOp op_;
  std::stop_token stop_;
  detail::LoopCancel cancel_;
};

/// `co_await accept(listener)`: the next connection on a listening socket,
/// as a new socket (value >= 0), or -errno. Waits until a client connects,
/// or `st` is stopped (-ECANCELED). One accept operation per call;
/// for an accept loop, Acceptor can be cheaper. On IOCP the new socket is
/// made of the listener's kind and given its properties.
LIBSYNC_API IoAwaiter accept(socket_handle listener, std::stop_token st = {});
/// `co_await recv(s, buf, len)`: receives up to `len` bytes into `buf`
/// (which must stay valid until the co_await returns); yields the count, 0
/// when the peer has shut down its side, or -errno. Waits until data
/// arrives or `st` is stopped (-ECANCELED).
LIBSYNC_API IoAwaiter recv(socket_handle s, void* buf, std::size_t len, std::stop_token st = {});
/// `co_await send(s, buf, len)`: sends up to `len` bytes from `buf` (which
/// must stay valid until the co_await returns); yields the count sent, which
/// may be less than `len`, or -errno (-EPIPE when the peer is gone; no
/// SIGPIPE). Waits while the socket cannot take data, until `st` is
/// stopped (-ECANCELED).
LIBSYNC_API IoAwaiter send(socket_handle s, const void* buf, std::size_t len, std::stop_token st = {});
/// `co_await connect(s, addr, addrlen)`: connects `s` to `addr` (which must
/// stay valid until the co_await returns); yields 0 or -errno. Waits until
/// the connection is made or fails, or `st` is stopped (-ECANCELED).
/// On IOCP an unbound socket is first bound to the wildcard address of
/// `addr`'s family, as connect() would do; a null `addr` gives -EFAULT.
LIBSYNC_API IoAwaiter connect(socket_handle s, const ::sockaddr* addr, unsigned addrlen,
                              std::stop_token st = {});
/// `co_await close(s)`: closes `s` and forgets the backend's state for it;
/// yields 0 or -errno. Not cancellable. On epoll and IOCP it closes at once,
/// without suspending; operations of this loop still pending on `s` end
/// with -ECANCELED (IOCP: the aborted operations complete with an error,
/// usually -ECANCELED).
/// On io_uring the close is submitted like any other operation.
LIBSYNC_API IoAwaiter close(socket_handle s);
/// Plain read on any descriptor the backend can wait on (pipes, eventfd,
/// signalfd, ...): POSIX only. `co_await read(fd, buf, len)` yields the byte
/// count (0 at end of file) or -errno; waits until data is available or
/// `st` is stopped (-ECANCELED). On epoll `fd` must be non-blocking. On
/// Windows it does nothing and yields -EOPNOTSUPP at once, without
/// suspending.
LIBSYNC_API IoAwaiter read(socket_handle fd, void* buf, std::size_t len, std::stop_token st = {});
/// Plain write on any descriptor the backend can wait on, as read():
/// yields the byte count written or -errno. POSIX only: on Windows it yields
/// -EOPNOTSUPP at once, without suspending.
LIBSYNC_API IoAwaiter write(socket_handle fd, const void* buf, std::size_t len, std::stop_token st = {});

/// Accepts connections on a listening socket, one co_await at a time.
///
/// On the io_uring backend, where the kernel has multishot accept (5.19+), a
/// single armed request keeps accepting and queues connections in the
/// Acceptor until they are asked for; elsewhere each accept() is one accept
/// operation, as libsync::accept(). The multishot request is armed by the
/// first accept() that has to wait. When 4 or more connections are queued
/// it is stopped (a burst may still queue more: none is dropped), and the
/// next accept() that finds the queue empty arms it again; an accept()
/// served from the queue does not suspend. A queued entry may also be an
/// error (-errno) the kernel reported.
///
/// With a multishot request armed, only one accept() may wait at a time: a
/// second one yields -EBUSY at once. Without it, each accept() is
/// independent.
///
/// Threads: an Acceptor belongs to the loop that first waits on it (using it
/// from a task of another loop throws std::logic_error); use it from that
/// loop's tasks, and destroy it on that loop's thread, after every accept()
/// on it has returned. Destroying it cancels the multishot request, waiting
/// until the kernel has let go of it, and closes the connections it accepted
/// but never handed out. Beyond what an accept operation costs (see
/// sync/io.hpp), it allocates only to queue connections (a std::deque).
class LIBSYNC_API Acceptor {
 public:
  /// An acceptor for `listener`, a listening socket (non-blocking on epoll).
  /// Nothing starts until the first accept(); the Acceptor does not own
  /// `listener` and never closes it.
  explicit Acceptor(socket_handle listener) noexcept { ms_.fd = listener; }
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;
  /// Stops the multishot request (blocking until the kernel has let go of
  /// it) and closes the connections queued but never handed out. On the
  /// loop's thread, with no accept() pending; or after the loop is gone,
  /// whose destruction ended the request.
  ~Acceptor();

  /// The awaiter behind Acceptor::accept(): the coroutine protocol, called
  /// by `co_await`, not by hand. Not movable or copyable.
  class Awaiter {
   public:
    /// A wait for the next connection of `a`, cancelled by `st`.
    Awaiter(Acceptor& a, std::stop_token st) : a_(a), stop_(std::move(st)) {}
    Awaiter(Awaiter&&) = delete;
    /// A task destroyed while waiting stops waiting (a plain accept
    /// operation is cancelled); one destroyed after a connection was handed
    /// to it, but before it resumed, closes that connection.
    ~Awaiter();
    /// True (no suspension) when a connection (or error) is already queued;
    /// takes it. The stop token is not consulted then.
    bool await_ready() noexcept;
    /// Arms the multishot request if it can and waits for its next
    /// connection, or starts one plain accept operation. False (resume at
    /// once) for -EBUSY or an accept that completed on the spot.
    /// \throws std::logic_error when the coroutine is not running on a Loop,
    ///         or on another loop than the one the Acceptor belongs to; as
    ///         IoAwaiter::await_suspend otherwise.
    bool await_suspend(std::coroutine_handle<> h);
    /// The accepted socket (>= 0) or -errno: -ECANCELED when `st` was
    /// stopped first, -EBUSY when another accept() was already waiting.
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

  /// `co_await acc.accept()`: the next connection (a socket >= 0) or
  /// -errno; see the class comment for when it suspends. The socket is the
  /// caller's to close.
  Awaiter accept(std::stop_token st = {}) { return Awaiter(*this, std::move(st)); }
  /// True once this acceptor has armed a multishot accept (io_uring with
  /// kernel support); it stays true when the request is later stopped and
  /// re-armed. False on other backends.
  bool multishot() const noexcept { return multishot_; }
  /// The listening socket given to the constructor.
  socket_handle listener() const noexcept { return ms_.fd; }

 private:
  detail::MultishotAccept ms_;
  bool multishot_ = false;
};

/// Puts `s` in non-blocking mode: O_NONBLOCK on POSIX (fcntl), FIONBIO on
/// Windows (ioctlsocket). Returns false on failure (errno, or
/// WSAGetLastError(), says why). A plain syscall: any thread, no loop needed.
LIBSYNC_API bool make_nonblocking(socket_handle s) noexcept;

}  // namespace libsync
