// The out-of-line part of the SQLite statement wrapper: stepping, bind
// checks and timestamp parsing, each failure thrown as the Store's exception
// (sqlite_errors.hpp) naming the statement.

#include "store/sqlite/sqlite_query.hpp"

#include "store/sqlite/sqlite_errors.hpp"

namespace nself::store::sqlite {

bool Query::step() {
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_sqlite_error(sqlite3_db_handle(statement_), rc, path_, sqlite3_sql(statement_));
}

void Query::check(int rc) {
  if (rc != SQLITE_OK) {
    throw_sqlite_error(sqlite3_db_handle(statement_), rc, path_, sqlite3_sql(statement_));
  }
}

Timestamp Query::time(int column) const {
  const std::string value = text(column);
  const auto parsed = core::parse_iso8601(value);
  if (!parsed) throw StoreError("SQLite: unreadable timestamp '" + value + "' in the database");
  return *parsed;
}

}  // namespace nself::store::sqlite
