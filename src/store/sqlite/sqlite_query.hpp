#pragma once

// The SQLite backend's statement wrapper: one use of a prepared statement
// cached by SqliteStore::query, with typed binds and column reads (timestamps
// are ISO-8601 text), and the parse check for enum columns.

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/time_format.hpp"
#include "store/store.hpp"

namespace nself::store::sqlite {

// One use of a cached prepared statement: binds parameters, steps through the
// rows, and resets the statement when it goes away.
class Query {
 public:
  // `path` is the database file (named in errors); it must outlive the query.
  Query(sqlite3_stmt* statement, const std::filesystem::path& path)
      : statement_(statement), path_(path) {}
  ~Query() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  template <class... Args>
  Query& bind(const Args&... args) {
    int index = 1;
    (bind_one(index++, args), ...);
    return *this;
  }

  // Binds parameter `index` (from 1) without copying: `value` must stay
  // valid and unchanged until the query is reset (it goes away).
  void bind_static(int index, std::string_view value) {
    check(sqlite3_bind_text64(statement_, index, value.data(), value.size(), SQLITE_STATIC,
                              SQLITE_UTF8));
  }
  void bind_static(int index, std::int64_t value) {
    check(sqlite3_bind_int64(statement_, index, value));
  }

  // Steps once; true when a row is available.
  bool step();
  // Steps to completion (for statements without rows).
  void run() {
    while (step()) {
    }
  }

  bool is_null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
  std::string text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    if (data == nullptr) return {};
    return std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)));
  }
  std::optional<std::string> optional_text(int column) const {
    if (is_null(column)) return std::nullopt;
    return text(column);
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
  Timestamp time(int column) const;
  std::optional<Timestamp> optional_time(int column) const {
    if (is_null(column)) return std::nullopt;
    return time(column);
  }

 private:
  void check(int rc);
  void bind_one(int index, std::string_view value) {
    check(sqlite3_bind_text64(statement_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                              SQLITE_UTF8));
  }
  void bind_one(int index, const std::string& value) { bind_one(index, std::string_view(value)); }
  void bind_one(int index, const char* value) { bind_one(index, std::string_view(value)); }
  void bind_one(int index, std::nullopt_t) { check(sqlite3_bind_null(statement_, index)); }
  void bind_one(int index, const std::optional<std::string>& value) {
    if (value) {
      bind_one(index, *value);
    } else {
      bind_one(index, std::nullopt);
    }
  }
  void bind_one(int index, std::int64_t value) {
    check(sqlite3_bind_int64(statement_, index, value));
  }
  void bind_one(int index, int value) { check(sqlite3_bind_int(statement_, index, value)); }
  void bind_one(int index, bool value) {
    check(sqlite3_bind_int(statement_, index, value ? 1 : 0));
  }
  void bind_one(int index, Timestamp value) { bind_one(index, core::format_iso8601(value)); }
  void bind_one(int index, const std::optional<Timestamp>& value) {
    if (value) {
      bind_one(index, *value);
    } else {
      bind_one(index, std::nullopt);
    }
  }

  sqlite3_stmt* statement_;
  const std::filesystem::path& path_;
};

// An enum column's parsed value; text it does not parse is a row this
// backend never wrote.
template <class T>
T parse_or_throw(std::optional<T> value, std::string_view what) {
  if (!value) throw StoreError("SQLite: unexpected " + std::string(what) + " in the database");
  return *value;
}

}  // namespace nself::store::sqlite
