#include "linux/uring_backend.hpp"

#include "linux/futex.hpp"
#include "linux/uring_compat.hpp"
#include "loop_counters.hpp"

#include <sync/capabilities.hpp>

#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string_view>
#include <cstring>
#include <stdexcept>
#include <string>

namespace libsync::detail {
namespace {

constexpr std::uint64_t kTagOp = 0;
constexpr std::uint64_t kTagFutex = 1;
constexpr std::uint64_t kTagIgnore = 2;
constexpr std::uint64_t kTagEventfd = 3;
constexpr std::uint64_t kTagDoorbell = 4;
constexpr std::uint64_t kTagMultishotAccept = 5;
// An Acceptor holding this many unclaimed connections stops accepting, so a
// server that stops asking (backpressure) leaves the rest in the kernel's
// listen backlog.
constexpr unsigned kMultishotHighWater = 4;
constexpr std::uint64_t kTagMask = 7;

std::uint64_t tagged(const void* p, std::uint64_t tag) {
  return reinterpret_cast<std::uint64_t>(p) | tag;
}

}  // namespace

UringBackend::UringBackend(Loop& loop, unsigned entries, bool futex_tier) : loop_(loop) {
  const unsigned attempts[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
      IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
      0,
  };
  // SYNC_URING_SETUP=coop|plain starts further down the list (for comparing
  // ring modes in syncbench); the default takes the first the kernel accepts.
  std::size_t first = 0;
  if (const char* v = std::getenv("SYNC_URING_SETUP")) {
    std::string_view mode(v);
    if (mode == "coop") first = 1;
    else if (mode == "plain") first = 2;
    else if (mode != "defer" && !mode.empty())
      throw std::runtime_error("libsync: SYNC_URING_SETUP=" + std::string(mode) + " is not defer, coop or plain");
  }
  int ret = -EINVAL;
  for (std::size_t i = first; i < std::size(attempts); ++i) {
    unsigned flags = attempts[i];
    io_uring_params p{};
    p.flags = flags;
    ret = io_uring_queue_init_params(entries, &ring_, &p);
    if (ret == 0) {
      setup_flags_ = flags;
      enabled_ = !(flags & IORING_SETUP_R_DISABLED);
      break;
    }
  }
  if (ret != 0) throw std::runtime_error(std::string("libsync: io_uring_queue_init: ") + std::strerror(-ret));
  // Room for many waits in the kernel at once, so arming and retiring them
  // does not allocate in the steady state.
  slots_.reserve(256);
  free_slots_.reserve(256);
  if (!futex_tier) {
    efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd_ < 0) {
      io_uring_queue_exit(&ring_);
      throw std::runtime_error(std::string("libsync: eventfd: ") + std::strerror(errno));
    }
  }
}

UringBackend::~UringBackend() {
  // Tasks were torn down first, so nothing refers to user memory any more;
  // the doorbell and eventfd read die with the ring.
  io_uring_queue_exit(&ring_);
  if (efd_ >= 0) ::close(efd_);
}

void UringBackend::enable_if_needed() {
  if (enabled_) return;
  // liburing 2.3 declares io_uring_enable_rings() but does not export it.
  long r = syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
  if (r < 0) throw std::runtime_error(std::string("libsync: IORING_REGISTER_ENABLE_RINGS: ") + std::strerror(errno));
  enabled_ = true;
}

io_uring_sqe* UringBackend::get_sqe() {
  enable_if_needed();
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    // The submission queue is full: hand it to the kernel, which frees it.
    bump(loop_.counters().syscalls);
    io_uring_submit(&ring_);
    lazy_sqes_ = 0;
    sqe = io_uring_get_sqe(&ring_);
    if (!sqe) throw std::runtime_error("libsync: io_uring submission queue stays full");
  }
  return sqe;
}

bool UringBackend::start(IoOp& op) {
  io_uring_sqe* sqe = get_sqe();
  switch (op.kind) {
    case IoOp::Kind::accept:
      io_uring_prep_accept(sqe, op.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      break;
    case IoOp::Kind::recv:
      io_uring_prep_recv(sqe, op.fd, op.buf, op.len, op.flags);
      break;
    case IoOp::Kind::send:
      io_uring_prep_send(sqe, op.fd, op.buf, op.len, op.flags | MSG_NOSIGNAL);
      break;
    case IoOp::Kind::connect:
      io_uring_prep_connect(sqe, op.fd, op.addr, op.addrlen);
      break;
    case IoOp::Kind::close:
      io_uring_prep_close(sqe, op.fd);
      break;
    case IoOp::Kind::read:
      // Offset -1: the descriptor's current position (pipes, eventfd, signalfd).
      io_uring_prep_read(sqe, op.fd, op.buf, static_cast<unsigned>(op.len), static_cast<__u64>(-1));
      break;
    case IoOp::Kind::write:
      io_uring_prep_write(sqe, op.fd, op.buf, static_cast<unsigned>(op.len), static_cast<__u64>(-1));
      break;
  }
  io_uring_sqe_set_data64(sqe, tagged(&op, kTagOp));
  op.in_flight = true;
  ++ops_in_flight_;
  bump(loop_.counters().io_submitted);
  return true;
}

void UringBackend::cancel(IoOp& op) noexcept {
  if (!op.in_flight) return;
  try {
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, tagged(&op, kTagOp), 0);
    io_uring_sqe_set_data64(sqe, kTagIgnore);
  } catch (...) {
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
  return ops_in_flight_ != 0 || futex_waits_in_kernel_ != 0 || io_uring_sq_ready(&ring_) != 0;
}

void UringBackend::wait(std::optional<std::chrono::nanoseconds> timeout) {
  enable_if_needed();
  if (efd_ >= 0 && !efd_armed_) arm_eventfd_read();
  bump(loop_.counters().syscalls);
  if (timeout && timeout->count() == 0) {
    io_uring_submit_and_get_events(&ring_);
  } else if (timeout) {
    __kernel_timespec ts{};
    ts.tv_sec = timeout->count() / 1000000000;
    ts.tv_nsec = timeout->count() % 1000000000;
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  } else {
    io_uring_submit_and_wait(&ring_, 1);
  }
  lazy_sqes_ = 0;
  reap();
}

// Every submission goes through wait(), get_sqe()'s overflow flush or this:
// each resets lazy_sqes_, because after a submit nothing queued is lazy.
void UringBackend::submit_wait_reap() {
  bump(loop_.counters().syscalls);
  io_uring_submit_and_wait(&ring_, 1);
  lazy_sqes_ = 0;
  reap();
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
      bump(loop_.counters().io_completed);
      if (op != draining_) loop_.schedule(op->handle);
      break;
    }
    case kTagFutex: {
      auto slot = static_cast<std::uint32_t>(data >> 3);
      WaiterNode* n = slots_[slot];
      slots_[slot] = nullptr;
      free_slots_.push_back(slot);
      --futex_waits_in_kernel_;
      if (!n) break;  // an orphan, retired
      n->futex_slot = WaiterNode::kNoSlot;
      if (n->word.load(std::memory_order_acquire) == kWordWoken) {
        bump(loop_.counters().futex_wait_cqes);
        loop_.schedule(n->handle);
        break;
      }
      // Still kWordArmed: a wake meant for a waiter whose memory this word
      // reused, or the SQE raced a wake that has not landed yet. Either way,
      // sleep again.
      if (res == 0 || res == -EAGAIN || res == -EINTR || res == -ECANCELED) {
        arm_futex_wait(*n);
        break;
      }
      std::fprintf(stderr, "libsync: io_uring FUTEX_WAIT failed: %s\n", std::strerror(-res));
      std::abort();
    }
    case kTagEventfd:
      efd_armed_ = false;
      bump(loop_.counters().notifier_reads);
      break;
    case kTagDoorbell:
      doorbell_armed_ = false;
      break;
    case kTagMultishotAccept:
      on_multishot_accept(*static_cast<MultishotAccept*>(ptr), res, flags & IORING_CQE_F_MORE);
      break;
    default:
      break;
  }
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

void UringBackend::arm_futex_wait(WaiterNode& n) {
  io_uring_sqe* sqe = get_sqe();
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = &n;
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(&n);
  }
  linux_detail::prep_futex_wait(sqe, reinterpret_cast<const std::uint32_t*>(&n.word), kWordArmed,
                                linux_detail::futex_mode().futex2_flags);
  io_uring_sqe_set_data64(sqe, (static_cast<std::uint64_t>(slot) << 3) | kTagFutex);
  n.futex_slot = slot;
  ++futex_waits_in_kernel_;
  bump(loop_.counters().futex_waits_armed);
}

void UringBackend::queue_futex_wake(const std::atomic<std::uint32_t>* word) {
  io_uring_sqe* sqe = get_sqe();
  linux_detail::prep_futex_wake(sqe, reinterpret_cast<const std::uint32_t*>(word), 0x7fffffff,
                                linux_detail::futex_mode().futex2_flags);
  io_uring_sqe_set_data64(sqe, kTagIgnore);
  // Its result (how many woke) changes nothing here; a completion would only
  // cost this loop an extra trip round the CQ.
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  bump(loop_.counters().futex_wake_sqes);
}

void UringBackend::orphan_futex_wait(WaiterNode& n) noexcept {
  if (n.futex_slot == WaiterNode::kNoSlot) return;
  slots_[n.futex_slot] = nullptr;
  n.futex_slot = WaiterNode::kNoSlot;
  try {
    io_uring_sqe* sqe = get_sqe();
    linux_detail::prep_futex_wake(sqe, reinterpret_cast<const std::uint32_t*>(&n.word), 0x7fffffff,
                                  linux_detail::futex_mode().futex2_flags);
    io_uring_sqe_set_data64(sqe, kTagIgnore);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    ++lazy_sqes_;
  } catch (...) {
    // No SQE: the orphan stays in the kernel until the ring closes. Its slot
    // is already detached, and node wakes wake every waiter on a word, so it
    // cannot take a wake from anyone.
  }
}

void UringBackend::arm_doorbell(std::atomic<std::uint32_t>& word) {
  if (doorbell_armed_) return;
  io_uring_sqe* sqe = get_sqe();
  linux_detail::prep_futex_wait(sqe, reinterpret_cast<const std::uint32_t*>(&word), 0,
                                linux_detail::futex_mode().futex2_flags);
  io_uring_sqe_set_data64(sqe, tagged(&word, kTagDoorbell));
  doorbell_armed_ = true;
}

bool UringBackend::start_multishot_accept(MultishotAccept& ms) {
  if (!capabilities().io_uring.multishot_accept) return false;
  if (ms.armed) return true;
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_multishot_accept(sqe, ms.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, tagged(&ms, kTagMultishotAccept));
  ms.armed = true;
  ++ops_in_flight_;
  bump(loop_.counters().io_submitted);
  return true;
}

void UringBackend::on_multishot_accept(MultishotAccept& ms, int res, bool more) {
  bump(loop_.counters().io_completed);
  if (!more) {
    ms.armed = false;
    --ops_in_flight_;
  }
  if (ms.stopping) {
    if (res >= 0) ::close(res);
    return;
  }
  if (res == -ECANCELED && !more) {
    // We stopped it at the high-water mark. If a task has since drained the
    // queue and is waiting, accepting must resume now: nothing else will.
    if (ms.waiter && ms.ready.empty()) start_multishot_accept(ms);
    return;
  }
  if (ms.waiter) {
    *ms.waiter_result = res;
    auto h = ms.waiter;
    ms.waiter = {};
    loop_.schedule(h);
  } else {
    // A burst can deliver the whole listen backlog before the high-water
    // cancel lands, so the queue grows rather than dropping a connection.
    ms.ready.push_back(res);
    if (ms.ready.size() >= kMultishotHighWater && ms.armed) cancel_multishot(ms);
  }
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

std::unique_ptr<Backend> make_uring_backend(Loop& loop, unsigned entries, bool futex_tier) {
  return std::make_unique<UringBackend>(loop, entries, futex_tier);
}

}  // namespace libsync::detail
