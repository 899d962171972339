// `syncbench probe`: what this kernel / OS supports, every backend and tier
// with the reason it is (not) available, each tier's live self-test, and the
// tier `auto` picks. Table on stdout by default, `--json` for scripts.
#pragma once

namespace CLI {
class App;
}

namespace syncbench {

// Registers the subcommand; when it runs, its exit code is stored in `exit_code`.
void add_probe_command(CLI::App& app, int& exit_code);

}  // namespace syncbench
