// Parking a plain thread on a 32-bit word: the blocking side of every
// primitive. Linux uses the futex syscall (with the same private/shared
// choice as the uring-futex tier, so both sides of any word always match),
// Windows WaitOnAddress, anything else a striped mutex + condition variable.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <sync/loop.hpp>

namespace libsync::detail {

// Blocks while *word == expected, until woken or `deadline`. May return
// spuriously; the caller re-checks.
void park(std::atomic<std::uint32_t>& word, std::uint32_t expected,
          std::optional<Clock::time_point> deadline) noexcept;
// Makes the one-time choices park and unpark rest on now (Linux: the futex
// mode, whose decision asks the kernel for a global futex hash, may probe it
// and allocates its description). Every Loop calls it as it is built, so a
// loop thread's first contended queue lock neither allocates nor probes.
void prepare_parking() noexcept;
// Wakes every thread parked on `word`. Safe on memory that was reused.
void unpark_all(std::atomic<std::uint32_t>& word) noexcept;
// Wakes at least one thread parked on `word` (exactly one with a futex or
// WaitOnAddress; the condition-variable fallback, whose stripes are shared
// between words, wakes them all). Safe on memory that was reused.
void unpark_one(std::atomic<std::uint32_t>& word) noexcept;

}  // namespace libsync::detail
