#include "cli/output.hpp"

#include <boost/json/serialize.hpp>
#include <ostream>

namespace nself::cli {
namespace {

std::size_t display_width(const std::string& text) {
  std::size_t width = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++width;  // count lead bytes only
  }
  return width;
}

}  // namespace

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> widths(headers_.size());
  for (std::size_t column = 0; column < headers_.size(); ++column) {
    widths[column] = display_width(headers_[column]);
    for (const auto& row : rows_)
      widths[column] = std::max(widths[column], display_width(row[column]));
  }
  auto print_row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t column = 0; column < cells.size(); ++column) {
      line += cells[column];
      if (column + 1 < cells.size()) {
        line.append(widths[column] - display_width(cells[column]) + 2, ' ');
      }
    }
    out << line << '\n';
  };
  print_row(headers_);
  for (const auto& row : rows_) print_row(row);
}

void print_fields(std::ostream& out,
                  const std::vector<std::pair<std::string, std::string>>& fields) {
  std::size_t width = 0;
  for (const auto& [label, value] : fields) width = std::max(width, display_width(label) + 1);
  for (const auto& [label, value] : fields) {
    out << label << ':' << std::string(width - display_width(label) - 1 + 5, ' ') << value << '\n';
  }
}

void print_json(std::ostream& out, const boost::json::value& value) {
  out << boost::json::serialize(value) << '\n';
}

std::string with_thousands_separators(std::int64_t number) {
  const bool negative = number < 0;
  std::string digits = std::to_string(negative ? -static_cast<unsigned long long>(number)
                                               : static_cast<unsigned long long>(number));
  std::string result;
  const std::size_t first_group = digits.size() % 3 == 0 ? 3 : digits.size() % 3;
  result.append(digits, 0, first_group);
  for (std::size_t i = first_group; i < digits.size(); i += 3) {
    result.push_back(',');
    result.append(digits, i, 3);
  }
  return negative ? "-" + result : result;
}

std::string format_duration(std::int64_t seconds) {
  if (seconds < 0) seconds = 0;
  const auto days = seconds / 86400;
  const auto hours = seconds % 86400 / 3600;
  const auto minutes = seconds % 3600 / 60;
  const auto rest = seconds % 60;
  std::string text;
  if (days > 0) text += std::to_string(days) + "d ";
  if (days > 0 || hours > 0) text += std::to_string(hours) + "h ";
  if (days > 0 || hours > 0 || minutes > 0) text += std::to_string(minutes) + "m ";
  text += std::to_string(rest) + "s";
  return text;
}

}  // namespace nself::cli
