// The syncbench command line as users and scripts rely on it: the
// documented `--json` keys of probe and bench, exit codes, and clear errors.
// Every test runs the real binary (path from --syncbench=PATH, set by
// CMake) in a child process. Nothing here looks at how fast anything is.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "json_value.hpp"

using syncbench_test::JsonValue;
using syncbench_test::parse_json;
using syncbench_test::ProcessResult;
using syncbench_test::run_process;

namespace {

std::string g_binary;

ProcessResult syncbench(std::vector<std::string> args) {
  args.insert(args.begin(), g_binary);
  return run_process(args);
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh directory for output files, removed with its files at the end.
struct TempDir {
  std::string path;
  std::vector<std::string> files;
  TempDir() {
    char templ[] = "/tmp/syncbench_cli_XXXXXX";
    if (!::mkdtemp(templ)) throw std::runtime_error("mkdtemp failed");
    path = templ;
  }
  std::string file(const std::string& name) {
    files.push_back(path + "/" + name);
    return files.back();
  }
  ~TempDir() {
    for (const auto& f : files) ::unlink(f.c_str());
    ::rmdir(path.c_str());
  }
};

// What `probe --json` says, parsed once per test that needs it.
JsonValue probe_json() {
  ProcessResult r = syncbench({"probe", "--json"});
  REQUIRE_MESSAGE(r.exit_code == 0, "probe --json failed: " << r.err);
  return parse_json(r.out);
}

std::set<std::string> available_tiers(const JsonValue& probe) {
  std::set<std::string> out;
  for (const JsonValue& t : probe["tiers"].as_array())
    if (t["available"].as_bool()) out.insert(t["name"].as_string());
  return out;
}

// A tier name syncbench accepts that this system cannot run, if any.
std::string unavailable_tier(const JsonValue& probe) {
  std::set<std::string> avail = available_tiers(probe);
  for (const char* t : {"iocp", "uring-futex", "generic"})
    if (!avail.count(t)) return t;
  return "";
}

}  // namespace

TEST_CASE("probe --json reports the documented keys and selects a tier it reports available") {
  JsonValue p = probe_json();
  REQUIRE(p.is_object());
  REQUIRE(p["selected_tier"].is_string());
  REQUIRE(p["kernel"]["release"].is_string());
  REQUIRE(p["kernel"]["version"].is_string());
  CHECK_FALSE(p["kernel"]["release"].as_string().empty());
  REQUIRE(p["io_uring"].is_object());

  REQUIRE(p["backends"].is_array());
  CHECK_FALSE(p["backends"].as_array().empty());
  for (const JsonValue& b : p["backends"].as_array()) {
    CHECK(b["name"].is_string());
    CHECK(b["available"].is_bool());
    CHECK(b["reason"].is_string());
  }

  REQUIRE(p["tiers"].is_array());
  REQUIRE_FALSE(p["tiers"].as_array().empty());
  for (const JsonValue& t : p["tiers"].as_array()) {
    CHECK(t["name"].is_string());
    CHECK(t["available"].is_bool());
    CHECK(t["reason"].is_string());
    const JsonValue& st = t["self_test"];
    for (const char* k : {"wakes", "lost", "late", "p50_ns", "p99_ns", "max_ns"}) {
      INFO("self_test key " << k);
      CHECK(st[k].is_number());
    }
  }

  const std::string selected = p["selected_tier"].as_string();
  INFO("selected_tier = " << selected);
  CHECK(available_tiers(p).count(selected) == 1);
}

TEST_CASE("probe prints a table that names the tier auto selects") {
  const std::string selected = probe_json()["selected_tier"].as_string();
  ProcessResult r = syncbench({"probe"});
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "Tiers"));
  CHECK(contains(r.out, "Backends"));
  CHECK(contains(r.out, "auto selects: " + selected));
}

TEST_CASE("probe --tier with an unknown name fails and lists the valid names") {
  ProcessResult r = syncbench({"probe", "--tier", "nonsense"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "nonsense"));
  CHECK(contains(r.err, "generic"));
  CHECK(r.out.empty());
}

TEST_CASE("probe --tier for a tier this system lacks exits 3 and says why") {
  const std::string tier = unavailable_tier(probe_json());
  if (tier.empty()) {
    MESSAGE("every tier is available on this system; nothing to check");
    return;
  }
  ProcessResult r = syncbench({"probe", "--tier", tier});
  CHECK(r.exit_code == 3);
  CHECK(contains(r.err, tier));
  CHECK(contains(r.err, "unavailable"));
}

TEST_CASE("probe --tier for the selected tier exits 0") {
  const std::string selected = probe_json()["selected_tier"].as_string();
  ProcessResult r = syncbench({"probe", "--tier", selected});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, selected));
}

TEST_CASE("bench --quick --json on one small scenario writes the documented result structure") {
  const JsonValue probe = probe_json();
  TempDir dir;
  const std::string json = dir.file("bench.json");
  ProcessResult r = syncbench({"bench", "--quick", "--filter", "^uncontended/try_acquire$", "--json", json});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "uncontended/try_acquire"));

  JsonValue b = parse_json(read_file(json));
  REQUIRE(b["env"].is_object());
  for (const char* k : {"kernel", "cpu_model", "build_type", "git_commit", "auto_tier"}) {
    INFO("env key " << k);
    CHECK(b["env"][k].is_string());
  }
  REQUIRE(b["results"].is_array());
  const auto& results = b["results"].as_array();
  REQUIRE_FALSE(results.empty());

  std::set<std::string> libsync_tiers;
  bool baseline_row = false;
  for (const JsonValue& row : results) {
    for (const char* k : {"scenario", "tier", "backend", "subject", "median_ns", "p99_ns", "max_ns",
                          "ops_per_s", "syscalls_per_op", "baseline", "ratio"}) {
      INFO("result key " << k);
      CHECK(row.has(k));
    }
    CHECK(row["scenario"].as_string() == "uncontended/try_acquire");
    CHECK(row["subject"].is_string());
    CHECK(row["baseline"].is_string());
    CHECK(row["error"].is_null());
    CHECK(row["median_ns"].as_number() > 0);
    CHECK(row["p99_ns"].as_number() >= row["median_ns"].as_number());
    CHECK(row["max_ns"].as_number() >= row["p99_ns"].as_number());
    CHECK(row["ops_per_s"].as_number() > 0);
    CHECK(row["ratio"].as_number() > 0);
    CHECK((row["syscalls_per_op"].is_null() || row["syscalls_per_op"].as_number() >= 0));
    if (row["subject"].as_string() == row["baseline"].as_string()) {
      baseline_row = true;
      CHECK(row["ratio"].as_number() == doctest::Approx(1.0));
    }
    if (row["subject"].as_string() == "libsync") {
      CHECK(row["tier"].is_string());
      CHECK(row["backend"].is_string());
      libsync_tiers.insert(row["tier"].as_string());
    } else {
      CHECK(row["tier"].is_null());
    }
  }
  CHECK(baseline_row);
  // Every tier the probe reports available is benchmarked, or the report
  // says why not (a tier whose live self-test fails in this run is skipped).
  std::string notes;
  for (const JsonValue& n : b["notes"].as_array()) notes += n.as_string() + "\n";
  for (const std::string& t : available_tiers(probe)) {
    INFO("tier " << t << "; notes: " << notes);
    CHECK((libsync_tiers.count(t) == 1 || contains(notes, "tier " + t + " skipped")));
  }
  // And nothing the probe calls unavailable is.
  for (const std::string& t : libsync_tiers) CHECK(available_tiers(probe).count(t) == 1);
}

TEST_CASE("bench --csv and --html write a table and a self-contained page") {
  TempDir dir;
  const std::string csv = dir.file("bench.csv"), html = dir.file("bench.html");
  ProcessResult r =
      syncbench({"bench", "--quick", "--filter", "^uncontended/try_acquire$", "--csv", csv, "--html", html});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);

  std::istringstream lines(read_file(csv));
  std::string header, line;
  std::getline(lines, header);
  CHECK(header.rfind("scenario,family,subject,tier,backend,", 0) == 0);
  CHECK(contains(header, "median_ns"));
  CHECK(contains(header, "env_kernel"));
  int rows = 0;
  while (std::getline(lines, line))
    if (!line.empty()) {
      ++rows;
      CHECK(line.rfind("uncontended/try_acquire,", 0) == 0);
    }
  CHECK(rows >= 3);  // two baselines and at least one tier

  const std::string page = read_file(html);
  CHECK(page.rfind("<!doctype html>", 0) == 0);
  CHECK(contains(page, "<svg"));
  CHECK(contains(page, "uncontended/try_acquire"));
  CHECK(contains(page, "</html>"));
  // Self-contained: no scripts, no external resources.
  CHECK_FALSE(contains(page, "<script"));
  CHECK_FALSE(contains(page, "src="));
  CHECK_FALSE(contains(page, "<link"));
  CHECK_FALSE(contains(page, "@import"));
  CHECK_FALSE(contains(page, "url("));
}

TEST_CASE("bench rejects an unknown flag with a message and exit code 2") {
  ProcessResult r = syncbench({"bench", "--no-such-flag"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "--no-such-flag"));
  CHECK(r.out.empty());

  ProcessResult q = syncbench({"bench", "--quick", "--full"});
  CHECK(q.exit_code == 2);
  CHECK(contains(q.err, "--full"));
}

TEST_CASE("bench refuses an unwritable --json path before running anything") {
  const std::string path = "/nonexistent-syncbench-dir/out.json";
  ProcessResult r = syncbench({"bench", "--quick", "--json", path});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "cannot write"));
  CHECK(contains(r.err, path));
  CHECK(r.out.empty());  // no table: nothing ran
}

TEST_CASE("bench --filter matching no scenario fails and lists the scenarios") {
  ProcessResult r = syncbench({"bench", "--quick", "--filter", "no-such-scenario"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "no-such-scenario"));
  CHECK(contains(r.err, "cross-loop/handoff"));
  CHECK(r.out.empty());
}

TEST_CASE("bench --tier for a tier this system lacks exits 3 and says why") {
  const std::string tier = unavailable_tier(probe_json());
  if (tier.empty()) {
    MESSAGE("every tier is available on this system; nothing to check");
    return;
  }
  ProcessResult r = syncbench({"bench", "--quick", "--tier", tier, "--filter", "^uncontended/try_acquire$"});
  CHECK(r.exit_code == 3);
  CHECK(contains(r.err, tier));
  CHECK(r.out.empty());
}

TEST_CASE("an unknown subcommand fails with a message and exit code 2") {
  ProcessResult r = syncbench({"benchmark"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "benchmark"));
  ProcessResult none = syncbench({});
  CHECK(none.exit_code == 2);
  CHECK_FALSE(none.err.empty());
}

TEST_CASE("help documents the exit codes") {
  for (const char* sub : {"probe", "bench"}) {
    ProcessResult r = syncbench({sub, "--help"});
    INFO(sub);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "Exit codes"));
    CHECK(contains(r.out, "3  the requested --tier"));
  }
}

// Counts the test cases that ran, so that a ctest entry whose name no longer
// matches a test case fails instead of passing with nothing run.
struct RunCounter : doctest::IReporter {
  static inline int started = 0;
  explicit RunCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++started; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
DOCTEST_REGISTER_LISTENER("run_counter", 1, RunCounter);

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--syncbench=", 0) == 0)
      g_binary = a.substr(12);
    else
      rest.push_back(argv[i]);
  }
  if (g_binary.empty() && std::getenv("SYNCBENCH")) g_binary = std::getenv("SYNCBENCH");
  if (g_binary.empty()) {
    std::fprintf(stderr, "usage: %s --syncbench=PATH [doctest options]\n", argv[0]);
    return 2;
  }
  doctest::Context ctx;
  ctx.applyCommandLine(static_cast<int>(rest.size()), rest.data());
  int rc = ctx.run();
  if (ctx.shouldExit()) return rc;
  if (RunCounter::started == 0) {
    std::fprintf(stderr, "no test case matched the filter: nothing was tested\n");
    return 1;
  }
  return rc;
}

TEST_CASE("probe --json reports the measured futex hash hazard and what a default Loop runs") {
  JsonValue p = probe_json();
  const std::string hazard = p["futex"]["private_hash_hazard"].as_string();
  INFO("private_hash_hazard = " << hazard);
  CHECK((hazard == "present" || hazard == "absent" || hazard == "not-applicable" || hazard == "unknown"));
  CHECK(p["futex"]["private_hash_hazard_detail"].is_string());
  CHECK(p["futex"]["private_hash_hazard_check_us"].is_number());
  // Without an override, what runs is what auto selected.
  CHECK(p["effective_tier"].as_string() == p["selected_tier"].as_string());
  CHECK(p["effective_backend"].as_string() == p["selected_backend"].as_string());
  for (const JsonValue& t : p["tiers"].as_array()) CHECK(t["selected_as_fallback"].is_bool());

  // With SYNC_TIER set, selected_tier stays auto's choice and effective_tier
  // names what a default Loop really runs.
  ProcessResult r = run_process({"/usr/bin/env", "SYNC_TIER=generic", g_binary, "probe", "--json"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  JsonValue q = parse_json(r.out);
  CHECK(q["selected_tier"].as_string() == p["selected_tier"].as_string());
  CHECK(q["effective_tier"].as_string() == "generic");
  ProcessResult t = run_process({"/usr/bin/env", "SYNC_TIER=generic", g_binary, "probe"});
  CHECK(contains(t.out, "a default Loop here runs: generic"));
}
