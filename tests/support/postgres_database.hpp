#pragma once

// A throwaway PostgreSQL database for one test, in the server named by
// NSELF_TEST_POSTGRES_URL (scripts/test-env.sh starts one). Each instance has
// its own database, so tests can run in parallel.
//
// Use from a fixture's SetUp:
//   const auto url = nself::test::postgres_test_url();
//   if (!url) { if (nself::test::services_required()) FAIL() << ...; else GTEST_SKIP() << ...; }
//   database_.emplace(*url);

#include <optional>
#include <string>
#include <vector>

namespace nself::test {

// NSELF_TEST_POSTGRES_URL, or none when unset or empty.
std::optional<std::string> postgres_test_url();
// True when NSELF_TEST_REQUIRE_SERVICES=1: a missing service is a failure, not a skip.
bool services_required();

// `url` (postgres://...) with its database name replaced by `database`.
std::string with_database(const std::string& url, const std::string& database);

class TestDatabase {
 public:
  // Creates nself_t_<random> in the server at `server_url`. Throws std::runtime_error on failure.
  explicit TestDatabase(const std::string& server_url);
  // Drops the database (WITH (FORCE), so open connections do not keep it).
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  // The URL of the new database.
  const std::string& url() const { return url_; }

  // Runs `sql` (no parameters) on the database through a raw libpq connection
  // and returns every row as text (none for NULL). Throws on an error.
  std::vector<std::vector<std::optional<std::string>>> query(const std::string& sql) const;

 private:
  std::string server_url_;
  std::string name_;
  std::string url_;
};

}  // namespace nself::test
