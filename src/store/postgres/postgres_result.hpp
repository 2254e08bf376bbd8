#pragma once

// The PostgreSQL backend's results: an owned PGresult with typed column
// reads, the SQL that selects a timestamp as epoch milliseconds (NSELF_MS),
// and the parse check for enum columns.

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "store/store.hpp"

// Timestamps are read as epoch milliseconds: exact, and independent of the
// session's TimeZone and DateStyle.
#define NSELF_MS(column) "(extract(epoch from " column ") * 1000)::bigint"

namespace nself::store::postgres {

class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result) {}
  ~PgResult() { PQclear(result_); }
  PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  PgResult& operator=(PgResult&&) = delete;

  const PGresult* raw() const { return result_; }
  int rows() const { return PQntuples(result_); }
  std::int64_t affected() const {
    const char* text = PQcmdTuples(result_);
    return text[0] == '\0' ? 0 : std::stoll(text);
  }
  bool is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
  std::string text(int row, int column) const {
    return std::string(PQgetvalue(result_, row, column),
                       static_cast<std::size_t>(PQgetlength(result_, row, column)));
  }
  std::optional<std::string> optional_text(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return text(row, column);
  }
  std::int64_t integer(int row, int column) const {
    return is_null(row, column) ? 0 : std::stoll(PQgetvalue(result_, row, column));
  }
  bool boolean(int row, int column) const { return PQgetvalue(result_, row, column)[0] == 't'; }
  Timestamp time(int row, int column) const {
    return Timestamp{std::chrono::milliseconds{integer(row, column)}};
  }
  std::optional<Timestamp> optional_time(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return time(row, column);
  }

 private:
  PGresult* result_;
};

// An enum column's parsed value; text it does not parse is a row this
// backend never wrote.
template <class T>
T parse_or_throw(std::optional<T> value, std::string_view what) {
  if (!value) throw StoreError("PostgreSQL: unexpected " + std::string(what) + " in the database");
  return *value;
}

}  // namespace nself::store::postgres
