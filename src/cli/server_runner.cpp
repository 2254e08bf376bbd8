// `nself realtime start --foreground`: assembles the server from the
// configuration and runs it in this process until SIGTERM/SIGINT.
#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <cstring>
#include <future>
#include <mutex>
#include <thread>

#include "cli/pid_file.hpp"
#include "cli/server_commands.hpp"
#include "cluster/cluster.hpp"
#include "core/auth/jwt_key.hpp"
#include "core/auth/jwt_verifier.hpp"
#include "server/admin_api.hpp"
#include "server/broadcast_scheduler.hpp"
#include "server/console_routes.hpp"
#include "server/engine/engine_handler.hpp"
#include "server/metrics.hpp"
#include "server/realtime_handler.hpp"
#include "server/server.hpp"
#include "server/stats_feed.hpp"
#include "server/store_worker.hpp"
#include "store/encrypting_store.hpp"
#include "store/private_files.hpp"

namespace nself::cli {
namespace {

// Logs to stderr (the terminal, or the log file for a server started in the
// background, whose stderr is that file), and in the foreground also to the
// log file, so that `logs` works for both.
void set_up_logging(const core::Config& config, const std::filesystem::path& log_file,
                    bool daemon_child) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (!daemon_child) {
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file.string()));
  }
  auto logger = std::make_shared<spdlog::logger>("nself-realtime", sinks.begin(), sinks.end());
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  logger->set_level(spdlog::level::from_str(config.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

// The keys client tokens are verified with: REALTIME_JWT_SECRET (HS256) and
// nself's HASURA_GRAPHQL_JWT_SECRET.
std::vector<core::auth::JwtKey> jwt_keys(const core::Config& config) {
  std::vector<core::auth::JwtKey> keys;
  if (!config.jwt_secret.empty()) {
    keys.push_back(core::auth::JwtKey{core::auth::JwtAlgorithm::kHS256, config.jwt_secret});
  }
  if (!config.hasura_jwt_secret.empty()) {
    auto key = core::auth::parse_hasura_jwt_secret(config.hasura_jwt_secret);
    if (!key) {
      throw CommandError(exit_code::kUsage, "invalid_config",
                         "HASURA_GRAPHQL_JWT_SECRET: " + key.error().message);
    }
    keys.push_back(std::move(key).value());
  }
  if (keys.empty()) {
    throw CommandError(exit_code::kUsage, "invalid_config",
                       "no JWT secret: set REALTIME_JWT_SECRET or HASURA_GRAPHQL_JWT_SECRET "
                       "(`nself realtime init` generates one)");
  }
  return keys;
}

// A process may hold at most RLIMIT_NOFILE descriptors: raise the soft limit
// to the hard one, and say so when max connections cannot fit.
void raise_file_limit(const core::Config& config) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  const auto reserve = 64u;  // listener, database, log, pipes
  if (limit.rlim_cur != RLIM_INFINITY &&
      static_cast<rlim_t>(config.max_connections) + reserve > limit.rlim_cur) {
    spdlog::warn(
        "WEBSOCKET_MAX_CONNECTIONS={} exceeds what this process can hold: the file descriptor "
        "limit is {} (hard limit; raise it with ulimit -n or LimitNOFILE)",
        config.max_connections, limit.rlim_cur);
  }
}

server::ServerOptions server_options(const core::Config& config) {
  server::ServerOptions options;
  options.host = config.host;
  options.port = static_cast<std::uint16_t>(config.port);
  options.max_connections = static_cast<std::size_t>(config.max_connections);
  options.ping_interval = std::chrono::seconds(config.ping_interval_seconds);
  options.idle_timeout = std::chrono::seconds(config.timeout_seconds);
  options.max_message_bytes = static_cast<std::size_t>(config.max_message_bytes);
  // API bodies: a message published through the API plus its envelope.
  options.max_body_bytes = std::max<std::size_t>(64 * 1024, options.max_message_bytes + 4096);
  options.response_write_timeout = std::chrono::seconds(config.http_write_timeout_seconds);
  options.handle_signals = true;
  options.threads = config.threads > 0
                        ? static_cast<std::size_t>(config.threads)
                        : std::max<std::size_t>(std::thread::hardware_concurrency(), 1);
  options.batch_size = static_cast<std::size_t>(config.batch_size);
  options.batch_delay = std::chrono::milliseconds(config.batch_delay_ms);
  options.max_queued_bytes = static_cast<std::size_t>(config.max_queued_kb) * 1024;
  options.max_queued_bytes_total = static_cast<std::size_t>(config.max_queued_total_mb) << 20;
  options.tls_cert_file = config.ssl_cert;
  options.tls_key_file = config.ssl_key;
  // Client addresses and their limits, already validated by load_config.
  options.trusted_proxies = *core::TrustedProxies::parse(config.trusted_proxies);
  options.max_unauthenticated = static_cast<std::size_t>(config.unauthenticated_cap());
  options.max_unauthenticated_per_ip = static_cast<std::size_t>(config.max_unauthenticated_per_ip);
  options.max_connections_per_ip = static_cast<std::size_t>(config.max_connections_per_ip);
  options.connects_per_ip_per_second = config.connects_per_ip_per_second;
  return options;
}

// The protocol's limits and presence timing from the configuration.
server::RealtimeOptions realtime_options(const core::Config& config) {
  server::RealtimeOptions options;
  options.max_connections_per_user = config.max_connections_per_user;
  options.max_messages_per_second = config.max_messages_per_second;
  options.max_subscriptions = config.max_subscriptions;
  options.max_store_requests_per_second = config.max_store_requests_per_second;
  options.max_store_requests_in_flight = config.max_store_requests_in_flight;
  // A history reply is one page of half the send-queue bound: it never trips it.
  options.history_page_bytes = static_cast<std::size_t>(config.max_queued_kb) * 1024 / 2;
  options.away_after = std::chrono::seconds(config.away_after_seconds);
  // Security keys, already validated by load_config.
  options.allowed_origins = *core::OriginPolicy::parse(config.allowed_origins);
  options.content_filter = *core::ContentFilter::parse(config.content_filters);
  return options;
}

// The sharded engine's settings: the same keys as RealtimeHandler's.
server::engine::EngineHandlerOptions engine_options(const server::RealtimeOptions& realtime) {
  server::engine::EngineHandlerOptions options;
  core::engine::EngineOptions& engine = options.engine;
  engine.auth_timeout = realtime.auth_timeout;
  engine.typing_timeout = realtime.typing_timeout;
  engine.heartbeat_interval = realtime.heartbeat_interval;
  engine.max_connections_per_user = realtime.max_connections_per_user;
  engine.max_messages_per_second = realtime.max_messages_per_second;
  engine.flood = realtime.flood;
  engine.max_subscriptions = realtime.max_subscriptions;
  engine.max_store_requests_per_second = realtime.max_store_requests_per_second;
  engine.max_store_requests_in_flight = realtime.max_store_requests_in_flight;
  engine.away_after = realtime.away_after;
  engine.stale_presence_after = realtime.stale_presence_after;
  engine.content_filter = realtime.content_filter;
  engine.history_page_bytes = realtime.history_page_bytes;
  options.allowed_origins = realtime.allowed_origins;
  return options;
}

// ---- cluster mode (docs/SCALING.md): REALTIME_NODE_ID, else hostname:port.
std::string node_id(const core::Config& config) {
  if (!config.node_id.empty()) return config.node_id;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "localhost");
  return fmt::format("{}:{}", host, config.port);
}

// Cluster mode when REDIS_URL is set: the cluster object, its callbacks
// posting into the handler. Started by the caller.
std::unique_ptr<cluster::Cluster> make_cluster(const core::Config& config,
                                               server::RealtimeHandler& handler,
                                               server::Metrics& metrics, std::uint16_t port) {
  if (config.redis_url.empty()) return nullptr;
  cluster::ClusterOptions options;
  options.redis = *core::parse_redis_url(config.redis_url);  // validated by load_config
  options.self.id = node_id(config);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  options.self.address = config.host == "0.0.0.0" || config.host == "::" ? host : config.host;
  options.self.port = port;
  options.self.started_at = std::chrono::system_clock::now();
  cluster::ClusterCallbacks callbacks;
  callbacks.on_event = [&handler](core::ClusterEnvelope envelope) {
    handler.on_cluster_event(std::move(envelope));
  };
  callbacks.on_resync = [&handler] { handler.on_cluster_resync(); };
  callbacks.on_node_dead = [&handler](cluster::DeadNode node) {
    handler.on_cluster_node_dead(std::move(node));
  };
  callbacks.on_health = [&metrics](const cluster::ClusterHealth& health) {
    metrics.cluster_link(health.healthy(),
                         health.commands.reconnects + health.subscriber.reconnects);
    if (health.healthy()) {
      spdlog::info("cluster: Redis connected");
    } else {
      spdlog::warn("cluster: Redis degraded: {}", health.last_error());
    }
  };
  spdlog::info("cluster mode: node {} over Redis {}", options.self.id, options.redis.describe());
  metrics.cluster_link(false, 0);
  return std::make_unique<cluster::Cluster>(std::move(options), std::move(callbacks));
}

// /health in cluster mode: the server's answer plus "cluster" (this node and
// the Redis links) and "degraded": true while Redis is unreachable (the node
// still serves its own connections: the status stays 200).
// The cluster's live nodes as /health shows them, refreshed every 2 s
// (NodeRegistry::list; the last answer is kept while Redis is down).
struct NodeList {
  std::mutex mutex;
  boost::json::array nodes;
};

void refresh_nodes(cluster::Cluster& cluster, NodeList& list,
                   const std::shared_ptr<boost::asio::steady_timer>& timer) {
  cluster.nodes().list([&list](Result<std::vector<cluster::NodeInfo>> nodes) {
    if (!nodes) return;
    boost::json::array array;
    for (const auto& node : nodes.value()) {
      auto ms = [](std::chrono::system_clock::time_point at) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
      };
      array.push_back(boost::json::object{{"id", node.id},
                                          {"address", node.address},
                                          {"port", node.port},
                                          {"connections", node.connections},
                                          {"started_at_ms", ms(node.started_at)},
                                          {"last_heartbeat_ms", ms(node.last_heartbeat)}});
    }
    std::lock_guard lock(list.mutex);
    list.nodes = std::move(array);
  });
  timer->expires_after(std::chrono::seconds(2));
  timer->async_wait([&cluster, &list, timer](const boost::system::error_code& error) {
    if (!error) refresh_nodes(cluster, list, timer);
  });
}

void add_cluster_health(server::HttpRouter& router, cluster::Cluster& cluster, NodeList& nodes) {
  auto base = router.handler(server::http::verb::get, "/health");
  if (!base) return;
  router.add(server::http::verb::get, "/health",
             [base, &cluster, &nodes](const server::HttpRequest& request) {
               server::HttpResponse response = base(request);
               boost::json::error_code error;
               auto body = boost::json::parse(response.body(), error);
               if (error || !body.is_object()) return response;
               const cluster::ClusterHealth health = cluster.health();
               const auto link = health.healthy() ? "connected"
                                 : health.commands.link == cluster::RedisState::Link::kConnecting
                                     ? "connecting"
                                     : "degraded";
               body.as_object()["cluster"] = boost::json::object{
                   {"node_id", cluster.node_id()},
                   {"redis", link},
                   {"commands", cluster::to_string(health.commands.link)},
                   {"pubsub", cluster::to_string(health.subscriber.link)},
                   {"last_error", health.last_error()},
                   {"reconnects", health.commands.reconnects + health.subscriber.reconnects}};
               {
                 std::lock_guard lock(nodes.mutex);
                 body.as_object()["cluster"].as_object()["nodes"] = nodes.nodes;
               }
               body.as_object()["degraded"] = !health.healthy();
               response.body() = boost::json::serialize(body);
               response.prepare_payload();
               return response;
             });
}

}  // namespace

int run_server_foreground(CommandContext& context, const ServerCommandOptions& options) {
  const auto& config = context.config();
  const auto& paths = context.paths();
  if (const auto error = store::create_private_directories(paths.state_dir)) {
    throw CommandError(
        exit_code::kFailed, "io_error",
        fmt::format("cannot create {}: {}", paths.state_dir.string(), error.message()));
  }
  const auto log_file = paths.log_file(config.port);
  // Owner-only before spdlog opens it (fopen would create it 0666 less the umask).
  store::create_private_file(log_file);
  set_up_logging(config, log_file, options.daemon_child);

  const core::auth::JwtVerifier verifier(jwt_keys(config), {.require_exp = config.jwt_require_exp});
  context.store();  // fails here, clearly, when the database is unreachable or not initialised
  const std::string store_description = context.store().describe();
  const std::string backend(context.store().backend());

  store::StoreOptions store_options;
  store_options.database_url = config.database_url;
  store_options.sqlite_path = config.sqlite_path;
  if (config.sqlite_synchronous == "normal") {
    store_options.sqlite_synchronous = store::SqliteSynchronous::kNormal;
  }
  // The peak connection count is kept across restarts (realtime.server_state).
  server::Metrics metrics;
  if (auto peak = context.store().get_state(server::kPeakConnectionsKey)) {
    try {
      metrics.restore_peak(std::stoull(*peak));
    } catch (const std::exception&) {
      spdlog::warn("ignoring an unreadable stored peak connection count: {}", *peak);
    }
  }
  // REALTIME_ENCRYPTION_KEY: every store the worker opens seals message content.
  server::StoreWorkerOptions store_worker_options;
  store_worker_options.queue_max = static_cast<std::size_t>(config.store_queue_max);
  server::StoreWorker store_worker(
      [store_options, key = config.encryption_key] {
        return store::apply_encryption(store::open_store(store_options), key);
      },
      store_worker_options);
  store_worker.observe(&metrics, std::chrono::milliseconds(config.slow_store_batch_ms));
  server::RealtimeOptions handler_options = realtime_options(config);
  handler_options.slow_fan_out = std::chrono::milliseconds(config.slow_fan_out_ms);
  handler_options.node_id = config.redis_url.empty() && config.node_id.empty()
                                ? handler_options.node_id
                                : node_id(config);  // ---- cluster mode
  // REALTIME_ENGINE: the protocol layer (docs/ENGINE_DESIGN.md).
  std::unique_ptr<server::RealtimeHandler> legacy;
  std::unique_ptr<server::engine::EngineHandler> engine;
  if (config.engine == "shards" && !config.redis_url.empty()) {
    spdlog::info(
        "protocol layer: the lock engine (the sharded engine does not serve cluster mode "
        "(REDIS_URL) yet)");
  }
  if (config.engine == "shards" && config.redis_url.empty()) {
    spdlog::info("protocol layer: the sharded engine (REALTIME_ENGINE=shards)");
    auto options = engine_options(handler_options);
    options.store_lanes.commits = static_cast<std::size_t>(config.store_queue_max);
    engine =
        std::make_unique<server::engine::EngineHandler>(verifier, store_worker, std::move(options));
  } else {
    legacy = std::make_unique<server::RealtimeHandler>(verifier, store_worker, handler_options);
  }
  server::SessionHandler& session_handler =
      legacy ? static_cast<server::SessionHandler&>(*legacy) : *engine;
  server::RealtimeService& handler =
      legacy ? static_cast<server::RealtimeService&>(*legacy) : *engine;
  handler.set_metrics(&metrics);

  raise_file_limit(config);
  std::optional<server::Server> server;
  try {
    server.emplace(server_options(config), session_handler);
  } catch (const server::ServerError& error) {
    spdlog::error("{}", error.what());
    throw CommandError(exit_code::kFailed, "start_failed", error.what());
  }

  // Delivers broadcasts written to the database (CLI, API), also those that
  // became due while the server was down. Destroyed before the server.
  server::BroadcastSchedulerOptions broadcast_options;
  broadcast_options.poll_interval = std::chrono::milliseconds(config.broadcast_poll_ms);
  server::BroadcastScheduler broadcasts(server->io_context().get_executor(), store_worker, handler,
                                        broadcast_options);
  server::AdminApiOptions api_options;
  api_options.admin_secret = config.admin_secret;
  api_options.max_connections = static_cast<std::uint64_t>(config.max_connections);
  api_options.message_retention_days = config.message_retention_days;
  api_options.auth_failures_per_minute = config.admin_auth_failures_per_minute;
  api_options.audit_retention_days = config.audit_retention_days;
  api_options.cleanup_batch_rows = config.cleanup_batch_rows;
  api_options.max_message_bytes = static_cast<std::size_t>(config.max_message_bytes);
  std::optional<server::AdminApi> api;
  api.emplace(*server, handler, store_worker, metrics, verifier, api_options);
  api->set_broadcast_scheduler(&broadcasts);
  api->start();

  // The web console (GET /, /console, /sdk, /examples) and its live stats feed
  // over WebSocket (stats_subscribe); token minting only in development mode.
  server::add_console_routes(server->router(), {config.dev_mode, config.jwt_secret});
  server::StatsFeed stats_feed(server->io_context().get_executor(), metrics,
                               [&] { return server::sample_live_stats(*server, handler); });
  handler.set_stats_feed(&stats_feed);
  stats_feed.start();
  if (config.dev_mode) {
    spdlog::warn(
        "REALTIME_DEV_MODE is on: POST /console/token mints tokens for any user; "
        "never use it on a server others can reach");
  }
  if (static_cast<std::int64_t>(config.max_queued_kb) * 1024 <
      2 * static_cast<std::int64_t>(config.max_message_bytes)) {
    spdlog::warn(
        "REALTIME_MAX_QUEUED_KB={} is under 2 x REALTIME_MAX_MESSAGE_BYTES={}: a history page "
        "(half the queue bound) may not hold a message of the largest size, and a client that "
        "reads one is closed with 1008",
        config.max_queued_kb, config.max_message_bytes);
  }

  server->on_health([&store_worker, &engine](boost::json::object& body) {
    server::StoreHealth health = store_worker.health();
    if (engine) {  // the sharded engine's messages wait in its commit lane
      const server::engine::StoreLaneStats lanes = engine->store_lane_stats();
      health.pending += lanes.waiting[static_cast<std::size_t>(core::engine::StoreClass::kCommit)];
      health.overloaded += lanes.overloaded;
    }
    server::add_store_health(health, std::chrono::system_clock::now(), body);
  });
  const PidFile pid_file(paths.pid_file(config.port));
  const pid_t pid = ::getpid();
  server->on_listening([&](std::uint16_t port) {
    pid_file.write(pid);
    spdlog::info("nself realtime {} listening on {}:{} (pid {}, store: {} {})", NSELF_VERSION,
                 config.host, port, pid, backend, store_description);
  });
  // ---- cluster mode: started once the loops exist, stopped once they are done.
  std::unique_ptr<cluster::Cluster> cluster =
      legacy ? make_cluster(config, *legacy, metrics, server->port()) : nullptr;
  NodeList node_list;
  auto nodes_timer = std::make_shared<boost::asio::steady_timer>(server->io_context());
  if (cluster) {
    add_cluster_health(server->router(), *cluster, node_list);
    legacy->set_cluster(cluster.get());
    cluster->start();
    refresh_nodes(*cluster, node_list, nodes_timer);
  }
  server->run();
  if (cluster) {
    nodes_timer->cancel();
    legacy->set_cluster(nullptr);
    // Graceful: this node's entries go now (no wait for the TTL), and the
    // other nodes tell their subscribers who left with it; at most 2 s.
    auto left = std::make_shared<std::promise<void>>();
    auto done = left->get_future();
    cluster->nodes().leave(
        [left, &bus = cluster->bus()](Result<std::vector<cluster::PresenceLeft>> gone) {
          if (!gone || gone->empty()) {
            left->set_value();
            return;
          }
          // Published in order after the leave: the last answer ends the wait.
          for (std::size_t index = 0; index < gone->size(); ++index) {
            const auto& member = (*gone)[index];
            const bool last = index + 1 == gone->size();
            auto sent = bus.publish(
                core::ClusterEnvelope{"presence_gone", "", member.channel_id, 0, member.user_id},
                last ? cluster::Callback<std::int64_t>([left](auto) { left->set_value(); })
                     : cluster::Callback<std::int64_t>{});
            if (!sent && last) left->set_value();
          }
        });
    done.wait_for(std::chrono::seconds(2));
    cluster->stop();
    cluster.reset();
  }
  handler.set_stats_feed(nullptr);
  stats_feed.stop();
  api->set_broadcast_scheduler(nullptr);
  broadcasts.stop();
  api.reset();  // saves the peak connection count
  pid_file.remove_if_owned(pid);
  spdlog::info("nself realtime stopped");
  return exit_code::kOk;
}

}  // namespace nself::cli
