// The bench --html report in a real browser: headless Chromium renders a
// report from a short real run at 1400 px, once with a measuring script
// added to a copy (the report itself has none) and once for a screenshot.
// Checked: the page uses the window's width and does not scroll sideways,
// no table cell or chart label is cut off, and every subject of every
// scenario has a visible label, median dot and value in its chart; in the
// screenshot, the tier colours of the dots were actually painted. Skips
// (exit 77, saying why) only where Chromium is absent.
//
//   html_report_test --syncbench=PATH
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "json_value.hpp"
#include "png_image.hpp"

using syncbench_test::ProcessResult;
using syncbench_test::run_process;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::cout << "FAILED: " << what << "\n";
  } else {
    std::cout << "ok: " << what << "\n";
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string find_chromium() {
  if (const char* env = std::getenv("CHROMIUM"); env && *env) return access(env, X_OK) == 0 ? env : "";
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

// Chromium under `timeout`, so a wedged browser cannot hang the suite.
ProcessResult chromium(const std::string& bin, const std::string& profile, const std::string& what,
                       const std::string& url) {
  return run_process({"/usr/bin/timeout", "--kill-after=5", "90", bin, "--headless", "--no-sandbox",
                      "--disable-gpu", "--no-first-run", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                      "--disable-crash-reporter", "--hide-scrollbars", "--user-data-dir=" + profile,
                      "--window-size=1400,1000", "--virtual-time-budget=3000", what, url});
}

// What the measuring script leaves in the DOM: data-* attributes on <body>.
std::string body_attr(const std::string& dom, const std::string& name) {
  auto body = dom.find("<body");
  if (body == std::string::npos) return "";
  auto end = dom.find('>', body);
  const std::string tag = dom.substr(body, end - body);
  auto a = tag.find(" " + name + "=\"");
  if (a == std::string::npos) return "";
  a += name.size() + 3;
  std::string v = tag.substr(a, tag.find('"', a) - a);
  std::string out;  // undo the &quot; / &amp; of the serializer
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v.compare(i, 6, "&quot;") == 0) {
      out += '"';
      i += 5;
    } else if (v.compare(i, 5, "&amp;") == 0) {
      out += '&';
      i += 4;
    } else {
      out += v[i];
    }
  }
  return out;
}

// Runs after layout; everything it finds goes into attributes of <body>.
const char* kMeasure = R"JS(<script>
(function () {
  const b = document.body, W = window.innerWidth;
  const clipped = [], hidden = [], seen = [];
  b.setAttribute('data-inner-width', W);
  b.setAttribute('data-scroll-width', document.documentElement.scrollWidth);
  b.setAttribute('data-body-width', Math.round(b.getBoundingClientRect().width));
  for (const el of document.querySelectorAll('td, th, .dl, .dv, .scroll')) {
    if (el.scrollWidth > el.clientWidth + 1) clipped.push(el.textContent.trim().slice(0, 60));
    const r = el.getBoundingClientRect();
    if (r.right > W + 0.5 || r.left < -0.5) clipped.push('outside the window: ' + el.textContent.trim().slice(0, 60));
  }
  for (const sec of document.querySelectorAll('section[data-scenario]')) {
    const name = sec.getAttribute('data-scenario');
    const chart = sec.querySelector('.dots');  // the first: the medians' dot chart
    if (!chart) continue;
    for (const row of chart.querySelectorAll('.drow:not(.ticks)')) {
      const label = row.querySelector('.dl'), dot = row.querySelector('.dot'), plot = row.querySelector('.dp');
      const lr = label.getBoundingClientRect(), dr = dot ? dot.getBoundingClientRect() : null;
      const pr = plot.getBoundingClientRect();
      const ok = lr.width > 0 && lr.height > 0 && dr && dr.width > 0 &&
                 dr.left >= pr.left - 7 && dr.right <= pr.right + 7 && dr.right <= W;
      (ok ? seen : hidden).push(name + '|' + label.textContent.trim());
    }
  }
  b.setAttribute('data-clipped', JSON.stringify(clipped));
  b.setAttribute('data-hidden', JSON.stringify(hidden));
  b.setAttribute('data-seen', JSON.stringify(seen));
})();
</script>)JS";

}  // namespace

int main(int argc, char** argv) {
  std::string syncbench;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]).rfind("--syncbench=", 0) == 0) syncbench = std::string(argv[i]).substr(12);
  if (syncbench.empty()) {
    std::cerr << "usage: html_report_test --syncbench=PATH\n";
    return 2;
  }
  const std::string browser = find_chromium();
  if (browser.empty()) {
    std::cout << "SKIPPED: Chromium is not installed (looked for $CHROMIUM, /usr/bin/chromium, "
                 "/usr/bin/chromium-browser); scripts/setup.sh --linux-tests installs it\n";
    return 77;
  }
  char tmpl[] = "/tmp/syncbench-html-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const std::string html = dir + "/report.html", json = dir + "/report.json";

  // A short real run over scenarios with long labels (a long baseline name,
  // Boost.Asio), per-op and per-repetition rows and a throughput chart.
  ProcessResult bench = run_process(
      {syncbench, "bench", "--reps", "2", "--rep-ms", "2", "--filter",
       "^uncontended/try_acquire$|^cross-loop/handoff$|^unified-io/gated-echo$|^contended/throughput$",
       "--html", html, "--json", json});
  if (bench.exit_code != 0) {
    std::cout << "FAILED: syncbench bench exited " << bench.exit_code << "\n" << bench.err;
    return 1;
  }
  const std::string page = read_file(html);
  check(page.find("<script") == std::string::npos, "the report has no script");

  // Every subject the run measured, as the charts label them.
  std::set<std::string> subjects;
  const syncbench::JsonValue report = syncbench::parse_json(read_file(json));
  for (const syncbench::JsonValue& r : report["results"].as_array()) {
    if (!r["error"].is_null()) continue;
    std::string label = r["subject"].as_string();
    if (r["tier"].is_string()) label += " " + r["tier"].as_string() + "/" + r["backend"].as_string();
    subjects.insert(r["scenario"].as_string() + "|" + label);
  }
  check(subjects.size() >= 10, "the run measured " + std::to_string(subjects.size()) + " subjects");

  // The measuring copy.
  std::string measured = page;
  measured.insert(measured.rfind("</body>"), kMeasure);
  const std::string measured_path = dir + "/measured.html";
  std::ofstream(measured_path) << measured;
  ProcessResult dom = chromium(browser, dir + "/p1", "--dump-dom", "file://" + measured_path);
  check(dom.exit_code == 0, "chromium --dump-dom exited " + std::to_string(dom.exit_code));
  const int inner = std::atoi(body_attr(dom.out, "data-inner-width").c_str());
  const int scroll = std::atoi(body_attr(dom.out, "data-scroll-width").c_str());
  const int body = std::atoi(body_attr(dom.out, "data-body-width").c_str());
  check(inner == 1400, "the window is 1400 px wide (" + std::to_string(inner) + ")");
  check(scroll <= inner, "no sideways scrolling (document " + std::to_string(scroll) + " px)");
  check(body >= 1250, "the page uses the window's width (body " + std::to_string(body) + " px)");
  const std::string clipped = body_attr(dom.out, "data-clipped");
  check(clipped == "[]", "no table cell or chart label is cut off: " + clipped.substr(0, 600));
  const std::string hidden = body_attr(dom.out, "data-hidden");
  check(hidden == "[]", "no chart row lacks a visible label or dot: " + hidden.substr(0, 600));
  std::set<std::string> seen;
  if (auto v = body_attr(dom.out, "data-seen"); !v.empty()) {
    try {
      const syncbench::JsonValue list = syncbench::parse_json(v);
      for (const auto& s : list.as_array()) seen.insert(s.as_string());
    } catch (const std::exception& e) {
      check(false, std::string("the measuring script's output parses: ") + e.what());
    }
  }
  for (const std::string& s : subjects) check(seen.count(s) == 1, "visible in its chart: " + s);

  // The screenshot: the page as a user sees it. The first chart's dots
  // carry the tier colours; count the pixels of the uring-futex teal.
  const std::string shot = dir + "/report.png";
  ProcessResult sr = chromium(browser, dir + "/p2", "--screenshot=" + shot, "file://" + html);
  check(sr.exit_code == 0, "chromium --screenshot exited " + std::to_string(sr.exit_code));
  std::string error;
  auto img = itest::PngImage::load(shot, error);
  check(img.has_value(), "the screenshot loads: " + error);
  if (img) {
    check(img->width == 1400 && img->height == 1000, "the screenshot is 1400x1000 (" +
                                                         std::to_string(img->width) + "x" +
                                                         std::to_string(img->height) + ")");
    if (img->rgb.empty()) {
      std::cout << "note: built without zlib, the screenshot's pixels were not checked\n";
    } else {
      std::size_t coloured = 0, dark = 0;
      for (unsigned y = 0; y < img->height; ++y)
        for (unsigned x = 0; x < img->width; ++x) {
          const auto* p = img->at(x, y);
          // Any libsync tier colour: saturated, not grey.
          const int mx = std::max({int{p[0]}, int{p[1]}, int{p[2]}}),
                    mn = std::min({int{p[0]}, int{p[1]}, int{p[2]}});
          if (mx - mn > 60) ++coloured;
          if (mx < 90) ++dark;
        }
      check(coloured > 400, "tier-coloured pixels painted: " + std::to_string(coloured));
      check(dark > 2000, "text painted: " + std::to_string(dark) + " dark pixels");
    }
  }
  std::cout << "report: " << html << "\nscreenshot: " << shot << "\n";
  if (failures == 0 && !std::getenv("KEEP_REPORT")) std::system(("rm -rf '" + dir + "'").c_str());
  return failures ? 1 : 0;
}
