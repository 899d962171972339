// The syncbench command line as users and scripts rely on it: the
// documented `--json` keys of probe and bench, exit codes, and clear errors.
// Every test runs the real binary (path from --syncbench=PATH, set by
// CMake) in a child process. Nothing here looks at how fast anything is.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "json_value.hpp"

using syncbench::JsonValue;
using syncbench::parse_json;
using syncbench_test::ProcessResult;
using syncbench_test::run_process;
using syncbench_test::RunningProcess;

namespace {

std::string g_binary;

ProcessResult run_syncbench(std::vector<std::string> args) {
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
  ProcessResult r = run_syncbench({"probe", "--json"});
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
  ProcessResult r = run_syncbench({"probe"});
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "Tiers"));
  CHECK(contains(r.out, "Backends"));
  CHECK(contains(r.out, "auto selects: " + selected));
}

TEST_CASE("probe --tier with an unknown name fails and lists the valid names") {
  ProcessResult r = run_syncbench({"probe", "--tier", "nonsense"});
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
  ProcessResult r = run_syncbench({"probe", "--tier", tier});
  CHECK(r.exit_code == 3);
  CHECK(contains(r.err, tier));
  CHECK(contains(r.err, "unavailable"));
}

TEST_CASE("probe --tier for the selected tier exits 0") {
  const std::string selected = probe_json()["selected_tier"].as_string();
  ProcessResult r = run_syncbench({"probe", "--tier", selected});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, selected));
}

TEST_CASE("bench --quick --json on one small scenario writes the documented result structure") {
  const JsonValue probe = probe_json();
  TempDir dir;
  const std::string json = dir.file("bench.json");
  ProcessResult r =
      run_syncbench({"bench", "--quick", "--filter", "^uncontended/try_acquire$", "--json", json});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "uncontended/try_acquire"));

  JsonValue b = parse_json(read_file(json));
  CHECK(b["interrupted"].as_bool() == false);
  REQUIRE(b["env"].is_object());
  for (const char* k : {"kernel", "cpu_model", "build_type", "git_commit", "auto_tier", "placement"}) {
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
    // Per-repetition rows: over a handful of repetition means a p99 would be
    // the max, so there is none; the spread is min..max and mean +- sd.
    CHECK(row["stat_basis"].as_string() == "per-repetition");
    CHECK(row["p99_ns"].is_null());
    CHECK(row["min_ns"].as_number() <= row["median_ns"].as_number());
    CHECK(row["max_ns"].as_number() >= row["median_ns"].as_number());
    CHECK(row["mean_ns"].as_number() > 0);
    CHECK(row["stddev_ns"].as_number() >= 0);
    const double reps = row["reps"].as_number();
    CHECK(row["samples_ns"].as_array().size() == static_cast<std::size_t>(reps));
    CHECK(row["rep_means_ns"].as_array().size() == static_cast<std::size_t>(reps));
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
  ProcessResult r = run_syncbench(
      {"bench", "--quick", "--filter", "^uncontended/try_acquire$", "--csv", csv, "--html", html});
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
  CHECK(contains(page, "class=\"dots\""));
  CHECK(contains(page, "uncontended/try_acquire"));
  CHECK(contains(page, "</html>"));
  // Self-contained: no scripts, no external resources.
  CHECK_FALSE(contains(page, "<script"));
  CHECK_FALSE(contains(page, "src="));
  CHECK_FALSE(contains(page, "<link"));
  CHECK_FALSE(contains(page, "@import"));
  CHECK_FALSE(contains(page, "url("));
}

TEST_CASE("bench --json - writes the report to stdout and the tables to stderr") {
  TempDir dir;
  // The child shares this process's working directory, where a file named
  // "-" would appear if "-" were taken as a path.
  REQUIRE_MESSAGE(::access("-", F_OK) != 0, "a file named '-' is already in the working directory");
  ProcessResult r = run_syncbench({"bench", "--quick", "--reps", "2", "--filter", "^uncontended/try_acquire$",
                                   "--json", "-", "--csv", dir.path + "/x.csv"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  JsonValue b = parse_json(r.out);
  CHECK(b["results"].as_array().size() >= 3);
  CHECK(contains(r.err, "[1] uncontended/try_acquire"));
  CHECK(::access("-", F_OK) != 0);
  dir.file("x.csv");
}

TEST_CASE("the 1024-waiter fan-out rows run three times the repetitions asked for") {
  // Their repetitions hold few rounds each; the other rows keep the count.
  ProcessResult r = run_syncbench({"bench", "--reps", "2", "--rep-ms", "1", "--tier", "generic", "--backend",
                                   "epoll", "--filter", "^fan-out/release/N=(64|1024)$", "--json", "-"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  JsonValue b = parse_json(r.out);
  int rows_1024 = 0, rows_64 = 0;
  for (const JsonValue& row : b["results"].as_array()) {
    const std::string scenario = row["scenario"].as_string();
    INFO(scenario, " ", row["subject"].as_string());
    REQUIRE(row["error"].is_null());
    const double reps = row["reps"].as_number();
    if (scenario == "fan-out/release/N=1024") {
      CHECK(reps == 6);
      ++rows_1024;
    } else {
      CHECK(reps == 2);
      ++rows_64;
    }
  }
  CHECK(rows_1024 == 2);  // std::counting_semaphore and libsync on generic/epoll
  CHECK(rows_64 == 2);
}

TEST_CASE("per-op rows keep every timed sample and report p99 beside mean and sd") {
  TempDir dir;
  const std::string json = dir.file("b.json");
  ProcessResult r = run_syncbench({"bench", "--quick", "--reps", "2", "--rep-ms", "2", "--filter",
                                   "^cross-loop/handoff$", "--json", json});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  JsonValue b = parse_json(read_file(json));
  for (const JsonValue& row : b["results"].as_array()) {
    INFO(row["subject"].as_string());
    CHECK(row["stat_basis"].as_string() == "per-op");
    const double samples = row["samples"].as_number();
    const double stride = row["samples_stride"].as_number();
    CHECK(stride >= 1);
    CHECK(row["samples_ns"].as_array().size() == static_cast<std::size_t>((samples + stride - 1) / stride));
    CHECK(row["p99_ns"].as_number() >= row["median_ns"].as_number());
    CHECK(row["max_ns"].as_number() >= row["p99_ns"].as_number());
    CHECK(row["stddev_ns"].as_number() >= 0);
    if (row["subject"].as_string() == "libsync") {
      const JsonValue& lc = row["loop_counters_per_op"];
      for (const char* k : {"waits", "futex_waits_armed", "futex_wait_cqes", "futex_wake_sqes",
                            "futex_wake_syscalls", "notifier_writes"}) {
        INFO(k);
        CHECK(lc[k].as_number() >= 0);
      }
    } else {
      CHECK(row["loop_counters_per_op"].is_null());
    }
  }
  // The table says what the spread columns are over, and shows the kernel counters.
  CHECK(contains(r.out, "mean +- sd"));
  CHECK(contains(r.out, "fx-arm/op"));
  CHECK(contains(r.out, "wakes/op"));
}

TEST_CASE("a refused --tier leaves existing report files as they were and creates none") {
  const std::string tier = unavailable_tier(probe_json());
  if (tier.empty()) {
    MESSAGE("every tier is available on this system; nothing to check");
    return;
  }
  TempDir dir;
  const std::string json = dir.file("keep.json"), csv = dir.file("new.csv");
  {
    std::ofstream f(json);
    f << "{\"earlier\": true}\n";
  }
  ProcessResult r = run_syncbench({"bench", "--quick", "--tier", tier, "--json", json, "--csv", csv});
  CHECK(r.exit_code == 3);
  CHECK(read_file(json) == "{\"earlier\": true}\n");
  CHECK(::access(csv.c_str(), F_OK) != 0);
}

TEST_CASE("SIGINT during bench prints and writes the finished scenarios marked interrupted") {
  TempDir dir;
  const std::string json = dir.file("int.json"), csv = dir.file("int.csv"), html = dir.file("int.html");
  // Long repetitions, so that the run is still busy when the signal comes.
  RunningProcess p({g_binary, "bench", "--quick", "--reps", "30", "--rep-ms", "20", "--filter",
                    "^uncontended/try_acquire$|^contended/throughput$", "--json", json, "--csv", csv,
                    "--html", html});
  // Wait until the first scenario's table is out, then interrupt.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!contains(p.out_so_far(), "[1] uncontended/try_acquire") &&
         std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE_MESSAGE(contains(p.out_so_far(), "[1] uncontended/try_acquire"), "the first table never appeared");
  p.send_signal(SIGINT);
  ProcessResult r = p.wait();
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 130);
  CHECK(contains(r.err, "interrupted after 1 of 2 scenarios"));
  CHECK(contains(r.out, "Interrupted: 1 of 2 scenarios finished"));

  JsonValue b = parse_json(read_file(json));
  CHECK(b["interrupted"].as_bool());
  CHECK(b["scenarios_done"].as_number() == 1);
  CHECK(b["scenarios_planned"].as_number() == 2);
  REQUIRE_FALSE(b["results"].as_array().empty());
  for (const JsonValue& row : b["results"].as_array())
    CHECK(row["scenario"].as_string() == "uncontended/try_acquire");
  const std::string c = read_file(csv);
  CHECK(contains(c, "uncontended/try_acquire,"));
  CHECK(contains(c, ",true\n"));
  const std::string h = read_file(html);
  CHECK(contains(h, "interrupted"));
  CHECK(contains(h, "</html>"));
}

// A bench --json report with one row per (subject, median, repetition means).
std::string fake_report(const std::vector<std::tuple<std::string, double, std::vector<double>>>& rows) {
  std::string s =
      "{\"interrupted\": false, \"env\": {\"git_commit\": \"abc\"}, \"profile\": {\"name\": \"quick\"},"
      " \"results\": [";
  bool first = true;
  for (const auto& [subject, median, reps] : rows) {
    s += first ? "" : ",";
    first = false;
    s += "{\"scenario\": \"cross-loop/handoff\", \"subject\": \"" + subject +
         "\", \"tier\": null, \"backend\": null, \"note\": \"\", \"median_ns\": " + std::to_string(median) +
         ", \"error\": null, \"rep_means_ns\": [";
    for (std::size_t i = 0; i < reps.size(); ++i) s += (i ? "," : "") + std::to_string(reps[i]);
    s += "]}";
  }
  return s + "]}\n";
}

TEST_CASE("compare: a slowdown beyond the threshold and the noise exits 1; noise alone exits 0") {
  TempDir dir;
  const std::string a = dir.file("a.json"), same = dir.file("same.json"), slow = dir.file("slow.json");
  std::ofstream(a) << fake_report({{"raw-futex", 2000, {1990, 2000, 2010, 2005, 1995}},
                                   {"std::binary_semaphore", 1800, {1700, 1900, 1800, 1850, 1750}}});
  // Within noise: overlapping repetition intervals, although the median moved 5%.
  std::ofstream(same) << fake_report({{"raw-futex", 2100, {1900, 2150, 2050, 2100, 2000}},
                                      {"std::binary_semaphore", 1800, {1700, 1900, 1800, 1850, 1750}}});
  // 1.5x slower with tight repetitions: a regression.
  std::ofstream(slow) << fake_report({{"raw-futex", 3000, {2990, 3000, 3010, 3005, 2995}},
                                      {"std::binary_semaphore", 1800, {1700, 1900, 1800, 1850, 1750}}});
  ProcessResult r0 = run_syncbench({"compare", a, same});
  INFO(r0.err);
  CHECK(r0.exit_code == 0);
  CHECK(contains(r0.out, "raw-futex"));
  CHECK(contains(r0.out, "within noise"));
  CHECK(contains(r0.out, "2 rows in both"));

  ProcessResult r1 = run_syncbench({"compare", a, slow});
  CHECK(r1.exit_code == 1);
  CHECK(std::regex_search(r1.out, std::regex("raw-futex +2\\.00 us +3\\.00 us +1\\.50x +SLOWER")));
  // The same change under a higher threshold is no regression.
  CHECK(run_syncbench({"compare", "--threshold", "0.6", a, slow}).exit_code == 0);

  ProcessResult md = run_syncbench({"compare", "--markdown", a, slow});
  CHECK(md.exit_code == 1);
  CHECK(contains(md.out, "| scenario | subject | A median | B median | B/A | verdict |"));
  CHECK(contains(md.out, "| cross-loop/handoff | raw-futex | 2.00 us | 3.00 us | 1.50x | **SLOWER** |"));
}

TEST_CASE("compare rejects files that are not bench reports") {
  TempDir dir;
  const std::string empty = dir.file("empty.json"), other = dir.file("other.json");
  std::ofstream(empty) << "";
  std::ofstream(other) << "{\"selected_tier\": \"generic\"}";
  ProcessResult r = run_syncbench({"compare", empty, other});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "empty"));
  ProcessResult q = run_syncbench({"compare", other, other});
  CHECK(q.exit_code == 2);
  CHECK(contains(q.err, "not a syncbench bench --json report"));
  ProcessResult m = run_syncbench({"compare", dir.path + "/missing.json", other});
  CHECK(m.exit_code == 2);
  CHECK(contains(m.err, "missing.json"));
}

TEST_CASE("--version prints one exact line") {
  ProcessResult r = run_syncbench({"--version"});
  CHECK(r.exit_code == 0);
  INFO("[" << r.out << "]");
  CHECK(std::regex_match(
      r.out,
      std::regex(
          "syncbench [0-9]+\\.[0-9]+\\.[0-9]+ \\(commit ([0-9a-f]+|unknown)(, with uncommitted changes)?, "
          "[A-Za-z-]+ build\\)\n")));
  CHECK_FALSE(contains(r.out, " ,"));
  CHECK_FALSE(contains(r.out, "  "));
}

TEST_CASE("help ends with examples") {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--help"}, {"bench", "--help"}, {"compare", "--help"}}) {
    ProcessResult r = run_syncbench(args);
    INFO(args.front());
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "Examples:\n  syncbench "));
  }
}

TEST_CASE("on a narrow terminal the tables fit it and say how to see every column") {
  // script(1) gives the child a pseudo-terminal, so it sees a terminal of
  // $COLUMNS columns.
  if (::access("/usr/bin/script", X_OK) != 0) {
    MESSAGE("script(1) (util-linux) is not installed; the terminal-width check is skipped");
    return;
  }
  const std::string cmd = "COLUMNS=80 " + g_binary +
                          " bench --quick --reps 2 --rep-ms 1 --filter '^cross-loop/handoff$' 2>/dev/null";
  ProcessResult r = run_process({"/usr/bin/script", "-q", "-e", "-c", cmd, "/dev/null"});
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(r.out);
  std::string line;
  std::size_t widest = 0;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("  ", 0) == 0) widest = std::max(widest, line.size());  // table rows are indented
  }
  CHECK(widest <= 80);
  CHECK(contains(r.out, "left out to fit 80 columns"));
  CHECK(contains(r.out, "--wide"));
  // Not a terminal: every column.
  ProcessResult wide =
      run_syncbench({"bench", "--quick", "--reps", "2", "--rep-ms", "1", "--filter", "^cross-loop/handoff$"});
  CHECK_FALSE(contains(wide.out, "left out to fit"));
  CHECK(contains(wide.out, "setup"));
}

TEST_CASE("bench rejects an unknown flag with a message and exit code 2") {
  ProcessResult r = run_syncbench({"bench", "--no-such-flag"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "--no-such-flag"));
  CHECK(r.out.empty());

  ProcessResult q = run_syncbench({"bench", "--quick", "--full"});
  CHECK(q.exit_code == 2);
  CHECK(contains(q.err, "--full"));
}

TEST_CASE("bench --idle-spin-us sets the loops' spin and says so in the report and refuses bad values") {
  TempDir dir;
  const std::string json = dir.file("spin.json");
  ProcessResult r = run_syncbench({"bench", "--quick", "--reps", "2", "--rep-ms", "1", "--idle-spin-us",
                                   "7.5", "--filter", "^cross-loop/spin-handoff$", "--json", json});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  JsonValue b = parse_json(read_file(json));
  CHECK(b["env"]["idle_spin_us"].as_string() == "7.5");
  bool libsync_row = false;
  for (const JsonValue& row : b["results"].as_array())
    if (row["subject"].as_string() == "libsync") {
      libsync_row = true;
      CHECK(contains(row["note"].as_string(), "idle spin 7.5 us"));
    }
  CHECK(libsync_row);

  for (const char* bad : {"-1", "abc", "2000000"}) {
    INFO(bad);
    ProcessResult e = run_syncbench({"bench", "--idle-spin-us", bad});
    CHECK(e.exit_code == 2);
    CHECK(contains(e.err, "--idle-spin-us"));
    CHECK(e.out.empty());
  }
}

// Whether this process may pin a thread to the first CPU it is allowed on:
// what the placement test expects syncbench to manage too.
bool can_pin_threads(int& first_cpu, int& second_cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return false;
  first_cpu = second_cpu = -1;
  for (int i = 0; i < CPU_SETSIZE && second_cpu < 0; ++i)
    if (CPU_ISSET(i, &set)) (first_cpu < 0 ? first_cpu : second_cpu) = i;
  if (first_cpu < 0) return false;
  bool ok = false;
  std::thread([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first_cpu, &one);
    ok = pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0;
  }).join();
  return ok;
}

TEST_CASE("bench --placement places the measured threads as asked and says so and refuses unknown values") {
  int first = -1, second = -1;
  const bool pin = can_pin_threads(first, second);
  for (const char* mode : {"spread", "packed", "free"}) {
    INFO(mode);
    ProcessResult r = run_syncbench({"bench", "--quick", "--reps", "2", "--rep-ms", "1", "--placement", mode,
                                     "--filter", "^cross-loop/handoff$", "--json", "-"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const JsonValue report = parse_json(r.out);
    const std::string text = report["env"]["placement"].as_string();
    INFO(text);
    // Where the subjects' own threads were found running: libsync's loop B
    // and the raw futex partner are each their subject's first thread.
    std::string want_cpus;  // empty: not pinned, null in the report
    if (pin && std::string(mode) == "packed") want_cpus = std::to_string(first);
    if (pin && std::string(mode) == "spread") want_cpus = std::to_string(second >= 0 ? second : first);
    std::size_t rows = 0;
    for (const JsonValue& row : report["results"].as_array()) {
      if (row["subject"].as_string() != "libsync" && row["subject"].as_string() != "raw-futex") continue;
      ++rows;
      INFO(row["subject"].as_string());
      if (want_cpus.empty())
        CHECK(row["thread_cpus"].is_null());
      else
        CHECK(row["thread_cpus"].as_string() == want_cpus);
    }
    CHECK(rows >= 2);
    if (std::string(mode) == "free") {
      CHECK(text == "free (threads not pinned)");
    } else if (!pin) {
      CHECK(contains(text, std::string("free (") + mode + " unavailable: "));
    } else if (std::string(mode) == "packed") {
      CHECK(text == "packed: every thread on CPU " + std::to_string(first));
    } else {
      CHECK(contains(text, "spread over CPUs " + std::to_string(first)));
      CHECK(contains(text, "(main thread on CPU " + std::to_string(first)));
    }
    CHECK(contains(r.err, "threads: " + text));  // the table header says it too
  }
  ProcessResult e = run_syncbench({"bench", "--placement", "sideways"});
  CHECK(e.exit_code == 2);
  CHECK(contains(e.err, "--placement"));
  CHECK(e.out.empty());
}

TEST_CASE("bench refuses an unwritable --json path before running anything") {
  const std::string path = "/nonexistent-syncbench-dir/out.json";
  ProcessResult r = run_syncbench({"bench", "--quick", "--json", path});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "cannot write"));
  CHECK(contains(r.err, path));
  CHECK(r.out.empty());  // no table: nothing ran
}

TEST_CASE("bench --filter matching no scenario fails and lists the scenarios") {
  ProcessResult r = run_syncbench({"bench", "--quick", "--filter", "no-such-scenario"});
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
  ProcessResult r =
      run_syncbench({"bench", "--quick", "--tier", tier, "--filter", "^uncontended/try_acquire$"});
  CHECK(r.exit_code == 3);
  CHECK(contains(r.err, tier));
  CHECK(r.out.empty());
}

TEST_CASE("an unknown subcommand fails with a message and exit code 2") {
  ProcessResult r = run_syncbench({"benchmark"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "benchmark"));
  ProcessResult none = run_syncbench({});
  CHECK(none.exit_code == 2);
  CHECK_FALSE(none.err.empty());
}

TEST_CASE("help documents the exit codes") {
  for (const char* sub : {"probe", "bench"}) {
    ProcessResult r = run_syncbench({sub, "--help"});
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
