// doctest main for the integration tests: a watchdog, and a visible skip
// (exit code 77, which ctest reports as skipped) when the tier under test
// cannot run on this host.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "harness.hpp"

int main(int argc, char** argv) {
  itest::start_watchdog(std::chrono::minutes(4));
  if (const char* tier = std::getenv("DEMO_SERVER_TIER"); tier && *tier) {
    try {
      itest::ServerProcess probe;
    } catch (const std::runtime_error& e) {
      std::string what = e.what();
      if (what.find("libsync: tier") != std::string::npos || what.find("unavailable") != std::string::npos) {
        std::printf("SKIPPED: tier %s is not available on this host:\n%s\n", tier, what.c_str());
        return 77;
      }
      std::fprintf(stderr, "demo-server does not start with tier %s:\n%s\n", tier, what.c_str());
      return 1;
    }
    std::printf("demo-server integration tests on tier %s\n", tier);
  }
  doctest::Context ctx(argc, argv);
  const int failed = ctx.run();
  if (failed == 0 && itest::skipped()) return 77;
  return failed;
}
