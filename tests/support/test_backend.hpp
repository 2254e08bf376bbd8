#pragma once

// Runs a store-backed test on either backend: "sqlite" (a file in the test's
// temp dir) or "postgres" (a throwaway database in the server named by
// NSELF_TEST_POSTGRES_URL, which scripts/test-env.sh starts).
//
// In a fixture's SetUp():
//   NSELF_TEST_USE_BACKEND(GetParam(), dir_, database_, store_options_);
// skips the test when PostgreSQL is wanted but absent, or fails it when
// NSELF_TEST_REQUIRE_SERVICES=1.

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

#include "store/store.hpp"
#include "support/postgres_database.hpp"
#include "support/temp_dir.hpp"

namespace nself::test {

// Both backends, for INSTANTIATE_TEST_SUITE_P; test names end in /sqlite or /postgres.
inline const auto kStoreBackends =
    ::testing::Values(std::string("sqlite"), std::string("postgres"));
// SQLite only, for tests of what does not depend on the store (auth, typing,
// request parsing, the rate limiter, the admin API's credential checks): they
// would only repeat themselves on PostgreSQL. Names end in /sqlite.
inline const auto kAnyStoreBackend = ::testing::Values(std::string("sqlite"));

// Fills `options` for `backend`, creating `database` for PostgreSQL. Returns ""
// when ready, else why the test cannot run here.
std::string prepare_backend(std::string_view backend, const TempDir& dir,
                            std::optional<TestDatabase>& database, store::StoreOptions& options);

}  // namespace nself::test

#define NSELF_TEST_USE_BACKEND(backend, dir, database, options)                              \
  do {                                                                                       \
    const std::string why = ::nself::test::prepare_backend(backend, dir, database, options); \
    if (!why.empty()) {                                                                      \
      if (::nself::test::services_required()) FAIL() << why;                                 \
      GTEST_SKIP() << why;                                                                   \
    }                                                                                        \
  } while (false)
