#include "support/test_backend.hpp"

namespace nself::test {

std::string prepare_backend(std::string_view backend, const TempDir& dir,
                            std::optional<TestDatabase>& database, store::StoreOptions& options) {
  if (backend == "postgres") {
    const auto url = postgres_test_url();
    if (!url) return "no PostgreSQL server: NSELF_TEST_POSTGRES_URL is not set";
    database.emplace(*url);
    options.database_url = database->url();
    return "";
  }
  options.sqlite_path = (dir.path() / "realtime.db").string();
  return "";
}

}  // namespace nself::test
