// `syncbench probe`: prints libsync::capabilities() and libsync::tier_report().
//
// Everything printed comes from the library's own probe, so this command and
// the selector can never disagree about what the host supports. The JSON keys
// are a documented contract (README.md next to this file); keys may be added,
// never renamed.
#include "probe.hpp"

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <sync/capabilities.hpp>
#include <sync/tier.hpp>

#include "common/json_writer.hpp"
#include "environment.hpp"
#include "exit_codes.hpp"
#include "format.hpp"
#include "names.hpp"
#include "table.hpp"

namespace syncbench {
namespace {

struct ProbeOptions {
  bool json = false;
  std::string tier;  // empty: report everything
};

std::string yes_no(bool b) {
  return b ? "yes" : "no";
}

std::string memlock_text(std::uint64_t v) {
  if (v == std::numeric_limits<std::uint64_t>::max()) return "unlimited";
  if (v >= (1u << 20) && v % (1u << 20) == 0) return std::to_string(v >> 20) + " MiB";
  if (v >= 1024 && v % 1024 == 0) return std::to_string(v >> 10) + " KiB";
  return std::to_string(v) + " B";
}

std::string version_text(const libsync::KernelInfo& k) {
  return std::to_string(k.major) + "." + std::to_string(k.minor) + "." + std::to_string(k.patch);
}

std::string self_test_text(const libsync::SelfTestResult& st) {
  if (!st.ran) return "not run";
  std::ostringstream s;
  s << (st.passed ? "passed" : "FAILED") << ": " << st.wakes << " wakes, " << st.lost << " lost, " << st.late
    << " late; p50 " << format_ns(static_cast<double>(st.p50_ns)) << ", p99 "
    << format_ns(static_cast<double>(st.p99_ns)) << ", max " << format_ns(static_cast<double>(st.max_ns));
  return s.str();
}

// What SYNC_TIER / SYNC_BACKEND would change for a default Loop, if set.
struct EnvOverride {
  std::string tier_var, backend_var;
  std::optional<libsync::Selection> selection;
  std::string error;
};

std::optional<EnvOverride> environment_override() {
  const char* t = std::getenv("SYNC_TIER");
  const char* b = std::getenv("SYNC_BACKEND");
  if ((!t || !*t) && (!b || !*b)) return std::nullopt;
  EnvOverride o;
  o.tier_var = t ? t : "";
  o.backend_var = b ? b : "";
  try {
    o.selection = libsync::select_tier(libsync::LoopOptions{});
  } catch (const libsync::TierUnavailable& e) {
    o.error = e.what();
  }
  return o;
}

// What a default Loop constructed here runs, environment included.
struct Effective {
  std::optional<libsync::Selection> selection;
  std::string error;
};

Effective effective_selection() {
  Effective e;
  try {
    e.selection = libsync::select_tier(libsync::LoopOptions{});
  } catch (const libsync::TierUnavailable& ex) {
    e.error = ex.what();
  }
  return e;
}

// Whether the hazard check says the futex hash mitigation matters here.
std::string mitigation_needed(const libsync::FutexHashHazard& h) {
  switch (h.state) {
    case libsync::FutexHashHazard::State::present:
      return "yes";
    case libsync::FutexHashHazard::State::absent:
    case libsync::FutexHashHazard::State::not_applicable:
      return "no";
    case libsync::FutexHashHazard::State::unknown:
      break;
  }
  return "unknown";
}

std::string hazard_text(const libsync::FutexHashHazard& h) {
  std::string s(libsync::to_string(h.state));
  switch (h.state) {
    case libsync::FutexHashHazard::State::present:
      s += ": this kernel strands a private futex wait armed before the first extra thread";
      break;
    case libsync::FutexHashHazard::State::absent:
      s += ": a private futex wait armed before the first extra thread was still woken";
      break;
    case libsync::FutexHashHazard::State::not_applicable:
      s += ": no private futex hash on this kernel";
      break;
    case libsync::FutexHashHazard::State::unknown:
      s += ": the check could not run";
      break;
  }
  return s + " (checked in a child process in " + format_ns(static_cast<double>(h.cost_us) * 1000.0) + ")";
}

void write_features(apps::JsonWriter& j, std::string_view name, const std::vector<libsync::Feature>& fs) {
  j.key(name).begin_array();
  for (const auto& f : fs)
    j.begin_object()
        .field("name", f.name)
        .field("supported", f.supported)
        .field("detail", f.detail)
        .end_object();
  j.end_array();
}

void write_self_test(apps::JsonWriter& j, const libsync::SelfTestResult& st) {
  j.key("self_test").begin_object();
  j.field("ran", st.ran).field("passed", st.passed);
  j.field("wakes", st.wakes).field("lost", st.lost).field("late", st.late);
  j.field("late_threshold_ns", st.late_threshold_ns);
  j.field("p50_ns", st.p50_ns).field("p99_ns", st.p99_ns).field("max_ns", st.max_ns);
  j.field("detail", st.detail);
  j.end_object();
}

// The status of `t` as the selector sees it; tiers of other platforms are
// not in the report, so ask select_tier() for its refusal text.
libsync::TierStatus status_of(libsync::Tier t) {
  for (const auto& s : libsync::tier_report().tiers)
    if (s.tier == t) return s;
  libsync::TierStatus s;
  s.tier = t;
  s.reason = std::string(libsync::to_string(t)) + " does not exist on this platform; the tiers here are";
  for (libsync::Tier p : libsync::platform_tiers()) s.reason += " " + std::string(libsync::to_string(p));
  return s;
}

// Which tier auto selects, what a default Loop here runs, and what the
// SYNC_TIER / SYNC_BACKEND variables ask for.
void write_selection(apps::JsonWriter& j, const libsync::TierReport& r) {
  j.field("selected_tier", libsync::to_string(r.auto_tier));
  j.field("selected_backend", libsync::to_string(r.auto_backend));
  j.field("selection_reason", r.auto_reason);
  const Effective eff = effective_selection();
  if (eff.selection) {
    j.field("effective_tier", libsync::to_string(eff.selection->tier));
    j.field("effective_backend", libsync::to_string(eff.selection->backend));
    j.field("effective_reason", eff.selection->reason);
  } else {
    j.field("effective_tier", "none").field("effective_backend", "none");
    j.field("effective_reason", eff.error);
  }
  if (auto o = environment_override()) {
    j.key("environment_override").begin_object();
    j.field("SYNC_TIER", o->tier_var).field("SYNC_BACKEND", o->backend_var);
    if (o->selection) {
      j.field("tier", libsync::to_string(o->selection->tier));
      j.field("backend", libsync::to_string(o->selection->backend));
      j.field("reason", o->selection->reason);
    } else {
      j.field("error", o->error);
    }
    j.end_object();
  }
}

void write_system(apps::JsonWriter& j, const libsync::Capabilities& c) {
  j.field("os", c.kernel.os).field("architecture", c.kernel.architecture);
  j.key("kernel").begin_object();
  j.field("os", c.kernel.os).field("release", c.kernel.release).field("version", version_text(c.kernel));
  j.field("major", c.kernel.major).field("minor", c.kernel.minor).field("patch", c.kernel.patch);
  j.end_object();
}

void write_io_uring(apps::JsonWriter& j, const libsync::IoUringInfo& io) {
  j.key("io_uring").begin_object();
  j.field("compiled_in", io.compiled_in).field("setup_ok", io.setup_ok);
  j.field("setup_errno", io.setup_errno).field("setup_error", io.setup_error);
  j.field("disabled_sysctl", io.disabled_sysctl).field("seccomp", io.seccomp);
  j.field("features", io.features);
  write_features(j, "feature_flags", io.feature_flags);
  write_features(j, "setup_flags", io.setup_flags);
  write_features(j, "opcodes", io.opcodes);
  j.field("futex_wait", io.futex_wait)
      .field("futex_wake", io.futex_wake)
      .field("futex_waitv", io.futex_waitv);
  j.field("multishot_accept", io.multishot_accept).field("multishot_recv", io.multishot_recv);
  j.field("provided_buffer_ring", io.provided_buffer_ring).field("send_zc", io.send_zc);
  j.field("link_timeout", io.link_timeout);
  j.field("liburing_build_version", io.liburing_build_version);
  j.field("liburing_runtime_version", io.liburing_runtime_version);
  j.end_object();
}

void write_futex(apps::JsonWriter& j, const libsync::FutexInfo& fx, const libsync::TierReport& r) {
  j.key("futex").begin_object();
  j.field("futex2_wake", fx.futex2_wake)
      .field("futex2_wait", fx.futex2_wait)
      .field("futex2_waitv", fx.futex2_waitv);
  write_features(j, "syscalls", fx.syscalls);
  j.field("private_hash_prctl", fx.private_hash_prctl).field("private_hash_slots", fx.private_hash_slots);
  j.field("private_hash_state", fx.private_hash_state);
  j.field("mitigation", r.futex_hash_mitigation);
  const libsync::FutexHashHazard& hz = libsync::futex_hash_hazard();
  j.field("private_hash_hazard", libsync::to_string(hz.state));
  j.field("private_hash_hazard_detail", hz.detail);
  j.field("private_hash_hazard_check_us", hz.cost_us);
  j.field("mitigation_needed", mitigation_needed(hz));
  j.end_object();
}

void write_limits(apps::JsonWriter& j, const libsync::Capabilities& c) {
  auto memlock = [&](std::uint64_t v) {
    if (v == std::numeric_limits<std::uint64_t>::max()) return j.value("unlimited");
    return j.value(v);
  };
  j.key("limits").begin_object();
  j.key("memlock_soft");
  memlock(c.limits.memlock_soft);
  j.key("memlock_hard");
  memlock(c.limits.memlock_hard);
  j.end_object();
}

void write_windows(apps::JsonWriter& j, const libsync::Capabilities& c) {
  j.key("windows").begin_object();
  j.field("iocp", c.windows.iocp).field("wait_on_address", c.windows.wait_on_address);
  j.field("wait_completion_packet", c.windows.wait_completion_packet);
  j.field("event_wait_path", c.windows.event_wait_path);
  j.end_object();
}

void write_backends_and_tiers(apps::JsonWriter& j, const libsync::TierReport& r) {
  j.key("backends").begin_array();
  for (const auto& b : r.backends)
    j.begin_object()
        .field("name", libsync::to_string(b.backend))
        .field("available", b.available)
        .field("reason", b.reason)
        .end_object();
  j.end_array();

  j.key("tiers").begin_array();
  for (const auto& t : r.tiers) {
    j.begin_object().field("name", libsync::to_string(t.tier)).field("available", t.available);
    j.field("selected", t.tier == r.auto_tier).field("reason", t.reason);
    j.field("selected_as_fallback", t.selected_as_fallback);
    write_self_test(j, t.self_test);
    j.end_object();
  }
  j.end_array();
}

void write_checked_tier(apps::JsonWriter& j, const libsync::TierStatus& checked) {
  j.key("checked_tier").begin_object();
  j.field("name", libsync::to_string(checked.tier)).field("available", checked.available);
  j.field("reason", checked.reason);
  write_self_test(j, checked.self_test);
  j.end_object();
}

void write_json(std::ostream& out, const std::optional<libsync::TierStatus>& checked) {
  const libsync::Capabilities& c = libsync::capabilities();
  const libsync::TierReport& r = libsync::tier_report();
  apps::JsonWriter j(out);
  j.begin_object();
  j.field("syncbench_version", build_info().version);
  write_selection(j, r);
  write_system(j, c);
  write_io_uring(j, c.io_uring);
  write_futex(j, c.futex, r);
  write_limits(j, c);
  write_windows(j, c);
  j.field("epoll", c.epoll);
  write_backends_and_tiers(j, r);
  if (checked) write_checked_tier(j, *checked);
  j.end_object();
  j.finish();
}

void print_features(std::ostream& out, const char* title, const std::vector<libsync::Feature>& fs) {
  if (fs.empty()) return;
  out << "  " << title << ":\n";
  TextTable t({{"name"}, {"supported"}, {"detail"}}, "    ");
  for (const auto& f : fs) t.add_row({f.name, yes_no(f.supported), f.detail});
  t.print(out);
}

void print_system(std::ostream& out, const libsync::Capabilities& c) {
  out << "System\n";
  TextTable sys({{"fact"}, {"value"}});
  sys.add_row({"os", c.kernel.os});
  sys.add_row({"kernel", c.kernel.release + " (parsed " + version_text(c.kernel) + ")"});
  sys.add_row({"architecture", c.kernel.architecture});
  sys.add_row({"cpu", cpu_model()});
  sys.add_row({"RLIMIT_MEMLOCK",
               memlock_text(c.limits.memlock_soft) + " (hard " + memlock_text(c.limits.memlock_hard) + ")"});
  sys.add_row({"epoll", yes_no(c.epoll)});
  if (c.kernel.os == "Windows") {
    sys.add_row({"IOCP", yes_no(c.windows.iocp)});
    sys.add_row({"WaitOnAddress", yes_no(c.windows.wait_on_address)});
    sys.add_row({"NtAssociateWaitCompletionPacket", yes_no(c.windows.wait_completion_packet)});
    sys.add_row({"event wait path", c.windows.event_wait_path});
  }
  sys.print(out);
}

void print_io_uring(std::ostream& out, const libsync::IoUringInfo& io) {
  if (io.compiled_in) {
    out << "\nio_uring\n";
    TextTable t({{"fact"}, {"value"}});
    t.add_row({"setup", io.setup_ok
                            ? "ok"
                            : "failed: errno " + std::to_string(io.setup_errno) + ": " + io.setup_error});
    t.add_row({"io_uring_disabled sysctl", io.disabled_sysctl < 0
                                               ? "unknown (no /proc/sys/kernel/io_uring_disabled)"
                                               : std::to_string(io.disabled_sysctl)});
    t.add_row({"seccomp", io.seccomp});
    t.add_row({"liburing (build)", io.liburing_build_version});
    t.add_row({"liburing (run time)", io.liburing_runtime_version});
    std::string feats;
    for (const auto& f : io.feature_flags)
      if (f.supported) feats += (feats.empty() ? "" : " ") + f.name;
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", static_cast<unsigned>(io.features));
    t.add_row({"ring features", std::string(hex) + (feats.empty() ? "" : ": " + feats)});
    t.print(out);
    print_features(out, "setup flags", io.setup_flags);
    print_features(out, "opcodes", io.opcodes);
  }
}

void print_futex(std::ostream& out, const libsync::Capabilities& c, const libsync::TierReport& r) {
  if (!c.futex.syscalls.empty() || c.futex.private_hash_prctl) {
    out << "\nfutex\n";
    TextTable t({{"fact"}, {"value"}});
    for (const auto& f : c.futex.syscalls)
      t.add_row({f.name, yes_no(f.supported) + (f.detail.empty() ? "" : " (" + f.detail + ")")});
    t.add_row({"PR_FUTEX_HASH", c.futex.private_hash_prctl ? "yes" : "no"});
    t.add_row({"private hash", c.futex.private_hash_state});
    const libsync::FutexHashHazard& hz = libsync::futex_hash_hazard();
    t.add_row({"private hash hazard", hazard_text(hz)});
    t.add_row({"hazard evidence", hz.detail});
    t.add_row({"mitigation in use", r.futex_hash_mitigation});
    t.add_row({"mitigation needed", mitigation_needed(hz) == "yes"
                                        ? "yes: without it, waits armed before the first thread would be lost"
                                    : mitigation_needed(hz) == "no" ? "no: it is kept because it is harmless"
                                                                    : "unknown: kept to be safe"});
    t.print(out);
  }
}

void print_backends_and_tiers(std::ostream& out, const libsync::TierReport& r) {
  out << "\nBackends\n";
  TextTable bt({{"backend"}, {"available"}, {"reason"}});
  for (const auto& b : r.backends)
    bt.add_row({std::string(libsync::to_string(b.backend)), yes_no(b.available), b.reason});
  bt.print(out);

  out << "\nTiers (best first)\n";
  TextTable tt({{"tier"}, {"available"}, {"live self-test"}, {"reason"}});
  for (const auto& t : r.tiers)
    tt.add_row({std::string(libsync::to_string(t.tier)), yes_no(t.available), self_test_text(t.self_test),
                t.reason});
  tt.print(out);
}

// What auto selects and why, and what a default Loop here runs.
void print_selection(std::ostream& out, const libsync::TierReport& r) {
  out << "\nauto selects: " << libsync::to_string(r.auto_tier) << " on the "
      << libsync::to_string(r.auto_backend) << " backend\n  because: " << r.auto_reason << "\n";
  for (const auto& t : r.tiers)
    if (t.selected_as_fallback)
      out << "  note: " << libsync::to_string(t.tier)
          << " is selected as the fallback although its self-test failed (slow or lossy wakes here)\n";
  if (auto o = environment_override())
    out << "environment override: SYNC_TIER=" << o->tier_var << " SYNC_BACKEND=" << o->backend_var << "\n";
  const Effective eff = effective_selection();
  if (eff.selection)
    out << "a default Loop here runs: " << libsync::to_string(eff.selection->tier) << " on the "
        << libsync::to_string(eff.selection->backend) << " backend\n";
  else
    out << "a default Loop here fails: " << eff.error << "\n";
}

void print_table(std::ostream& out) {
  const libsync::Capabilities& c = libsync::capabilities();
  const libsync::TierReport& r = libsync::tier_report();
  print_system(out, c);
  print_io_uring(out, c.io_uring);
  print_futex(out, c, r);
  print_backends_and_tiers(out, r);
  print_selection(out, r);
}

int run_probe(const ProbeOptions& opts) {
  std::optional<libsync::TierStatus> checked;
  if (!opts.tier.empty()) {
    auto t = libsync::parse_tier(opts.tier);  // CLI11 already checked the name
    if (!t) {
      std::cerr << "syncbench probe: unknown tier '" << opts.tier << "'\n";
      return kExitUsage;
    }
    checked = status_of(*t == libsync::Tier::automatic ? libsync::tier_report().auto_tier : *t);
  }

  if (opts.json) {
    write_json(std::cout, checked);
  } else if (!checked) {
    print_table(std::cout);
  } else {
    TextTable tt({{"tier"}, {"available"}, {"live self-test"}, {"reason"}});
    tt.add_row({std::string(libsync::to_string(checked->tier)), yes_no(checked->available),
                self_test_text(checked->self_test), checked->reason});
    tt.print(std::cout);
    if (opts.tier == "auto")
      std::cout << "auto selects " << libsync::to_string(checked->tier) << ": "
                << libsync::tier_report().auto_reason << "\n";
  }
  std::cout.flush();
  if (!checked) return kExitOk;
  const std::string name(libsync::to_string(checked->tier));
  if (!checked->available) {
    std::cerr << "syncbench probe: tier " << name << " is unavailable here: " << checked->reason << "\n";
    return kExitTierUnavailable;
  }
  if (!checked->self_test.passed) {
    std::cerr << "syncbench probe: tier " << name << " is available but failed its live self-test ("
              << checked->self_test.detail << "); auto will not pick it\n";
    return kExitSelfTestFailed;
  }
  return kExitOk;
}

}  // namespace

void add_probe_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<ProbeOptions>();
  CLI::App* sub = app.add_subcommand(
      "probe",
      "Report what this system supports: kernel, io_uring, futex, every backend and tier (with the "
      "reason and a live self-test), and the tier auto selects.");
  sub->add_flag("--json", opts->json,
                "Print JSON (documented keys; see apps/syncbench/README.md) instead of tables");
  sub->add_option("--tier", opts->tier,
                  "Check one tier: exit 0 if it can run here, 3 if it is unavailable, 4 if it failed its "
                  "self-test")
      ->check(CLI::IsMember(tier_names()));
  sub->footer(
      std::string("The live self-test: 2000 cross-thread wakes of a task waiting on a semaphore, through the "
                  "tier's real wake path. It passes when no wake is lost (none may take longer than 500 ms) "
                  "and at most 1 in 50 arrives later than 1 ms. auto takes the first tier, best first, that "
                  "is available and passes; if none passes, generic is selected as the fallback and the "
                  "output says so (selected_as_fallback). Under Wine only lost wakes count.\n\n") +
      kExitCodeHelp);
  sub->callback([opts, &exit_code] { exit_code = run_probe(*opts); });
}

}  // namespace syncbench
