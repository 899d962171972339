// PngImage: chunk walk, inflate, and the five PNG row filters.
#include "png_image.hpp"

#ifdef DEMO_HAVE_ZLIB
#include <zlib.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>

namespace itest {
namespace {

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

std::uint8_t paeth(int a, int b, int c) {
  int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return static_cast<std::uint8_t>(a);
  return static_cast<std::uint8_t>(pb <= pc ? b : c);
}

}  // namespace

std::optional<PngImage> PngImage::load(const std::string& path, std::string& error, bool pixels) {
  std::ifstream f(path, std::ios::binary);
  std::vector<std::uint8_t> d((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  static const std::uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (d.size() < 8 || !std::equal(sig, sig + 8, d.begin())) {
    error = "not a PNG file (" + std::to_string(d.size()) + " bytes)";
    return std::nullopt;
  }
  PngImage img;
  [[maybe_unused]] unsigned depth = 0, color = 0, interlace = 0;
  std::vector<std::uint8_t> idat;
  for (std::size_t pos = 8; pos + 12 <= d.size();) {
    const std::uint32_t len = be32(&d[pos]);
    const std::string type(reinterpret_cast<const char*>(&d[pos + 4]), 4);
    if (pos + 12 + len > d.size()) break;
    const std::uint8_t* body = &d[pos + 8];
    if (type == "IHDR") {
      img.width = be32(body);
      img.height = be32(body + 4);
      depth = body[8];
      color = body[9];
      interlace = body[12];
    } else if (type == "IDAT") {
      idat.insert(idat.end(), body, body + len);
    } else if (type == "IEND") {
      break;
    }
    pos += 12 + len;
  }
  if (img.width == 0 || img.height == 0) {
    error = "no IHDR chunk";
    return std::nullopt;
  }
#ifndef DEMO_HAVE_ZLIB
  pixels = false;
#endif
  if (!pixels) return img;
#ifdef DEMO_HAVE_ZLIB
  if (depth != 8 || (color != 2 && color != 6) || interlace != 0) {
    error = "unsupported PNG (depth " + std::to_string(depth) + ", color type " + std::to_string(color) + ")";
    return std::nullopt;
  }
  const unsigned bpp = color == 6 ? 4 : 3;
  const std::size_t stride = std::size_t{img.width} * bpp;
  std::vector<std::uint8_t> raw((stride + 1) * img.height);
  uLongf raw_len = static_cast<uLongf>(raw.size());
  if (uncompress(raw.data(), &raw_len, idat.data(), static_cast<uLong>(idat.size())) != Z_OK ||
      raw_len != raw.size()) {
    error = "cannot inflate the image data";
    return std::nullopt;
  }
  std::vector<std::uint8_t> prev(stride, 0), cur(stride);
  img.rgb.resize(std::size_t{img.width} * img.height * 3);
  for (unsigned y = 0; y < img.height; ++y) {
    const std::uint8_t* row = &raw[y * (stride + 1)];
    const std::uint8_t filter = row[0];
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      int v = row[1 + i];
      switch (filter) {
        case 1:
          v += a;
          break;
        case 2:
          v += b;
          break;
        case 3:
          v += (a + b) / 2;
          break;
        case 4:
          v += paeth(a, b, c);
          break;
        default:
          break;
      }
      cur[i] = static_cast<std::uint8_t>(v);
    }
    for (unsigned x = 0; x < img.width; ++x)
      for (unsigned k = 0; k < 3; ++k) img.rgb[(std::size_t{y} * img.width + x) * 3 + k] = cur[x * bpp + k];
    std::swap(prev, cur);
  }
#endif
  return img;
}

}  // namespace itest
