#include "core/config.hpp"

#include <gtest/gtest.h>

#include <map>

namespace nself::core {
namespace {

struct ConfigFixture : ::testing::Test {
  std::map<std::string, std::string, std::less<>> environment;
  EnvLookup lookup = [this](std::string_view key) -> std::optional<std::string> {
    const auto it = environment.find(key);
    if (it == environment.end()) return std::nullopt;
    return it->second;
  };

  Result<Config> load(std::string_view env_text, ConfigOverrides overrides = {}) {
    auto file = parse_env_file(env_text, ".env");
    EXPECT_TRUE(file.ok());
    return load_config(*file, lookup, overrides);
  }
};

TEST_F(ConfigFixture, DefaultsAreTheManuals) {
  const auto config = load("");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->port, 3100);
  EXPECT_EQ(config->host, "0.0.0.0");
  EXPECT_EQ(config->max_connections, 1000);
  EXPECT_EQ(config->ping_interval_seconds, 30);
  EXPECT_EQ(config->timeout_seconds, 60);
  EXPECT_EQ(config->max_connections_per_user, 5);
  EXPECT_EQ(config->max_messages_per_second, 10);
  EXPECT_EQ(config->max_subscriptions, 50);
  EXPECT_EQ(config->max_message_bytes, 65536);
  EXPECT_EQ(config->away_after_seconds, 300);
  EXPECT_EQ(config->broadcast_poll_ms, 250);
  EXPECT_FALSE(config->is_postgres());
  EXPECT_EQ(config->sqlite_path, ".nself/realtime/realtime.db");
}

TEST_F(ConfigFixture, FileThenEnvironmentThenCommandLine) {
  auto config = load("WEBSOCKET_PORT=3200\nWEBSOCKET_HOST=127.0.0.1\n");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->port, 3200);
  EXPECT_EQ(config->host, "127.0.0.1");

  environment["WEBSOCKET_PORT"] = "3300";
  config = load("WEBSOCKET_PORT=3200\n");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->port, 3300);

  config = load("WEBSOCKET_PORT=3200\n", ConfigOverrides{"3400"});
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->port, 3400);
}

TEST_F(ConfigFixture, BadPortNamesKeyValueAndFileLine) {
  auto config = load("# comment\nWEBSOCKET_PORT=abc\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, "invalid_config");
  EXPECT_EQ(config.error().message,
            "WEBSOCKET_PORT (.env line 2): \"abc\" is not a port number (1-65535)");

  config = load("WEBSOCKET_PORT=70000\n");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("\"70000\""), std::string::npos);

  config = load("WEBSOCKET_PORT=0\n");
  EXPECT_FALSE(config.ok());
  config = load("WEBSOCKET_PORT=80 80\n");
  EXPECT_FALSE(config.ok());
}

TEST_F(ConfigFixture, BadValueFromEnvironmentSaysEnvironment) {
  environment["REALTIME_MAX_SUBSCRIPTIONS"] = "-1";
  const auto config = load("");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message,
            "REALTIME_MAX_SUBSCRIPTIONS (environment): \"-1\" is not a whole number greater "
            "than 0");
}

TEST_F(ConfigFixture, BadPortOnCommandLine) {
  const auto config = load("", ConfigOverrides{"http"});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message,
            "--port (command line): \"http\" is not a port number (1-65535)");
}

TEST_F(ConfigFixture, NegativeLimitsAreRejected) {
  for (const char* key : {"WEBSOCKET_MAX_CONNECTIONS", "REALTIME_MAX_CONNECTIONS_PER_USER",
                          "REALTIME_MAX_MESSAGES_PER_SECOND", "WEBSOCKET_TIMEOUT",
                          "WEBSOCKET_PING_INTERVAL", "REALTIME_MESSAGE_RETENTION_DAYS"}) {
    const auto config = load(std::string(key) + "=-5\n");
    ASSERT_FALSE(config.ok()) << key;
    EXPECT_TRUE(config.error().message.starts_with(key)) << config.error().message;
  }
}

TEST_F(ConfigFixture, BroadcastPollInterval) {
  auto config = load("REALTIME_BROADCAST_POLL_MS=1000\n");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->broadcast_poll_ms, 1000);
  EXPECT_TRUE(load("REALTIME_BROADCAST_POLL_MS=10\n").ok());
  EXPECT_TRUE(load("REALTIME_BROADCAST_POLL_MS=60000\n").ok());
  for (const char* bad : {"0", "9", "60001", "-250", "fast", "250ms", ""}) {
    config = load(std::string("REALTIME_BROADCAST_POLL_MS=") + bad + "\n");
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_TRUE(config.error().message.starts_with("REALTIME_BROADCAST_POLL_MS (.env line 1)"))
        << config.error().message;
  }
}

TEST_F(ConfigFixture, HttpWriteTimeout) {
  auto config = load("");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->http_write_timeout_seconds, 30);
  config = load("REALTIME_HTTP_WRITE_TIMEOUT=2\n");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->http_write_timeout_seconds, 2);
  EXPECT_TRUE(load("REALTIME_HTTP_WRITE_TIMEOUT=3600\n").ok());
  for (const char* bad : {"0", "3601", "-1", "30s", ""}) {
    config = load(std::string("REALTIME_HTTP_WRITE_TIMEOUT=") + bad + "\n");
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_TRUE(config.error().message.starts_with("REALTIME_HTTP_WRITE_TIMEOUT (.env line 1)"))
        << config.error().message;
  }
}

TEST_F(ConfigFixture, DatabaseUrl) {
  auto config = load("DATABASE_URL=postgres://app:secret@db.internal:5433/nself\n");
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->is_postgres());
  EXPECT_TRUE(load("DATABASE_URL=postgresql://localhost/nself\n").ok());
  EXPECT_TRUE(load("DATABASE_URL=postgres://u@[::1]:5432/db?sslmode=disable\n").ok());

  for (const char* bad : {"mysql://localhost/db", "postgres://", "postgres://host:99999/db",
                          "postgres://:5432/db", "localhost:5432"}) {
    config = load(std::string("DATABASE_URL=") + bad + "\n");
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_TRUE(config.error().message.starts_with("DATABASE_URL (.env line 1)"));
  }
}

TEST_F(ConfigFixture, MalformedDatabaseUrlNeverEchoesThePassword) {
  const auto config = load("DATABASE_URL=postgres://u:hunter2@host:notaport/db\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message.find("hunter2"), std::string::npos);
}

TEST_F(ConfigFixture, ChannelTypeMustBeKnown) {
  auto config = load("REALTIME_DEFAULT_CHANNEL_TYPE=presence\n");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->default_channel_type, ChannelType::kPresence);
  config = load("REALTIME_DEFAULT_CHANNEL_TYPE=secret\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message,
            "REALTIME_DEFAULT_CHANNEL_TYPE (.env line 1): \"secret\" is not a channel type "
            "(public, private or presence)");
}

TEST_F(ConfigFixture, TlsNeedsBothFiles) {
  EXPECT_FALSE(load("WEBSOCKET_SSL_CERT=/etc/cert.pem\n").ok());
  EXPECT_TRUE(load("WEBSOCKET_SSL_CERT=/etc/cert.pem\nWEBSOCKET_SSL_KEY=/etc/key.pem\n").ok());
}

TEST_F(ConfigFixture, LogLevelAndMessageSize) {
  EXPECT_FALSE(load("REALTIME_LOG_LEVEL=loud\n").ok());
  EXPECT_TRUE(load("REALTIME_LOG_LEVEL=debug\n").ok());
  EXPECT_FALSE(load("REALTIME_MAX_MESSAGE_BYTES=10\n").ok());
  const auto config = load("REALTIME_MAX_MESSAGE_BYTES=1048576\n");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->max_message_bytes, 1048576);
}

TEST_F(ConfigFixture, SlowOperationThresholds) {
  const auto defaults = load("");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->slow_store_batch_ms, 100);
  EXPECT_EQ(defaults->slow_fan_out_ms, 50);
  const auto set = load("REALTIME_SLOW_STORE_BATCH_MS=250\nREALTIME_SLOW_FANOUT_MS=0\n");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->slow_store_batch_ms, 250);
  EXPECT_EQ(set->slow_fan_out_ms, 0);
  EXPECT_FALSE(load("REALTIME_SLOW_FANOUT_MS=-1\n").ok());
  EXPECT_FALSE(load("REALTIME_SLOW_STORE_BATCH_MS=fast\n").ok());
}

// Regression (fuzz_config): a value holding a newline was echoed as is, so an
// error message could span lines and forge log lines.
TEST_F(ConfigFixture, ErrorsEscapeControlCharactersOfTheValue) {
  auto config = load("WEBSOCKET_PORT=\"31\\n[info] forged\"\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().message.find('\n'), std::string::npos);
  EXPECT_NE(config.error().message.find(R"("31\n[info] forged")"), std::string::npos)
      << config.error().message;
  config = load("", ConfigOverrides{std::string("1\r\x01\t2")});
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find(R"("1\r\x01\t2")"), std::string::npos)
      << config.error().message;
}

TEST_F(ConfigFixture, SecurityKeysAreValidatedWithoutEchoingTheKey) {
  const std::string key(64, 'a');
  auto config = load(
      "REALTIME_ALLOWED_ORIGINS=https://a.example, http://localhost:3000\n"
      "REALTIME_ENCRYPTION_KEY=" +
      key +
      "\n"
      "REALTIME_CONTENT_FILTERS=\\d{16}\n");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->allowed_origins, "https://a.example, http://localhost:3000");
  EXPECT_EQ(config->encryption_key, key);
  EXPECT_EQ(config->content_filters, "\\d{16}");

  const std::string short_key(40, 'b');
  config = load("REALTIME_ENCRYPTION_KEY=" + short_key + "\n");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("REALTIME_ENCRYPTION_KEY (.env line 1)"), std::string::npos)
      << config.error().message;
  EXPECT_EQ(config.error().message.find(short_key), std::string::npos);

  config = load("REALTIME_ALLOWED_ORIGINS=app.example.com\n");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("REALTIME_ALLOWED_ORIGINS (.env line 1)"),
            std::string::npos);
  config = load("REALTIME_CONTENT_FILTERS=(unclosed\n");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("REALTIME_CONTENT_FILTERS (.env line 1): pattern 1"),
            std::string::npos)
      << config.error().message;
}

TEST(ConfigKeys, ListsTheManualsKeysWithDefaults) {
  const auto& keys = config_keys();
  ASSERT_GE(keys.size(), 5u);
  EXPECT_EQ(keys[0].name, "WEBSOCKET_PORT");
  EXPECT_EQ(keys[0].default_value, "3100");
}

TEST_F(ConfigFixture, DevModeIsOffUnlessSetToATrueValue) {
  const auto defaults = load("");
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->dev_mode);
  for (const char* text : {"true", "TRUE", "1", "yes", "on"}) {
    const auto config = load(std::string("REALTIME_DEV_MODE=") + text + "\n");
    ASSERT_TRUE(config.ok()) << text;
    EXPECT_TRUE(config->dev_mode) << text;
  }
  for (const char* text : {"false", "0", "no", "Off", ""}) {
    const auto config = load(std::string("REALTIME_DEV_MODE=") + text + "\n");
    ASSERT_TRUE(config.ok()) << text;
    EXPECT_FALSE(config->dev_mode) << text;
  }
  for (const char* text : {"maybe", "2", "truee", "yes!"}) {
    const auto config = load(std::string("REALTIME_DEV_MODE=") + text + "\n");
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_NE(config.error().message.find("REALTIME_DEV_MODE"), std::string::npos);
  }
}

TEST_F(ConfigFixture, JwtRequireExpIsOnUnlessSetToAFalseValue) {
  const auto defaults = load("");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->jwt_require_exp);
  for (const char* text : {"false", "0", "no", "OFF"}) {
    const auto config = load(std::string("REALTIME_JWT_REQUIRE_EXP=") + text + "\n");
    ASSERT_TRUE(config.ok()) << text;
    EXPECT_FALSE(config->jwt_require_exp) << text;
  }
  for (const char* text : {"true", "1", ""}) {
    const auto config = load(std::string("REALTIME_JWT_REQUIRE_EXP=") + text + "\n");
    ASSERT_TRUE(config.ok()) << text;
    EXPECT_TRUE(config->jwt_require_exp) << text;
  }
  const auto bad = load("REALTIME_JWT_REQUIRE_EXP=sometimes\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("REALTIME_JWT_REQUIRE_EXP"), std::string::npos);
}

TEST_F(ConfigFixture, EngineIsShardsUnlessLockIsAsked) {
  const auto defaults = load("");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->engine, "shards");
  const auto lock = load("REALTIME_ENGINE=lock\n");
  ASSERT_TRUE(lock.ok());
  EXPECT_EQ(lock->engine, "lock");
  EXPECT_FALSE(load("REALTIME_ENGINE=mutex\n").ok());
}

TEST_F(ConfigFixture, ClientAddressLimitsHaveDefaultsAndAreValidated) {
  auto config = load("");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->trusted_proxies, "");
  EXPECT_EQ(config->unauthenticated_cap(), 250);  // a quarter of WEBSOCKET_MAX_CONNECTIONS
  EXPECT_EQ(config->max_unauthenticated_per_ip, 64);
  EXPECT_EQ(config->max_connections_per_ip, 0);
  EXPECT_EQ(config->connects_per_ip_per_second, 0);
  EXPECT_EQ(config->admin_auth_failures_per_minute, 10);
  config = load("WEBSOCKET_MAX_CONNECTIONS=2\n");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->unauthenticated_cap(), 1);
  config = load(
      "REALTIME_TRUSTED_PROXIES=10.0.0.0/8, ::1\nREALTIME_MAX_UNAUTHENTICATED_CONNECTIONS=7\n"
      "REALTIME_MAX_UNAUTHENTICATED_PER_IP=0\nREALTIME_MAX_CONNECTIONS_PER_IP=20\n"
      "REALTIME_CONNECTS_PER_IP_PER_SECOND=5\nREALTIME_ADMIN_AUTH_FAILURES_PER_MINUTE=0\n");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->trusted_proxies, "10.0.0.0/8, ::1");
  EXPECT_EQ(config->unauthenticated_cap(), 7);
  EXPECT_EQ(config->max_unauthenticated_per_ip, 0);
  EXPECT_EQ(config->max_connections_per_ip, 20);
  EXPECT_EQ(config->connects_per_ip_per_second, 5);
  EXPECT_EQ(config->admin_auth_failures_per_minute, 0);
  config = load("REALTIME_TRUSTED_PROXIES=10.0.0.0/40\n");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("REALTIME_TRUSTED_PROXIES (.env line 1)"),
            std::string::npos)
      << config.error().message;
  for (const char* line :
       {"REALTIME_MAX_CONNECTIONS_PER_IP=-1\n", "REALTIME_CONNECTS_PER_IP_PER_SECOND=x\n",
        "REALTIME_ADMIN_AUTH_FAILURES_PER_MINUTE=-5\n"}) {
    EXPECT_FALSE(load(line).ok()) << line;
  }
}

}  // namespace
}  // namespace nself::core

namespace nself::core {
namespace {

// Issue 16, items 1, 0b and 11: audit retention, cleanup batches, SQLite durability.
TEST_F(ConfigFixture, StoreMaintenanceAndDurabilityKeys) {
  const auto defaults = load("");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->audit_retention_days, 90);
  EXPECT_EQ(defaults->cleanup_batch_rows, 5000);
  EXPECT_EQ(defaults->sqlite_synchronous, "full");

  const auto set = load(
      "REALTIME_AUDIT_RETENTION_DAYS=0\nREALTIME_CLEANUP_BATCH_ROWS=250\n"
      "REALTIME_SQLITE_SYNCHRONOUS=normal\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->audit_retention_days, 0);
  EXPECT_EQ(set->cleanup_batch_rows, 250);
  EXPECT_EQ(set->sqlite_synchronous, "normal");

  for (const char* text :
       {"REALTIME_SQLITE_SYNCHRONOUS=off\n", "REALTIME_SQLITE_SYNCHRONOUS=FULL\n",
        "REALTIME_AUDIT_RETENTION_DAYS=-1\n", "REALTIME_CLEANUP_BATCH_ROWS=0\n",
        "REALTIME_CLEANUP_BATCH_ROWS=x\n"}) {
    const auto config = load(text);
    ASSERT_FALSE(config.ok()) << text;
    const std::string key(text, std::string_view(text).find('='));
    EXPECT_NE(config.error().message.find(key + " (.env line 1)"), std::string::npos)
        << config.error().message;
  }
}

}  // namespace
}  // namespace nself::core
