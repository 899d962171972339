// TextTable: rows of cells printed with aligned columns (byte widths; the
// writers keep cells ASCII). Used by both `probe` and `bench`.
#pragma once

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
  };

  explicit TextTable(std::vector<Column> columns, std::string indent = "  ")
      : columns_(std::move(columns)), indent_(std::move(indent)) {}

  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  // The last column is never padded, so long free text ("reason") may run on.
  void print(std::ostream& out) const;

 private:
  std::vector<Column> columns_;
  std::string indent_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace syncbench
