// Config: the key table, the CLI11 options made from it, and the config
// file reader (toml++) that checks the file against the same table.
#include "config.hpp"

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string_view>
#include <sync/tier.hpp>
#include <vector>

#include "listener.hpp"

namespace demo {
namespace {

// One settable key: what the file reader needs to check a value before CLI11
// converts it (CLI11 then cannot fail on a value the reader let through).
struct KeySpec {
  enum class Type { integer, boolean, string };
  std::string name;
  Type type = Type::integer;
  long long lo = 0, hi = 0;
  std::vector<std::string> choices;  // strings: allowed values, empty = any
};

// A key's flag under the config key's own spelling (`--admin.token_file`,
// which --print-config and the config file use) and kebab-case like
// syncbench's flags (`--admin.token-file`).
std::string flag_names(const std::string& name) {
  std::string kebab = name;
  for (char& c : kebab)
    if (c == '_') c = '-';
  return kebab == name ? "--" + name : "--" + name + ",--" + kebab;
}

class KeyTable {
 public:
  explicit KeyTable(CLI::App& app) : app_(app) {}

  template <class T>
  void integer(const std::string& name, T& field, long long lo, long long hi, const std::string& help) {
    app_.add_option(flag_names(name), field, help)
        ->check(CLI::Range(lo, hi))
        ->capture_default_str()
        ->group(group_of(name));
    specs_.push_back({name, KeySpec::Type::integer, lo, hi, {}});
  }
  void boolean(const std::string& name, bool& field, const std::string& help) {
    app_.add_flag(flag_names(name), field, help)->capture_default_str()->group(group_of(name));
    specs_.push_back({name, KeySpec::Type::boolean, 0, 0, {}});
  }
  void string(const std::string& name, std::string& field, const std::string& help,
              std::vector<std::string> choices = {}) {
    auto* opt = app_.add_option(flag_names(name), field, help)->capture_default_str()->group(group_of(name));
    if (!choices.empty()) opt->check(CLI::IsMember(choices));
    specs_.push_back({name, KeySpec::Type::string, 0, 0, std::move(choices)});
  }

  const KeySpec* find(std::string_view name) const {
    for (const auto& s : specs_)
      if (s.name == name) return &s;
    return nullptr;
  }

  // The registered key nearest to `name` by edit distance, if it is close
  // enough to be a likely typo.
  std::string suggest(std::string_view name) const {
    std::string best;
    std::size_t best_d = 3;
    for (const auto& s : specs_) {
      std::size_t d = edit_distance(name, s.name);
      if (d < best_d) best_d = d, best = s.name;
    }
    return best;
  }

 private:
  static std::string group_of(const std::string& name) {
    const std::string section = name.substr(0, name.find('.'));
    if (section == name) return "Server (top-level keys)";
    if (section == "http") return "[http] HTTP limits and timeouts";
    if (section == "permits") return "[permits] Semaphore sizes";
    if (section == "work") return "[work] The /work route";
    if (section == "events") return "[events] The /events long-poll";
    if (section == "admin") return "[admin] The admin API";
    return "[" + section + "]";
  }
  static std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diag = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        std::size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diag = up;
      }
    }
    return row[b.size()];
  }

  CLI::App& app_;
  std::vector<KeySpec> specs_;
};

// Reads the config file with toml++ (a complete TOML 1.0 parser), then
// checks every value against the key table: unknown keys (with a
// suggestion), wrong types, values out of range or not among the choices are
// errors naming the line. Each `[table]` key becomes the dotted option name
// `table.key`; dotted keys, quoted keys and inline tables name the same keys,
// so `--print-config` output reads back.
class StrictTomlReader final : public CLI::ConfigBase {
 public:
  explicit StrictTomlReader(const KeyTable& keys) : keys_(keys) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& in) const override {
    toml::table root;
    try {
      root = toml::parse(in);
    } catch (const toml::parse_error& e) {
      throw CLI::ConfigError("line " + std::to_string(e.source().begin.line) + ": " +
                             std::string(e.description()));
    }
    std::vector<CLI::ConfigItem> items;
    collect(root, "", items);
    return items;
  }

 private:
  void collect(const toml::table& t, const std::string& prefix, std::vector<CLI::ConfigItem>& items) const {
    for (const auto& [k, node] : t) {
      const std::string full = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
      const auto line = node.source().begin.line;
      auto fail = [&](const std::string& msg) {
        return CLI::ConfigError("line " + std::to_string(line) + ": " + msg);
      };
      if (const toml::table* sub = node.as_table()) {
        if (keys_.find(full)) throw fail(full + ": expects a value, got a table");
        collect(*sub, full, items);
        continue;
      }
      const KeySpec* spec = keys_.find(full);
      if (!spec) {
        std::string msg = "unknown key '" + full + "'";
        std::string hint = keys_.suggest(full);
        if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
        throw fail(msg + "; see --help for the keys");
      }
      std::string value;
      std::string err = check_value(node, *spec, value);
      if (!err.empty()) throw fail(full + ": " + err);
      CLI::ConfigItem item;
      item.name = full;
      item.inputs = {value};
      items.push_back(std::move(item));
    }
  }

  // The value as the string CLI11 will convert, or an error message.
  static std::string check_value(const toml::node& node, const KeySpec& spec, std::string& out) {
    switch (spec.type) {
      case KeySpec::Type::integer: {
        const auto v = node.value_exact<std::int64_t>();
        if (!v) return std::string("expects an integer, got ") + kind(node);
        if (*v < spec.lo || *v > spec.hi)
          return std::to_string(*v) + " is out of range [" + std::to_string(spec.lo) + ", " +
                 std::to_string(spec.hi) + "]";
        out = std::to_string(*v);
        return {};
      }
      case KeySpec::Type::boolean: {
        const auto v = node.value_exact<bool>();
        if (!v) return std::string("expects true or false, got ") + kind(node);
        out = *v ? "true" : "false";
        return {};
      }
      case KeySpec::Type::string: {
        const auto v = node.value_exact<std::string>();
        if (!v) return std::string("expects a string, got ") + kind(node);
        if (!spec.choices.empty() &&
            std::find(spec.choices.begin(), spec.choices.end(), *v) == spec.choices.end())
          return "'" + *v + "' is not one of " + join(spec.choices);
        out = *v;
        return {};
      }
    }
    return "?";
  }
  static const char* kind(const toml::node& n) {
    switch (n.type()) {
      case toml::node_type::string:
        return "a string";
      case toml::node_type::integer:
        return "an integer";
      case toml::node_type::floating_point:
        return "a float";
      case toml::node_type::boolean:
        return "a boolean";
      case toml::node_type::array:
        return "an array";
      case toml::node_type::table:
        return "a table";
      default:
        return "a date or time";
    }
  }
  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + ("\"" + x + "\"");
    return s;
  }

  const KeyTable& keys_;
};

void register_keys(KeyTable& k, Config& c) {
  constexpr long long kMaxMs = 24LL * 3600 * 1000;
  k.string("address", c.address, "Address to listen on (numeric IPv4 or IPv6)");
  k.integer("port", c.port, 0, 65535, "TCP port; 0 picks a free one (printed on stdout)");
  k.integer("threads", c.threads, 1, 256,
            "Worker threads, one event loop and one SO_REUSEPORT listener each");
  k.string("tier", c.tier, "Wait tier for the loops: auto, generic, uring-futex",
           {"auto", "generic", "uring-futex", "iocp"});
  k.string("backend", c.backend, "Loop backend: auto, epoll, uring", {"auto", "epoll", "uring", "iocp"});
  k.integer("max_connections", c.max_connections, 1, 1000000,
            "Size of the connection semaphore: open connections beyond it wait in the listen backlog");
  k.integer("backlog", c.backlog, 1, 65535, "listen(2) backlog per listener");
  k.integer("retry_after_s", c.retry_after_s, 0, 3600, "Retry-After value (seconds) sent with 503 answers");
  k.integer("drain_timeout_ms", c.drain_timeout_ms, 0, kMaxMs,
            "On SIGTERM/SIGINT: how long in-flight requests may take before connections are cut");
  k.boolean("access_log", c.access_log, "Write one JSON line per request to stdout");
  k.integer("stats_interval_ms", c.stats_interval_ms, 10, 60000,
            "Period of the stats tick (dashboard history, /events long-poll wake-ups)");
  k.integer("stats_history", c.stats_history, 2, 3600, "Stats ticks kept for /stats and the dashboard");

  k.integer("http.header_limit", c.header_limit, 512, 1 << 20,
            "Largest request header in bytes (431 beyond)");
  k.integer("http.body_limit", c.body_limit, 0, 1LL << 32, "Largest request body in bytes (413 beyond)");
  k.integer("http.header_timeout_ms", c.header_timeout_ms, 1, kMaxMs,
            "Time allowed to receive a whole request header from its first byte (408 beyond)");
  k.integer("http.body_timeout_ms", c.body_timeout_ms, 1, kMaxMs, "Time allowed to receive a request body");
  k.integer("http.idle_timeout_ms", c.idle_timeout_ms, 1, kMaxMs,
            "Keep-alive: how long a connection may wait for its next request");
  k.integer("http.send_timeout_ms", c.send_timeout_ms, 1, kMaxMs,
            "Time allowed to hand a response to a client that is not reading");
  k.integer("http.max_requests", c.max_requests, 1, 1LL << 40,
            "Requests served on one connection before it is closed");
  k.integer("http.max_pipeline", c.max_pipeline, 1, 1024,
            "Pipelined responses held back and written together at most");

  k.integer("permits.work", c.permits_work, 0, 1000000, "Permits of the /work route semaphore");
  k.integer("permits.events", c.permits_events, 0, 1000000, "Concurrent /events long-polls");

  k.integer("work.queue_timeout_ms", c.work_queue_timeout_ms, 0, kMaxMs,
            "How long /work may queue for its permits before it answers 503");
  k.integer("work.max_ms", c.work_max_ms, 0, kMaxMs, "Largest ms= accepted by /work (400 beyond)");
  k.integer("work.max_cost", c.work_max_cost, 1, 1000000,
            "Largest cost= (permits per request) accepted by /work");
  k.integer("work.large_wait_ms", c.work_large_wait_ms, 0, kMaxMs,
            "How long a /work request taking more than one permit may queue (at the head of the FIFO "
            "it holds back every request behind it), at most work.queue_timeout_ms; then 503");

  k.integer("events.timeout_ms", c.events_timeout_ms, 1, kMaxMs, "Default /events long-poll timeout");
  k.integer("events.max_timeout_ms", c.events_max_timeout_ms, 1, kMaxMs,
            "Largest timeout_ms= accepted by /events");

  k.string("admin.token", c.admin_token,
           "Bearer token for POST /admin/permits; empty disables the admin API");
  k.string("admin.token_file", c.admin_token_file,
           "Read the admin token from this file instead (e.g. a systemd credential)");
}

}  // namespace

libsync::LoopOptions Config::loop_options() const {
  libsync::LoopOptions o;
  o.tier = libsync::parse_tier(tier).value_or(libsync::Tier::automatic);
  o.backend = libsync::parse_backend(backend).value_or(libsync::BackendKind::automatic);
  return o;
}

ParseOutcome parse_command_line(int argc, char** argv, Config& cfg) {
  CLI::App app{
      "demo-server: an HTTP/1.1 server whose handlers are gated by libsync semaphores on one event loop "
      "per thread.\nEvery key of the config file is also a flag: [section] key -> --section.key.",
      "demo-server"};
  app.option_defaults()->always_capture_default();
  KeyTable keys(app);
  register_keys(keys, cfg);
  app.set_config("--config", "", "Read settings from this TOML file (flags override it)")->group("Config");
  bool print_config = false;
  app.add_flag("--print-config", print_config, "Print the effective settings as TOML and exit")
      ->group("Config")
      ->configurable(false);
  app.set_version_flag("--version", std::string("demo-server ") + DEMO_SERVER_VERSION)->group("Config");
  app.config_formatter(std::make_shared<StrictTomlReader>(keys));
  app.allow_config_extras(CLI::config_extras_mode::error);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return {ParseOutcome::Action::exit, app.exit(e)};
  } catch (const CLI::CallForVersion& e) {
    return {ParseOutcome::Action::exit, app.exit(e)};
  } catch (const CLI::ConfigError& e) {
    // Errors from the file reader carry "line N: ..."; say which file.
    std::string file = app.get_config_ptr() && app.get_config_ptr()->count()
                           ? app.get_config_ptr()->as<std::string>()
                           : std::string("config");
    std::cerr << "demo-server: " << file << ": " << e.what() << "\n";
    return {ParseOutcome::Action::exit, 2};
  } catch (const CLI::ParseError& e) {
    std::cerr << "demo-server: " << e.what() << "\nRun with --help for the options.\n";
    return {ParseOutcome::Action::exit, 2};
  }

  if (!cfg.admin_token_file.empty()) {
    std::ifstream f(cfg.admin_token_file);
    if (!f) {
      std::cerr << "demo-server: cannot read admin.token_file '" << cfg.admin_token_file << "'\n";
      return {ParseOutcome::Action::exit, 2};
    }
    std::getline(f, cfg.admin_token);
    while (!cfg.admin_token.empty() && std::isspace(static_cast<unsigned char>(cfg.admin_token.back())))
      cfg.admin_token.pop_back();
  }
  // What would otherwise fail only once start-up has begun (the listeners
  // bound, the threads started) is refused here, with nothing started.
  if (!is_numeric_address(cfg.address)) {
    std::cerr << "demo-server: address '" << cfg.address
              << "' is not a numeric IPv4 or IPv6 address (names are not looked up)\n";
    return {ParseOutcome::Action::exit, 2};
  }
  try {
    (void)libsync::select_tier(cfg.loop_options());
  } catch (const libsync::TierUnavailable& e) {
    std::cerr << "demo-server: tier '" << cfg.tier << "' on backend '" << cfg.backend
              << "' cannot run here: " << e.what() << "\n";
    return {ParseOutcome::Action::exit, 2};
  }
  // Settings bounded by another setting are clamped to it, and the option
  // is told, so --print-config shows the value in effect.
  auto clamp = [&app](const char* flag, std::uint64_t& v, std::uint64_t bound) {
    if (v <= bound) return;
    v = bound;
    CLI::Option* opt = app.get_option(flag);
    opt->clear();
    opt->add_result(std::to_string(v));
  };
  clamp("--events.timeout_ms", cfg.events_timeout_ms, cfg.events_max_timeout_ms);
  clamp("--work.large_wait_ms", cfg.work_large_wait_ms, cfg.work_queue_timeout_ms);
  if (print_config) {
    // The admin token is a secret: say that it is set, not what it is.
    std::istringstream lines(app.config_to_str(true, false));
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("admin.token=", 0) == 0 && !cfg.admin_token.empty())
        line = "# admin.token is set (not printed)";
      std::cout << line << "\n";
    }
    return {ParseOutcome::Action::exit, 0};
  }
  return {};
}

}  // namespace demo
