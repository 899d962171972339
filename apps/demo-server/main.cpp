// demo-server: an HTTP/1.1 server whose handlers are gated by libsync
// semaphores, with every accept, recv, send, timer and permit wait
// completing on the server's own event loops.
//
//   demo-server --config configs/demo-server.toml [--port 0] [--permits.work 8] ...
//
// See server.hpp for the thread layout and the shutdown sequence,
// connection.hpp for the HTTP side, routes.hpp for the endpoints.
#include <cstdio>
#include <exception>

#include "config.hpp"
#include "server.hpp"

int main(int argc, char** argv) {
  demo::Config cfg;
  const demo::ParseOutcome parsed = demo::parse_command_line(argc, argv, cfg);
  if (parsed.action == demo::ParseOutcome::Action::exit) return parsed.exit_code;
  try {
    demo::Server server(std::move(cfg));
    return server.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "demo-server: %s\n", e.what());
    return 1;
  }
}
