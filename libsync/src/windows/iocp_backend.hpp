// The IOCP backend: one I/O completion port per loop.
//
// The loop blocks in GetQueuedCompletionStatusEx, which dequeues up to 64
// packets at a time. Everything that can wake a loop arrives as a packet on
// that one port, told apart by its completion key:
//
//   kIoKey          an overlapped Winsock operation finished. lpOverlapped is
//                   the OVERLAPPED inside the op's OpBlock; its Internal
//                   field holds the NTSTATUS, the entry the byte count.
//   kWakeKey        a synchronization wake from another thread (the iocp
//                   tier). lpOverlapped is the WaiterNode's address.
//   kNotifyKey      a poke: the remote queue has work, or stop() was called
//                   (the generic tier's notifier, and the sentinel that stops
//                   a blocked loop: closing a port does not wake a waiter).
//   kObjectWaitKey  an ObjectWait's kernel object (event, process, ...) was
//                   signalled, or its wait cancelled or failed.
//                   lpOverlapped is the ObjectWait.
//
// Sockets are associated with the port when used (see below) and, where the
// provider allows it, switched to FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, so an
// operation that completes at once returns its result from start() without a
// packet. Results follow the io_uring convention used by io.hpp: >= 0 on
// success, a negative errno on failure (-ECANCELED when cancelled).
//
// Sockets should be closed through libsync::close() on the loop that used
// them, which forgets the per-socket state at once. One closed with a plain
// closesocket() leaves its entry until a later socket with the same handle
// value is used: every operation tries to associate its socket, and one that
// succeeds is a new socket, whose state replaces the stale entry. A socket
// can belong to one port only: using one of another loop fails with -EINVAL.
//
// Thread safety: post_wake() and notify() are for any thread; everything else
// belongs to the loop thread.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <stop_token>
#include <sync/detail/loop_cancel.hpp>
#include <sync/detail/waiter_queue.hpp>
#include <unordered_map>
#include <vector>

#include "backend.hpp"
#include "windows/windows.hpp"

namespace libsync::detail {

struct OpBlock;

// A wait for a kernel object handle (an event, semaphore, process, thread or
// waitable timer; not a mutex, whose ownership would go to the thread that
// waited), delivered through the loop's port. A thread-pool worker blocks in
// WaitForMultipleObjects on the object and a cancel event, and posts the
// outcome. Waiting for "either" is what makes cancelling exact: the kernel
// satisfies one of the two at once (the object first if both are
// signalled), so a cancelled wait never consumed the object's signal, and a
// signal that was consumed is always reported. (Cancelling a thread-pool
// wait, SetThreadpoolWait(.., NULL), has no such guarantee: the pool's wait
// thread can consume the signal and still drop or deliver late the callback,
// which Wine shows.) Each pending wait holds a pool worker, so this suits a
// few waits at a time, not thousands; the kernel's wait-completion packets,
// where they exist, could queue the packet without a worker.
// Lives in the awaiting frame; the backend owns it while `in_flight`.
struct ObjectWait {
  HANDLE object = nullptr;
  long long result = 0;  // 0 signalled, -ECANCELED cancelled, -errno on failure
  Loop* loop = nullptr;
  std::coroutine_handle<> handle;
  bool in_flight = false;

  // Backend bookkeeping.
  class IocpBackend* backend = nullptr;
  HANDLE cancel = nullptr;            // manual-reset event: set to cancel
  std::atomic<long long> outcome{0};  // written by the worker before it posts
};

// The iocp tier's one bit of per-node state, "armed: the loop slept in its
// port, so a wake packet may name this node", kept in the node's
// loop-thread-only tier field.
inline bool iocp_armed(const WaiterNode& n) noexcept {
  return n.tier_state != 0;
}
inline void set_iocp_armed(WaiterNode& n, bool armed) noexcept {
  n.tier_state = armed ? 1 : 0;
}

class IocpBackend final : public Backend {
 public:
  explicit IocpBackend(Loop& loop);
  ~IocpBackend() override;

  BackendKind kind() const noexcept override { return BackendKind::iocp; }
  bool start(IoOp& op) override;
  void cancel(IoOp& op) noexcept override;
  void abandon(IoOp& op) noexcept override;
  void wait(std::optional<std::chrono::nanoseconds> timeout) override;
  bool has_outstanding() const noexcept override;
  void notify() noexcept override;

  // ---- iocp tier ----
  // Any thread. Queues a kWakeKey packet naming `n`, an armed node whose
  // word the caller has already turned to kWordWoken; so this never reads
  // *n: only its address travels, and the loop thread dereferences it when
  // the packet arrives (the node stays alive until then; see IocpWakePath).
  void post_wake(const WaiterNode* n) noexcept;
  // Loop thread. Dequeues (handling everything else normally) until the wake
  // packet naming `n` has arrived, so nothing refers to `n` afterwards.
  void drain_wake(const WaiterNode& n) noexcept;

  // ---- kernel object waits ----
  // Starts waiting for `w.object` to be signalled; returns false when it
  // failed at once (w.result set).
  bool start_object_wait(ObjectWait& w);
  // Ends a pending wait early: it completes (through its packet, as always)
  // with -ECANCELED unless the object was signalled first.
  void cancel_object_wait(ObjectWait& w) noexcept;
  // The waiting task is being destroyed: cancel and return only when no
  // callback or packet refers to `w`.
  void abandon_object_wait(ObjectWait& w) noexcept;

  HANDLE port() const noexcept { return port_; }

 private:
  struct SocketState {
    bool skip_on_success = false;  // no packet for an immediate success
    int family = AF_INET;
    int type = SOCK_STREAM;
    int protocol = 0;
    void* accept_ex = nullptr;   // LPFN_ACCEPTEX, looked up on first accept
    void* connect_ex = nullptr;  // LPFN_CONNECTEX, looked up on first connect
  };

  static DWORD WINAPI watch_object(void* ctx) noexcept;  // the worker
  // Any thread: PostQueuedCompletionStatus, retried while the system is
  // short of resources (a lost packet would be a lost wake).
  void post_packet(ULONG_PTR key, const void* p, DWORD bytes = 0) noexcept;
  // The state of `s`, associating it with the port if it is not yet.
  SocketState* socket_state(SOCKET s, long long& error);
  static SocketState describe_socket(SOCKET s) noexcept;
  bool start_accept(IoOp& op, OpBlock& b, SocketState& st);
  bool start_connect(IoOp& op, OpBlock& b, SocketState& st);
  // After an overlapped call: true if a packet will follow, false when the
  // op finished here (op.result set, block released).
  bool settle(IoOp& op, OpBlock& b, SocketState& st, bool call_ok, DWORD bytes);
  void complete_io(OpBlock& b, long status, DWORD bytes) noexcept;
  // An abandoned operation's result: release whatever it owns.
  void dispose_result(IoOp& op) noexcept;
  long long finish_result(OpBlock& b, long status, DWORD bytes) noexcept;
  void dequeue(DWORD timeout_ms) noexcept;
  void handle_packet(const OVERLAPPED_ENTRY& e) noexcept;
  void finish_object_wait(ObjectWait& w, long long result) noexcept;
  OpBlock* take_block();
  void release_block(OpBlock* b) noexcept;

  Loop& loop_;
  HANDLE port_ = nullptr;
  std::size_t ops_in_flight_ = 0;
  std::size_t object_waits_in_flight_ = 0;
  std::unordered_map<SOCKET, SocketState> sockets_;
  std::vector<OpBlock*> free_blocks_;

  // Packets other threads posted (wakes, notifies, object waits) and the ones
  // this loop has taken; while they differ a poll may find something.
  std::atomic<std::uint64_t> posted_{0};
  std::uint64_t received_ = 0;
  std::atomic<bool> notify_posted_{false};

  // What abandon()/drain_wake() are waiting for, and whether it arrived.
  const void* draining_ = nullptr;
  bool drained_ = false;
};

// co_await wait_object(h): suspends the task until the kernel object `h` is
// signalled, through the loop's port; the result is 0, or -ECANCELED when the
// stop token fired first, or a negative errno. Internal for now: the public
// API has no Windows handle type yet.
class ObjectWaitAwaiter {
 public:
  explicit ObjectWaitAwaiter(HANDLE object, std::stop_token st = {}) : stop_(std::move(st)) {
    wait_.object = object;
  }
  ObjectWaitAwaiter(ObjectWaitAwaiter&&) = delete;
  ~ObjectWaitAwaiter();

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h);
  long long await_resume() noexcept;

 private:
  static void on_cancel(void* self) noexcept;
  ObjectWait wait_;
  IocpBackend* backend_ = nullptr;
  std::stop_token stop_;
  LoopCancel cancel_;
};

inline ObjectWaitAwaiter wait_object(HANDLE object, std::stop_token st = {}) {
  return ObjectWaitAwaiter(object, std::move(st));
}

}  // namespace libsync::detail
