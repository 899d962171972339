// TextTable: rows of cells printed with aligned columns (byte widths; the
// writers keep cells ASCII). Used by `probe`, `bench` and `compare`.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace syncbench {

class TextTable {
 public:
  enum class Align { left, right };
  struct Column {
    std::string header;
    Align align = Align::left;
    // 0: always shown. Otherwise, when the table is wider than the limit,
    // columns are left out highest drop rank first until it fits.
    int drop_rank = 0;
  };

  explicit TextTable(std::vector<Column> columns, std::string indent = "  ")
      : columns_(std::move(columns)), indent_(std::move(indent)) {}

  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }

  // What fitting the table into a width cost.
  struct Fit {
    std::vector<std::string> dropped;  // headers of the columns left out
    bool cut = false;                  // the last column's text was shortened
  };
  // The last column is never padded, so long free text ("reason") may run
  // on. With max_width > 0 the lines are kept within it: droppable columns
  // go first, then the last column is cut with "...".
  Fit print(std::ostream& out, std::size_t max_width = 0) const;

 private:
  std::vector<Column> columns_;
  std::string indent_;
  std::vector<std::vector<std::string>> rows_;
};

// Columns of the terminal `fd` (1: stdout, 2: stderr) is, or 0 when it is
// not one (a pipe or a file gets every column). $COLUMNS wins on a terminal.
std::size_t terminal_columns(int fd = 1);

}  // namespace syncbench
