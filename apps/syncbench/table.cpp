// TextTable printing.
#include "table.hpp"

#include <algorithm>
#include <cstdlib>
#include <numeric>

#if defined(_WIN32)
#include <io.h>
#include <windows.h>
#else
#include <sys/ioctl.h>
#include <unistd.h>
#endif

namespace syncbench {

TextTable::Fit TextTable::print(std::ostream& out, std::size_t max_width) const {
  std::vector<std::size_t> width(columns_.size(), 0);
  for (std::size_t c = 0; c < columns_.size(); ++c) width[c] = columns_[c].header.size();
  for (const auto& row : rows_)
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c)
      width[c] = std::max(width[c], row[c].size());

  std::vector<bool> shown(columns_.size(), true);
  auto line_width = [&] {
    std::size_t w = indent_.size(), n = 0;
    for (std::size_t c = 0; c < columns_.size(); ++c)
      if (shown[c]) {
        w += width[c];
        ++n;
      }
    return w + (n ? 2 * (n - 1) : 0);
  };
  Fit fit;
  if (max_width > 0) {
    std::vector<std::size_t> order(columns_.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return columns_[a].drop_rank > columns_[b].drop_rank;
    });
    for (std::size_t c : order) {
      if (line_width() <= max_width || columns_[c].drop_rank == 0) break;
      shown[c] = false;
      fit.dropped.push_back(columns_[c].header);
    }
  }
  std::size_t last = columns_.size();
  for (std::size_t c = 0; c < columns_.size(); ++c)
    if (shown[c]) last = c;

  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line = indent_;
    bool first = true;
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      if (!shown[c]) continue;
      if (!first) line += "  ";
      first = false;
      const std::string& cell = c < cells.size() ? cells[c] : std::string();
      const bool is_last = c == last;
      std::size_t pad = width[c] - std::min(width[c], cell.size());
      if (columns_[c].align == Align::right) {
        line.append(pad, ' ');
        line += cell;
      } else {
        line += cell;
        if (!is_last) line.append(pad, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (max_width > 0 && line.size() > max_width && max_width > 3) {
      line.resize(max_width - 3);
      line += "...";
      fit.cut = true;
    }
    out << line << '\n';
  };
  std::vector<std::string> headers;
  for (const auto& c : columns_) headers.push_back(c.header);
  emit(headers);
  for (const auto& row : rows_) emit(row);
  return fit;
}

std::size_t terminal_columns(int fd) {
#if defined(_WIN32)
  if (!_isatty(fd)) return 0;
#else
  if (!::isatty(fd)) return 0;
#endif
  if (const char* env = std::getenv("COLUMNS"); env && *env) {
    const long v = std::strtol(env, nullptr, 10);
    if (v > 0) return static_cast<std::size_t>(v);
  }
#if defined(_WIN32)
  CONSOLE_SCREEN_BUFFER_INFO info;
  if (GetConsoleScreenBufferInfo(GetStdHandle(fd == 2 ? STD_ERROR_HANDLE : STD_OUTPUT_HANDLE), &info))
    return static_cast<std::size_t>(info.srWindow.Right - info.srWindow.Left + 1);
  return 80;
#else
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
#endif
}

}  // namespace syncbench
