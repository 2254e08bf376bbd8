#include "store/sqlite/sqlite_errors.hpp"

#include <fmt/format.h>

#include <string>

#include "store/store.hpp"

namespace nself::store {

void throw_sqlite_error(sqlite3* db, int rc, const std::filesystem::path& path,
                        std::string_view context) {
  const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw StoreUnavailable(
          fmt::format("the SQLite database {} stayed locked by another writer for longer than the "
                      "timeout ({}); check for other processes using the file",
                      path.string(), detail));
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      throw StoreUnavailable(fmt::format(
          "cannot use the SQLite database {}: {}; check that the path is a writable SQLite "
          "file on a disk with free space",
          path.string(), detail));
    default:
      throw StoreError(fmt::format("SQLite: {} ({})", detail, context));
  }
}

}  // namespace nself::store
