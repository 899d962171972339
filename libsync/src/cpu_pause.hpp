// cpu_pause(): the spin-wait hint of this CPU (x86 PAUSE, Arm YIELD), for
// the loops that spin briefly before they sleep (QueueLock, the idle spin).
#pragma once

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#include <immintrin.h>
#endif

namespace libsync::detail {

inline void cpu_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
  _mm_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#endif
}

}  // namespace libsync::detail
