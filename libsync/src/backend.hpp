// Backend: how a loop waits for I/O, timers and wakeups. One per loop.
//
// The interface is completion-style (start an operation, learn its result
// later) because that is what io_uring and IOCP are; the epoll backend
// emulates it by trying the syscall and retrying on readiness. Completions
// never resume a task directly: the backend hands the task's handle to its
// loop's ready queue.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <sync/io.hpp>
#include <sync/loop.hpp>

namespace libsync::detail {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendKind kind() const noexcept = 0;

  // Starts `op`. Returns false when it completed synchronously (op.result is
  // set and no completion will follow), true when a completion will
  // schedule op.handle on the loop later.
  virtual bool start(IoOp& op) = 0;
  // Asks an in-flight op to finish early; it still completes (with
  // -ECANCELED or with its real result if that won the race).
  virtual void cancel(IoOp& op) noexcept = 0;
  // The task waiting on an in-flight `op` is being destroyed: cancel it and
  // do not return until the backend no longer refers to it (or its buffer).
  virtual void abandon(IoOp& op) noexcept = 0;
  // Waits for completions for up to `timeout` (nullopt: no limit, zero: just
  // poll) and hands every completed operation to the loop.
  virtual void wait(std::optional<std::chrono::nanoseconds> timeout) = 0;
  // True when a poll could find something (ops in flight, SQEs to submit).
  // A busy loop polls only then, so pure compute / same-loop hand-offs make
  // no syscalls.
  virtual bool has_outstanding() const noexcept = 0;
  // True when work is queued for the kernel that only a poll will hand over
  // (io_uring SQEs, e.g. a FUTEX_WAKE for another loop's waiter): a busy loop
  // polls at once for these, and only every few iterations otherwise.
  virtual bool needs_flush() const noexcept { return false; }
  // needs_flush(), plus anything the kernel has not yet taken from its
  // queue (an io_uring submission that took fewer SQEs than were flushed).
  // Slower to ask; for the places where nothing may be left behind: leaving
  // run() and tearing the loop down.
  virtual bool has_unsubmitted() const noexcept { return needs_flush(); }
  // Multishot accept. Backends without it keep the defaults, and Acceptor
  // falls back to one accept() per connection.
  virtual bool start_multishot_accept(MultishotAccept&) { return false; }
  // Cancels it and returns once the kernel has let go of `ms`.
  virtual void stop_multishot_accept(MultishotAccept&) noexcept {}
  // Any thread: makes a blocked wait() return (the generic tier's notifier).
  virtual void notify() noexcept = 0;
  // The loop is about to run on the calling thread (run/block_on entry).
  // Backends whose kernel object is bound to one thread rebind here; throws
  // std::logic_error when that cannot be done safely.
  virtual void bind_to_current_thread() {}
  // ~Loop, on the calling thread, before any task is destroyed. False when
  // in-flight operations cannot be cancelled from this thread (their tasks
  // must then be leaked rather than freed); the backend has said why on
  // stderr.
  virtual bool prepare_teardown() noexcept { return true; }
};

}  // namespace libsync::detail
