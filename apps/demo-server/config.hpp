// Config: every setting of demo-server, read from a TOML file and from flags.
//
// One table of keys drives both sources: each key is registered once (name,
// type, bounds, help text) and becomes a CLI11 option (`--port`,
// `--http.header_limit`, `--permits.work`, ...) and a key the config file may
// set (top-level keys, or `[section]` keys named `section.key`). A flag given
// on the command line wins over the file.
//
// The file is read by a strict reader for the TOML subset the config needs
// (tables, `key = value` with strings, integers and booleans, comments)
// instead of CLI11's lenient INI reader, so that a typo, an unknown key or a
// value of the wrong type is an error naming its line, rather than a line
// CLI11 skips or an error naming only the option.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <sync/tier.hpp>

namespace demo {

struct Config {
  // Listening and threads.
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;
  unsigned threads = 1;
  std::string tier = "auto";
  std::string backend = "auto";
  std::size_t max_connections = 1024;
  int backlog = 1024;
  unsigned retry_after_s = 1;
  std::uint64_t drain_timeout_ms = 10000;
  bool access_log = false;
  std::uint64_t stats_interval_ms = 1000;
  unsigned stats_history = 120;

  // [http]
  std::uint32_t header_limit = 8192;
  std::uint64_t body_limit = 1 << 20;
  std::uint64_t header_timeout_ms = 10000;
  std::uint64_t body_timeout_ms = 30000;
  std::uint64_t idle_timeout_ms = 60000;
  std::uint64_t send_timeout_ms = 30000;
  std::uint64_t max_requests = 10000;
  unsigned max_pipeline = 16;

  // [permits]
  std::size_t permits_work = 8;
  std::size_t permits_events = 64;

  // [work]
  std::uint64_t work_queue_timeout_ms = 1000;
  std::uint64_t work_max_ms = 10000;
  std::size_t work_max_cost = 8;
  std::uint64_t work_large_wait_ms = 200;

  // [events]
  std::uint64_t events_timeout_ms = 25000;
  std::uint64_t events_max_timeout_ms = 60000;

  // [admin]
  std::string admin_token;
  std::string admin_token_file;

  libsync::LoopOptions loop_options() const;
};

// What parse_command_line decided.
struct ParseOutcome {
  enum class Action { run, exit } action = Action::run;
  int exit_code = 0;
};

// Fills `cfg` from argv (and the file named by --config). On --help, or on an
// error (printed to stderr, naming the config line where there is one),
// returns Action::exit with the code to exit with.
ParseOutcome parse_command_line(int argc, char** argv, Config& cfg);

inline std::chrono::milliseconds ms(std::uint64_t v) {
  return std::chrono::milliseconds(v);
}

}  // namespace demo
