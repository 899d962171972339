// `bench --html FILE`: one self-contained page (inline CSS and SVG, no
// scripts, no external fonts or images) that a reader can take in without
// reading the numbers: per scenario a dot chart of medians on a log scale
// (a dot, not a bar: a bar's length on a log axis depends on where the axis
// starts and says nothing about ratios) with whiskers to p99 and max, or
// over the repetition means' min..max, against a line at the baseline; a
// latency-distribution chart for the scenarios that time every operation;
// throughput bars on a linear axis where throughput is the point; and the
// full table below. Charts are HTML rows (labels wrap, the plot takes the
// page's width) with positions in percent, so nothing needs a script.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "format.hpp"
#include "report.hpp"

namespace syncbench {
namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string fmt(double v, int decimals = 1) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string label(const Measurement& m) {
  return m.tier == "-" ? m.subject : m.subject + " " + m.tier + "/" + m.backend;
}

// Colour per row: libsync by tier/backend (stable across scenarios),
// the scenario's baseline dark grey, other baselines lighter, Asio purple.
struct Palette {
  std::map<std::string, std::string> libsync, others;
  // Line style for the distribution chart: the baseline dashed, other
  // non-libsync subjects dotted, libsync solid.
  static const char* dash(const Measurement& m) {
    if (m.tier != "-") return "";
    return m.subject == m.baseline ? "6 3" : "2 3";
  }
  std::string color(const Measurement& m) {
    if (m.tier != "-") {
      static const char* fixed[][2] = {{"uring-futex/uring", "#0f766e"},
                                       {"generic/uring", "#2563eb"},
                                       {"generic/epoll", "#d97706"},
                                       {"iocp/iocp", "#be123c"}};
      std::string key = m.tier + "/" + m.backend;
      for (auto& f : fixed)
        if (key == f[0]) return f[1];
      static const char* extra[] = {"#65a30d", "#db2777", "#0891b2"};
      auto it = libsync.find(key);
      if (it == libsync.end()) it = libsync.emplace(key, extra[libsync.size() % 3]).first;
      return it->second;
    }
    if (m.subject == m.baseline) return "#374151";
    if (m.subject.rfind("asio", 0) == 0) return "#7c3aed";
    static const char* greys[] = {"#9ca3af", "#a16207", "#6b7280", "#78716c"};
    auto it = others.find(m.subject);
    if (it == others.end()) it = others.emplace(m.subject, greys[others.size() % 4]).first;
    return it->second;
  }
};

// Axis labels: "2 us", "10 us", "1 ms" (ticks are 1-2-5 multiples).
std::string tick_label(double ns) {
  const char* unit = "ns";
  double v = ns;
  if (ns >= 1e9) {
    v = ns / 1e9;
    unit = "s";
  } else if (ns >= 1e6) {
    v = ns / 1e6;
    unit = "ms";
  } else if (ns >= 1e3) {
    v = ns / 1e3;
    unit = "us";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g %s", v, unit);
  return buf;
}

// Log-scale mapping of [lo, hi] onto [x0, x1].
struct LogScale {
  double lo, hi, x0, x1;
  double operator()(double v) const {
    v = std::clamp(v, lo, hi);
    return x0 + (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) * (x1 - x0);
  }
  // 1-2-5 ticks over a narrow range, powers of ten over a wide one, so
  // that labels never collide.
  std::vector<double> ticks() const {
    const bool wide = std::log10(hi) - std::log10(lo) > 2.5;
    std::vector<double> t;
    for (double d = std::pow(10.0, std::floor(std::log10(lo))); d <= hi * 1.0001; d *= 10)
      for (double k : {1.0, 2.0, 5.0})
        if ((!wide || k == 1.0) && d * k >= lo && d * k <= hi) t.push_back(d * k);
    return t;
  }
};

std::string pct(double v) {
  return fmt(std::clamp(v, 0.0, 100.0), 2) + "%";
}

// Medians as dots on a log axis, with the row's spread as whiskers.
void dot_chart(std::ostream& o, const std::vector<const Measurement*>& rows, Palette& pal) {
  double lo = 1e300, hi = 0, base = 0;
  for (const auto* m : rows) {
    lo = std::min({lo, m->median_ns, m->min_ns > 0 ? m->min_ns : m->median_ns});
    hi = std::max({hi, m->max_ns, m->median_ns});
    if (m->subject == m->baseline) base = m->median_ns;
  }
  lo = std::max(lo / 1.5, 0.1);
  hi *= 1.5;
  LogScale x{lo, hi, 0, 100};
  const bool per_op = rows.front()->basis == StatBasis::per_op;
  o << "<div class=\"dots\" role=\"img\" aria-label=\"median per subject, log scale\">\n";
  o << "<p class=\"axis\">"
    << (per_op ? "dot: median; thick whisker: to p99; thin: to the max"
               : "dot: median of the repetition means; whisker: their min to max")
    << "; log scale, left is faster; dashed line: the baseline's median</p>\n";
  auto grid = [&] {
    std::string g;
    for (double t : x.ticks()) g += "<i class=\"gl\" style=\"left:" + pct(x(t)) + "\"></i>";
    if (base > 0) g += "<i class=\"bl\" style=\"left:" + pct(x(base)) + "\"></i>";
    return g;
  };
  const std::string g = grid();
  for (const Measurement* mp : rows) {
    const Measurement& m = *mp;
    const std::string c = pal.color(m);
    const double med = x(m.median_ns), mx = x(m.max_ns);
    o << "<div class=\"drow\"><div class=\"dl\">" << esc(label(m)) << "</div><div class=\"dp\" title=\""
      << esc(label(m)) << ": median " << esc(format_ns(m.median_ns))
      << (m.p99_ns ? ", p99 " + esc(format_ns(*m.p99_ns)) : ", min " + esc(format_ns(m.min_ns))) << ", max "
      << esc(format_ns(m.max_ns)) << "\">" << g;
    if (per_op && m.p99_ns) {
      const double p = x(*m.p99_ns);
      o << "<i class=\"wt\" style=\"left:" << pct(med) << ";width:" << pct(p - med) << ";border-color:" << c
        << "\"></i><i class=\"wn\" style=\"left:" << pct(p) << ";width:" << pct(mx - p)
        << ";border-color:" << c << "\"></i>";
    } else {
      const double mn = x(m.min_ns > 0 ? m.min_ns : m.median_ns);
      o << "<i class=\"wt\" style=\"left:" << pct(mn) << ";width:" << pct(mx - mn) << ";border-color:" << c
        << "\"></i>";
    }
    o << "<i class=\"mk\" style=\"left:" << pct(mx) << ";border-color:" << c << "\"></i>";
    o << "<i class=\"dot\" style=\"left:" << pct(med) << ";background:" << c
      << "\"></i></div><div class=\"dv\">" << esc(format_ns(m.median_ns))
      << (m.ratio ? " &middot; " + format_ratio(*m.ratio) : std::string()) << "</div></div>\n";
  }
  o << "<div class=\"drow ticks\"><div class=\"dl\"></div><div class=\"dp\">";
  for (double t : x.ticks())
    o << "<span style=\"left:" << pct(x(t)) << "\">" << esc(tick_label(t)) << "</span>";
  o << "</div><div class=\"dv\"></div></div>\n</div>\n";
}

void quantile_chart(std::ostream& o, const std::vector<const Measurement*>& rows, Palette& pal) {
  const char* names[] = {"min", "p10", "p25", "p50", "p75", "p90", "p99", "p99.9", "max"};
  double lo = 1e300, hi = 0;
  for (const auto* m : rows)
    for (const auto& [q, v] : m->quantiles) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (hi <= 0) return;
  lo = std::max(lo / 1.5, 0.1);
  hi *= 1.5;
  const double W = 1200, left = 70, right = 20, top = 24, bottom = 40;
  const double H = 300;
  // Vertical log scale: reuse LogScale on the y range, inverted.
  LogScale y{lo, hi, H - bottom, top};
  auto px = [&](std::size_t i) { return left + (W - left - right) * static_cast<double>(i) / 8.0; };
  o << "<svg class=\"chart\" viewBox=\"0 0 " << W << " " << H << "\" width=\"100%\""
    << " role=\"img\" aria-label=\"latency distribution per subject\">\n";
  o << "<text x=\"" << left
    << "\" y=\"14\" class=\"axis\">latency distribution: each line is one subject, from the "
       "fastest operation (left) to the slowest (right); log scale; lower is faster</text>\n";
  for (double t : y.ticks()) {
    o << "<line x1=\"" << left << "\" x2=\"" << W - right << "\" y1=\"" << fmt(y(t)) << "\" y2=\""
      << fmt(y(t)) << "\" class=\"grid\"/><text x=\"" << left - 6 << "\" y=\"" << fmt(y(t) + 4)
      << "\" class=\"ytick\">" << esc(tick_label(t)) << "</text>\n";
  }
  for (std::size_t i = 0; i < 9; ++i)
    o << "<text x=\"" << fmt(px(i)) << "\" y=\"" << H - bottom + 18 << "\" class=\"tick\">" << names[i]
      << "</text>\n";
  std::string legend;
  for (const auto* m : rows) {
    if (m->quantiles.size() != 9) continue;
    const std::string c = pal.color(*m);
    const bool base = m->subject == m->baseline;
    const std::string dash = Palette::dash(*m);
    const std::string dash_attr = dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"";
    o << "<g><title>" << esc(label(*m)) << "</title><polyline fill=\"none\" stroke=\"" << c
      << "\" stroke-width=\"" << (base ? 3 : 2) << "\"" << dash_attr << " points=\"";
    for (std::size_t i = 0; i < 9; ++i) o << fmt(px(i)) << "," << fmt(y(m->quantiles[i].second)) << " ";
    o << "\"/>";
    for (std::size_t i = 0; i < 9; ++i)
      o << "<circle cx=\"" << fmt(px(i)) << "\" cy=\"" << fmt(y(m->quantiles[i].second))
        << "\" r=\"2.5\" fill=\"" << c << "\"><title>" << esc(label(*m)) << " " << names[i] << ": "
        << esc(format_ns(m->quantiles[i].second)) << "</title></circle>";
    o << "</g>\n";
    legend += "<span><i class=\"sw\" style=\"background:" + c + "\"></i>" + esc(label(*m)) +
              (dash.empty() ? ""
               : base       ? " (dashed)"
                            : " (dotted)") +
              "</span>";
  }
  o << "</svg>\n<p class=\"legend\">" << legend << "</p>\n";
}

// Throughput as bars on a linear axis from zero, where lengths compare.
void throughput_chart(std::ostream& o, const std::vector<const Measurement*>& rows, Palette& pal) {
  double hi = 0;
  for (const auto* m : rows) hi = std::max(hi, m->ops_per_s);
  if (hi <= 0) return;
  o << "<div class=\"dots\" role=\"img\" aria-label=\"throughput per subject\">\n<p "
       "class=\"axis\">throughput, "
       "operations per second; linear from zero, longer is better</p>\n";
  for (const Measurement* m : rows)
    o << "<div class=\"drow\"><div class=\"dl\">" << esc(label(*m)) << "</div><div class=\"dp\" title=\""
      << esc(label(*m)) << ": " << esc(format_rate(m->ops_per_s))
      << " ops/s\"><i class=\"bar\" style=\"width:" << pct(100 * m->ops_per_s / hi)
      << ";background:" << pal.color(*m) << "\"></i></div><div class=\"dv\">"
      << esc(format_rate(m->ops_per_s)) << "/s</div></div>\n";
  o << "</div>\n";
}

// One sentence a reader can take away without the chart.
std::string verdict(const std::vector<const Measurement*>& rows) {
  const Measurement* best = nullptr;
  for (const auto* m : rows)
    if (!best || m->median_ns < best->median_ns) best = m;
  std::string s = best ? "Fastest median: " + label(*best) + " (" + format_ns(best->median_ns) + ")." : "";
  std::string lib;
  for (const auto* m : rows)
    if (m->tier != "-" && m->ratio)
      lib += (lib.empty() ? "" : ", ") + m->tier + "/" + m->backend + " " + format_ratio(*m->ratio);
  if (!lib.empty() && !rows.empty()) s += " libsync vs " + rows.front()->baseline + ": " + lib + ".";
  return s;
}

// The page's head: its title and the one style sheet.
constexpr const char* kPageHead = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>syncbench report</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem 2rem;color:#111827}
h1{margin-bottom:.2rem}h2{margin-top:2.5rem;border-bottom:1px solid #e5e7eb}h3{margin-bottom:.2rem;overflow-wrap:anywhere}
.sub,.op{color:#4b5563;margin:.2rem 0}.verdict{font-weight:600;margin:.4rem 0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:.8rem;margin:.6rem 0;width:100%}
td,th{padding:.2rem .5rem;border-bottom:1px solid #e5e7eb;text-align:right;white-space:nowrap;vertical-align:top}
td:first-child,th:first-child,td.l,th.l,td.w{text-align:left}
td:first-child,th:first-child,td.w{white-space:normal;overflow-wrap:anywhere}th{white-space:normal}
.chart{display:block;max-width:100%;height:auto;margin:.4rem 0}
.chart text{font-size:12px;fill:#374151}.chart .tick{text-anchor:middle;fill:#6b7280}
.chart .ytick{text-anchor:end;fill:#6b7280}.chart .axis{fill:#6b7280;font-size:11px}
.grid{stroke:#e5e7eb}
.dots{margin:.4rem 0 .8rem}.dots .axis{color:#6b7280;font-size:.75rem;margin:.2rem 0}
.drow{display:grid;grid-template-columns:minmax(9rem,20rem) minmax(0,1fr) 9rem;gap:.6rem;align-items:center;min-height:1.5rem}
.dl{text-align:right;font-size:.8rem;overflow-wrap:anywhere;line-height:1.15}
.dv{font-size:.8rem;font-variant-numeric:tabular-nums;white-space:nowrap}
.dp{position:relative;height:1.5rem}
.dp i{position:absolute;display:block}
.gl{top:0;bottom:0;border-left:1px solid #e5e7eb}.bl{top:-2px;bottom:-2px;border-left:1.5px dashed #111827}
.wt{top:50%;height:0;border-top:3px solid;margin-top:-1.5px}.wn{top:50%;height:0;border-top:1px solid;margin-top:-.5px}
.mk{top:50%;width:7px;height:7px;margin:-4.5px 0 0 -4.5px;border:1px solid;border-radius:50%;background:#fff}
.dot{top:50%;width:12px;height:12px;margin:-6px 0 0 -6px;border-radius:50%;box-shadow:0 0 0 1.5px #fff}
.bar{top:20%;height:60%;left:0;border-radius:2px}
.ticks .dp{height:1.1rem}.ticks span{position:absolute;transform:translateX(-50%);font-size:.7rem;color:#6b7280;white-space:nowrap}
.legend span{display:inline-block;margin-right:1rem}.sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.met{color:#047857}.miss{color:#92400e}.err{color:#b91c1c}.warn{background:#fef3c7;padding:.5rem .8rem;border-radius:4px}
</style></head><body>
)";

void write_title(std::ostream& o, const BenchReport& r) {
  o << "<h1>syncbench report</h1>\n<p class=\"sub\">libsync " << esc(r.env.get("libsync_version"))
    << ", commit " << esc(r.env.get("git_commit")) << ", " << esc(r.env.get("build_type"))
    << " build &middot; kernel " << esc(r.env.get("kernel")) << " &middot; " << esc(r.env.get("cpu_model"))
    << " &times; " << esc(r.env.get("cpus")) << " &middot; " << esc(r.env.get("timestamp_utc")) << "</p>\n";
  o << "<p class=\"sub\">Profile <b>" << esc(r.profile.name) << "</b>: " << r.profile.reps
    << " timed repetitions of about " << fmt(r.profile.rep_ms, 0)
    << " ms per subject, interleaved across the subjects of a scenario. Every figure was measured in this "
       "run; "
       "ratios compare each row with the scenario's baseline (the dashed line).</p>\n";
}

void write_legend(std::ostream& o, const BenchReport& r, Palette& pal) {
  o << "<p class=\"legend\">";
  o << "<span><i class=\"sw\" style=\"background:#374151\"></i>the scenario's baseline</span>";
  o << "<span><i class=\"sw\" style=\"background:#9ca3af\"></i>other std:: / thread baselines (greys, dotted "
       "lines)</span>";
  o << "<span><i class=\"sw\" style=\"background:#7c3aed\"></i>Boost.Asio</span>";
  for (const auto& p : r.pairs) {
    Measurement fake;
    auto slash = p.find('/');
    fake.tier = p.substr(0, slash);
    fake.backend = p.substr(slash + 1);
    o << "<span><i class=\"sw\" style=\"background:" << pal.color(fake) << "\"></i>libsync " << esc(p)
      << "</span>";
  }
  o << "</p>\n";
}

void write_results_header(std::ostream& o, const Measurement& f, bool per_op) {
  o << "<div class=\"scroll\"><table><tr><th>subject</th><th class=\"l\">tier/backend</th><th>median</th>"
       "<th>mean &plusmn; sd</th><th>"
    << (per_op ? "p99" : "min") << "</th><th>max</th><th>ops/s</th><th>syscalls/op</th><th>sleeps/op</th>"
    << "<th>futex waits armed/op</th><th>wakes sent/op</th><th>allocs/op</th><th>vs " << esc(f.baseline)
    << "</th><th class=\"l\">setup</th></tr>\n";
}

void write_result_row(std::ostream& o, const Measurement* m, bool per_op) {
  if (!m->error.empty()) {
    o << "<tr><td>" << esc(m->subject) << "</td><td class=\"l\">" << esc(m->tier + "/" + m->backend)
      << "</td><td colspan=\"12\" class=\"w err\">" << esc(m->error) << "</td></tr>\n";
    return;
  }
  std::string sleeps = "-", arms = "-", wakes = "-";
  if (m->loop_per_op) {
    const auto& lp = *m->loop_per_op;
    sleeps = format_fixed(lp.waits, 2);
    arms = format_fixed(lp.futex_waits_armed, 2);
    wakes = format_fixed(lp.futex_wake_sqes + lp.futex_wake_syscalls + lp.notifier_writes, 2);
  }
  o << "<tr><td>" << esc(m->subject) << "</td><td class=\"l\">"
    << esc(m->tier == "-" ? "-" : m->tier + "/" + m->backend) << "</td><td>" << esc(format_ns(m->median_ns))
    << "</td><td>" << esc(format_ns(m->mean_ns))
    << (m->samples > 1 ? " &plusmn; " + esc(format_ns(m->stddev_ns)) : std::string()) << "</td><td>"
    << esc(per_op ? (m->p99_ns ? format_ns(*m->p99_ns) : "-") : format_ns(m->min_ns)) << "</td><td>"
    << esc(format_ns(m->max_ns)) << "</td><td>" << esc(format_rate(m->ops_per_s)) << "</td><td>"
    << esc(format_fixed(m->syscalls_per_op, 2)) << (m->syscalls_source == "loop-counters" ? "~" : "")
    << "</td><td>" << sleeps << "</td><td>" << arms << "</td><td>" << wakes << "</td><td>"
    << esc(format_fixed(m->allocs_per_op, 2)) << "</td><td>" << (m->ratio ? format_ratio(*m->ratio) : "-")
    << "</td><td class=\"w\">" << esc(m->note) << "</td></tr>\n";
}

// One scenario: what it measures, its verdict and charts, then every row.
void write_scenario(std::ostream& o, const std::vector<const Measurement*>& all, Palette& pal) {
  std::vector<const Measurement*> ok;
  for (const Measurement* m : all)
    if (m->error.empty() && m->reps > 0) ok.push_back(m);
  const Measurement& f = *all.front();
  const bool per_op = f.basis == StatBasis::per_op;
  o << "<section data-scenario=\"" << esc(f.scenario) << "\"><h3>[" << f.family << "] " << esc(f.scenario)
    << "</h3>\n<p class=\"op\">" << esc(f.title) << ". One operation = " << esc(f.op_unit)
    << ". Statistics over " << (per_op ? "every timed operation" : "the repetition means") << ".</p>\n";
  if (!ok.empty()) {
    o << "<p class=\"verdict\">" << esc(verdict(ok)) << "</p>\n";
    dot_chart(o, ok, pal);
    if (per_op) quantile_chart(o, ok, pal);
    if (f.family == 6 || f.family == 7) throughput_chart(o, ok, pal);
  }
  write_results_header(o, f, per_op);
  for (const auto* m : all) write_result_row(o, m, per_op);
  o << "</table></div></section>\n";
}

// The results, one section per run of consecutive rows of one scenario.
void write_scenarios(std::ostream& o, const BenchReport& r, Palette& pal) {
  o << "<h2>Scenarios</h2>\n";
  std::size_t i = 0;
  while (i < r.results.size()) {
    std::vector<const Measurement*> all;
    for (std::size_t k = i; k < r.results.size() && r.results[k].scenario == r.results[i].scenario; ++k)
      all.push_back(&r.results[k]);
    write_scenario(o, all, pal);
    i += all.size();
  }
}

void write_goals(std::ostream& o, const BenchReport& r) {
  if (r.goals.empty()) return;
  o << "<h2>Goals (what libsync must show on this machine)</h2>\n<p class=\"sub\">Checked on this run's "
       "figures; reported, not asserted (a busy machine can miss one).</p>\n<table><tr><th>goal</th><th "
       "class=\"l\">result</th><th class=\"l\">measured</th><th class=\"l\">compares</th></tr>\n";
  for (const auto& g : r.goals)
    o << "<tr><td class=\"w\">" << esc(g.goal) << "</td><td class=\"l\">"
      << (!g.not_judged.empty() ? "unjudged"
          : !g.met              ? "not measured"
          : *g.met              ? "<span class=\"met\">met</span>"
                                : "<span class=\"miss\">not met</span>")
      << "</td><td class=\"w\">" << esc(g.measured)
      << (g.not_judged.empty() ? std::string() : "; not judged: " + esc(g.not_judged))
      << "</td><td class=\"w\">" << esc(g.compares) << "</td></tr>\n";
  o << "</table>\n";
}

void write_environment_and_notes(std::ostream& o, const BenchReport& r) {
  o << "<h2>Environment</h2>\n<table>\n";
  for (const auto& [k, v] : r.env.fields)
    o << "<tr><td>" << esc(k) << "</td><td class=\"w\" style=\"text-align:left\">" << esc(v)
      << "</td></tr>\n";
  o << "</table>\n";
  if (!r.notes.empty()) {
    o << "<h2>Notes</h2>\n<ul>\n";
    for (const auto& n : r.notes) o << "<li>" << esc(n) << "</li>\n";
    o << "</ul>\n";
  }
}

}  // namespace

void write_html(std::ostream& o, const BenchReport& r) {
  Palette pal;
  o << kPageHead;
  write_title(o, r);
  write_legend(o, r, pal);
  if (r.interrupted)
    o << "<p class=\"warn\">This run was interrupted: " << r.scenarios_done << " of " << r.scenarios_planned
      << " scenarios finished, and only those are shown.</p>\n";
  write_scenarios(o, r, pal);
  write_goals(o, r);
  write_environment_and_notes(o, r);
  o << "<p class=\"sub\">Total wall time " << fmt(r.wall_seconds) << " s.</p>\n</body></html>\n";
}

}  // namespace syncbench
