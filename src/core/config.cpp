#include "core/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "core/content_filter.hpp"
#include "core/message_cipher.hpp"
#include "core/net_address.hpp"
#include "core/origin_policy.hpp"
#include "core/redis_url.hpp"

namespace nself::core {
namespace {

// Looks a key up through the layers and remembers where its value came from.
class Layers {
 public:
  Layers(const EnvFile& file, const EnvLookup& environment)
      : file_(file), environment_(environment) {}

  // The value of `key` from the highest layer that has it.
  std::optional<std::string> get(std::string_view key, std::string& where) const {
    if (environment_) {
      if (auto value = environment_(key)) {
        where = "environment";
        return value;
      }
    }
    if (const auto* entry = file_.find(key)) {
      where = fmt::format("{} line {}", file_.name, entry->line);
      return entry->value;
    }
    return std::nullopt;
  }

 private:
  const EnvFile& file_;
  const EnvLookup& environment_;
};

// `value` for a one-line message: control characters are escaped (\n, \xNN),
// so a value cannot break or forge lines of the log or the terminal.
std::string printable(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Error bad_value(std::string_view key, std::string_view where, std::string_view value,
                std::string_view expected) {
  return Error{"invalid_config",
               fmt::format("{} ({}): \"{}\" is not {}", key, where, printable(value), expected)};
}

std::optional<long long> parse_integer(std::string_view text) {
  long long value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

// Reads an integer key into `target`, within [min, max].
std::optional<Error> read_int(const Layers& layers, std::string_view key, int& target,
                              long long min, long long max, std::string_view expected) {
  std::string where;
  const auto text = layers.get(key, where);
  if (!text) return std::nullopt;
  const auto value = parse_integer(*text);
  if (!value || *value < min || *value > max) return bad_value(key, where, *text, expected);
  target = static_cast<int>(*value);
  return std::nullopt;
}

std::optional<Error> read_string(const Layers& layers, std::string_view key, std::string& target) {
  std::string where;
  if (auto value = layers.get(key, where)) target = std::move(*value);
  return std::nullopt;
}

// Reads a boolean key: true/false, 1/0, yes/no, on/off (any case); empty
// keeps the default.
std::optional<Error> read_bool(const Layers& layers, std::string_view key, bool& target) {
  std::string where;
  const auto text = layers.get(key, where);
  if (!text || text->empty()) return std::nullopt;
  std::string lower;
  for (char c : *text) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") {
    target = true;
  } else if (lower == "false" || lower == "0" || lower == "no" || lower == "off") {
    target = false;
  } else {
    return bad_value(key, where, *text, "true or false");
  }
  return std::nullopt;
}

// postgres://[user[:password]@]host[:port][/dbname][?params] (or postgresql://).
bool is_valid_postgres_url(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("postgres://")) {
    rest = url.substr(11);
  } else if (url.starts_with("postgresql://")) {
    rest = url.substr(13);
  } else {
    return false;
  }
  const auto end_of_authority = rest.find_first_of("/?");
  auto authority = rest.substr(0, end_of_authority);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return false;
  std::string_view port;
  if (authority.front() == '[') {  // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    port = authority.substr(close + 1);
    if (!port.empty() && port.front() != ':') return false;
    if (!port.empty()) port.remove_prefix(1);
  } else if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
    port = authority.substr(colon + 1);
    if (colon == 0) return false;
  }
  if (!port.empty()) {
    const auto number = parse_integer(port);
    if (!number || *number < 1 || *number > 65535) return false;
  }
  return authority.find_first_of(" \t") == std::string_view::npos;
}

}  // namespace

Result<Config> load_config(const EnvFile& file, const EnvLookup& environment,
                           const ConfigOverrides& overrides) {
  Config config;
  const Layers layers(file, environment);
  constexpr long long kIntMax = std::numeric_limits<int>::max();
  const std::string_view kPort = "a port number (1-65535)";
  const std::string_view kPositive = "a whole number greater than 0";
  const std::string_view kNonNegative = "a whole number, 0 or more";

  const std::optional<Error> errors[] = {
      read_string(layers, "WEBSOCKET_HOST", config.host),
      read_int(layers, "WEBSOCKET_PORT", config.port, 1, 65535, kPort),
      read_int(layers, "WEBSOCKET_MAX_CONNECTIONS", config.max_connections, 1, kIntMax, kPositive),
      read_int(layers, "WEBSOCKET_PING_INTERVAL", config.ping_interval_seconds, 1, 86400,
               "a number of seconds (1-86400)"),
      read_int(layers, "WEBSOCKET_TIMEOUT", config.timeout_seconds, 1, 86400,
               "a number of seconds (1-86400)"),
      read_int(layers, "REALTIME_HTTP_WRITE_TIMEOUT", config.http_write_timeout_seconds, 1, 3600,
               "a number of seconds (1-3600)"),
      read_string(layers, "REALTIME_TRUSTED_PROXIES", config.trusted_proxies),
      read_int(layers, "REALTIME_MAX_UNAUTHENTICATED_CONNECTIONS",
               config.max_unauthenticated_connections, 0, kIntMax, kNonNegative),
      read_int(layers, "REALTIME_MAX_UNAUTHENTICATED_PER_IP", config.max_unauthenticated_per_ip, 0,
               kIntMax, kNonNegative),
      read_int(layers, "REALTIME_MAX_CONNECTIONS_PER_IP", config.max_connections_per_ip, 0, kIntMax,
               kNonNegative),
      read_int(layers, "REALTIME_CONNECTS_PER_IP_PER_SECOND", config.connects_per_ip_per_second, 0,
               1'000'000, "a number of connections per second (0-1000000)"),
      read_int(layers, "REALTIME_ADMIN_AUTH_FAILURES_PER_MINUTE",
               config.admin_auth_failures_per_minute, 0, 1'000'000,
               "a number of failures per minute (0-1000000)"),
      read_string(layers, "WEBSOCKET_SSL_CERT", config.ssl_cert),
      read_string(layers, "WEBSOCKET_SSL_KEY", config.ssl_key),
      read_string(layers, "DATABASE_URL", config.database_url),
      read_string(layers, "REALTIME_SQLITE_PATH", config.sqlite_path),
      read_string(layers, "REALTIME_JWT_SECRET", config.jwt_secret),
      read_string(layers, "HASURA_GRAPHQL_JWT_SECRET", config.hasura_jwt_secret),
      read_string(layers, "REALTIME_ADMIN_SECRET", config.admin_secret),
      read_bool(layers, "REALTIME_JWT_REQUIRE_EXP", config.jwt_require_exp),
      read_int(layers, "REALTIME_MAX_CONNECTIONS_PER_USER", config.max_connections_per_user, 1,
               kIntMax, kPositive),
      read_int(layers, "REALTIME_MAX_MESSAGES_PER_SECOND", config.max_messages_per_second, 1,
               kIntMax, kPositive),
      read_int(layers, "REALTIME_MAX_SUBSCRIPTIONS", config.max_subscriptions, 1, kIntMax,
               kPositive),
      read_int(layers, "REALTIME_MAX_STORE_REQUESTS_PER_SECOND",
               config.max_store_requests_per_second, 1, kIntMax, kPositive),
      read_int(layers, "REALTIME_MAX_STORE_REQUESTS_IN_FLIGHT", config.max_store_requests_in_flight,
               1, kIntMax, kPositive),
      read_int(layers, "REALTIME_MAX_MESSAGE_BYTES", config.max_message_bytes, 128,
               64 * 1024 * 1024, "a size in bytes (128 to 67108864)"),
      read_int(layers, "REALTIME_MESSAGE_RETENTION_DAYS", config.message_retention_days, 0, 36500,
               kNonNegative),
      read_int(layers, "REALTIME_AUDIT_RETENTION_DAYS", config.audit_retention_days, 0, 36500,
               kNonNegative),
      read_int(layers, "REALTIME_CLEANUP_BATCH_ROWS", config.cleanup_batch_rows, 1, 1'000'000,
               "a number of rows (1-1000000)"),
      read_string(layers, "REALTIME_SQLITE_SYNCHRONOUS", config.sqlite_synchronous),
      read_int(layers, "REALTIME_AWAY_AFTER", config.away_after_seconds, 1, kIntMax,
               "a number of seconds greater than 0"),
      read_int(layers, "REALTIME_BROADCAST_POLL_MS", config.broadcast_poll_ms, 10, 60'000,
               "a number of milliseconds (10-60000)"),
      read_string(layers, "REALTIME_LOG_LEVEL", config.log_level),
      read_int(layers, "REALTIME_SLOW_STORE_BATCH_MS", config.slow_store_batch_ms, 0, kIntMax,
               kNonNegative),
      read_int(layers, "REALTIME_SLOW_FANOUT_MS", config.slow_fan_out_ms, 0, kIntMax, kNonNegative),
      read_int(layers, "REALTIME_THREADS", config.threads, 0, 256,
               "a number of event loops (0 for one per core, up to 256)"),
      read_int(layers, "REALTIME_BATCH_SIZE", config.batch_size, 1, 10'000,
               "a number of events per frame (1-10000)"),
      read_int(layers, "REALTIME_BATCH_DELAY_MS", config.batch_delay_ms, 0, 1'000,
               "a number of milliseconds (0-1000)"),
      read_int(layers, "REALTIME_MAX_QUEUED_KB", config.max_queued_kb, 16, 1024 * 1024,
               "a size in KiB (16 to 1048576)"),
      read_int(layers, "REALTIME_MAX_QUEUED_TOTAL_MB", config.max_queued_total_mb, 1, 1024 * 1024,
               "a size in MiB (1 to 1048576)"),
      read_bool(layers, "REALTIME_DEV_MODE", config.dev_mode),
      read_string(layers, "REDIS_URL", config.redis_url),
      read_int(layers, "REALTIME_STORE_QUEUE_MAX", config.store_queue_max, 1, 10'000'000,
               "a number of messages (1-10000000)"),
      read_string(layers, "REALTIME_NODE_ID", config.node_id),
      read_string(layers, "REALTIME_ENGINE", config.engine),
  };
  for (const auto& error : errors) {
    if (error) return *error;
  }

  std::string where;
  if (const auto type = layers.get("REALTIME_DEFAULT_CHANNEL_TYPE", where)) {
    const auto parsed = parse_channel_type(*type);
    if (!parsed) {
      return bad_value("REALTIME_DEFAULT_CHANNEL_TYPE", where, *type,
                       "a channel type (public, private or presence)");
    }
    config.default_channel_type = *parsed;
  }
  if (!config.database_url.empty() && !is_valid_postgres_url(config.database_url)) {
    layers.get("DATABASE_URL", where);
    // The URL may hold a password: name the key, not the value.
    return Error{"invalid_config",
                 fmt::format("DATABASE_URL ({}): not a valid PostgreSQL URL; expected "
                             "postgres://user:password@host:port/dbname, or leave it unset for "
                             "the embedded SQLite store",
                             where)};
  }
  if (!config.redis_url.empty()) {
    if (auto parsed = parse_redis_url(config.redis_url); !parsed) {
      layers.get("REDIS_URL", where);  // the message never holds the password
      return Error{"invalid_config", fmt::format("{} (from {})", parsed.error().message, where)};
    }
  }
  if (config.engine != "lock" && config.engine != "shards") {
    layers.get("REALTIME_ENGINE", where);
    return bad_value("REALTIME_ENGINE", where, config.engine, "lock or shards");
  }
  if (config.sqlite_synchronous != "full" && config.sqlite_synchronous != "normal") {
    layers.get("REALTIME_SQLITE_SYNCHRONOUS", where);
    return bad_value("REALTIME_SQLITE_SYNCHRONOUS", where, config.sqlite_synchronous,
                     "full or normal");
  }
  if (!config.node_id.empty()) {
    const bool printable =
        config.node_id.size() <= 128 && std::all_of(config.node_id.begin(), config.node_id.end(),
                                                    [](char c) { return c > ' ' && c < 127; });
    if (!printable) {
      layers.get("REALTIME_NODE_ID", where);
      return bad_value("REALTIME_NODE_ID", where, config.node_id,
                       "a node name (1-128 printable ASCII characters, no spaces)");
    }
  }
  if (config.log_level != "trace" && config.log_level != "debug" && config.log_level != "info" &&
      config.log_level != "warn" && config.log_level != "error") {
    layers.get("REALTIME_LOG_LEVEL", where);
    return bad_value("REALTIME_LOG_LEVEL", where, config.log_level,
                     "a log level (trace, debug, info, warn, error)");
  }
  if (config.ssl_cert.empty() != config.ssl_key.empty()) {
    return Error{"invalid_config",
                 "WEBSOCKET_SSL_CERT and WEBSOCKET_SSL_KEY must be set together (TLS needs both)"};
  }
  // Security keys (docs/SECURITY.md): parsed here so that a mistake fails at
  // start. The encryption key is never echoed.
  {
    (void)read_string(layers, "REALTIME_ALLOWED_ORIGINS", config.allowed_origins);
    (void)read_string(layers, "REALTIME_ENCRYPTION_KEY", config.encryption_key);
    (void)read_string(layers, "REALTIME_CONTENT_FILTERS", config.content_filters);
    const auto invalid = [&](std::string_view key, const Error& cause) {
      layers.get(key, where);
      return Error{"invalid_config", fmt::format("{} ({}): {}", key, where, cause.message)};
    };
    if (auto proxies = TrustedProxies::parse(config.trusted_proxies); !proxies) {
      return invalid("REALTIME_TRUSTED_PROXIES", proxies.error());
    }
    if (auto origins = OriginPolicy::parse(config.allowed_origins); !origins) {
      return invalid("REALTIME_ALLOWED_ORIGINS", origins.error());
    }
    if (!config.encryption_key.empty()) {
      if (auto cipher = MessageCipher::from_hex_key(config.encryption_key); !cipher) {
        return invalid("REALTIME_ENCRYPTION_KEY", cipher.error());
      }
    }
    if (auto filters = ContentFilter::parse(config.content_filters); !filters) {
      return invalid("REALTIME_CONTENT_FILTERS", filters.error());
    }
  }
  if (overrides.port) {
    const auto value = parse_integer(*overrides.port);
    if (!value || *value < 1 || *value > 65535) {
      return bad_value("--port", "command line", *overrides.port, kPort);
    }
    config.port = static_cast<int>(*value);
  }
  return config;
}

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = {
      {"WEBSOCKET_PORT", "3100", "Server port"},
      {"WEBSOCKET_HOST", "0.0.0.0", "Bind address"},
      {"WEBSOCKET_MAX_CONNECTIONS", "1000", "Max concurrent connections"},
      {"WEBSOCKET_PING_INTERVAL", "30", "Ping interval (seconds)"},
      {"WEBSOCKET_TIMEOUT", "60", "Connection timeout (seconds)"},
      {"REALTIME_MAX_CONNECTIONS_PER_USER", "5", "Max connections per user"},
      {"REALTIME_MAX_MESSAGES_PER_SECOND", "10", "Max messages per second per user"},
      {"REALTIME_MAX_SUBSCRIPTIONS", "50", "Max channels subscribed per connection"},
      {"REALTIME_MAX_STORE_REQUESTS_PER_SECOND", "50",
       "History and read requests per second per user"},
      {"REALTIME_MAX_STORE_REQUESTS_IN_FLIGHT", "16",
       "Store requests of one connection waiting at once"},
      {"REALTIME_MAX_MESSAGE_BYTES", "65536", "Largest message accepted (bytes)"},
      {"REALTIME_MESSAGE_RETENTION_DAYS", "0", "Delete messages older than this (0: keep)"},
      {"REALTIME_AUDIT_RETENTION_DAYS", "90", "Delete audit rows older than this (0: keep)"},
      {"REALTIME_ALLOWED_ORIGINS", "", "Browser origins allowed to connect (empty: all)"},
      {"REALTIME_ENCRYPTION_KEY", "", "64 hex chars: encrypt stored messages (AES-256-GCM)"},
      {"REALTIME_CONTENT_FILTERS", "", "Regexes redacted from messages (comma-separated)"},
      {"REALTIME_JWT_REQUIRE_EXP", "true", "Refuse tokens without exp (false: accept them)"},
      {"REALTIME_TRUSTED_PROXIES", "", "Proxies whose X-Forwarded-For is used (addresses/CIDRs)"},
      {"REALTIME_MAX_UNAUTHENTICATED_CONNECTIONS", "0",
       "Sessions not yet authenticated (0: a quarter of max)"},
      {"REALTIME_MAX_UNAUTHENTICATED_PER_IP", "64", "Unauthenticated sessions per address"},
      {"REALTIME_MAX_CONNECTIONS_PER_IP", "0", "Connections per address (0: no limit)"},
      {"REALTIME_CONNECTS_PER_IP_PER_SECOND", "0", "New connections per address per second"},
      {"REALTIME_ADMIN_AUTH_FAILURES_PER_MINUTE", "10",
       "Failed admin logins per address, then 429"},
  };
  return keys;
}

}  // namespace nself::core
