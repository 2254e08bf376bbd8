// Opening a store: backend selection, and the failures a user meets first
// (server down, wrong database, malformed URL, a file that is not a database).

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"
#include "support/postgres_database.hpp"
#include "support/temp_dir.hpp"

namespace nself::store {
namespace {

using namespace std::chrono_literals;

// A loopback port nothing listens on (bound, then released).
int closed_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// The message of the exception open_store throws, checking its type.
template <class Expected>
std::string open_failure(const StoreOptions& options) {
  try {
    open_store(options);
  } catch (const Expected& error) {
    return error.what();
  } catch (const std::exception& error) {
    ADD_FAILURE() << "unexpected exception type: " << error.what();
    return {};
  }
  ADD_FAILURE() << "open_store did not throw";
  return {};
}

TEST(OpenStore, EmptyUrlOpensSqliteAndCreatesFolders) {
  test::TempDir dir;
  StoreOptions options;
  options.sqlite_path = (dir.path() / "a" / "b" / "realtime.db").string();
  auto store = open_store(options);
  EXPECT_EQ(store->backend(), "sqlite");
  EXPECT_EQ(store->describe(), options.sqlite_path);
  store->migrate();
  EXPECT_TRUE(std::filesystem::exists(options.sqlite_path));
}

// Issue 16, item 11: an ack follows a commit that survives power loss unless
// REALTIME_SQLITE_SYNCHRONOUS=normal asks for the faster mode.
TEST(OpenStore, SqliteCommitsAreDurableAgainstPowerLossByDefault) {
  test::TempDir dir;
  StoreOptions options;
  options.sqlite_path = (dir.path() / "realtime.db").string();
  EXPECT_EQ(sqlite_synchronous_level(*open_store(options)), 2);  // FULL
  options.sqlite_synchronous = SqliteSynchronous::kNormal;
  EXPECT_EQ(sqlite_synchronous_level(*open_store(options)), 1);  // NORMAL
  options.sqlite_synchronous = SqliteSynchronous::kFull;
  EXPECT_EQ(sqlite_synchronous_level(*open_sqlite_store(options.sqlite_path, 1s)), 2);
}

TEST(OpenStore, UnsupportedSchemeIsNamed) {
  StoreOptions options;
  options.database_url = "mysql://root:hunter2@localhost/db";
  const std::string message = open_failure<StoreError>(options);
  EXPECT_NE(message.find("mysql"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  options.database_url = "just-some-text";
  EXPECT_THROW(open_store(options), StoreError);
}

TEST(OpenStore, MalformedPostgresUrlIsAStoreError) {
  StoreOptions options;
  for (const char* url : {"postgres://u:hunter2@localhost:5432/db?no_such_option=1",
                          "postgresql://u:hunter2@[::1/db", "postgres://u:%zzhunter2@host/db"}) {
    options.database_url = url;
    try {
      open_store(options);
      ADD_FAILURE() << "accepted " << url;
    } catch (const StoreUnavailable& error) {
      ADD_FAILURE() << "a malformed URL is not an unreachable server: " << error.what();
    } catch (const StoreError& error) {
      EXPECT_EQ(std::string(error.what()).find("hunter2"), std::string::npos) << error.what();
    }
  }
}

TEST(OpenStore, UnreachablePostgresFailsFastNamingHostAndPort) {
  const int port = closed_port();
  StoreOptions options;
  options.database_url =
      "postgres://nself:s3cret-pw@127.0.0.1:" + std::to_string(port) + "/realtime";
  options.connect_timeout = 2s;
  const auto start = std::chrono::steady_clock::now();
  const std::string message = open_failure<StoreUnavailable>(options);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_NE(message.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << message;
  EXPECT_NE(message.find("running"), std::string::npos) << message;  // says what to check
  EXPECT_EQ(message.find("s3cret-pw"), std::string::npos) << message;
}

TEST(OpenStore, MissingPostgresDatabaseIsNamed) {
  const auto url = test::postgres_test_url();
  if (!url) {
    if (test::services_required()) FAIL() << "NSELF_TEST_POSTGRES_URL is not set";
    GTEST_SKIP() << "NSELF_TEST_POSTGRES_URL is not set";
  }
  StoreOptions options;
  options.database_url = test::with_database(*url, "nself_no_such_database");
  const std::string message = open_failure<StoreUnavailable>(options);
  EXPECT_NE(message.find("nself_no_such_database"), std::string::npos) << message;
}

TEST(OpenStore, PostgresDescribeHasNoPassword) {
  const auto url = test::postgres_test_url();
  if (!url) {
    if (test::services_required()) FAIL() << "NSELF_TEST_POSTGRES_URL is not set";
    GTEST_SKIP() << "NSELF_TEST_POSTGRES_URL is not set";
  }
  test::TestDatabase database(*url);
  StoreOptions options;
  options.database_url = database.url();
  auto store = open_store(options);
  EXPECT_EQ(store->backend(), "postgres");
  EXPECT_NE(store->describe().find(database.name()), std::string::npos) << store->describe();
}

TEST(OpenStore, FileThatIsNotADatabaseIsUnavailable) {
  test::TempDir dir;
  dir.write("junk.db", std::string(4096, 'j'));
  StoreOptions options;
  options.sqlite_path = (dir.path() / "junk.db").string();
  const std::string message = open_failure<StoreUnavailable>(options);
  EXPECT_NE(message.find("junk.db"), std::string::npos) << message;
}

TEST(OpenStore, SqliteFolderThatCannotBeCreatedIsUnavailable) {
  test::TempDir dir;
  dir.write("file", "x");
  StoreOptions options;
  options.sqlite_path = (dir.path() / "file" / "sub" / "realtime.db").string();
  EXPECT_THROW(open_store(options), StoreUnavailable);
}

TEST(Enums, MemberRoleAndPresenceStatusRoundTrip) {
  for (auto role : {MemberRole::kOwner, MemberRole::kAdmin, MemberRole::kMember}) {
    EXPECT_EQ(parse_member_role(to_string(role)), role);
  }
  for (auto status : {PresenceStatus::kOnline, PresenceStatus::kAway, PresenceStatus::kBusy,
                      PresenceStatus::kOffline}) {
    EXPECT_EQ(parse_presence_status(to_string(status)), status);
  }
  EXPECT_FALSE(parse_member_role("Owner").has_value());
  EXPECT_FALSE(parse_member_role("").has_value());
  EXPECT_FALSE(parse_presence_status("invisible").has_value());
  EXPECT_FALSE(parse_presence_status("online ").has_value());
}

}  // namespace
}  // namespace nself::store
