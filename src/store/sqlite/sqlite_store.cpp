// The SQLite backend's connection: opening the file (attached as `realtime`,
// WAL, synchronous, foreign keys), the statement cache, transactions and
// migrations, and the public entry points of sqlite_store.hpp.

#include "store/sqlite/sqlite_store.hpp"

#include <fmt/format.h>

#include <system_error>
#include <utility>

#include "store/migrations.hpp"
#include "store/one_transaction.hpp"
#include "store/private_files.hpp"
#include "store/sqlite/sqlite_errors.hpp"
#include "store/sqlite/sqlite_store_impl.hpp"

namespace nself::store {
namespace sqlite {
namespace {

Timestamp system_now() {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

}  // namespace

SqliteStore::SqliteStore(std::filesystem::path path, std::chrono::milliseconds busy_timeout,
                         SqliteSynchronous synchronous)
    : path_(std::move(path)) {
  try {
    open(busy_timeout, synchronous);
  } catch (...) {
    close();  // the destructor does not run for a half-built object
    throw;
  }
}

SqliteStore::~SqliteStore() {
  close();
}

void SqliteStore::fail(int rc, std::string_view context) const {
  throw_sqlite_error(db_, rc, path_, context);
}

Query SqliteStore::query(const char* sql) {
  auto found = statements_.find(sql);
  if (found == statements_.end()) {
    sqlite3_stmt* statement = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
    if (rc != SQLITE_OK) fail(rc, sql);
    found = statements_.emplace(sql, statement).first;
  }
  return Query(found->second, path_);
}

Query SqliteStore::query(const std::string& sql) {
  auto found = statements_.find(sql);
  if (found == statements_.end()) {
    query(sql.c_str());  // prepares and caches under the same text
    found = statements_.find(sql);
  }
  return Query(found->second, path_);
}

std::int64_t SqliteStore::changes() const {
  return sqlite3_changes64(db_);
}

SqliteStore::Transaction::Transaction(SqliteStore& store)
    : store_(store), outermost_(store.transaction_depth_ == 0) {
  if (outermost_) {
    store_.query("BEGIN IMMEDIATE").run();
    store_.inner_rollback_ = false;
  }
  ++store_.transaction_depth_;
}

SqliteStore::Transaction::~Transaction() {
  if (done_) return;
  --store_.transaction_depth_;
  if (outermost_) {
    sqlite3_exec(store_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
  } else {
    // Inside another one: the outer one must not commit half of this.
    store_.inner_rollback_ = true;
  }
}

void SqliteStore::Transaction::commit() {
  if (outermost_) {
    if (store_.inner_rollback_) {
      throw StoreError("a transaction inside the batch was rolled back (its error was caught)");
    }
    store_.query("COMMIT").run();
  }
  done_ = true;
  --store_.transaction_depth_;
}

std::vector<std::size_t> SqliteStore::run_in_one_transaction(
    std::span<const std::function<void()>> steps) {
  return run_steps_in_one_transaction<Transaction>(*this, steps);
}

std::string_view SqliteStore::backend() const {
  return "sqlite";
}
bool SqliteStore::connection_lost() const {
  return false;
}  // a file: nothing to lose
std::string SqliteStore::describe() const {
  return path_.string();
}

// ---- schema

MigrationReport SqliteStore::migrate() {
  query(
      "CREATE TABLE IF NOT EXISTS realtime.schema_migrations (version INTEGER PRIMARY KEY NOT "
      "NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
      .run();
  MigrationReport report;
  for (const Migration& migration : migrations_for("sqlite")) {
    if (is_applied(migration.version)) continue;
    Transaction transaction(*this);
    if (is_applied(migration.version)) continue;  // another process was first
    const std::string sql(migration.sql);
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
      const std::string detail = error != nullptr ? error : sqlite3_errstr(rc);
      sqlite3_free(error);
      throw StoreError(fmt::format("SQLite: migration {:04}_{} failed: {}", migration.version,
                                   migration.name, detail));
    }
    query("INSERT INTO realtime.schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
        .bind(migration.version, migration.name, system_now())
        .run();
    transaction.commit();
    report.applied.push_back(fmt::format("{:04}_{}", migration.version, migration.name));
  }
  report.version = schema_version();
  return report;
}

int SqliteStore::schema_version() {
  auto exists = query(
      "SELECT count(*) FROM realtime.sqlite_master WHERE type = 'table' AND name = "
      "'schema_migrations'");
  if (!exists.step() || exists.integer(0) == 0) return 0;
  auto version = query("SELECT COALESCE(MAX(version), 0) FROM realtime.schema_migrations");
  version.step();
  return static_cast<int>(version.integer(0));
}

bool SqliteStore::is_applied(int version) {
  auto row = query("SELECT count(*) FROM realtime.schema_migrations WHERE version = ?");
  row.bind(version);
  row.step();
  return row.integer(0) > 0;
}

// ---- opening and closing

void SqliteStore::open(std::chrono::milliseconds busy_timeout, SqliteSynchronous synchronous) {
  // Owner-only from creation: 0700 folders, a 0600 file (SQLite gives its
  // -wal and -shm files the database file's mode).
  if (const auto error = create_private_file(path_)) {
    throw StoreUnavailable(
        fmt::format("cannot create the SQLite database {}: {}; check the path and its permissions",
                    path_.string(), error.message()));
  }
  const int rc =
      sqlite3_open_v2(":memory:", &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) fail(rc, "open");
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
  query("ATTACH DATABASE ? AS realtime").bind(path_.string()).run();
  {
    // Reading the schema fails here (not later) when the file is not a database.
    auto mode = query("PRAGMA realtime.journal_mode = WAL");
    if (!mode.step() || mode.text(0) != "wal") {
      throw StoreUnavailable(fmt::format(
          "cannot switch the SQLite database {} to WAL mode; check that it is on a local "
          "file system",
          path_.string()));
    }
  }
  query(synchronous == SqliteSynchronous::kFull ? "PRAGMA realtime.synchronous = FULL"
                                                : "PRAGMA realtime.synchronous = NORMAL")
      .run();
  query("PRAGMA foreign_keys = ON").run();
}

void SqliteStore::close() {
  for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
  statements_.clear();
  sqlite3_close_v2(db_);
  db_ = nullptr;
}

}  // namespace sqlite

int sqlite_synchronous_level(Store& store) {
  auto* backend = dynamic_cast<sqlite::SqliteStore*>(&store);
  if (backend == nullptr) throw StoreError("not a SQLite store");
  auto row = backend->query("PRAGMA realtime.synchronous");
  return row.step() ? static_cast<int>(row.integer(0)) : -1;
}

std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& path,
                                         std::chrono::milliseconds busy_timeout,
                                         SqliteSynchronous synchronous) {
  return std::make_unique<sqlite::SqliteStore>(path, busy_timeout, synchronous);
}

}  // namespace nself::store
