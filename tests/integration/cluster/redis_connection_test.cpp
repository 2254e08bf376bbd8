// RedisConnection against real redis-servers: AUTH, SELECT, errors.

#include "cluster/redis_connection.hpp"

#include <gtest/gtest.h>

#include "cluster_test_support.hpp"
#include "support/process.hpp"

namespace nself::cluster {
namespace {

using namespace std::chrono_literals;
using test::parse;

TEST(RedisConnection, CommandsAndPipelinesOnTheSharedServer) {
  core::RedisUrl url;
  NSELF_TEST_USE_SHARED_REDIS(url);
  RedisConnection connection(url, {});
  const auto key = test::unique_prefix() + "k";
  EXPECT_EQ(connection.command({"SET", key, std::string("a\0b", 3)}).text, "OK");
  const auto value = connection.command({"GET", key});
  EXPECT_EQ(value.type, RedisReply::Type::kString);
  EXPECT_EQ(value.text, std::string("a\0b", 3));
  const auto replies = connection.pipeline({{"INCR", key + "n"}, {"INCR", key + "n"}, {"NOPE"}});
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].integer, 1);
  EXPECT_EQ(replies[1].integer, 2);
  EXPECT_TRUE(replies[2].is_error());
  EXPECT_TRUE(connection.command({"GET", key + "missing"}).is_nil());
  connection.command({"DEL", key, key + "n"});
}

TEST(RedisConnection, PasswordAndDatabaseFromTheUrl) {
  nself::test::RedisServer server("s3cret");
  RedisConnection connection(parse(server.url(5)), {});
  connection.command({"SET", "where", "five"});
  // The key is in database 5, not 0.
  RedisConnection zero(parse(server.url(0)), {});
  EXPECT_TRUE(zero.command({"GET", "where"}).is_nil());
  EXPECT_EQ(connection.command({"GET", "where"}).text, "five");
}

TEST(RedisConnection, AclUserAndPassword) {
  nself::test::RedisServer server("admin-pw");
  {
    RedisConnection admin(parse(server.url()), {});
    ASSERT_EQ(admin.command({"ACL", "SETUSER", "app", "on", ">app-pw", "~*", "&*", "+@all"}).text,
              "OK");
  }
  const auto url = parse("redis://app:app-pw@127.0.0.1:" + std::to_string(server.port()) + "/0");
  RedisConnection app(url, {});
  EXPECT_EQ(app.command({"PING"}).text, "PONG");
}

TEST(RedisConnection, WrongPasswordIsUnavailableWithoutThePassword) {
  nself::test::RedisServer server("right");
  const auto url = parse("redis://:wrong-horse@127.0.0.1:" + std::to_string(server.port()) + "/0");
  try {
    RedisConnection connection(url, {});
    FAIL() << "connected with a wrong password";
  } catch (const RedisUnavailable& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("authentication failed"), std::string::npos) << message;
    EXPECT_NE(message.find("127.0.0.1:" + std::to_string(server.port())), std::string::npos);
    EXPECT_EQ(message.find("wrong-horse"), std::string::npos) << message;
  }
}

TEST(RedisConnection, NoPasswordWhereOneIsRequiredFailsAtTheFirstCommand) {
  nself::test::RedisServer server("needed");
  RedisConnection connection(parse("redis://127.0.0.1:" + std::to_string(server.port())), {});
  const auto reply = connection.command({"GET", "x"});
  ASSERT_TRUE(reply.is_error());
  EXPECT_NE(reply.text.find("NOAUTH"), std::string::npos);
}

TEST(RedisConnection, NothingListeningIsUnavailable) {
  const int port = nself::test::free_port();
  try {
    RedisConnection connection(parse("redis://127.0.0.1:" + std::to_string(port)), {});
    FAIL() << "connected to a closed port";
  } catch (const RedisUnavailable& error) {
    EXPECT_NE(std::string(error.what()).find("cannot connect"), std::string::npos) << error.what();
  }
}

TEST(RedisConnection, ServerKilledMidUseThrows) {
  nself::test::RedisServer server;
  RedisConnection connection(parse(server.url()), {});
  EXPECT_EQ(connection.command({"PING"}).text, "PONG");
  server.kill();
  EXPECT_THROW(connection.command({"PING"}), RedisUnavailable);
}

}  // namespace
}  // namespace nself::cluster
