// PngImage: just enough of a PNG decoder (8-bit RGB/RGBA, not interlaced,
// zlib from the system) to look at the pixels of a Chromium screenshot.
// Without zlib (DEMO_HAVE_ZLIB unset) only the header can be read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace itest {

struct PngImage {
  unsigned width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // width * height * 3

  // Decodes the file; on failure returns nullopt and says why in `error`.
  // With `pixels` false (or without zlib) it reads the size only.
  static std::optional<PngImage> load(const std::string& path, std::string& error, bool pixels = true);
  const std::uint8_t* at(unsigned x, unsigned y) const { return &rgb[(std::size_t{y} * width + x) * 3]; }
};

}  // namespace itest
