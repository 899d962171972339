// Systems without Linux futexes have no private futex hash to strand waits.
#include <sync/capabilities.hpp>

namespace libsync {

const FutexHashHazard& futex_hash_hazard() {
  static const FutexHashHazard h{FutexHashHazard::State::not_applicable, "no Linux futexes on this system",
                                 0};
  return h;
}

}  // namespace libsync
