// The CLI against a real PostgreSQL server (scripts/test-env.sh starts it).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <optional>

#include "support/postgres_database.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace nself::test {
namespace {

class CliPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto url = postgres_test_url();
    if (!url) {
      if (services_required()) FAIL() << "NSELF_TEST_POSTGRES_URL is not set";
      GTEST_SKIP() << "no PostgreSQL server (run through scripts/test-env.sh)";
    }
    database_.emplace(*url);
  }

  ProcessResult realtime(std::vector<std::string> arguments,
                         std::optional<std::string> database_url = std::nullopt) {
    arguments.insert(arguments.begin(), "realtime");
    ProcessOptions options;
    options.working_dir = project_.path();
    options.environment["DATABASE_URL"] = database_url ? *database_url : database_->url();
    return run_nself(arguments, options);
  }

  TempDir project_;
  std::optional<TestDatabase> database_;
};

TEST_F(CliPostgresTest, InitCreatesTheRealtimeSchemaOnce) {
  auto result = realtime({"init", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto json = boost::json::parse(result.out).as_object();
  EXPECT_EQ(json.at("backend"), "postgres");
  EXPECT_FALSE(json.at("migrations_applied").as_array().empty());
  EXPECT_EQ(json.at("database").as_string().find("@"), boost::json::string::npos)
      << "never print credentials";

  const auto tables = database_->query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'realtime' "
      "ORDER BY table_name");
  std::vector<std::string> names;
  for (const auto& row : tables) names.push_back(*row[0]);
  for (const char* table : {"broadcasts", "channel_members", "channels", "connections", "messages",
                            "presence", "subscriptions"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), table), names.end()) << table;
  }
  const auto functions = database_->query(
      "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
      "WHERE n.nspname = 'realtime' ORDER BY 1");
  std::vector<std::string> function_names;
  for (const auto& row : functions) function_names.push_back(*row[0]);
  for (const char* function : {"cleanup_expired_broadcasts", "cleanup_stale_connections",
                               "get_channel_members", "update_presence"}) {
    EXPECT_NE(std::find(function_names.begin(), function_names.end(), function),
              function_names.end())
        << function;
  }

  result = realtime({"init", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  json = boost::json::parse(result.out).as_object();
  EXPECT_TRUE(json.at("migrations_applied").as_array().empty());
}

TEST_F(CliPostgresTest, ChannelsLiveInPostgres) {
  ASSERT_EQ(realtime({"init"}).exit_code, 0);
  auto result = realtime({"channel", "create", "Team Room", "private", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto rows = database_->query("SELECT slug, type, is_persistent FROM realtime.channels");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(*rows[0][0], "team-room");
  EXPECT_EQ(*rows[0][1], "private");
  EXPECT_EQ(*rows[0][2], "t");

  result = realtime({"channel", "create", "team room"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("already exists"), std::string::npos);

  result = realtime({"channel", "list"});
  ASSERT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("team-room"), std::string::npos);
  result = realtime({"channel", "delete", "team-room"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(database_->query("SELECT id FROM realtime.channels").empty());
}

TEST_F(CliPostgresTest, UnreachableDatabaseIsAClearErrorWithinSeconds) {
  const int closed_port = free_port();  // nothing listens there
  const auto started = std::chrono::steady_clock::now();
  const auto result = realtime(
      {"init"}, "postgres://app:hunter2@127.0.0.1:" + std::to_string(closed_port) + "/nself");
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("127.0.0.1:" + std::to_string(closed_port)), std::string::npos)
      << result.err;
  EXPECT_EQ(result.err.find("hunter2"), std::string::npos) << "never print the password";
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

TEST_F(CliPostgresTest, MissingDatabaseIsNamed) {
  const auto result = realtime({"init"}, with_database(database_->url(), "no_such_database"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("no_such_database"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace nself::test
