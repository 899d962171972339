// libsync under a seccomp filter that refuses io_uring with EPERM (what a
// container's default profile does), on whatever kernel runs the tests:
//   - `syncbench probe --json` says the ring was refused, with EPERM, and
//     blames seccomp (not the sysctl, not the kernel version);
//   - auto selects the generic tier on the epoll backend;
//   - a tier suite left to auto passes, and the same suite forced onto the
//     uring backend skips (exit 77) naming the refusal.
//
// usage: seccomp_io_uring_test LAUNCHER SYNCBENCH SUITE
// LAUNCHER runs its arguments under the filter (seccomp_deny_io_uring).
// Exit: 0 all held, 1 a check failed, 77 skipped (reason printed).
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "json_value.hpp"

using syncbench::JsonValue;
using syncbench::parse_json;
using syncbench_test::ProcessResult;
using syncbench_test::run_process;

namespace {

constexpr int kSkip = 77;
constexpr int kLauncherCannotFilter = 125;  // seccomp_deny_io_uring's "not here"
int g_failed = 0;

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

void expect(bool ok, const std::string& what, const std::string& evidence = "") {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) {
    ++g_failed;
    if (!evidence.empty()) std::printf("  got: %s\n", evidence.c_str());
  }
}

const JsonValue* find_named(const JsonValue& list, const std::string& name) {
  for (const JsonValue& v : list.as_array())
    if (v["name"].as_string() == name) return &v;
  return nullptr;
}

std::string tail(const std::string& s, std::size_t n = 2000) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

[[noreturn]] void skip(const std::string& why) {
  std::printf("SKIPPED: %s\n", why.c_str());
  std::fflush(stdout);
  std::exit(kSkip);
}

void check_probe(const std::string& launcher, const std::string& syncbench) {
  ProcessResult r = run_process({launcher, syncbench, "probe", "--json"});
  if (r.exit_code == kLauncherCannotFilter) skip("a seccomp filter cannot be installed here: " + r.err);
  expect(r.exit_code == 0, "probe --json exits 0 under the filter", r.err);
  if (r.exit_code != 0) return;
  std::printf("--- probe --json under the filter\n%s\n---\n", r.out.c_str());
  const JsonValue j = parse_json(r.out);
  const JsonValue& io = j["io_uring"];
  if (!io["compiled_in"].as_bool())
    skip("this libsync is built without io_uring: nothing for seccomp to refuse");
  if (io["disabled_sysctl"].as_number() > 0)
    skip("kernel.io_uring_disabled = " + std::to_string(static_cast<int>(io["disabled_sysctl"].as_number())) +
         " already refuses rings here, so the probe rightly names the sysctl, not the filter");

  expect(io["seccomp"].as_string() == "filter", "the probe sees this process under a seccomp filter",
         io["seccomp"].as_string());
  expect(!io["setup_ok"].as_bool(), "io_uring_setup was refused");
  expect(io["setup_errno"].as_number() == EPERM, "with EPERM",
         std::to_string(static_cast<int>(io["setup_errno"].as_number())));
  const std::string why = io["setup_error"].as_string();
  expect(contains(why, "EPERM") && contains(why, "seccomp"), "the setup error names EPERM and seccomp", why);

  const JsonValue* uring = find_named(j["backends"], "uring");
  const JsonValue* epoll = find_named(j["backends"], "epoll");
  expect(uring && !(*uring)["available"].as_bool(), "the uring backend is reported unavailable");
  if (uring) {
    const std::string reason = (*uring)["reason"].as_string();
    expect(contains(reason, "EPERM") && contains(reason, "seccomp"),
           "the uring backend's reason names EPERM and seccomp", reason);
  }
  expect(epoll && (*epoll)["available"].as_bool(), "the epoll backend is available");
  const JsonValue* uf = find_named(j["tiers"], "uring-futex");
  expect(uf && !(*uf)["available"].as_bool(), "uring-futex is reported unavailable");
  if (uf) {
    const std::string reason = (*uf)["reason"].as_string();
    expect(contains(reason, "seccomp"), "uring-futex's reason names seccomp", reason);
  }
  expect(j["selected_tier"].as_string() == "generic" && j["selected_backend"].as_string() == "epoll",
         "auto selects generic on epoll",
         j["selected_tier"].as_string() + " on " + j["selected_backend"].as_string());
  // What a default Loop runs, environment included (SYNC_* are unset here).
  if (j.has("effective_tier") && j.has("effective_backend"))
    expect(j["effective_tier"].as_string() == "generic" && j["effective_backend"].as_string() == "epoll",
           "a default Loop runs generic on epoll",
           j["effective_tier"].as_string() + " on " + j["effective_backend"].as_string());
}

void check_suite(const std::string& launcher, const std::string& suite) {
  ::unsetenv("LIBSYNC_TEST_TIER");
  ProcessResult r = run_process({launcher, suite});
  expect(r.exit_code == 0, "the suite passes on the tier auto picks",
         "exit " + std::to_string(r.exit_code) + "\n" + tail(r.out) + tail(r.err));

  ::setenv("LIBSYNC_TEST_TIER", "generic/uring", 1);
  r = run_process({launcher, suite});
  ::unsetenv("LIBSYNC_TEST_TIER");
  expect(r.exit_code == kSkip && contains(r.out, "EPERM"),
         "forced onto the uring backend, the suite skips (77) and names EPERM",
         "exit " + std::to_string(r.exit_code) + "\n" + tail(r.out) + tail(r.err));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s LAUNCHER SYNCBENCH SUITE\n", argv[0]);
    return 2;
  }
  // Auto's choice is under test, so no override may leak in from outside.
  ::unsetenv("SYNC_TIER");
  ::unsetenv("SYNC_BACKEND");
  try {
    check_probe(argv[1], argv[2]);
    check_suite(argv[1], argv[3]);
  } catch (const std::exception& e) {
    expect(false, std::string("the probe's JSON has the documented shape: ") + e.what());
  }
  std::printf("%s\n", g_failed ? "some checks FAILED" : "all checks held");
  return g_failed ? 1 : 0;
}
