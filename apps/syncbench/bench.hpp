// `syncbench bench`: the benchmark scenarios (benches/), every
// available tier beside std:: and Boost.Asio baselines measured in the same
// run. Table on stdout; --json / --csv / --html reports.
#pragma once

namespace CLI {
class App;
}

namespace syncbench {

// Registers the subcommand; when it runs, its exit code is stored in `exit_code`.
void add_bench_command(CLI::App& app, int& exit_code);

}  // namespace syncbench
