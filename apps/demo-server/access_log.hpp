// AccessLog: one structured (JSON) line per request, on stdout.
//
// Off by default. Each worker has its own log and buffers lines, writing
// them when the buffer fills and on each sweep (every 100 ms), so the loop
// does not make a blocking write per request and lines from different
// workers never interleave mid-line (each write is whole lines).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace demo {

struct AccessRecord {
  unsigned worker = 0;
  std::string_view remote;
  std::string_view method;
  std::string_view target;
  unsigned status = 0;
  std::uint64_t bytes = 0;        // response bytes
  std::uint64_t duration_us = 0;  // request parsed -> response ready
  const char* route = "";
};

class AccessLog {
 public:
  void enable(bool on) noexcept { enabled_ = on; }
  bool enabled() const noexcept { return enabled_; }
  void record(const AccessRecord& r);
  void flush();
  ~AccessLog() { flush(); }

 private:
  bool enabled_ = false;
  std::string buf_;
};

}  // namespace demo
