// REDIS_URL parsing and the REDIS_URL configuration key.

#include "core/redis_url.hpp"

#include <gtest/gtest.h>

#include "core/config.hpp"

namespace nself::core {
namespace {

TEST(RedisUrl, HostAloneTakesTheDefaults) {
  const auto url = parse_redis_url("redis://cache");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->host, "cache");
  EXPECT_EQ(url->port, 6379);
  EXPECT_EQ(url->db, 0);
  EXPECT_FALSE(url->username);
  EXPECT_FALSE(url->password);
  EXPECT_EQ(url->describe(), "cache:6379/0");
}

TEST(RedisUrl, PortAndDatabase) {
  const auto url = parse_redis_url("redis://127.0.0.1:6380/3");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 6380);
  EXPECT_EQ(url->db, 3);
}

TEST(RedisUrl, TrailingSlashMeansDatabaseZero) {
  const auto url = parse_redis_url("redis://h:1/");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->db, 0);
}

TEST(RedisUrl, PasswordOnlyIsClassicAuth) {
  const auto url = parse_redis_url("redis://:s3cret@h:6379/1");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_FALSE(url->username);
  EXPECT_EQ(url->password, "s3cret");
  EXPECT_EQ(url->db, 1);
}

TEST(RedisUrl, UserAndPasswordIsAclAuth) {
  const auto url = parse_redis_url("redis://app:pw@h");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->username, "app");
  EXPECT_EQ(url->password, "pw");
}

TEST(RedisUrl, LoneWordBeforeTheAtIsThePassword) {
  const auto url = parse_redis_url("redis://secret@h");
  ASSERT_TRUE(url.ok());
  EXPECT_FALSE(url->username);
  EXPECT_EQ(url->password, "secret");
}

TEST(RedisUrl, PasswordMayHoldReservedCharactersRawOrEncoded) {
  const auto raw = parse_redis_url("redis://:p/a:s@s?#@h:7000/2");
  ASSERT_TRUE(raw.ok()) << raw.error().message;
  EXPECT_EQ(raw->password, "p/a:s@s?#");
  EXPECT_EQ(raw->port, 7000);
  EXPECT_EQ(raw->db, 2);
  const auto encoded = parse_redis_url("redis://u%3A1:p%40ss%2f@h");
  ASSERT_TRUE(encoded.ok()) << encoded.error().message;
  EXPECT_EQ(encoded->username, "u:1");
  EXPECT_EQ(encoded->password, "p@ss/");
}

TEST(RedisUrl, Ipv6Host) {
  const auto url = parse_redis_url("redis://[::1]:6390/4");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 6390);
  EXPECT_EQ(url->describe(), "[::1]:6390/4");
  EXPECT_TRUE(parse_redis_url("redis://[::1]").ok());
}

TEST(RedisUrl, RefusesWhatItDoesNotSupportWithAReason) {
  struct Case {
    const char* url;
    const char* reason;
  };
  const Case cases[] = {
      {"", "scheme"},
      {"http://h:6379", "scheme"},
      {"REDIS://h", "scheme"},
      {"rediss://h:6379", "TLS"},
      {"unix:///tmp/redis.sock", "unix"},
      {"redis://", "host is missing"},
      {"redis://:6379", "host is missing"},
      {"redis://:pw@", "host is missing"},
      {"redis://h:", "port is empty"},
      {"redis://h:0", "port number"},
      {"redis://h:65536", "port number"},
      {"redis://h:-1", "port number"},
      {"redis://h:63a", "port number"},
      {"redis://h:99999999999999999999", "port number"},
      {"redis://h/16", "database number"},
      {"redis://h/-1", "database number"},
      {"redis://h/x", "database number"},
      {"redis://h/0/1", "database number"},
      {"redis://h?timeout=1", "query"},
      {"redis://h#x", "query"},
      {"redis://[::1:6379", "]"},
      {"redis://[::1]x", "after the IPv6"},
      {"redis://[::1]:", "port is empty"},
      {"redis://ho st", "host"},
      {"redis://h\t:1", "host"},
      {"redis://user:@h", "needs a password"},
      {"redis://:p%4@h", "percent-escape"},
      {"redis://:p%zz@h", "percent-escape"},
      {"redis://u%:p@h", "percent-escape"},
  };
  for (const auto& test : cases) {
    const auto url = parse_redis_url(test.url);
    ASSERT_FALSE(url.ok()) << test.url;
    EXPECT_EQ(url.error().code, "invalid_config") << test.url;
    EXPECT_NE(url.error().message.find(test.reason), std::string::npos)
        << test.url << " -> " << url.error().message;
    EXPECT_EQ(url.error().message.rfind("REDIS_URL: ", 0), 0u) << url.error().message;
  }
}

TEST(RedisUrl, ErrorsNeverShowThePassword) {
  for (const char* url : {"redis://:hunter2@h:99999", "redis://:hunter2@h/99", "redis://u:hunter2@",
                          "redis://:hunter2/x@h:bad", "redis://:hun%ter2@h"}) {
    const auto parsed = parse_redis_url(url);
    ASSERT_FALSE(parsed.ok()) << url;
    EXPECT_EQ(parsed.error().message.find("hunter"), std::string::npos) << parsed.error().message;
    EXPECT_EQ(parsed.error().message.find("ter2"), std::string::npos) << parsed.error().message;
  }
}

Result<Config> load_with(const std::optional<std::string>& redis_url) {
  auto file = parse_env_file("", ".env");
  EXPECT_TRUE(file.ok());
  return load_config(*file,
                     [&](std::string_view key) -> std::optional<std::string> {
                       if (key == "REDIS_URL") return redis_url;
                       return std::nullopt;
                     },
                     {});
}

TEST(RedisUrlConfig, UnsetMeansASingleNode) {
  const auto config = load_with(std::nullopt);
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->redis_url.empty());
  const auto empty = load_with("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->redis_url.empty());
}

TEST(RedisUrlConfig, AValidUrlIsKept) {
  const auto config = load_with("redis://:pw@10.0.0.5:6379/2");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->redis_url, "redis://:pw@10.0.0.5:6379/2");
}

TEST(RedisUrlConfig, AnInvalidUrlNamesTheKeyAndWhereNotThePassword) {
  const auto config = load_with("redis://:topsecret@h:0");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, "invalid_config");
  EXPECT_NE(config.error().message.find("REDIS_URL"), std::string::npos);
  EXPECT_NE(config.error().message.find("environment"), std::string::npos);
  EXPECT_EQ(config.error().message.find("topsecret"), std::string::npos);
}

}  // namespace
}  // namespace nself::core
