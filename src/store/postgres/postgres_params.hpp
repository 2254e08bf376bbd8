#pragma once

// The PostgreSQL backend's statement parameters: every value sent as text
// (PQexecParams, text format), and array literals that carry a whole batch
// in one parameter (unnest($1::text[]), ANY ($1::text[])).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time_format.hpp"
#include "store/store.hpp"

namespace nself::store::postgres {

// Parameters, all sent as text; none is SQL NULL.
class Params {
 public:
  template <class... Args>
  explicit Params(const Args&... args) {
    (add(args), ...);
  }

  int size() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> pointers() const {
    std::vector<const char*> result;
    result.reserve(values_.size());
    for (const auto& value : values_) result.push_back(value ? value->c_str() : nullptr);
    return result;
  }

 private:
  void add(std::string_view value) { values_.emplace_back(std::string(value)); }
  void add(const std::string& value) { values_.emplace_back(value); }
  void add(const char* value) { values_.emplace_back(std::string(value)); }
  void add(std::nullopt_t) { values_.emplace_back(std::nullopt); }
  void add(const std::optional<std::string>& value) { values_.push_back(value); }
  void add(std::int64_t value) { values_.emplace_back(std::to_string(value)); }
  void add(int value) { values_.emplace_back(std::to_string(value)); }
  void add(bool value) { values_.emplace_back(value ? "true" : "false"); }
  void add(Timestamp value) { values_.emplace_back(core::format_iso8601(value)); }
  void add(const std::optional<Timestamp>& value) {
    if (value) {
      add(*value);
    } else {
      add(std::nullopt);
    }
  }

  std::vector<std::optional<std::string>> values_;
};

// Appends `value` to `out` as a quoted element of an array literal.
void append_array_element(std::string& out, std::string_view value);

// Text form of a PostgreSQL array literal, every element quoted.
template <class Range>
std::string array_literal(const Range& values) {
  std::string out = "{";
  bool first = true;
  for (const auto& value : values) {
    if (!first) out.push_back(',');
    first = false;
    append_array_element(out, std::string_view(value));
  }
  out.push_back('}');
  return out;
}

// The array literal of one string field of every row.
template <class Row>
std::string array_literal(const std::vector<Row>& rows, std::string Row::*field) {
  std::size_t size = 2;
  for (const Row& row : rows) size += (row.*field).size() + 3;
  std::string out;
  out.reserve(size + size / 16);
  out.push_back('{');
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_array_element(out, rows[i].*field);
  }
  out.push_back('}');
  return out;
}

}  // namespace nself::store::postgres
