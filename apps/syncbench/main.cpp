// syncbench: the command-line front end of libsync.
//
//   syncbench probe [--json] [--tier T]     what this system supports, and why
//   syncbench bench [--quick|--full] ...    every tier beside the std:: baselines
//   syncbench compare A.json B.json         two bench runs side by side
//
// Each subcommand lives in its own file and stores its exit code; this file
// only parses and maps command-line errors to exit code 2 (CLI11's own codes
// vary per error kind, which scripts cannot rely on).
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <sync/tier.hpp>

#include "bench.hpp"
#include "compare.hpp"
#include "environment.hpp"
#include "exit_codes.hpp"
#include "probe.hpp"

int main(int argc, char** argv) {
  using namespace syncbench;
  CLI::App app{
      "syncbench: probe what this system offers libsync, and benchmark every tier against std:: "
      "and Boost.Asio baselines in the same run."};
  app.name("syncbench");
  const BuildInfo& b = build_info();
  // One line, no padding: "syncbench 0.1.0 (commit 0123abcd..., Release build)".
  const std::string dirty = *b.git_dirty ? ", with uncommitted changes" : "";
  app.set_version_flag("--version", std::string("syncbench ") + b.version + " (commit " + b.git_commit +
                                        dirty + ", " + b.build_type + " build)");
  app.require_subcommand(1, 1);
  app.footer(
      std::string(
          "Examples:\n"
          "  syncbench probe                        what this system supports, and which tier auto picks\n"
          "  syncbench bench                        quick benchmark of every tier (under a minute)\n"
          "  syncbench bench --json a.json          ... and keep the results\n"
          "  syncbench compare a.json b.json        what changed between two runs\n"
          "Run 'syncbench SUBCOMMAND --help' for each one's options.\n\n") +
      kExitCodeHelp);

  int exit_code = kExitOk;
  add_probe_command(app, exit_code);
  add_bench_command(app, exit_code);
  add_compare_command(app, exit_code);

  // CLI11 reports an unknown subcommand as "A subcommand is required";
  // name it instead.
  if (argc > 1 && argv[1][0] != '-' && std::string(argv[1]) != "probe" && std::string(argv[1]) != "bench" &&
      std::string(argv[1]) != "compare") {
    std::cerr << "syncbench: unknown subcommand '" << argv[1] << "' (expected probe, bench or compare)\n"
              << "Run with --help for more information.\n";
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message and the "Run with --help" hint on stderr
    return kExitUsage;
  } catch (const libsync::TierUnavailable& e) {
    std::cerr << "syncbench: " << e.what() << "\n";
    return kExitTierUnavailable;
  } catch (const std::exception& e) {
    std::cerr << "syncbench: " << e.what() << "\n";
    return kExitFailure;
  }
  return exit_code;
}
