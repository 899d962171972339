// Test entry point: pick the tier under test from LIBSYNC_TEST_TIER, skip
// visibly when the host cannot run it, then hand over to doctest.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "skip.hpp"
#include "tier_under_test.hpp"

namespace libsync::test {
namespace {
LoopOptions g_options;
std::string g_name = "auto";
}  // namespace

std::atomic<bool> g_skipped{false};

LoopOptions tier_options() {
  return g_options;
}
const std::string& tier_name() {
  return g_name;
}

void skip(const std::string& reason) {
  std::printf("SKIPPED: %s\n", reason.c_str());
  std::fflush(stdout);
  g_skipped.store(true);
}

bool any_skipped() noexcept {
  return g_skipped.load();
}

}  // namespace libsync::test

int main(int argc, char** argv) {
  using namespace libsync;
  constexpr int kSkip = test::kSkipExitCode;
  const char* env = std::getenv("LIBSYNC_TEST_TIER");
  if (env && *env) {
    std::string spec = env;
    auto slash = spec.find('/');
    auto tier = parse_tier(spec.substr(0, slash));
    auto backend = slash == std::string::npos ? std::optional<BackendKind>(BackendKind::automatic)
                                              : parse_backend(spec.substr(slash + 1));
    if (!tier || !backend) {
      std::fprintf(stderr, "LIBSYNC_TEST_TIER=%s is not tier/backend\n", env);
      return 2;
    }
    test::g_options.tier = *tier;
    test::g_options.backend = *backend;
    test::g_options.use_environment = false;
    test::g_name = spec;
    try {
      Selection sel = select_tier(test::g_options);
      std::printf("tier under test: %s (%s/%s: %s)\n", env, std::string(to_string(sel.tier)).c_str(),
                  std::string(to_string(sel.backend)).c_str(), sel.reason.c_str());
    } catch (const std::exception& e) {
      std::printf("SKIPPED: tier %s is not available on this host: %s\n", env, e.what());
      return kSkip;
    }
  }
  std::fflush(stdout);
  doctest::Context ctx;
  ctx.applyCommandLine(argc, argv);
  const int rc = ctx.run();
  if (rc == 0 && test::any_skipped()) return kSkip;
  return rc;
}
