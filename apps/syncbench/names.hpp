// The tier and backend names the command line accepts, taken from the
// library's own to_string() so that a new tier shows up here by itself.
#pragma once

#include <string>
#include <sync/tier.hpp>
#include <vector>

namespace syncbench {

inline std::vector<std::string> tier_names() {
  std::vector<std::string> names;
  for (auto t :
       {libsync::Tier::automatic, libsync::Tier::generic, libsync::Tier::uring_futex, libsync::Tier::iocp})
    names.emplace_back(libsync::to_string(t));
  return names;
}

inline std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (auto b : {libsync::BackendKind::automatic, libsync::BackendKind::epoll, libsync::BackendKind::uring,
                 libsync::BackendKind::iocp})
    names.emplace_back(libsync::to_string(b));
  return names;
}

}  // namespace syncbench
