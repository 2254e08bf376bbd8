#pragma once

// The server's configuration: the manual's .env keys and ours, with their
// defaults, validated. Every key is documented in docs/CONFIGURATION.md.
//
// Precedence (lowest to highest): defaults, the .env file in the working
// directory, the process environment, command-line options (--port).
// Loading is pure: the caller reads the file and the environment.

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/channel.hpp"
#include "core/env_file.hpp"
#include "core/result.hpp"

namespace nself::core {

struct Config {
  // WebSocket server (the manual's keys)
  std::string host = "0.0.0.0";    // WEBSOCKET_HOST
  int port = 3100;                 // WEBSOCKET_PORT
  int max_connections = 1000;      // WEBSOCKET_MAX_CONNECTIONS
  int ping_interval_seconds = 30;  // WEBSOCKET_PING_INTERVAL
  int timeout_seconds = 60;        // WEBSOCKET_TIMEOUT
  std::string ssl_cert;            // WEBSOCKET_SSL_CERT (TLS when both are set)
  std::string ssl_key;             // WEBSOCKET_SSL_KEY

  // HTTP: a response not written within this time closes its connection.
  int http_write_timeout_seconds = 30;  // REALTIME_HTTP_WRITE_TIMEOUT

  // Client addresses and their limits (docs/SECURITY.md, "Connections and
  // addresses"); 0 is no limit, except where said.
  std::string trusted_proxies;              // REALTIME_TRUSTED_PROXIES (addresses/CIDRs; none)
  int max_unauthenticated_connections = 0;  // REALTIME_MAX_UNAUTHENTICATED_CONNECTIONS (0: a
                                            // quarter of WEBSOCKET_MAX_CONNECTIONS)
  int max_unauthenticated_per_ip = 64;      // REALTIME_MAX_UNAUTHENTICATED_PER_IP
  int max_connections_per_ip = 0;           // REALTIME_MAX_CONNECTIONS_PER_IP
  int connects_per_ip_per_second = 0;       // REALTIME_CONNECTS_PER_IP_PER_SECOND
  int admin_auth_failures_per_minute = 10;  // REALTIME_ADMIN_AUTH_FAILURES_PER_MINUTE
  // The server-wide cap on unauthenticated WebSocket sessions in force.
  int unauthenticated_cap() const {
    return max_unauthenticated_connections > 0 ? max_unauthenticated_connections
                                               : std::max(1, max_connections / 4);
  }

  // Storage
  std::string database_url;  // DATABASE_URL: postgres://... ; empty: SQLite
  std::string sqlite_path = ".nself/realtime/realtime.db";  // REALTIME_SQLITE_PATH
  // What an ack promises on SQLite (docs/PROTOCOL.md, "Durability"): "full"
  // survives power loss, "normal" only a crash of the process.
  std::string sqlite_synchronous = "full";  // REALTIME_SQLITE_SYNCHRONOUS: full|normal

  // Authentication
  std::string jwt_secret;         // REALTIME_JWT_SECRET (HS256)
  std::string hasura_jwt_secret;  // HASURA_GRAPHQL_JWT_SECRET ({"type":"HS256","key":"..."})
  std::string admin_secret;       // REALTIME_ADMIN_SECRET (X-Realtime-Admin-Secret)
  bool jwt_require_exp = true;    // REALTIME_JWT_REQUIRE_EXP: refuse tokens without "exp"

  // Limits (the manual's "Rate Limiting")
  int max_connections_per_user = 5;        // REALTIME_MAX_CONNECTIONS_PER_USER
  int max_messages_per_second = 10;        // REALTIME_MAX_MESSAGES_PER_SECOND
  int max_subscriptions = 50;              // REALTIME_MAX_SUBSCRIPTIONS
  int max_store_requests_per_second = 50;  // REALTIME_MAX_STORE_REQUESTS_PER_SECOND
  int max_store_requests_in_flight = 16;   // REALTIME_MAX_STORE_REQUESTS_IN_FLIGHT
  int max_message_bytes = 65536;           // REALTIME_MAX_MESSAGE_BYTES
  int message_retention_days = 0;          // REALTIME_MESSAGE_RETENTION_DAYS (0: keep forever)
  int audit_retention_days = 90;           // REALTIME_AUDIT_RETENTION_DAYS (0: keep forever)
  int cleanup_batch_rows = 5000;  // REALTIME_CLEANUP_BATCH_ROWS: rows per cleanup transaction

  // Channels
  ChannelType default_channel_type = ChannelType::kPublic;  // REALTIME_DEFAULT_CHANNEL_TYPE

  // Presence
  int away_after_seconds = 300;  // REALTIME_AWAY_AFTER (the manual's 5 minutes idle)

  // Broadcasts
  int broadcast_poll_ms = 250;  // REALTIME_BROADCAST_POLL_MS (how often due broadcasts are claimed)

  // Logging
  std::string log_level = "info";  // REALTIME_LOG_LEVEL
  // Operations slower than these are logged with their duration (warn).
  int slow_store_batch_ms = 100;  // REALTIME_SLOW_STORE_BATCH_MS (one group commit)
  int slow_fan_out_ms = 50;       // REALTIME_SLOW_FANOUT_MS (one fan-out to all subscribers)

  // Engine (docs/CONFIGURATION.md, "Performance")
  int threads = 0;                // REALTIME_THREADS: event loops (0: one per core)
  int batch_size = 64;            // REALTIME_BATCH_SIZE: events per frame in batch mode
  int batch_delay_ms = 0;         // REALTIME_BATCH_DELAY_MS: hold to fill a batch (0: one turn)
  int max_queued_kb = 1024;       // REALTIME_MAX_QUEUED_KB: per connection, then 1008
  int max_queued_total_mb = 512;  // REALTIME_MAX_QUEUED_TOTAL_MB: all connections together
  // Development mode: the web console may mint tokens (POST /console/token).
  // Never enable it on a server others can reach.
  bool dev_mode = false;  // REALTIME_DEV_MODE (true/false)
  // Security (docs/SECURITY.md); validated by load_config.
  std::string allowed_origins;  // REALTIME_ALLOWED_ORIGINS (comma-separated; empty: every origin)
  std::string encryption_key;   // REALTIME_ENCRYPTION_KEY (64 hex chars; empty: not encrypted)
  std::string content_filters;  // REALTIME_CONTENT_FILTERS (comma-separated regexes; "\," a comma)
  // Cluster (docs/SCALING.md): redis://[:password@]host:port[/db]; empty: one node alone.
  std::string redis_url;  // REDIS_URL
  // Which protocol layer serves connections: "lock" (RealtimeHandler, one
  // lock; the default until the sharded engine replaces it) or "shards" (the
  // sharded engine, docs/ENGINE_DESIGN.md; one node only: with REDIS_URL the
  // server logs a warning and uses "lock").
  std::string engine = "shards";  // REALTIME_ENGINE (cluster mode: always lock)
  // Messages waiting to be stored; past it a message gets `overloaded`.
  int store_queue_max = 50000;  // REALTIME_STORE_QUEUE_MAX
  // This node's name in the cluster (1-128 printable ASCII, no spaces);
  // empty: hostname:port. Also realtime.connections.node_id.
  std::string node_id;  // REALTIME_NODE_ID

  bool is_postgres() const { return !database_url.empty(); }
};

// Where a value came from, for messages: ".env line 3", "environment", "--port".
struct ConfigOrigin {
  std::string key;
  std::string where;
};

// The command-line options that override configuration.
struct ConfigOverrides {
  std::optional<std::string> port;  // --port, as typed
};

// Reads an environment variable; returns nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view key)>;

// Builds the configuration. Fails with code "invalid_config" and a one-line
// message naming the key, the bad value and where it came from, e.g.
//   WEBSOCKET_PORT (.env line 3): "abc" is not a port number (1-65535)
Result<Config> load_config(const EnvFile& file, const EnvLookup& environment,
                           const ConfigOverrides& overrides);

// Every key load_config reads, with its default as written by `init`, in the
// order `init` writes them.
struct ConfigKey {
  std::string_view name;
  std::string_view default_value;
  std::string_view description;
};
const std::vector<ConfigKey>& config_keys();

}  // namespace nself::core
