// `syncbench compare`: two `bench --json` reports side by side.
//
// The noise rule. Each row of a report carries the means of its timed
// repetitions (`rep_means_ns`). From them each run gets a 95% confidence
// interval for its mean repetition time (Student's t, n - 1 degrees of
// freedom). A difference is "beyond noise" when the two intervals do not
// overlap: a conservative test (non-overlap implies a difference at better
// than the 5% level) that needs nothing but the runs themselves. A row is a
// regression when B/A (medians) exceeds 1 + threshold *and* the difference
// is beyond noise; exit code 1 if any row is one, 0 otherwise.
#include "compare.hpp"

#include <CLI/CLI.hpp>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "exit_codes.hpp"
#include "format.hpp"
#include "harness.hpp"
#include "json_value.hpp"
#include "table.hpp"

namespace syncbench {
namespace {

struct CompareOptions {
  std::string a, b;
  double threshold = 0.10;
  bool markdown = false;
};

struct Row {
  std::string scenario, subject, tier, backend, note;
  double median = 0;
  std::vector<double> reps;
  bool ok = false;
  std::string key() const {
    return scenario + "\x1f" + subject + "\x1f" + tier + "/" + backend + "\x1f" + note;
  }
  std::string label() const { return tier == "-" ? subject : subject + " " + tier + "/" + backend; }
};

struct Run {
  std::string path, commit, profile;
  bool interrupted = false;
  std::vector<Row> rows;
};

std::string str(const JsonValue& v, const std::string& k, const std::string& fallback = "-") {
  if (!v.has(k) || !v[k].is_string()) return fallback;
  return v[k].as_string();
}

Run load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  if (text.empty()) throw std::runtime_error("'" + path + "' is empty, not a syncbench bench --json report");
  JsonValue doc;
  try {
    doc = parse_json(text);
  } catch (const std::exception& e) {
    throw std::runtime_error("'" + path + "' is not valid JSON (" + e.what() + ")");
  }
  if (!doc.has("results") || !doc["results"].is_array() || !doc.has("env"))
    throw std::runtime_error("'" + path +
                             "' is JSON but not a syncbench bench --json report (no \"results\")");
  Run run;
  run.path = path;
  run.commit = str(doc["env"], "git_commit", "unknown");
  if (doc.has("profile") && doc["profile"].is_object()) run.profile = str(doc["profile"], "name", "");
  run.interrupted = doc.has("interrupted") && doc["interrupted"].is_bool() && doc["interrupted"].as_bool();
  for (const JsonValue& r : doc["results"].as_array()) {
    Row row;
    row.scenario = str(r, "scenario");
    row.subject = str(r, "subject");
    row.tier = str(r, "tier");
    row.backend = str(r, "backend");
    row.note = str(r, "note", "");
    row.ok = r.has("median_ns") && r["median_ns"].is_number() && (!r.has("error") || r["error"].is_null());
    if (row.ok) row.median = r["median_ns"].as_number();
    if (r.has("rep_means_ns") && r["rep_means_ns"].is_array())
      for (const JsonValue& v : r["rep_means_ns"].as_array())
        if (v.is_number()) row.reps.push_back(v.as_number());
    run.rows.push_back(std::move(row));
  }
  return run;
}

struct Interval {
  double lo = 0, hi = 0;
  bool known = false;
};

Interval ci95(const std::vector<double>& v) {
  if (v.size() < 2) return {};
  const MeanSpread s = mean_spread(v);
  return {s.mean - s.ci95, s.mean + s.ci95, true};
}

enum class Verdict { slower, faster, within_noise, small, unknown };

const char* verdict_text(Verdict v) {
  switch (v) {
    case Verdict::slower:
      return "SLOWER";
    case Verdict::faster:
      return "faster";
    case Verdict::within_noise:
      return "within noise";
    case Verdict::small:
      return "beyond noise, under threshold";
    case Verdict::unknown:
      return "noise unknown";
  }
  return "";
}

std::string md_cell(std::string s) {
  std::string o;
  for (char c : s) {
    if (c == '|') o += '\\';
    o += c;
  }
  return o;
}

// One row found in both runs, judged.
struct Line {
  const Row *a, *b;
  double ratio;
  bool beyond_noise;
  Verdict verdict;
};

// B against A: beyond noise when the two runs' 95% intervals of the mean
// repetition time do not overlap; slower or faster when also beyond the
// threshold.
Line judge(const Row& ra, const Row& rb, double threshold) {
  const double ratio = ra.median > 0 ? rb.median / ra.median : NAN;
  const Interval ia = ci95(ra.reps), ib = ci95(rb.reps);
  Line l{&ra, &rb, ratio, false, Verdict::unknown};
  if (ia.known && ib.known) {
    l.beyond_noise = ia.hi < ib.lo || ib.hi < ia.lo;
    if (!l.beyond_noise)
      l.verdict = Verdict::within_noise;
    else if (ratio > 1 + threshold)
      l.verdict = Verdict::slower;
    else if (ratio < 1 / (1 + threshold))
      l.verdict = Verdict::faster;
    else
      l.verdict = Verdict::small;
  }
  return l;
}

// The rows of A matched with B's by key, in A's order.
struct Matching {
  std::vector<Line> lines;
  std::size_t only_a = 0, only_b = 0;
  std::size_t slower = 0, faster = 0, unknown = 0;
};

Matching match_rows(const Run& a, const Run& b, double threshold) {
  std::map<std::string, const Row*> in_b;
  for (const Row& r : b.rows)
    if (r.ok) in_b.emplace(r.key(), &r);
  Matching m;
  for (const Row& ra : a.rows) {
    if (!ra.ok) continue;
    auto it = in_b.find(ra.key());
    if (it == in_b.end()) {
      ++m.only_a;
      continue;
    }
    m.lines.push_back(judge(ra, *it->second, threshold));
    in_b.erase(it);
  }
  m.only_b = in_b.size();
  for (const Line& l : m.lines) {
    m.slower += l.verdict == Verdict::slower;
    m.faster += l.verdict == Verdict::faster;
    m.unknown += l.verdict == Verdict::unknown;
  }
  return m;
}

std::string run_heading(const Run& r) {
  return r.path + " (commit " + r.commit.substr(0, 12) + (r.profile.empty() ? "" : ", " + r.profile) +
         (r.interrupted ? ", interrupted run" : "") + ")";
}

std::string summary_text(const Matching& m, const std::string& thr) {
  return std::to_string(m.lines.size()) + " rows in both; " + std::to_string(m.slower) + " slower and " +
         std::to_string(m.faster) + " faster by more than " + thr + " beyond noise" +
         (m.unknown ? "; " + std::to_string(m.unknown) + " without repetition data" : "") +
         (m.only_a || m.only_b ? "; " + std::to_string(m.only_a) + " rows only in A, " +
                                     std::to_string(m.only_b) + " only in B"
                               : "");
}

// What the comparison says, as printed: the two runs, a row per match, the
// summary and the noise rule.
struct CompareText {
  std::string head_a, head_b;
  std::vector<std::vector<std::string>> cells;
  std::string summary, rule;
};

void print_markdown(std::ostream& out, const CompareText& t) {
  out << "**syncbench compare**: A = `" << md_cell(t.head_a) << "`, B = `" << md_cell(t.head_b) << "`\n\n";
  out << "| scenario | subject | A median | B median | B/A | verdict |\n|---|---|--:|--:|--:|---|\n";
  for (const auto& c : t.cells) {
    out << "|";
    for (std::size_t i = 0; i < c.size(); ++i)
      out << " " << (i == 5 && c[i] == "SLOWER" ? "**SLOWER**" : md_cell(c[i])) << " |";
    out << "\n";
  }
  out << "\n" << t.summary << ".\n\n_" << t.rule << "._\n";
}

void print_plain(std::ostream& out, const CompareText& t) {
  out << "A: " << t.head_a << "\nB: " << t.head_b << "\n\n";
  TextTable table({{"scenario"},
                   {"subject"},
                   {"A median", TextTable::Align::right},
                   {"B median", TextTable::Align::right},
                   {"B/A", TextTable::Align::right},
                   {"verdict"}});
  for (const auto& c : t.cells) table.add_row(c);
  table.print(out, terminal_columns(1));
  out << "\n" << t.summary << "\n" << t.rule << "\n";
}

int run_compare(const CompareOptions& o) {
  Run a, b;
  try {
    a = load(o.a);
    b = load(o.b);
  } catch (const std::exception& e) {
    std::cerr << "syncbench compare: " << e.what() << "\n";
    return kExitUsage;
  }
  const Matching m = match_rows(a, b, o.threshold);
  if (m.lines.empty()) {
    std::cerr << "syncbench compare: '" << o.a << "' and '" << o.b
              << "' have no result row in common (same scenario, subject, tier/backend and setup)\n";
    return kExitUsage;
  }

  const std::string thr = format_number(o.threshold * 100) + "%";
  CompareText text{
      run_heading(a),
      run_heading(b),
      {},
      summary_text(m, thr),
      "noise: the 95% confidence intervals of the two runs' mean repetition times do not overlap; "
      "a row is SLOWER when B/A > 1 + " +
          thr + " and beyond noise"};
  for (const Line& l : m.lines)
    text.cells.push_back({l.a->scenario, l.a->label(), format_ns(l.a->median), format_ns(l.b->median),
                          std::isnan(l.ratio) ? "-" : format_ratio(l.ratio), verdict_text(l.verdict)});
  if (o.markdown)
    print_markdown(std::cout, text);
  else
    print_plain(std::cout, text);
  return m.slower ? kExitFailure : kExitOk;
}

}  // namespace

void add_compare_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* sub = app.add_subcommand(
      "compare",
      "Compare two `bench --json` reports: for every row in both, B's median over A's, and whether the "
      "difference is larger than the runs' own noise (95% confidence intervals of the repetition means "
      "that do not overlap). Exit 1 if a row got slower by more than --threshold beyond noise.");
  sub->add_option("A", o->a, "The reference report (bench --json)")->required()->type_name("A.json");
  sub->add_option("B", o->b, "The report to judge against it")->required()->type_name("B.json");
  sub->add_option("--threshold", o->threshold,
                  "Smallest slowdown that counts as a regression, as a fraction (default 0.10 = 10%)")
      ->check(CLI::Range(0.0, 100.0));
  sub->add_flag("--markdown", o->markdown, "Print a Markdown table, for pasting into a review");
  sub->footer(std::string("Examples:\n"
                          "  syncbench bench --json before.json; (change something); syncbench bench --json "
                          "after.json\n"
                          "  syncbench compare before.json after.json\n"
                          "  syncbench compare --threshold 0.05 --markdown before.json after.json\n\n") +
              kExitCodeHelp);
  sub->callback([o, &exit_code] { exit_code = run_compare(*o); });
}

}  // namespace syncbench
