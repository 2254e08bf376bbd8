#pragma once

// The embedded SQLite backend.
//
// Layout: the connection's main database is a private in-memory database and
// the data file is ATTACHed to it as the schema `realtime`, so every table is
// named realtime.<table> exactly as on PostgreSQL (the same SQL names work in
// both backends and in the manual). Only the attached file is ever written, so
// every transaction stays atomic (SQLite's cross-database atomicity caveats do
// not apply) and WAL mode works on it as on a main database. A process that
// opens the file directly (the sqlite3 shell) sees the same tables under
// `main`; `ATTACH 'file' AS realtime` gives the qualified names there too.
//
// Settings: journal_mode=WAL and synchronous=FULL (or NORMAL) on the file, busy_timeout
// = the connect timeout, foreign_keys=ON (cascades are enforced by SQLite).
// Statements are prepared once and cached per store object.

#include <chrono>
#include <filesystem>
#include <memory>

#include "store/store.hpp"

namespace nself::store {

// Opens (creating the file and its parent folders when missing) the database
// at `path`. Throws StoreUnavailable when it cannot be opened or is not a
// SQLite database. Does not migrate.
std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& path,
                                         std::chrono::milliseconds busy_timeout,
                                         SqliteSynchronous synchronous = SqliteSynchronous::kFull);

// The store's PRAGMA synchronous as SQLite reports it (1 NORMAL, 2 FULL), for
// tests. Throws StoreError when `store` is not a SQLite store (an encrypting
// store wraps one: pass the inner store).
int sqlite_synchronous_level(Store& store);

}  // namespace nself::store
