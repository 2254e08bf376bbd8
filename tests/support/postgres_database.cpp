#include "support/postgres_database.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <stdexcept>

namespace nself::test {
namespace {

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;

Connection connect(const std::string& url) {
  Connection conn(PQconnectdb(url.c_str()), &PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error(std::string("test database: cannot connect: ") +
                             (conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  return conn;
}

std::vector<std::vector<std::optional<std::string>>> run(PGconn* conn, const std::string& sql) {
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn, sql.c_str()), &PQclear);
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error("test database: " + sql + ": " + PQerrorMessage(conn));
  }
  std::vector<std::vector<std::optional<std::string>>> rows;
  for (int r = 0; r < PQntuples(result.get()); ++r) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < PQnfields(result.get()); ++c) {
      if (PQgetisnull(result.get(), r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(PQgetvalue(result.get(), r, c));
      }
    }
  }
  return rows;
}

}  // namespace

std::optional<std::string> postgres_test_url() {
  const char* value = std::getenv("NSELF_TEST_POSTGRES_URL");
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

bool services_required() {
  const char* value = std::getenv("NSELF_TEST_REQUIRE_SERVICES");
  return value != nullptr && std::string(value) == "1";
}

std::string with_database(const std::string& url, const std::string& database) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) throw std::runtime_error("not a URL: " + url);
  const auto path = url.find('/', scheme_end + 3);
  const auto query = url.find('?', scheme_end + 3);
  const std::string authority =
      url.substr(0, std::min(path == std::string::npos ? url.size() : path,
                             query == std::string::npos ? url.size() : query));
  const std::string rest = query == std::string::npos ? "" : url.substr(query);
  return authority + "/" + database + rest;
}

TestDatabase::TestDatabase(const std::string& server_url) : server_url_(server_url) {
  std::random_device random;
  std::uniform_int_distribution<unsigned long long> digits;
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", digits(random));
  name_ = std::string("nself_t_") + suffix;
  url_ = with_database(server_url_, name_);
  auto conn = connect(server_url_);
  run(conn.get(), "CREATE DATABASE " + name_);
}

TestDatabase::~TestDatabase() {
  try {
    auto conn = connect(server_url_);
    run(conn.get(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception&) {
    // The server is going away with its temporary directory anyway.
  }
}

std::vector<std::vector<std::optional<std::string>>> TestDatabase::query(
    const std::string& sql) const {
  auto conn = connect(url_);
  return run(conn.get(), sql);
}

}  // namespace nself::test
