#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace nself::cli {

// A table for human output: a header row and aligned, left-justified columns
// separated by two spaces. Widths count UTF-8 code points, not bytes.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void add_row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Label/value lines with the values aligned, as in the manual's stats example:
//   Active Connections:     47
void print_fields(std::ostream& out,
                  const std::vector<std::pair<std::string, std::string>>& fields);

// Writes a JSON value on one line followed by a newline. Keys keep insertion
// order, so output is stable.
void print_json(std::ostream& out, const boost::json::value& value);

// 1234567 -> "1,234,567" (the manual's "Messages (24h): 1,234").
std::string with_thousands_separators(std::int64_t number);

// A duration in seconds as "2h 5m 3s", "4m 10s", "12s".
std::string format_duration(std::int64_t seconds);

}  // namespace nself::cli
