#include "linux/uring_backend.hpp"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sync/capabilities.hpp>
#include <thread>
#include <vector>

#include "linux/futex.hpp"
#include "linux/uring_compat.hpp"
#include "loop_core.hpp"
#include "loop_counters.hpp"
#include "tier_table.hpp"

namespace libsync::detail {
namespace {

constexpr std::uint64_t kTagOp = 0;
constexpr std::uint64_t kTagIgnore = 2;
constexpr std::uint64_t kTagEventfd = 3;
constexpr std::uint64_t kTagDoorbell = 4;
constexpr std::uint64_t kTagMultishotAccept = 5;
constexpr std::uint64_t kTagCancelAll = 6;
// An Acceptor holding this many unclaimed connections stops accepting, so a
// server that stops asking (backpressure) leaves the rest in the kernel's
// listen backlog.
constexpr unsigned kMultishotHighWater = 4;
constexpr std::uint64_t kTagMask = 7;

constexpr unsigned kSetupAttempts[] = {
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
    0,
};

std::uint64_t tagged(const void* p, std::uint64_t tag) {
  return reinterpret_cast<std::uint64_t>(p) | tag;
}

[[noreturn]] void fatal(const char* what) noexcept {
  std::fprintf(stderr, "libsync: fatal: %s\n", what);
  std::abort();
}

// Doorbell words, one cache line each, never returned to the allocator: a
// word goes back on the free list only once no kernel wait can name it, and
// a word whose wait's end was never observed is simply not reused.
class DoorbellPool {
 public:
  static std::atomic<std::uint32_t>* acquire() {
    auto& p = instance();
    std::lock_guard lk(p.mu_);
    if (!p.free_.empty()) {
      auto* w = p.free_.back();
      p.free_.pop_back();
      w->store(0, std::memory_order_relaxed);
      return w;
    }
    auto* line = new Line;  // owned by the pool for the process's life
    return &line->word;
  }
  static void release(std::atomic<std::uint32_t>* w) noexcept {
    auto& p = instance();
    std::lock_guard lk(p.mu_);
    try {
      p.free_.push_back(w);
    } catch (...) {
      // Out of memory: the word is not reused, which is always safe.
    }
  }
  // A word a kernel wait may still name: kept (reachable) but never reused.
  static void retire(std::atomic<std::uint32_t>* w) noexcept {
    auto& p = instance();
    std::lock_guard lk(p.mu_);
    try {
      p.retired_.push_back(w);
    } catch (...) {
    }
  }

 private:
  struct alignas(64) Line {
    std::atomic<std::uint32_t> word{0};
  };
  static DoorbellPool& instance() {
    static DoorbellPool* pool = new DoorbellPool;  // never destroyed: loops may outlive statics
    return *pool;
  }
  std::mutex mu_;
  std::vector<std::atomic<std::uint32_t>*> free_;
  std::vector<std::atomic<std::uint32_t>*> retired_;
};

// Closes a ring. Under ThreadSanitizer the ring's mappings are released with
// libc's munmap, which TSan intercepts: liburing unmaps with a raw syscall
// TSan does not see, so a later ring mapped at the same address would inherit
// the old ring's shadow state and TSan would pair the two rings' accesses as
// a race. Elsewhere liburing's own teardown is used.
void close_ring(io_uring& r) noexcept {
#if defined(__SANITIZE_THREAD__)
  const std::size_t sqe_size =
      (r.flags & IORING_SETUP_SQE128) ? 2 * sizeof(io_uring_sqe) : sizeof(io_uring_sqe);
  ::munmap(r.sq.sqes, sqe_size * *r.sq.kring_entries);
  if (r.cq.ring_ptr && r.cq.ring_ptr != r.sq.ring_ptr) ::munmap(r.cq.ring_ptr, r.cq.ring_sz);
  ::munmap(r.sq.ring_ptr, r.sq.ring_sz);
  ::close(r.ring_fd);
#else
  io_uring_queue_exit(&r);
#endif
}

// The owner's exit hook runs in a thread_local destructor. ThreadSanitizer
// takes a thread's join edge when its start function returns, before those
// destructors run, so it cannot order the hook's accesses to ring memory
// with a later ring mapped at the same address, and reports a race that the
// C++ model rules out. The hook therefore touches the rings through these two
// functions, which TSan does not instrument; what they do is ordered with the
// kernel by the acquire/release atomics the ring protocol prescribes.
#if defined(__SANITIZE_THREAD__)
#define LIBSYNC_RING_NO_TSAN __attribute__((no_sanitize_thread))
#else
#define LIBSYNC_RING_NO_TSAN
#endif

// Queues an ASYNC_CANCEL of every request; false when the SQ ring is full.
LIBSYNC_RING_NO_TSAN bool queue_cancel_everything(io_uring& r, std::uint64_t user_data) noexcept {
  io_uring_sq& sq = r.sq;
  const unsigned head = __atomic_load_n(sq.khead, __ATOMIC_ACQUIRE);
  if (sq.sqe_tail - head >= *sq.kring_entries) return false;
  io_uring_sqe* sqe = &sq.sqes[sq.sqe_tail & *sq.kring_mask];
  auto* words = reinterpret_cast<std::uint64_t*>(sqe);
  for (std::size_t i = 0; i < sizeof(io_uring_sqe) / sizeof(std::uint64_t); ++i)
    __atomic_store_n(&words[i], std::uint64_t{0}, __ATOMIC_RELAXED);
  sqe->opcode = IORING_OP_ASYNC_CANCEL;
  sqe->fd = -1;
  sqe->cancel_flags = IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL;
  sqe->user_data = user_data;
  ++sq.sqe_tail;
  return true;
}

// Copies out up to `max` completions and consumes them.
LIBSYNC_RING_NO_TSAN unsigned take_completions(io_uring& r, io_uring_cqe* out, unsigned max) noexcept {
  io_uring_cq& cq = r.cq;
  unsigned head = __atomic_load_n(cq.khead, __ATOMIC_RELAXED);
  const unsigned tail = __atomic_load_n(cq.ktail, __ATOMIC_ACQUIRE);
  unsigned n = 0;
  while (head != tail && n < max) {
    const io_uring_cqe& c = cq.cqes[head & *cq.kring_mask];
    out[n].user_data = __atomic_load_n(&c.user_data, __ATOMIC_RELAXED);
    out[n].res = __atomic_load_n(&c.res, __ATOMIC_RELAXED);
    out[n].flags = __atomic_load_n(&c.flags, __ATOMIC_RELAXED);
    ++n;
    ++head;
  }
  __atomic_store_n(cq.khead, head, __ATOMIC_RELEASE);
  return n;
}

}  // namespace

UringBackend::UringBackend(Loop& loop, unsigned entries, bool futex_tier) : loop_(loop), entries_(entries) {
  // SYNC_URING_SETUP=coop|plain starts further down the list (for comparing
  // ring modes in syncbench); the default takes the first the kernel accepts.
  if (const char* v = std::getenv("SYNC_URING_SETUP")) {
    std::string_view mode(v);
    if (mode == "coop")
      first_attempt_ = 1;
    else if (mode == "plain")
      first_attempt_ = 2;
    else if (mode != "defer" && !mode.empty())
      throw std::runtime_error("libsync: SYNC_URING_SETUP=" + std::string(mode) +
                               " is not defer, coop or plain");
  }
  create_ring();
  if (futex_tier) {
    bell_ = DoorbellPool::acquire();
  } else {
    efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd_ < 0) {
      close_ring(ring_);
      throw std::runtime_error(std::string("libsync: eventfd: ") + std::strerror(errno));
    }
  }
}

void UringBackend::create_ring() {
  int ret = -EINVAL;
  for (std::size_t i = first_attempt_; i < std::size(kSetupAttempts); ++i) {
    io_uring_params p{};
    p.flags = kSetupAttempts[i];
    ret = io_uring_queue_init_params(entries_, &ring_, &p);
    if (ret == 0) {
      setup_flags_ = kSetupAttempts[i];
      enabled_ = !(setup_flags_ & IORING_SETUP_R_DISABLED);
      ring_open_ = true;
      return;
    }
  }
  throw std::runtime_error(std::string("libsync: io_uring_queue_init: ") + std::strerror(-ret));
}

UringBackend::~UringBackend() {
  // Tasks were torn down first, so no operation refers to user memory any
  // more. The doorbell's wait is cancelled and reaped while this thread can
  // still do so, so that its word can be reused; otherwise the word is left
  // unused for good (a forked child may keep this ring, and its wait, alive).
  // The eventfd read (generic tier) is cancelled alike: it names this
  // object's efd_value_, and a ring kept alive by a forked child would let
  // a later write to the eventfd complete it into freed memory. (A
  // SINGLE_ISSUER ring this thread may not enter runs DEFER_TASKRUN, whose
  // completions run only when its owner enters it: never, once it is closed.)
  const bool bell_armed = bell_ && doorbell_armed_;
  if ((bell_armed || efd_armed_) && enabled_ &&
      (!(setup_flags_ & IORING_SETUP_SINGLE_ISSUER) || owner_ == this_thread_token())) {
    try {
      if (bell_armed) {
        io_uring_sqe* sqe = get_sqe();
        io_uring_prep_cancel64(sqe, tagged(bell_, kTagDoorbell), 0);
        io_uring_sqe_set_data64(sqe, kTagIgnore);
      }
      if (efd_armed_) {
        io_uring_sqe* sqe = get_sqe();
        io_uring_prep_cancel64(sqe, kTagEventfd, 0);
        io_uring_sqe_set_data64(sqe, kTagIgnore);
      }
      for (int i = 0; ((bell_ && doorbell_armed_) || efd_armed_) && i < 1000; ++i) {
        submit(1, nullptr);
        reap();
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "libsync: cancelling the ring's wake waits failed: %s\n", e.what());
    }
  }
  {
    std::lock_guard lk(hook_->mu);
    hook_->run = nullptr;  // the owner's exit must not touch this backend any more
    if (owner_) owner_->remove_hook(*hook_);
  }
  if (ring_open_) close_ring(ring_);
  if (efd_ >= 0) ::close(efd_);
  release_doorbell();
  // Multishot accepts still armed (an Acceptor that outlives its loop): the
  // closed ring ended them, and their Acceptors must not reach for this
  // backend any more.
  for (MultishotAccept* ms : armed_accepts_) {
    ms->armed = false;
    ms->loop = nullptr;
  }
}

void UringBackend::take_ownership() {
  if (owner_) owner_->remove_hook(*hook_);  // out of the previous owner's list
  owner_ = this_thread_token();
  hook_->run = &UringBackend::on_owner_exit;
  hook_->ctx = this;
  owner_->add_hook(hook_);
}

// Runs on the owner thread as it exits, with hook_->mu held: nobody else can
// be running this loop (its one runner is exiting) or taking it over (that
// needs hook_->mu), but the thread holding it between runs may be spawning
// onto it, so the tasks of the cancelled operations are queued through the
// remote queue (resume()). Cancels everything still in the kernel and waits
// for the completions, so the loop can move to another thread afterwards.
void UringBackend::on_owner_exit(void* ctx, const ThreadToken* exiting) noexcept {
  auto* self = static_cast<UringBackend*>(ctx);
  if (self->owner_.get() != exiting) return;  // the loop has moved on since
  if (self->ops_in_flight_ == 0 && !self->doorbell_armed_ && !self->efd_armed_) return;
  self->owner_exiting_ = true;
  io_uring& ring = self->ring_;
  if (!queue_cancel_everything(ring, kTagCancelAll)) {
    io_uring_submit(&ring);  // a full SQ: hand it over first
    queue_cancel_everything(ring, kTagCancelAll);
  }
  self->cancel_all_result_ = 1;  // no answer yet
  // Bounded: a kernel without CANCEL_ANY (before 5.19) answers -EINVAL, and
  // then nothing more is coming.
  __kernel_timespec ts{0, 10 * 1000 * 1000};
  io_uring_cqe got[32];
  for (int i = 0; i < 200 && (self->ops_in_flight_ || self->doorbell_armed_ || self->efd_armed_); ++i) {
    io_uring_cqe* unused = nullptr;
    const int r = io_uring_submit_and_wait_timeout(&ring, &unused, 1, &ts, nullptr);
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY && r != -EAGAIN) {
      std::fprintf(stderr, "libsync: cancelling a loop's I/O as its thread exits: io_uring_enter: %s\n",
                   std::strerror(-r));
      break;
    }
    for (unsigned n; (n = take_completions(ring, got, 32)) != 0;)
      for (unsigned k = 0; k < n; ++k) self->handle_cqe(got[k].user_data, got[k].res, got[k].flags);
    if (self->cancel_all_result_ < 0) break;
  }
  self->owner_exiting_ = false;
}

void UringBackend::release_doorbell() noexcept {
  if (!bell_) return;
  if (doorbell_armed_) {
    DoorbellPool::retire(bell_);
  } else {
    DoorbellPool::release(bell_);
  }
  bell_ = nullptr;
}

void UringBackend::enable_if_needed() {
  if (enabled_) return;
  // liburing 2.3 declares io_uring_enable_rings() but does not export it.
  long r = syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
  if (r < 0)
    throw std::runtime_error(std::string("libsync: IORING_REGISTER_ENABLE_RINGS: ") + std::strerror(errno));
  enabled_ = true;
  std::lock_guard lk(hook_->mu);
  take_ownership();
}

void UringBackend::bind_to_current_thread() {
  if (!(setup_flags_ & IORING_SETUP_SINGLE_ISSUER) || !enabled_) return;
  if (owner_ == this_thread_token()) return;  // only this thread ever sets it to itself
  std::unique_lock lk(hook_->mu);
  if (owner_ && owner_->alive.load(std::memory_order_acquire)) {
    if (ops_in_flight_ != 0)
      throw std::logic_error(
          "libsync: this loop's io_uring ring belongs to another thread that is still running and has " +
          std::to_string(ops_in_flight_) +
          " I/O operation(s) in flight, which only that thread can complete or cancel; a uring loop can "
          "move to another thread when it has no I/O in flight, or after its previous thread has exited");
  } else {
    // The owner's exit hook cancelled and reaped everything; a thread that
    // ended without running thread-local destructors may have left
    // completions in the CQ ring.
    collect_cancelled_completions();
    if (ops_in_flight_ != 0)
      throw std::logic_error("libsync: the thread that owned this loop's io_uring ring exited, but " +
                             std::to_string(ops_in_flight_) +
                             " of its I/O operations never reported their cancellation");
  }
  replace_ring();
}

bool UringBackend::prepare_teardown() noexcept {
  try {
    bind_to_current_thread();
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr,
                 "libsync: ~Loop: %s (destroy the loop on the thread that ran it, or after it exits)\n",
                 e.what());
    return false;
  }
}

// The previous owner exited, and the kernel cancelled its requests as it
// did; their completions are in the CQ ring. This thread may not enter the
// ring, so it reads the ring's memory directly.
void UringBackend::collect_cancelled_completions() {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (ops_in_flight_ != 0 || doorbell_armed_ || efd_armed_) {
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    std::vector<io_uring_cqe> batch;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      batch.push_back(*cqe);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    for (const auto& c : batch) handle_cqe(c.user_data, c.res, c.flags);
    if (seen == 0) {
      if (std::chrono::steady_clock::now() >= give_up) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

void UringBackend::replace_ring() {
  // The doorbell word's wait (if still armed) belongs to the old ring, which
  // lets go of it only asynchronously once closed: take a fresh word.
  if (bell_) {
    release_doorbell();
    doorbell_armed_ = false;
    bell_ = DoorbellPool::acquire();
  }
  efd_armed_ = false;  // the eventfd stays; its read is re-armed on the new ring
  close_ring(ring_);
  ring_open_ = false;
  create_ring();
  // Enabled here and now by this thread, which becomes the owner (the
  // caller holds hook_->mu).
  if (!enabled_) {
    long r = syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
    if (r < 0)
      throw std::runtime_error(std::string("libsync: IORING_REGISTER_ENABLE_RINGS: ") + std::strerror(errno));
    enabled_ = true;
  }
  take_ownership();
}

io_uring_sqe* UringBackend::get_sqe() {
  enable_if_needed();
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    // The submission queue is full: hand it to the kernel, which frees it.
    bump(detail::core(loop_).counters().syscalls);
    submit(0, nullptr);
    sqe = io_uring_get_sqe(&ring_);
    if (!sqe) throw std::runtime_error("libsync: io_uring submission queue stays full");
  }
  return sqe;
}

// Every io_uring_enter goes through here, and every result is checked:
// EINTR and a full completion queue are retried (after reaping), a wrong
// thread is a clear logic error, anything else a runtime error naming errno.
int UringBackend::submit(unsigned wait_nr, const __kernel_timespec* ts) {
  for (int attempt = 0;; ++attempt) {
    int r;
    if (ts) {
      io_uring_cqe* cqe = nullptr;
      r = io_uring_submit_and_wait_timeout(&ring_, &cqe, wait_nr, const_cast<__kernel_timespec*>(ts),
                                           nullptr);
    } else if (wait_nr) {
      r = io_uring_submit_and_wait(&ring_, wait_nr);
    } else {
      r = io_uring_submit_and_get_events(&ring_);
    }
    if (r >= 0 || r == -ETIME) return r;
    if (r == -EINTR && wait_nr) return 0;  // a signal ended the wait: the loop iterates
    if ((r == -EINTR || r == -EAGAIN || r == -EBUSY) && attempt < 100) {
      reap();  // a full completion queue frees up once we consume it
      if (wait_nr && io_uring_cq_ready(&ring_)) return 0;
      continue;
    }
    if (r == -EEXIST)
      throw std::logic_error(
          "libsync: io_uring_enter: EEXIST: the ring is used from a thread other than the one that owns it");
    throw std::runtime_error(std::string("libsync: io_uring_enter: ") + std::strerror(-r));
  }
}

namespace {
// An SQE holds a 32-bit length, so 4 GiB would wrap to a 0-byte operation
// (which a recv reports like end of file). Linux moves at most MAX_RW_COUNT
// (INT_MAX rounded down to a page) in one read or write anyway, so asking
// for that much is what the plain syscall would do.
constexpr std::size_t kMaxIoLength = 0x7ffff000;
unsigned io_length(std::size_t len) noexcept {
  return static_cast<unsigned>(std::min(len, kMaxIoLength));
}
}  // namespace

bool UringBackend::start(IoOp& op) {
  io_uring_sqe* sqe = get_sqe();
  switch (op.kind) {
    case IoOp::Kind::accept:
      io_uring_prep_accept(sqe, op.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      break;
    case IoOp::Kind::recv:
      io_uring_prep_recv(sqe, op.fd, op.buf, io_length(op.len), op.flags);
      break;
    case IoOp::Kind::send:
      io_uring_prep_send(sqe, op.fd, op.buf, io_length(op.len), op.flags | MSG_NOSIGNAL);
      break;
    case IoOp::Kind::connect:
      io_uring_prep_connect(sqe, op.fd, op.addr, op.addrlen);
      break;
    case IoOp::Kind::close:
      io_uring_prep_close(sqe, op.fd);
      break;
    case IoOp::Kind::read:
      // Offset -1: the descriptor's current position (pipes, eventfd, signalfd).
      io_uring_prep_read(sqe, op.fd, op.buf, io_length(op.len), static_cast<__u64>(-1));
      break;
    case IoOp::Kind::write:
      io_uring_prep_write(sqe, op.fd, op.buf, io_length(op.len), static_cast<__u64>(-1));
      break;
  }
  io_uring_sqe_set_data64(sqe, tagged(&op, kTagOp));
  op.in_flight = true;
  ++ops_in_flight_;
  bump(detail::core(loop_).counters().io_submitted);
  return true;
}

void UringBackend::cancel(IoOp& op) noexcept {
  if (!op.in_flight) return;
  try {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, tagged(&op, kTagOp), 0);
    io_uring_sqe_set_data64(sqe, kTagIgnore);
  } catch (...) {
    // No SQE: the operation runs to its normal end.
  }
}

void UringBackend::abandon(IoOp& op) noexcept {
  if (!op.in_flight) return;
  cancel(op);
  draining_ = &op;
  while (op.in_flight) submit_wait_reap();
  draining_ = nullptr;
}

bool UringBackend::has_outstanding() const noexcept {
  // The doorbell's wait and the eventfd read are not work: a busy loop that
  // has only those has nothing to poll for. needs_flush() explains the SQ check.
  return ops_in_flight_ != 0 || needs_flush();
}

void UringBackend::wait(std::optional<std::chrono::nanoseconds> timeout) {
  enable_if_needed();
  if (efd_ >= 0 && !efd_armed_) arm_eventfd_read();
  bump(detail::core(loop_).counters().syscalls);
  if (timeout && timeout->count() == 0) {
    submit(0, nullptr);
  } else if (timeout) {
    __kernel_timespec ts{};
    ts.tv_sec = timeout->count() / 1000000000;
    ts.tv_nsec = timeout->count() % 1000000000;
    submit(1, &ts);
  } else {
    submit(1, nullptr);
  }
  reap();
}

void UringBackend::submit_wait_reap() noexcept {
  try {
    bump(detail::core(loop_).counters().syscalls);
    submit(1, nullptr);
    reap();
  } catch (const std::exception& e) {
    fatal(e.what());
  }
}

void UringBackend::reap() {
  io_uring_cqe* cqe;
  // One at a time, marking each seen before acting on it: if handling one
  // throws, the ones already handled are not handled again.
  while (io_uring_peek_cqe(&ring_, &cqe) == 0 && cqe) {
    std::uint64_t data = cqe->user_data;
    int res = cqe->res;
    unsigned flags = cqe->flags;
    io_uring_cqe_seen(&ring_, cqe);
    handle_cqe(data, res, flags);
  }
}

void UringBackend::handle_cqe(std::uint64_t data, int res, unsigned flags) {
  const std::uint64_t tag = data & kTagMask;
  void* ptr = reinterpret_cast<void*>(data & ~kTagMask);
  switch (tag) {
    case kTagOp: {
      auto* op = static_cast<IoOp*>(ptr);
      op->in_flight = false;
      op->result = res;
      --ops_in_flight_;
      bump(detail::core(loop_).counters().io_completed);
      if (op != draining_) resume(op->handle);
      break;
    }
    case kTagEventfd:
      efd_armed_ = false;
      bump(detail::core(loop_).counters().notifier_reads);
      break;
    case kTagDoorbell:
      // Woken (0), the word had changed before the wait went to sleep
      // (-EAGAIN), or cancelled: the loop drains its remote queue next
      // either way, and the next park re-arms.
      if (static_cast<void*>(bell_) == ptr) {
        doorbell_armed_ = false;
        bump(detail::core(loop_).counters().futex_wait_cqes);
      }
      if (res < 0 && res != -EAGAIN && res != -ECANCELED && res != -EINTR) {
        std::fprintf(stderr, "libsync: io_uring FUTEX_WAIT on the doorbell failed: %s\n",
                     std::strerror(-res));
        std::abort();
      }
      break;
    case kTagMultishotAccept:
      on_multishot_accept(*static_cast<MultishotAccept*>(ptr), res, flags & IORING_CQE_F_MORE);
      break;
    case kTagCancelAll:
      cancel_all_result_ = res;
      break;
    default:
      break;
  }
}

void UringBackend::resume(std::coroutine_handle<> h) {
  // The exiting owner's hook runs while the loop may already belong to the
  // thread it was handed to, which may be spawning onto its ready queue
  // between runs: from there the resumption goes through the remote queue,
  // which any thread may use, and the loop takes it at its next run.
  if (owner_exiting_)
    detail::core(loop_).schedule_remote(h);
  else
    detail::core(loop_).schedule(h);
}

void UringBackend::notify() noexcept {
  if (efd_ < 0) return;
  std::uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(efd_, &one, sizeof one);
}

void UringBackend::arm_eventfd_read() {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_read(sqe, efd_, &efd_value_, sizeof efd_value_, 0);
  io_uring_sqe_set_data64(sqe, kTagEventfd);
  efd_armed_ = true;
}

void UringBackend::arm_doorbell() {
  if (doorbell_armed_) return;
  io_uring_sqe* sqe = get_sqe();
  prep_futex_wait(sqe, reinterpret_cast<const std::uint32_t*>(bell_), 0, futex_mode().futex2_flags);
  io_uring_sqe_set_data64(sqe, tagged(bell_, kTagDoorbell));
  doorbell_armed_ = true;
  bump(detail::core(loop_).counters().futex_waits_armed);
}

bool UringBackend::start_multishot_accept(MultishotAccept& ms) {
  if (!capabilities().io_uring.multishot_accept) return false;
  if (ms.armed) return true;
  armed_accepts_.push_back(&ms);  // first: nothing is armed if this throws
  io_uring_sqe* sqe;
  try {
    sqe = get_sqe();
  } catch (...) {
    armed_accepts_.pop_back();
    throw;
  }
  io_uring_prep_multishot_accept(sqe, ms.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, tagged(&ms, kTagMultishotAccept));
  ms.armed = true;
  ++ops_in_flight_;
  bump(detail::core(loop_).counters().io_submitted);
  return true;
}

void UringBackend::on_multishot_accept(MultishotAccept& ms, int res, bool more) {
  bump(detail::core(loop_).counters().io_completed);
  if (!more) {
    ms.armed = false;
    // A handful per loop at most (one per Acceptor): a scan is enough.
    auto it = std::find(armed_accepts_.begin(), armed_accepts_.end(), &ms);
    if (it != armed_accepts_.end()) {
      *it = armed_accepts_.back();
      armed_accepts_.pop_back();
    }
    --ops_in_flight_;
  }
  if (ms.stopping) {
    if (res >= 0) ::close(res);
    return;
  }
  // Hands `res` to the waiting task, or queues it; true when it queued.
  auto hand_over = [&] {
    if (!ms.waiter) {
      ms.ready.push_back(res);
      return true;
    }
    *ms.waiter_result = res;
    auto h = ms.waiter;
    ms.waiter = {};
    resume(h);
    return false;
  };
  if (owner_exiting_) {
    // Cancelled because the ring's thread is exiting: no re-arming; a
    // waiting task learns of it when the loop next runs.
    hand_over();
    return;
  }
  if (res == -ECANCELED && !more) {
    // We stopped it at the high-water mark. If a task has since drained the
    // queue and is waiting, accepting must resume now: nothing else will.
    if (ms.waiter && ms.ready.empty()) start_multishot_accept(ms);
    return;
  }
  // A burst can deliver the whole listen backlog before the high-water
  // cancel lands, so the queue grows rather than dropping a connection.
  if (hand_over() && ms.ready.size() >= kMultishotHighWater && ms.armed) cancel_multishot(ms);
  // The kernel ended it on its own (an error): a waiting task re-arms it.
  if (!more && ms.waiter && ms.ready.empty()) start_multishot_accept(ms);
}

void UringBackend::cancel_multishot(MultishotAccept& ms) noexcept {
  try {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, tagged(&ms, kTagMultishotAccept), 0);
    io_uring_sqe_set_data64(sqe, kTagIgnore);
  } catch (...) {
  }
}

void UringBackend::stop_multishot_accept(MultishotAccept& ms) noexcept {
  if (!ms.armed) return;
  ms.stopping = true;
  cancel_multishot(ms);
  while (ms.armed) submit_wait_reap();
}

namespace {

BackendStatus uring_status(const Capabilities& caps) {
  BackendStatus s{BackendKind::uring, false, {}};
  if (!caps.io_uring.compiled_in) {
    s.reason = "built without io_uring support";
  } else if (!caps.io_uring.setup_ok) {
    s.reason = "io_uring_setup failed: " + caps.io_uring.setup_error;
  } else {
    s.available = true;
    s.reason = "io_uring ring set up (kernel " + caps.kernel.release + ")";
  }
  return s;
}

// A loop on the uring-futex tier needs no eventfd: remote wakeups ring its
// futex doorbell instead.
std::unique_ptr<Backend> make_uring_backend(Loop& loop, const LoopOptions& opts, Tier tier) {
  return std::make_unique<UringBackend>(loop, opts.ring_entries, tier == Tier::uring_futex);
}

}  // namespace

const BackendEntry uring_backend{BackendKind::uring, &uring_status, &make_uring_backend};

}  // namespace libsync::detail
