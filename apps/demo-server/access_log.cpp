// AccessLog: formatting and buffered writing of the per-request lines.
#include "access_log.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace demo {
namespace {

// JSON string escaping for the fields a client controls (target, method).
void append_escaped(std::string& out, std::string_view s) {
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
}

}  // namespace

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
  buf_ += "{\"ts\":\"";
  buf_ += ts;
  buf_ += "\",\"worker\":";
  buf_ += std::to_string(r.worker);
  buf_ += ",\"remote\":\"";
  append_escaped(buf_, r.remote);
  buf_ += "\",\"method\":\"";
  append_escaped(buf_, r.method);
  buf_ += "\",\"target\":\"";
  append_escaped(buf_, r.target);
  buf_ += "\",\"route\":\"";
  buf_ += r.route;
  buf_ += "\",\"status\":";
  buf_ += std::to_string(r.status);
  buf_ += ",\"bytes\":";
  buf_ += std::to_string(r.bytes);
  buf_ += ",\"duration_us\":";
  buf_ += std::to_string(r.duration_us);
  buf_ += "}\n";
  if (buf_.size() >= 16384) flush();
}

void AccessLog::flush() {
  std::size_t off = 0;
  while (off < buf_.size()) {
    ssize_t n = ::write(STDOUT_FILENO, buf_.data() + off, buf_.size() - off);
    if (n <= 0) break;  // stdout gone: drop the lines rather than stall the loop
    off += static_cast<std::size_t>(n);
  }
  buf_.clear();
}

}  // namespace demo
