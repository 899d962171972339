// Machine and build facts for the report headers.
#include "environment.hpp"

#include <chrono>
#include <ctime>
#include <fstream>
#include <sync/capabilities.hpp>
#include <sync/tier.hpp>
#include <thread>

namespace syncbench {

const std::string& Environment::get(const std::string& key) const {
  static const std::string empty;
  for (const auto& [k, v] : fields)
    if (k == key) return v;
  return empty;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    // x86 says "model name", arm64 kernels often only "CPU part"; take the first.
    for (const char* key : {"model name", "Processor", "cpu model"}) {
      if (line.rfind(key, 0) != 0) continue;
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string v = line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      if (!v.empty()) return v;
    }
  }
  return "unknown";
}

namespace {

std::string utc_now() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
#if defined(_WIN32)
  gmtime_s(&tm, &t);
#else
  gmtime_r(&t, &tm);
#endif
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Environment collect_environment(std::vector<std::pair<std::string, std::string>> extra) {
  const libsync::Capabilities& caps = libsync::capabilities();
  const libsync::TierReport& tr = libsync::tier_report();
  const BuildInfo& b = build_info();
  Environment env;
  auto add = [&](std::string k, std::string v) { env.fields.emplace_back(std::move(k), std::move(v)); };
  add("os", caps.kernel.os);
  add("kernel", caps.kernel.release);
  add("architecture", caps.kernel.architecture);
  add("cpu_model", cpu_model());
  add("cpus", std::to_string(std::thread::hardware_concurrency()));
  add("auto_tier", std::string(libsync::to_string(tr.auto_tier)));
  add("auto_backend", std::string(libsync::to_string(tr.auto_backend)));
  add("futex_hash_mitigation", tr.futex_hash_mitigation);
  add("liburing_build", caps.io_uring.liburing_build_version);
  add("liburing_runtime", caps.io_uring.liburing_runtime_version);
  add("libsync_version", b.version);
  add("git_commit", std::string(b.git_commit) + (b.git_dirty[0] ? std::string(" ") + b.git_dirty : ""));
  add("build_type", b.build_type);
  add("compiler", b.compiler);
  if (b.sanitizers[0]) add("sanitizers", b.sanitizers);
  add("timestamp_utc", utc_now());
  for (auto& kv : extra) env.fields.push_back(std::move(kv));
  return env;
}

}  // namespace syncbench
