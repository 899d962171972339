// The dashboard in a real browser: headless Chromium loads `/` from a
// running server while a client keeps traffic flowing, and the test checks
// from the rendered DOM that the charts were drawn from live /stats values,
// then from a screenshot that the request-rate line was actually painted
// and is not flat. Skips, visibly, only where Chromium is absent.
#include <dirent.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>

#include "harness.hpp"
#include "png_image.hpp"

using namespace itest;

namespace {

std::string find_chromium() {
  if (const char* env = std::getenv("CHROMIUM"); env && *env) return access(env, X_OK) == 0 ? env : "";
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/demo-chromium-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

// Chromium starts helpers that leave its process group (the crash handler
// makes itself a session leader). As a child subreaper this process inherits
// them when their parent dies, so after each run it kills and reaps every
// chromium descendant left, and none outlives the test.
void reap_chromium_leftovers() {
  const pid_t self = getpid();
  for (int round = 0; round < 50; ++round) {
    std::set<pid_t> found;
    if (DIR* d = opendir("/proc")) {
      while (dirent* e = readdir(d)) {
        const pid_t pid = std::atoi(e->d_name);
        if (pid <= 0) continue;
        std::ifstream f("/proc/" + std::string(e->d_name) + "/stat");
        std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        auto open = stat.find('('), close = stat.rfind(')');
        if (open == std::string::npos || close == std::string::npos) continue;
        const std::string comm = stat.substr(open + 1, close - open - 1);
        const pid_t ppid = std::atoi(stat.c_str() + close + 4);  // ") S <ppid>"
        if (ppid == self && comm.rfind("chrom", 0) == 0) found.insert(pid);
      }
      closedir(d);
    }
    if (found.empty()) return;
    for (pid_t p : found) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
  }
}

struct BrowserRun {
  int exit_code = -1;
  bool timed_out = false;
  std::string out, err;
};

// Runs chromium headless with `args` on `url`; kills its whole process
// group at `timeout`.
BrowserRun run_chromium(const std::string& chromium, const std::string& profile,
                        std::vector<std::string> args, const std::string& url, Millis timeout) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::vector<std::string> argv = {chromium,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-quic",
                                   "--no-first-run",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--disable-dev-shm-usage",
                                   "--disable-crash-reporter",
                                   "--user-data-dir=" + profile,
                                   "--window-size=1280,1100",
                                   "--virtual-time-budget=5000"};
  for (auto& a : args) argv.push_back(std::move(a));
  argv.push_back(url);

  int out[2], err[2];
  REQUIRE(pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(pipe2(err, O_CLOEXEC) == 0);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  setpgid(pid, pid);
  ::close(out[1]);
  ::close(err[1]);

  BrowserRun run;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sink[2] = {&run.out, &run.err};
  int open = 2;
  while (open > 0) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      run.timed_out = true;
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left)) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sink[i]->append(buf, static_cast<std::size_t>(n));
      } else {
        fds[i].fd = -1;
        --open;
      }
    }
  }
  ::kill(-pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  ::close(out[0]);
  ::close(err[0]);
  reap_chromium_leftovers();
  return run;
}

// The value of attribute `attr` in the first tag that contains `marker`.
std::string attribute(const std::string& dom, const std::string& marker, const std::string& attr) {
  auto at = dom.find(marker);
  if (at == std::string::npos) return {};
  auto tag_start = dom.rfind('<', at);
  auto tag_end = dom.find('>', at);
  std::string tag = dom.substr(tag_start, tag_end - tag_start);
  auto a = tag.find(" " + attr + "=\"");
  if (a == std::string::npos) return {};
  a += attr.size() + 3;
  return tag.substr(a, tag.find('"', a) - a);
}

// The text of the element with id `id`.
std::string text_of(const std::string& dom, const std::string& id) {
  auto at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return {};
  auto start = dom.find('>', at) + 1;
  return dom.substr(start, dom.find('<', start) - start);
}

double number(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), ','), s.end());
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  return end == s.c_str() ? -1 : v;
}

}  // namespace

TEST_CASE("the dashboard shows live values in headless Chromium") {
  const std::string chromium = find_chromium();
  if (chromium.empty()) {
    MESSAGE("Chromium not found (set CHROMIUM or install Debian's chromium); the dashboard test is skipped");
    skip(
        "dashboard test: Chromium is not installed (looked for $CHROMIUM, /usr/bin/chromium, "
        "/usr/bin/chromium-browser)");
    return;
  }
  ServerProcess server({"--stats_interval_ms", "200", "--permits.work", "8"});
  const auto port = server.port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";

  // Traffic while the page is open: /healthz and some gated /work, so the
  // rate and the permit charts have something to show.
  std::atomic<bool> stop{false};
  std::thread traffic([&] {
    try {
      HttpClient c(port);
      for (int i = 0; !stop; ++i) {
        c.send(request("GET", i % 5 ? "/healthz" : "/work?ms=20&cost=2"));
        c.read_response();
        if (i % 50 == 49) std::this_thread::sleep_for(20ms);
      }
    } catch (...) {
    }
  });
  struct Join {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Join() {
      stop = true;
      t.join();
    }
  } join{stop, traffic};
  // A few stats ticks of history before the page loads.
  std::this_thread::sleep_for(1s);

  TempDir profile;
  BrowserRun dom_run = run_chromium(chromium, profile.path, {"--dump-dom"}, url, 60s);
  INFO("chromium stderr: " << dom_run.err.substr(0, 2000));
  REQUIRE_FALSE(dom_run.timed_out);
  REQUIRE(dom_run.exit_code == 0);
  const std::string& dom = dom_run.out;
  REQUIRE(dom.find("id=\"chart-rps\"") != std::string::npos);

  // The page polled /stats more than once and redrew each time.
  CHECK(number(attribute(dom, "<body", "data-updates")) >= 2);
  // Every chart holds several ticks of history, drawn as polylines.
  for (const char* chart : {"chart-rps", "chart-latency", "chart-permits", "chart-loops"}) {
    INFO(chart);
    CHECK(number(attribute(dom, std::string("id=\"") + chart + "\"", "data-points")) >= 3);
  }
  const std::string points = attribute(dom, "data-series=\"req/s\"", "points");
  CHECK(std::count(points.begin(), points.end(), ',') >= 3);
  // Live values: requests are flowing and the work semaphore has its 8 permits.
  CHECK(number(text_of(dom, "v-rps")) > 0);
  CHECK(number(text_of(dom, "v-requests")) > 10);
  CHECK(number(text_of(dom, "v-connections")) >= 1);
  CHECK(dom.find("<td>work</td><td>8</td>") != std::string::npos);
  // Latency per route: /work's 20 ms show, however many fast /healthz
  // requests share the tick.
  const auto routes = dom.find("id=\"routes\"");
  REQUIRE(routes != std::string::npos);
  const auto work_row = dom.find("<tr><td>work</td>", routes);
  REQUIRE(work_row != std::string::npos);
  const auto row = dom.substr(work_row, dom.find("</tr>", work_row) - work_row);
  std::vector<std::string> cells;
  for (std::size_t at = row.find("<td>"); at != std::string::npos; at = row.find("<td>", at + 4))
    cells.push_back(row.substr(at + 4, row.find("</td>", at) - at - 4));
  REQUIRE(cells.size() == 5);
  CHECK(number(cells[2]) >= 10);  // p50 (ms) of the last tick: in the (10, 25] ms bucket
  CHECK(dom.find("<tr><td>healthz</td>", routes) != std::string::npos);
  CHECK(text_of(dom, "tier").find("tier ") == 0);
  CHECK(text_of(dom, "state") == "serving");

  // The screenshot: the request-rate line (#1f77b4) was painted, and it is
  // not flat (it rises from the first tick, whose rate is 0, to the traffic).
  const std::string shot = profile.path + "/dashboard.png";
  BrowserRun shot_run = run_chromium(chromium, profile.path + "/p2", {"--screenshot=" + shot}, url, 60s);
  REQUIRE_FALSE(shot_run.timed_out);
  REQUIRE(shot_run.exit_code == 0);
  std::string error;
  auto img = PngImage::load(shot, error);
  REQUIRE_MESSAGE(img.has_value(), error);
  CHECK(img->width == 1280);
  CHECK(img->height == 1100);
  if (img->rgb.empty()) {
    MESSAGE(
        "built without zlib: the screenshot's size was checked, its pixels were not (install zlib1g-dev)");
    return;
  }
  std::size_t blue = 0;
  std::set<unsigned> rows;
  for (unsigned y = 0; y < img->height; ++y)
    for (unsigned x = 0; x < img->width; ++x) {
      const auto* p = img->at(x, y);
      if (std::abs(p[0] - 0x1f) < 24 && std::abs(p[1] - 0x77) < 24 && std::abs(p[2] - 0xb4) < 24) {
        ++blue;
        rows.insert(y);
      }
    }
  INFO("rate-line pixels: " << blue << " in " << rows.size() << " rows");
  CHECK(blue > 300);
  CHECK(rows.size() > 20);
}
