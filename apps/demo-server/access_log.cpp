// AccessLog: formatting and buffered writing of the per-request lines.
#include "access_log.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "common/json_writer.hpp"

namespace demo {

void AccessLog::record(const AccessRecord& r) {
  if (!enabled_) return;
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  // Appended to the buffer in place. The fields a client controls (target,
  // method) may hold any byte: escaping every byte from 0x7f up keeps each
  // line ASCII and valid JSON.
  apps::JsonWriter j(buf_, apps::JsonWriter::Layout::compact, apps::JsonWriter::Escape::non_ascii);
  j.begin_object();
  j.field("ts", std::string_view(ts)).field("worker", r.worker).field("remote", r.remote);
  j.field("method", r.method).field("target", r.target).field("route", r.route);
  j.field("status", r.status).field("bytes", r.bytes).field("duration_us", r.duration_us);
  j.end_object();
  j.finish();
  if (buf_.size() >= 16384) flush();
}

void AccessLog::flush() {
  if (buf_.empty()) return;
  if (out_) out_->write(buf_);
  buf_.clear();
}

namespace {
// What a slow reader may leave unread before lines are dropped.
constexpr std::size_t kPendingBound = std::size_t{1} << 20;
}  // namespace

LogOutput::LogOutput() {
  std::lock_guard lk(mu_);
  open_locked();
}

LogOutput::~LogOutput() {
  std::lock_guard lk(mu_);
  write_locked();
  if (own_fd_) ::close(fd_);
}

void LogOutput::reopen() {
  std::lock_guard lk(mu_);
  write_locked();
  if (own_fd_) ::close(fd_);
  open_locked();
}

// A pipe, FIFO or terminal is opened again through /proc, which gives this
// process its own open file description: O_NONBLOCK on it leaves the
// shared stdout of the parent untouched. A socket takes MSG_DONTWAIT per
// call; a regular file does not block on a reader, so it is written as is.
void LogOutput::open_locked() {
  fd_ = STDOUT_FILENO;
  own_fd_ = socket_ = guarded_ = false;
  struct stat st {};
  if (::fstat(STDOUT_FILENO, &st) != 0) return;
  if (S_ISSOCK(st.st_mode)) {
    socket_ = true;
  } else if (!S_ISREG(st.st_mode)) {
    const int fd = ::open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0)
      fd_ = fd, own_fd_ = true;
    else
      guarded_ = true;  // e.g. a FIFO's reader went away: see write_locked
  }
}

void LogOutput::write(std::string_view lines) {
  std::lock_guard lk(mu_);
  // Whole lines only, while they fit under the bound; the rest are dropped.
  std::size_t take = 0;
  while (take < lines.size()) {
    const std::size_t end = lines.find('\n', take);
    const std::size_t next = end == std::string_view::npos ? lines.size() : end + 1;
    if (pending_.size() + next > kPendingBound) break;
    take = next;
  }
  if (take < lines.size()) {
    const auto rest = lines.substr(take);
    dropped_.fetch_add(static_cast<std::uint64_t>(std::count(rest.begin(), rest.end(), '\n')),
                       std::memory_order_relaxed);
  }
  pending_.append(lines.substr(0, take));
  write_locked();
}

void LogOutput::write_locked() {
  std::size_t off = 0;
  while (off < pending_.size()) {
    const char* p = pending_.data() + off;
    std::size_t n = pending_.size() - off;
    if (guarded_) {
      // A blocking descriptor: write only what poll says fits at once (a
      // pipe reports POLLOUT with at least PIPE_BUF bytes free).
      pollfd pf{fd_, POLLOUT, 0};
      if (::poll(&pf, 1, 0) != 1 || !(pf.revents & POLLOUT)) break;
      n = std::min<std::size_t>(n, PIPE_BUF);
    }
    const ssize_t w = socket_ ? ::send(fd_, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) : ::write(fd_, p, n);
    if (w > 0) {
      off += static_cast<std::size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;  // the reader is slow: keep the rest
    // stdout is gone: what is queued can never be written.
    dropped_.fetch_add(static_cast<std::uint64_t>(std::count(
                           pending_.begin() + static_cast<std::ptrdiff_t>(off), pending_.end(), '\n')),
                       std::memory_order_relaxed);
    off = pending_.size();
  }
  pending_.erase(0, off);
}

}  // namespace demo
