// Visible skips for the doctest binaries.
//
// A case that cannot run here calls skip(reason) and returns. The reason is
// printed (ctest shows it with --output-on-failure and in the log), and the
// binary then exits with 77, which ctest reports as Skipped rather than
// Passed. A binary in which any case failed still exits non-zero for the
// failure; a binary in which some cases ran and one skipped reports Skipped
// as a whole, and its output names the case that skipped.
#pragma once

#include <string>

namespace libsync::test {

inline constexpr int kSkipExitCode = 77;

void skip(const std::string& reason);
bool any_skipped() noexcept;

}  // namespace libsync::test
