// libFuzzer target: bytes a client might send, through the whole request
// path (framing checks, Beast's parser, target normalisation, routing,
// limits, the handlers, the serializer) and out as the bytes of the answers.
//
// Each input is written to one end of a socketpair, followed by a FIN; a
// connection task of a real Worker serves the other end on a libsync loop
// while a reader task takes the answers, until both are done. The answers
// must be HTTP/1.1 responses. Waits are configured to a few milliseconds so
// /work and /events finish quickly.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sync/io.hpp>
#include <sync/loop.hpp>

#include "config.hpp"
#include "connection.hpp"
#include "server.hpp"
#include "worker.hpp"

namespace {

struct World {
  demo::Server server;
  demo::Worker worker;
  libsync::Loop loop;

  static demo::Config config() {
    demo::Config c;
    c.tier = "generic";
    c.backend = "epoll";
    c.work_max_ms = 2;
    c.work_queue_timeout_ms = 2;
    c.work_large_wait_ms = 1;
    c.events_timeout_ms = 1;
    c.events_max_timeout_ms = 2;
    c.header_limit = 4096;
    c.body_limit = 8192;
    return c;
  }
  World() : server(config()), worker(server, 0, -1), loop(server.config().loop_options()) {}
};

World& world() {
  static World* w = new World;  // lives for the process: libFuzzer exits without unwinding
  return *w;
}

libsync::Task<void> read_all(int fd, std::string& out) {
  char buf[16384];
  for (;;) {
    const libsync::IoResult r = co_await libsync::recv(fd, buf, sizeof buf);
    if (r.value <= 0) break;
    out.append(buf, static_cast<std::size_t>(r.value));
  }
}

libsync::Task<void> write_all(int fd, const std::uint8_t* data, std::size_t size) {
  std::size_t off = 0;
  while (off < size) {
    const libsync::IoResult r = co_await libsync::send(fd, data + off, size - off);
    if (r.value <= 0) break;
    off += static_cast<std::size_t>(r.value);
  }
  ::shutdown(fd, SHUT_WR);
}

libsync::Task<void> close_socket(int fd) {
  co_await libsync::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = world();
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  libsync::AcquireResult permit = w.server.gate(demo::GateId::connections).try_acquire();
  if (!permit) std::abort();  // every earlier connection returned its permit
  std::string answers;
  w.loop.spawn(demo::serve_connection(w.worker, fds[0], std::move(permit.permit)));
  w.loop.spawn(write_all(fds[1], data, size));
  w.loop.spawn(read_all(fds[1], answers));
  w.loop.run_until_idle();
  // Through the loop, so its backend forgets the descriptor before the
  // number is reused by the next input's socketpair.
  w.loop.spawn(close_socket(fds[1]));
  w.loop.run_until_idle();
  if (!answers.empty() && answers.rfind("HTTP/1.1 ", 0) != 0) {
    std::fprintf(stderr, "answer does not start with a status line: %.80s\n", answers.c_str());
    std::abort();
  }
  return 0;
}
