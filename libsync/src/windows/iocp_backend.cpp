// The IOCP backend (see iocp_backend.hpp for the packet kinds).
//
// Every overlapped operation gets an OpBlock: the OVERLAPPED the kernel
// writes its status into, plus what the call needs to stay alive while it is
// in flight (the WSABUF, the recv flags, AcceptEx's address buffer and the
// socket being accepted into). Blocks are recycled through a free list, so a
// steady stream of I/O does not allocate. A block belongs to the kernel from
// the overlapped call until its packet is dequeued (or the call failed at
// once), which is why abandon() waits for that packet before returning.
#include "windows/iocp_backend.hpp"

#include <mswsock.h>
#include <winternl.h>
#include <ws2tcpip.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>

#include "loop_core.hpp"
#include "loop_counters.hpp"
#include "tier_table.hpp"

namespace libsync::detail {
namespace {

constexpr ULONG_PTR kIoKey = 1;
constexpr ULONG_PTR kWakeKey = 2;
constexpr ULONG_PTR kNotifyKey = 3;
constexpr ULONG_PTR kObjectWaitKey = 4;

constexpr ULONG kBatch = 64;                 // packets per GetQueuedCompletionStatusEx
constexpr std::size_t kMaxFreeBlocks = 256;  // recycled OpBlocks kept per loop
// AcceptEx wants room for each address plus 16 bytes.
constexpr DWORD kAcceptAddrSlot = sizeof(sockaddr_storage) + 16;

// Win32 and Winsock error codes as the negative-errno results io.hpp promises.
int errno_from_win32(DWORD e) noexcept {
  switch (e) {
    case ERROR_OPERATION_ABORTED:
      return ECANCELED;  // == WSA_OPERATION_ABORTED
    case WSAECONNRESET:
    case ERROR_NETNAME_DELETED:
      return ECONNRESET;
    case WSAECONNABORTED:
    case ERROR_CONNECTION_ABORTED:
      return ECONNABORTED;
    case WSAECONNREFUSED:
    case ERROR_CONNECTION_REFUSED:
      return ECONNREFUSED;
    case WSAENOTCONN:
      return ENOTCONN;
    case WSAETIMEDOUT:
    case ERROR_SEM_TIMEOUT:
      return ETIMEDOUT;
    case WSAENETUNREACH:
    case ERROR_NETWORK_UNREACHABLE:
      return ENETUNREACH;
    case WSAEHOSTUNREACH:
    case ERROR_HOST_UNREACHABLE:
      return EHOSTUNREACH;
    case WSAEADDRINUSE:
      return EADDRINUSE;
    case WSAEADDRNOTAVAIL:
      return EADDRNOTAVAIL;
    case WSAENOTSOCK:
      return ENOTSOCK;
    case ERROR_INVALID_HANDLE:
    case WSAEBADF:
      return EBADF;
    case WSAEINVAL:
    case ERROR_INVALID_PARAMETER:
    case WSANOTINITIALISED:
      return EINVAL;
    case WSAEWOULDBLOCK:
      return EWOULDBLOCK;
    case WSAEMSGSIZE:
    case ERROR_MORE_DATA:
      return EMSGSIZE;
    case WSAENOBUFS:
    case ERROR_NO_SYSTEM_RESOURCES:
      return ENOBUFS;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
      return ENOMEM;
    case WSAESHUTDOWN:
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA:
      return EPIPE;
    case WSAEFAULT:
      return EFAULT;
    case WSAENETDOWN:
      return ENETDOWN;
    case WSAENETRESET:
      return ENETRESET;
    case WSAEACCES:
    case ERROR_ACCESS_DENIED:
      return EACCES;
    case WSAEINTR:
      return EINTR;
    case WSAEALREADY:
      return EALREADY;
    case WSAEISCONN:
      return EISCONN;
    case WSAEAFNOSUPPORT:
      return EAFNOSUPPORT;
    case WSAEPROTONOSUPPORT:
      return EPROTONOSUPPORT;
    case WSAEOPNOTSUPP:
    case ERROR_NOT_SUPPORTED:
      return EOPNOTSUPP;
    case WSAEMFILE:
      return EMFILE;
    default:
      return EIO;
  }
}

// A completion packet carries the NTSTATUS of the operation, not a Winsock
// error. WSAGetOverlappedResult would translate it, but needs the socket,
// which may already be closed when a cancelled operation's packet arrives, so
// the statuses sockets produce are mapped here (the same table libuv keeps);
// anything else goes through RtlNtStatusToDosError.
int errno_from_ntstatus(LONG status) noexcept {
  switch (static_cast<std::uint32_t>(status)) {
    case 0xC0000120u:  // STATUS_CANCELLED
      return ECANCELED;
    case 0xC000020Du:  // STATUS_CONNECTION_RESET
    case 0xC000013Cu:  // STATUS_REMOTE_DISCONNECT
      return ECONNRESET;
    case 0xC0000241u:  // STATUS_CONNECTION_ABORTED
    case 0xC000013Bu:  // STATUS_LOCAL_DISCONNECT
    case 0xC000020Fu:  // STATUS_TRANSACTION_ABORTED
      return ECONNABORTED;
    case 0xC0000236u:  // STATUS_CONNECTION_REFUSED
      return ECONNREFUSED;
    case 0xC00000B5u:  // STATUS_IO_TIMEOUT
      return ETIMEDOUT;
    case 0xC000023Cu:  // STATUS_NETWORK_UNREACHABLE
      return ENETUNREACH;
    case 0xC000023Du:  // STATUS_HOST_UNREACHABLE
      return EHOSTUNREACH;
    case 0xC0000140u:  // STATUS_INVALID_CONNECTION
    case 0xC000023Au:  // STATUS_CONNECTION_INVALID
      return ENOTCONN;
    case 0xC000020Au:  // STATUS_ADDRESS_ALREADY_EXISTS
      return EADDRINUSE;
    case 0xC0000008u:  // STATUS_INVALID_HANDLE
      return EBADF;
    case 0x80000005u:  // STATUS_BUFFER_OVERFLOW (datagram cut short)
      return EMSGSIZE;
    case 0xC00000B0u:  // STATUS_PIPE_DISCONNECTED
    case 0xC000014Bu:  // STATUS_PIPE_BROKEN
      return EPIPE;
    case 0xC000009Au:  // STATUS_INSUFFICIENT_RESOURCES
      return ENOBUFS;
    case 0xC0000017u:  // STATUS_NO_MEMORY
      return ENOMEM;
    case 0xC000000Du:  // STATUS_INVALID_PARAMETER
      return EINVAL;
    default:
      return errno_from_win32(RtlNtStatusToDosError(status));
  }
}

DWORD timeout_ms(std::chrono::nanoseconds d) noexcept {
  if (d.count() <= 0) return 0;
  // Round up: waking before the deadline only costs an extra iteration, but
  // rounding down would spin on timeouts under a millisecond.
  long long ms = (d.count() + 999'999) / 1'000'000;
  return ms >= static_cast<long long>(INFINITE) ? INFINITE - 1 : static_cast<DWORD>(ms);
}

}  // namespace

struct OpBlock {
  OVERLAPPED ov{};  // first: the lpOverlapped of the op's packet is the block
  IoOp* op = nullptr;
  SOCKET socket = INVALID_SOCKET;         // what the call was issued on (the listener for accept)
  SOCKET accept_socket = INVALID_SOCKET;  // accept: the socket being accepted into
  WSABUF wsabuf{};
  DWORD flags = 0;  // WSARecv reads and writes it while in flight
  char addresses[2 * kAcceptAddrSlot];
};

namespace {

// Winsock for the whole process, so sockets and the extension lookups work
// even if the application never called WSAStartup itself. Started by the
// first loop and never cleaned up: Winsock counts WSAStartup calls, and when
// WSACleanup brings the count to zero it resets and frees every socket in
// the process, including ones the application made and meant to hand to a
// later loop. Counting per socket libsync uses would not help either: the
// application's other sockets, unknown to any loop, would still be reset.
// The process's exit releases Winsock. A failed start is retried by the
// next loop (its sockets fail with WSANOTINITIALISED meanwhile).
void start_winsock_once() noexcept {
  static std::mutex mu;
  static bool started = false;
  std::lock_guard<std::mutex> lock(mu);
  if (started) return;
  WSADATA data;
  started = WSAStartup(MAKEWORD(2, 2), &data) == 0;
}

}  // namespace

IocpBackend::IocpBackend(Loop& loop) : loop_(loop) {
  start_winsock_once();
  // The concurrency value is a limit on running threads, not on waiting
  // ones: a thread blocked on the port is handed a packet only while fewer
  // threads than the value, among those that last dequeued from this port,
  // are running (a thread counts from its dequeue until it blocks in any
  // wait, dequeues from another port, or exits). A loop's port is dequeued
  // by one thread at a time, but not always the same one: block_on on one
  // thread and later on another, or destruction on a third. With a limit of
  // 1 (or 0, "one per processor", once more threads than processors have
  // run the loop), threads that ran it earlier and are now busy without
  // blocking use up the limit, and the new runner stays blocked with packets
  // queued: a stall, and a deadlock if a busy thread waits for the loop. The
  // limit buys nothing for a port with a single consumer, so it is made as
  // large as the value allows (the Go runtime's poller does the same). Wine
  // ignores the value altogether, so only Windows shows the difference.
  port_ = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, MAXDWORD);
  if (!port_) {
    DWORD e = GetLastError();
    throw std::runtime_error("libsync: CreateIoCompletionPort failed: Windows error " + std::to_string(e));
  }
  free_blocks_.reserve(16);
}

IocpBackend::~IocpBackend() {
  // The loop destroyed its tasks first and every in-flight operation was
  // abandoned (each waited for its packet), so no block is still the
  // kernel's. Leftover notify packets die with the port.
  for (OpBlock* b : free_blocks_) delete b;
  CloseHandle(port_);
}

OpBlock* IocpBackend::take_block() {
  if (free_blocks_.empty()) return new OpBlock;
  OpBlock* b = free_blocks_.back();
  free_blocks_.pop_back();
  return b;
}

void IocpBackend::release_block(OpBlock* b) noexcept {
  if (b->accept_socket != INVALID_SOCKET) closesocket(b->accept_socket);
  *b = OpBlock{};
  if (free_blocks_.size() >= kMaxFreeBlocks) {
    delete b;
    return;
  }
  try {
    free_blocks_.push_back(b);
  } catch (...) {
    delete b;
  }
}

// ---- sockets ----

IocpBackend::SocketState* IocpBackend::socket_state(SOCKET s, long long& error) {
  // Associated on every use, not only the first: the table is keyed by
  // handle value, and a socket closed with a plain closesocket() (not
  // libsync::close) leaves its entry behind for the next socket that gets
  // the same value. Trusting that entry would leave the new socket outside
  // the port, so its operations would complete with no packet: never
  // resumed, never cancellable, and a loop destroyed with one pending would
  // wait for it forever. The attempt costs one call per operation; a handle
  // already associated fails it with ERROR_INVALID_PARAMETER.
  bump(detail::core(loop_).counters().syscalls);
  if (CreateIoCompletionPort(reinterpret_cast<HANDLE>(s), port_, kIoKey, 0)) {
    // A socket new to this port, possibly reusing a stale entry's value.
    return &sockets_.insert_or_assign(s, describe_socket(s)).first->second;
  }
  DWORD e = GetLastError();
  auto it = sockets_.find(s);
  // Already associated: with this port if we know it (a socket of another
  // loop that reused a stale entry's value cannot be told apart), else with
  // another loop's port.
  if (e == ERROR_INVALID_PARAMETER && it != sockets_.end()) return &it->second;
  if (it != sockets_.end()) sockets_.erase(it);  // closed behind our back
  error = -errno_from_win32(e);
  return nullptr;
}

IocpBackend::SocketState IocpBackend::describe_socket(SOCKET s) noexcept {
  SocketState st;
  WSAPROTOCOL_INFOW info{};
  int len = sizeof info;
  if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, reinterpret_cast<char*>(&info), &len) == 0) {
    st.family = info.iAddressFamily;
    st.type = info.iSocketType;
    st.protocol = info.iProtocol;
    // Skipping the packet for an immediate success is only safe when the
    // socket is a real kernel handle, not one from a layered (non-IFS)
    // provider, which may still queue a packet.
    if (info.dwServiceFlags1 & XP1_IFS_HANDLES) {
      st.skip_on_success = SetFileCompletionNotificationModes(
                               reinterpret_cast<HANDLE>(s),
                               FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE) != 0;
    }
  }
  return st;
}

bool IocpBackend::start(IoOp& op) {
  bump(detail::core(loop_).counters().io_submitted);
  const SOCKET s = static_cast<SOCKET>(op.fd);
  switch (op.kind) {
    case IoOp::Kind::read:
    case IoOp::Kind::write:
      // Plain descriptors (pipes, eventfd, signalfd) are a POSIX notion.
      op.result = -EOPNOTSUPP;
      return false;
    case IoOp::Kind::close:
      // closesocket() aborts the socket's pending operations; their packets
      // still arrive (STATUS_CANCELLED / LOCAL_DISCONNECT) and find their
      // blocks alive.
      sockets_.erase(s);
      bump(detail::core(loop_).counters().syscalls);
      op.result = closesocket(s) == 0 ? 0 : -errno_from_win32(WSAGetLastError());
      return false;
    default:
      break;
  }

  long long error = 0;
  SocketState* st = socket_state(s, error);
  if (!st) {
    op.result = error;
    return false;
  }
  OpBlock* b = take_block();
  b->op = &op;
  b->socket = s;
  DWORD bytes = 0;
  bump(detail::core(loop_).counters().syscalls);
  switch (op.kind) {
    case IoOp::Kind::recv: {
      // One WSARecv moves at most ULONG_MAX bytes; a shorter read is allowed.
      b->wsabuf.len = static_cast<ULONG>(op.len > ULONG_MAX ? ULONG_MAX : op.len);
      b->wsabuf.buf = static_cast<char*>(op.buf);
      b->flags = static_cast<DWORD>(op.flags);
      int r = WSARecv(s, &b->wsabuf, 1, &bytes, &b->flags, &b->ov, nullptr);
      return settle(op, *b, *st, r == 0, bytes);
    }
    case IoOp::Kind::send: {
      b->wsabuf.len = static_cast<ULONG>(op.len > ULONG_MAX ? ULONG_MAX : op.len);
      b->wsabuf.buf = static_cast<char*>(op.buf);
      int r = WSASend(s, &b->wsabuf, 1, &bytes, static_cast<DWORD>(op.flags), &b->ov, nullptr);
      return settle(op, *b, *st, r == 0, bytes);
    }
    case IoOp::Kind::accept:
      return start_accept(op, *b, *st);
    case IoOp::Kind::connect:
      return start_connect(op, *b, *st);
    default:
      release_block(b);
      op.result = -EINVAL;
      return false;
  }
}

namespace {
// Extension functions are per provider, so they are looked up through the
// socket that will use them (once per socket).
void* extension_function(SOCKET s, GUID guid, long long& error) {
  void* fn = nullptr;
  DWORD got = 0;
  if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, &fn, sizeof fn, &got, nullptr,
               nullptr) != 0) {
    error = -errno_from_win32(WSAGetLastError());
    return nullptr;
  }
  return fn;
}
}  // namespace

bool IocpBackend::start_accept(IoOp& op, OpBlock& b, SocketState& st) {
  long long error = 0;
  if (!st.accept_ex) st.accept_ex = extension_function(b.socket, WSAID_ACCEPTEX, error);
  if (!st.accept_ex) {
    op.result = error;
    release_block(&b);
    return false;
  }
  // AcceptEx accepts into a socket we create, of the listener's kind.
  SOCKET a = WSASocketW(st.family, st.type, st.protocol, nullptr, 0,
                        WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (a == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL)  // before Windows 7 SP1
    a = WSASocketW(st.family, st.type, st.protocol, nullptr, 0, WSA_FLAG_OVERLAPPED);
  if (a == INVALID_SOCKET) {
    op.result = -errno_from_win32(WSAGetLastError());
    release_block(&b);
    return false;
  }
  b.accept_socket = a;
  DWORD bytes = 0;
  auto accept_ex = reinterpret_cast<LPFN_ACCEPTEX>(st.accept_ex);
  BOOL ok = accept_ex(b.socket, a, b.addresses, 0, kAcceptAddrSlot, kAcceptAddrSlot, &bytes, &b.ov);
  return settle(op, b, st, ok != FALSE, bytes);
}

bool IocpBackend::start_connect(IoOp& op, OpBlock& b, SocketState& st) {
  long long error = 0;
  if (!op.addr) {
    op.result = -EFAULT;
    release_block(&b);
    return false;
  }
  if (!st.connect_ex) st.connect_ex = extension_function(b.socket, WSAID_CONNECTEX, error);
  if (!st.connect_ex) {
    op.result = error;
    release_block(&b);
    return false;
  }
  // ConnectEx insists on a bound socket; connect() would bind implicitly.
  sockaddr_storage local{};
  int len = sizeof local;
  if (getsockname(b.socket, reinterpret_cast<sockaddr*>(&local), &len) != 0) {
    int e = WSAGetLastError();
    if (e == WSAEINVAL) {
      sockaddr_storage any{};
      any.ss_family = op.addr->sa_family;
      int alen = op.addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
      if (bind(b.socket, reinterpret_cast<sockaddr*>(&any), alen) != 0)
        e = WSAGetLastError();
      else
        e = 0;
    }
    if (e != 0) {
      op.result = -errno_from_win32(static_cast<DWORD>(e));
      release_block(&b);
      return false;
    }
  }
  DWORD bytes = 0;
  auto connect_ex = reinterpret_cast<LPFN_CONNECTEX>(st.connect_ex);
  BOOL ok = connect_ex(b.socket, op.addr, static_cast<int>(op.addrlen), nullptr, 0, &bytes, &b.ov);
  return settle(op, b, st, ok != FALSE, bytes);
}

bool IocpBackend::settle(IoOp& op, OpBlock& b, SocketState& st, bool call_ok, DWORD bytes) {
  if (call_ok) {
    if (st.skip_on_success) {
      op.result = finish_result(b, 0, bytes);
      bump(detail::core(loop_).counters().io_completed);
      release_block(&b);
      return false;
    }
    // Without the skip mode a packet follows even an immediate success.
  } else {
    int e = WSAGetLastError();
    if (e != WSA_IO_PENDING) {
      // Failed at once: no packet is queued in either mode.
      op.result = -errno_from_win32(static_cast<DWORD>(e));
      bump(detail::core(loop_).counters().io_completed);
      release_block(&b);
      return false;
    }
  }
  op.backend_data = &b;
  op.in_flight = true;
  ++ops_in_flight_;
  return true;
}

long long IocpBackend::finish_result(OpBlock& b, long status, DWORD bytes) noexcept {
  IoOp& op = *b.op;
  if (status < 0) return -errno_from_ntstatus(status);  // NTSTATUS errors and warnings
  switch (op.kind) {
    case IoOp::Kind::accept: {
      // Gives the accepted socket the listener's properties, so getpeername,
      // shutdown and friends work on it.
      SOCKET listener = b.socket;
      if (setsockopt(b.accept_socket, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                     reinterpret_cast<const char*>(&listener), sizeof listener) != 0)
        return -errno_from_win32(WSAGetLastError());
      SOCKET a = b.accept_socket;
      b.accept_socket = INVALID_SOCKET;  // handed to the caller
      return static_cast<long long>(a);
    }
    case IoOp::Kind::connect:
      if (setsockopt(b.socket, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, nullptr, 0) != 0)
        return -errno_from_win32(WSAGetLastError());
      return 0;
    default:
      return static_cast<long long>(bytes);
  }
}

void IocpBackend::complete_io(OpBlock& b, long status, DWORD bytes) noexcept {
  IoOp& op = *b.op;
  op.result = finish_result(b, status, bytes);
  op.in_flight = false;
  op.backend_data = nullptr;
  --ops_in_flight_;
  bump(detail::core(loop_).counters().io_completed);
  release_block(&b);
  if (&op == draining_) {
    // Its task is being destroyed: nothing to resume, and nobody will ever
    // see the result. An abandon can come too late to cancel (the operation
    // had already finished, CancelIoEx found nothing), so the result may
    // own something: an accepted socket, which would otherwise stay open
    // and leave its client connected to nobody.
    drained_ = true;
    dispose_result(op);
    return;
  }
  detail::core(loop_).schedule(op.handle);
}

void IocpBackend::dispose_result(IoOp& op) noexcept {
  if (op.kind == IoOp::Kind::accept && op.result >= 0) {
    bump(detail::core(loop_).counters().syscalls);
    closesocket(static_cast<SOCKET>(op.result));
    op.result = -ECANCELED;
  }
}

void IocpBackend::cancel(IoOp& op) noexcept {
  if (!op.in_flight) return;
  auto* b = static_cast<OpBlock*>(op.backend_data);
  bump(detail::core(loop_).counters().syscalls);
  // ERROR_NOT_FOUND means it is already completing; its packet is on the way.
  CancelIoEx(reinterpret_cast<HANDLE>(b->socket), &b->ov);
}

void IocpBackend::abandon(IoOp& op) noexcept {
  if (!op.in_flight) return;
  cancel(op);
  // The kernel owns the block (and writes into the caller's buffer) until the
  // packet arrives, cancelled or not; wait for it.
  draining_ = &op;
  drained_ = false;
  while (!drained_) dequeue(INFINITE);
  draining_ = nullptr;
}

// ---- the port ----

bool IocpBackend::has_outstanding() const noexcept {
  return ops_in_flight_ != 0 || object_waits_in_flight_ != 0 ||
         posted_.load(std::memory_order_acquire) != received_;
}

void IocpBackend::wait(std::optional<std::chrono::nanoseconds> timeout) {
  dequeue(timeout ? timeout_ms(*timeout) : INFINITE);
}

void IocpBackend::dequeue(DWORD timeout) noexcept {
  OVERLAPPED_ENTRY entries[kBatch];
  ULONG n = 0;
  bump(detail::core(loop_).counters().syscalls);
  if (!GetQueuedCompletionStatusEx(port_, entries, kBatch, &n, timeout, FALSE)) {
    DWORD e = GetLastError();
    if (e == WAIT_TIMEOUT) return;
    // The port is unusable: nothing could ever wake this loop again.
    std::fprintf(stderr, "libsync: GetQueuedCompletionStatusEx failed: Windows error %lu\n",
                 static_cast<unsigned long>(e));
    std::abort();
  }
  for (ULONG i = 0; i < n; ++i) handle_packet(entries[i]);
}

void IocpBackend::handle_packet(const OVERLAPPED_ENTRY& e) noexcept {
  switch (e.lpCompletionKey) {
    case kIoKey: {
      auto* b = reinterpret_cast<OpBlock*>(e.lpOverlapped);
      complete_io(*b, static_cast<long>(b->ov.Internal), e.dwNumberOfBytesTransferred);
      break;
    }
    case kWakeKey: {
      ++received_;
      auto* n = reinterpret_cast<WaiterNode*>(e.lpOverlapped);
      // The waker stored kWordWoken (release) before posting; this acquire
      // makes its writes to the node's outcome visible to the task.
      (void)n->word.load(std::memory_order_acquire);
      set_iocp_armed(*n, false);
      bump(detail::core(loop_).counters().remote_wakes);
      if (n == draining_) {
        drained_ = true;  // its frame is being destroyed
        break;
      }
      detail::core(loop_).schedule(n->handle);
      break;
    }
    case kNotifyKey:
      ++received_;
      // An RMW, so that a notify() that found the flag still set (and posted
      // nothing) happens-before this loop's next look at its remote queue.
      notify_posted_.exchange(false, std::memory_order_acq_rel);
      bump(detail::core(loop_).counters().notifier_reads);
      break;
    case kObjectWaitKey: {
      ++received_;
      auto* w = reinterpret_cast<ObjectWait*>(e.lpOverlapped);
      finish_object_wait(*w, w->outcome.load(std::memory_order_acquire));
      break;
    }
    default:
      break;
  }
}

void IocpBackend::post_packet(ULONG_PTR key, const void* p, DWORD bytes) noexcept {
  // Counted first: once the packet is queued the loop may take it and be
  // destroyed, so `this` must not be touched after a successful post.
  posted_.fetch_add(1, std::memory_order_acq_rel);
  HANDLE port = port_;
  for (int attempt = 0;; ++attempt) {
    if (PostQueuedCompletionStatus(port, bytes, key, reinterpret_cast<LPOVERLAPPED>(const_cast<void*>(p))))
      return;
    DWORD e = GetLastError();
    // Out of kernel memory is transient; a bad handle or a minute of failure
    // is not, and dropping the packet would strand a task forever.
    if (e == ERROR_INVALID_HANDLE || attempt >= 60000) {
      std::fprintf(stderr, "libsync: PostQueuedCompletionStatus failed: Windows error %lu\n",
                   static_cast<unsigned long>(e));
      std::abort();
    }
    Sleep(1);
  }
}

void IocpBackend::notify() noexcept {
  // One poke in flight is enough: the loop looks at its remote queue after
  // every dequeue.
  if (notify_posted_.exchange(true, std::memory_order_acq_rel)) return;
  post_packet(kNotifyKey, nullptr);
}

// ---- iocp tier ----

void IocpBackend::post_wake(const WaiterNode* n) noexcept {
  if (Loop* cur = Loop::current()) bump(detail::core(*cur).counters().syscalls);
  post_packet(kWakeKey, n);
}

void IocpBackend::drain_wake(const WaiterNode& n) noexcept {
  draining_ = &n;
  drained_ = false;
  while (!drained_) dequeue(INFINITE);
  draining_ = nullptr;
}

// ---- kernel object waits ----

DWORD WINAPI IocpBackend::watch_object(void* ctx) noexcept {
  auto* w = static_cast<ObjectWait*>(ctx);
  IocpBackend* self = w->backend;
  const HANDLE handles[2] = {w->object, w->cancel};
  DWORD r = WaitForMultipleObjects(2, handles, FALSE, INFINITE);
  long long outcome;
  if (r == WAIT_OBJECT_0)
    outcome = 0;
  else if (r == WAIT_OBJECT_0 + 1)
    outcome = -ECANCELED;
  else if (r == WAIT_FAILED)
    outcome = -errno_from_win32(GetLastError());  // e.g. not a waitable handle
  else
    outcome = -EINVAL;  // WAIT_ABANDONED: a mutex, which this wait does not support
  // Before the post: once it is queued the loop may complete and free `w`.
  w->outcome.store(outcome, std::memory_order_release);
  self->post_packet(kObjectWaitKey, w);
  return 0;
}

bool IocpBackend::start_object_wait(ObjectWait& w) {
  w.backend = this;
  bump(detail::core(loop_).counters().syscalls);
  w.cancel = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (!w.cancel) {
    w.result = -errno_from_win32(GetLastError());
    return false;
  }
  // A long function: it blocks a worker for as long as the wait lasts, so
  // the pool adds workers rather than queue other work behind it.
  if (!QueueUserWorkItem(&IocpBackend::watch_object, &w, WT_EXECUTELONGFUNCTION)) {
    w.result = -errno_from_win32(GetLastError());
    CloseHandle(w.cancel);
    w.cancel = nullptr;
    return false;
  }
  w.in_flight = true;
  ++object_waits_in_flight_;
  return true;
}

void IocpBackend::finish_object_wait(ObjectWait& w, long long result) noexcept {
  CloseHandle(w.cancel);
  w.cancel = nullptr;
  w.in_flight = false;
  w.result = result;
  --object_waits_in_flight_;
  if (&w == draining_) {
    drained_ = true;
    return;
  }
  detail::core(loop_).schedule(w.handle);
}

void IocpBackend::cancel_object_wait(ObjectWait& w) noexcept {
  if (!w.in_flight) return;
  bump(detail::core(loop_).counters().syscalls);
  SetEvent(w.cancel);  // the worker wakes and posts, unless it already has
}

void IocpBackend::abandon_object_wait(ObjectWait& w) noexcept {
  if (!w.in_flight) return;
  // The worker refers to `w` until its packet is queued: wait for that
  // packet. A signal consumed just before is the waiter's and goes with it,
  // as a completed wait's would.
  cancel_object_wait(w);
  draining_ = &w;
  drained_ = false;
  while (!drained_) dequeue(INFINITE);
  draining_ = nullptr;
}

bool ObjectWaitAwaiter::await_suspend(std::coroutine_handle<> h) {
  Loop* loop = Loop::current();
  if (!loop || loop->backend_kind() != BackendKind::iocp)
    throw std::logic_error("libsync: wait_object awaited outside a running iocp Loop");
  backend_ = static_cast<IocpBackend*>(&detail::core(*loop).backend());
  wait_.loop = loop;
  wait_.handle = h;
  if (!backend_->start_object_wait(wait_)) return false;
  cancel_.arm(*loop, stop_, &ObjectWaitAwaiter::on_cancel, this);
  return true;
}

void ObjectWaitAwaiter::on_cancel(void* p) noexcept {
  auto* self = static_cast<ObjectWaitAwaiter*>(p);
  self->backend_->cancel_object_wait(self->wait_);
}

long long ObjectWaitAwaiter::await_resume() noexcept {
  cancel_.disarm();
  return wait_.result;
}

ObjectWaitAwaiter::~ObjectWaitAwaiter() {
  cancel_.disarm();
  if (wait_.in_flight) backend_->abandon_object_wait(wait_);
}

namespace {

BackendStatus iocp_status(const Capabilities& caps) {
  return {BackendKind::iocp, caps.windows.iocp,
          caps.windows.iocp ? "I/O completion ports available" : "IOCP exists only on Windows"};
}

std::unique_ptr<Backend> make_iocp_backend(Loop& loop, const LoopOptions&, Tier) {
  return std::make_unique<IocpBackend>(loop);
}

}  // namespace

const BackendEntry iocp_backend{BackendKind::iocp, &iocp_status, &make_iocp_backend};

}  // namespace libsync::detail
