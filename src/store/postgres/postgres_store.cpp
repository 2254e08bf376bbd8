// The PostgreSQL backend's connection: connecting (URL settings, timeouts,
// passwords kept out of every message), running statements (prepared once per
// connection), outages told from errors, transactions and migrations.

#include "store/postgres/postgres_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "store/migrations.hpp"
#include "store/one_transaction.hpp"
#include "store/postgres/postgres_store_impl.hpp"

namespace nself::store {
namespace postgres {
namespace {

// Serialises migrate() across every process using the database.
constexpr std::int64_t kMigrationLockKey = 0x6e73656c66727400;  // "nselfrt\0"

std::string first_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (auto& c : text) {
    if (c == '\n') c = ' ';
  }
  return text;
}

// The password part of a postgres:// URL as written (possibly percent-encoded).
std::string raw_password(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?"));
  const auto at = rest.rfind('@');
  if (at == std::string_view::npos) return {};
  const std::string_view userinfo = rest.substr(0, at);
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return {};
  return std::string(userinfo.substr(colon + 1));
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3)) {
      text.replace(pos, secret.size(), "***");
    }
  }
  return text;
}

}  // namespace

PostgresStore::PostgresStore(const std::string& url, std::chrono::milliseconds connect_timeout) {
  secrets_.push_back(raw_password(url));
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &parse_error);
  if (options == nullptr) {
    std::string detail = parse_error != nullptr ? first_line(parse_error) : "out of memory";
    PQfreemem(parse_error);
    throw StoreError("invalid PostgreSQL URL: " + redact(detail, secrets_) +
                     "; expected postgres://user:password@host:port/database");
  }
  std::map<std::string, std::string> settings;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val != nullptr) settings[option->keyword] = option->val;
  }
  PQconninfoFree(options);
  if (auto found = settings.find("password"); found != settings.end()) {
    secrets_.push_back(found->second);
  }
  const auto seconds =
      std::max<std::int64_t>(2, std::chrono::ceil<std::chrono::seconds>(connect_timeout).count());
  settings["connect_timeout"] = std::to_string(seconds);
  settings["client_encoding"] = "UTF8";
  settings.try_emplace("application_name", "nself-realtime");

  host_ = settings.count("host") ? settings["host"]
                                 : (settings.count("hostaddr") ? settings["hostaddr"] : "");
  if (host_.empty()) host_ = "localhost";
  port_ = settings.count("port") && !settings["port"].empty() ? settings["port"] : "5432";
  user_ = settings.count("user") ? settings["user"] : "";
  database_ = settings.count("dbname") ? settings["dbname"] : user_;

  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (const auto& [keyword, value] : settings) {
    keywords.push_back(keyword.c_str());
    values.push_back(value.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectdbParams(keywords.data(), values.data(), 0);
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    const std::string detail =
        conn_ != nullptr ? first_line(PQerrorMessage(conn_)) : "out of memory";
    PQfinish(conn_);
    conn_ = nullptr;
    throw StoreUnavailable(fmt::format(
        "cannot connect to PostgreSQL at {}:{} (database \"{}\", user \"{}\"): {}. Check that "
        "the server is running and reachable at that host and port, that the database exists, "
        "and the user name and password in the database URL",
        host_, port_, database_, user_, redact(detail, secrets_)));
  }
}

PostgresStore::~PostgresStore() {
  PQfinish(conn_);
}

std::string_view PostgresStore::backend() const {
  return "postgres";
}

bool PostgresStore::connection_lost() const {
  return PQstatus(conn_) == CONNECTION_BAD;
}

std::string PostgresStore::describe() const {
  return fmt::format("{}:{}/{}", host_, port_, database_);
}

PostgresStore::Transaction::Transaction(PostgresStore& store)
    : store_(store), outermost_(store.transaction_depth_ == 0) {
  if (outermost_) {
    store_.exec("BEGIN");
    store_.inner_rollback_ = false;
  }
  ++store_.transaction_depth_;
}

PostgresStore::Transaction::~Transaction() {
  if (done_) return;
  --store_.transaction_depth_;
  if (!outermost_) {
    // Inside another one: the outer one must not commit half of this.
    store_.inner_rollback_ = true;
  } else if (PQstatus(store_.conn_) == CONNECTION_OK) {
    PQclear(PQexec(store_.conn_, "ROLLBACK"));
  }
}

void PostgresStore::Transaction::commit() {
  if (outermost_) {
    if (store_.inner_rollback_) {
      throw StoreError("a transaction inside the batch was rolled back (its error was caught)");
    }
    store_.exec("COMMIT");
  }
  done_ = true;
  --store_.transaction_depth_;
}

std::vector<std::size_t> PostgresStore::run_in_one_transaction(
    std::span<const std::function<void()>> steps) {
  return run_steps_in_one_transaction<Transaction>(*this, steps);
}

PgResult PostgresStore::exec(const std::string& sql, const Params& params) {
  ensure_connected();
  const auto values = params.pointers();
  if (params.size() == 0) {
    PgResult result(PQexecParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0));
    check(result, sql);
    return result;
  }
  auto found = prepared_.find(sql);
  if (found == prepared_.end()) {
    std::string name = "nself_" + std::to_string(prepared_.size() + 1);
    PgResult prepared(PQprepare(conn_, name.c_str(), sql.c_str(), params.size(), nullptr));
    check(prepared, sql);
    found = prepared_.emplace(sql, std::move(name)).first;
  }
  PgResult result(PQexecPrepared(conn_, found->second.c_str(), params.size(), values.data(),
                                 nullptr, nullptr, 0));
  check(result, sql);
  return result;
}

void PostgresStore::check(const PgResult& result, std::string_view context) {
  const PGresult* raw = result.raw();
  const ExecStatusType status = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
  const std::string message =
      first_line(raw != nullptr ? PQresultErrorMessage(raw) : PQerrorMessage(conn_));
  const char* sqlstate = raw != nullptr ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view code = sqlstate != nullptr ? sqlstate : "";
  // Class 08 (connection exception) and 57P01-57P03 (the server shutting
  // down, crashed, or not accepting connections yet) are outages too, also
  // before libpq has seen the connection close.
  if (PQstatus(conn_) == CONNECTION_BAD || code.starts_with("08") || code == "57P01" ||
      code == "57P02" || code == "57P03") {
    throw StoreUnavailable(fmt::format(
        "lost the connection to PostgreSQL at {}:{} (database \"{}\"): {}. Check that the "
        "server is running",
        host_, port_, database_, redact(message, secrets_)));
  }
  std::string where(context.substr(0, 120));
  throw StoreError(fmt::format("PostgreSQL: {} [SQLSTATE {}] in: {}", redact(message, secrets_),
                               code.empty() ? "?" : code, where));
}

void PostgresStore::ensure_connected() {
  if (PQstatus(conn_) == CONNECTION_OK) return;
  prepared_.clear();  // a new session has none of them
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    throw StoreUnavailable(fmt::format(
        "cannot reconnect to PostgreSQL at {}:{} (database \"{}\"): {}. Check that the server "
        "is running and reachable",
        host_, port_, database_, redact(first_line(PQerrorMessage(conn_)), secrets_)));
  }
}

// ---- schema

MigrationReport PostgresStore::migrate() {
  MigrationReport report;
  for (const Migration& migration : migrations_for("postgres")) {
    if (is_applied(migration.version)) continue;
    Transaction transaction(*this);
    exec("SELECT pg_advisory_xact_lock($1)", Params(kMigrationLockKey));
    // Created only when missing, so a role without CREATE rights can run an
    // up-to-date schema.
    if (exec("SELECT to_regnamespace('realtime') IS NULL").boolean(0, 0)) {
      exec("CREATE SCHEMA realtime");
    }
    if (exec("SELECT to_regclass('realtime.schema_migrations') IS NULL").boolean(0, 0)) {
      exec(
          "CREATE TABLE realtime.schema_migrations (version integer PRIMARY KEY, name text NOT "
          "NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    }
    if (is_applied(migration.version)) continue;  // another process was first
    const std::string sql(migration.sql);
    PgResult result(PQexec(conn_, sql.c_str()));
    check(result, fmt::format("migration {:04}_{}", migration.version, migration.name));
    exec("INSERT INTO realtime.schema_migrations (version, name) VALUES ($1, $2)",
         Params(migration.version, migration.name));
    transaction.commit();
    report.applied.push_back(fmt::format("{:04}_{}", migration.version, migration.name));
  }
  report.version = schema_version();
  return report;
}

int PostgresStore::schema_version() {
  if (exec("SELECT to_regclass('realtime.schema_migrations') IS NULL").boolean(0, 0)) return 0;
  return static_cast<int>(
      exec("SELECT COALESCE(MAX(version), 0) FROM realtime.schema_migrations").integer(0, 0));
}

bool PostgresStore::is_applied(int version) {
  if (exec("SELECT to_regclass('realtime.schema_migrations') IS NULL").boolean(0, 0)) {
    return false;
  }
  return exec("SELECT count(*) FROM realtime.schema_migrations WHERE version = $1::integer",
              Params(version))
             .integer(0, 0) > 0;
}

}  // namespace postgres

std::unique_ptr<Store> open_postgres_store(const std::string& url,
                                           std::chrono::milliseconds connect_timeout) {
  return std::make_unique<postgres::PostgresStore>(url, connect_timeout);
}

}  // namespace nself::store
