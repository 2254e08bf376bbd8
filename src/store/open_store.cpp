#include <string>

#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace nself::store {

std::unique_ptr<Store> open_store(const StoreOptions& options) {
  const std::string& url = options.database_url;
  if (url.empty()) {
    return open_sqlite_store(options.sqlite_path, options.connect_timeout,
                             options.sqlite_synchronous);
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    return open_postgres_store(url, options.connect_timeout);
  }
  // Only the scheme is named: the rest may hold a password.
  const auto colon = url.find("://");
  const std::string scheme = colon == std::string::npos ? std::string() : url.substr(0, colon);
  if (scheme.empty()) {
    throw StoreError(
        "the database URL has no scheme; use postgres://user:password@host:port/database, or "
        "leave it empty for the embedded SQLite store");
  }
  throw StoreError("unsupported database URL scheme '" + scheme +
                   "://'; use postgres:// (or postgresql://), or leave the URL empty for the "
                   "embedded SQLite store");
}

}  // namespace nself::store
