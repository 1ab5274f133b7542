// A plain-text table for the CLI's reports (inspect, build): rows of cells printed with every
// column padded to its widest cell, so the output stays readable and greppable. Values only;
// not thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace detstream::app {

class TextTable {
 public:
  // `indent` spaces before each row; columns are separated by two spaces.
  explicit TextTable(std::vector<std::string> header = {}, int indent = 2);
  void add_row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  std::string render() const;
  void print(std::FILE* out = stdout) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  int indent_;
};

// "12.3 MB", "4.0 KB", "512 B".
std::string format_bytes(std::uint64_t bytes);

}  // namespace detstream::app
