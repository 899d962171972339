// A program outside the libsync tree, built against the installed package.
#include <cstdio>
#include <sync/semaphore.hpp>

int main() {
  libsync::Loop loop;
  libsync::Semaphore sem(1);
  bool ok = loop.block_on([&]() -> libsync::Task<bool> {
    auto p = co_await sem.acquire();
    co_return static_cast<bool>(p);
  }());
  std::printf("acquired=%d tier=%s\n", ok ? 1 : 0, std::string(libsync::to_string(loop.tier())).c_str());
  return ok ? 0 : 1;
}
