#include "cli/monitoring_commands.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <map>
#include <set>

#include "cli/cluster_view.hpp"
#include "cli/output.hpp"
#include "cli/server_api.hpp"
#include "server/admin_api.hpp"
#include "server/cleanup_job.hpp"
#include "store/maintenance.hpp"

namespace nself::cli {
namespace {

namespace json = boost::json;

std::int64_t integer_field(const json::value& object, std::string_view key) {
  const auto* value = object.as_object().if_contains(key);
  if (value == nullptr) return 0;
  if (value->is_int64()) return value->as_int64();
  if (value->is_uint64()) return static_cast<std::int64_t>(value->as_uint64());
  return 0;
}

std::string string_field(const json::value& object, std::string_view key) {
  const auto* value = object.as_object().if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : "";
}

// "2026-11-25T21:30:00.123Z" -> "2026-11-25 21:30:00"
std::string short_time(const std::string& iso) {
  if (iso.size() < 19) return iso;
  return iso.substr(0, 10) + " " + iso.substr(11, 8);
}

// Connections, stale presence and presence rows of users who are gone.
constexpr std::chrono::seconds kStalePresenceAfter{3600};

// ---- cluster mode
// Every live node's /api/connections, each entry with its "node"; the nodes
// that did not answer are named on stderr (`consequence` says what it means)
// and listed in `unreachable`.
struct ClusterConnections {
  json::array connections;
  json::array unreachable;
  std::map<std::string, std::int64_t> by_node;  // connections per node that answered
};

ClusterConnections cluster_connections(CommandContext& context, const ClusterView& cluster,
                                       std::string_view consequence) {
  ClusterConnections result;
  for (const auto& node : cluster.nodes) {
    std::string why;
    auto answer = call_node_api(context, node, "/api/connections", why);
    const auto* list =
        answer && answer->is_object() ? answer->as_object().if_contains("connections") : nullptr;
    if (list == nullptr || !list->is_array()) {
      if (why.empty()) why = "unexpected answer";
      context.err() << fmt::format("warning: node {}: {}; {}\n", node.id, why, consequence);
      result.unreachable.push_back(json::object{{"node", node.id}, {"error", why}});
      continue;
    }
    result.by_node[node.id] = static_cast<std::int64_t>(list->as_array().size());
    for (const auto& item : list->as_array()) {
      if (!item.is_object()) continue;
      json::object entry = item.as_object();
      entry["node"] = node.id;
      result.connections.push_back(std::move(entry));
    }
  }
  return result;
}

// Connections and online users are summed over the live nodes (each node's
// own figures, asked now); the database figures are the same on every node. `figures` gets
// "cluster": {"node_id", "nodes": [...]} with each node's connections, and "unreachable_nodes".
void add_cluster_stats(CommandContext& context, ClusterView& cluster, json::value& figures) {
  auto gathered = cluster_connections(context, cluster, "its figures are not counted");
  std::set<std::string> users;
  for (const auto& item : gathered.connections) {
    const auto* user = item.as_object().if_contains("user_id");
    if (user != nullptr && user->is_string()) users.insert(std::string(user->as_string()));
  }
  const auto connections = static_cast<std::int64_t>(gathered.connections.size());
  auto& by_node = gathered.by_node;
  // The node table shows the connections each node has now.
  if (auto* nodes = cluster.health.as_object().if_contains("nodes"); nodes && nodes->is_array()) {
    for (auto& node : nodes->as_array()) {
      if (!node.is_object()) continue;
      const auto* id = node.as_object().if_contains("id");
      if (id == nullptr || !id->is_string()) continue;
      if (auto found = by_node.find(std::string(id->as_string())); found != by_node.end()) {
        node.as_object()["connections"] = found->second;
      }
    }
  }
  auto& object = figures.as_object();
  object["active_connections"] = connections;
  object["online_users"] = static_cast<std::int64_t>(users.size());
  object["cluster"] = cluster.health;
  object["unreachable_nodes"] = std::move(gathered.unreachable);
}

}  // namespace

int run_connections(CommandContext& context) {
  if (!server_running(context)) {
    throw CommandError(exit_code::kFailed, "not_running",
                       fmt::format("the server is not running on port {}: connections lists a "
                                   "running server's live connections (start it with: nself "
                                   "realtime start)",
                                   context.server_config().port));
  }
  // ---- cluster mode: every live node's connections, each with its node
  const auto cluster = cluster_view(context);
  json::value reply;
  if (cluster && !cluster->nodes.empty()) {
    auto gathered = cluster_connections(context, *cluster, "its connections are not listed");
    reply = json::object{{"connections", std::move(gathered.connections)},
                         {"unreachable_nodes", std::move(gathered.unreachable)}};
  } else {
    reply = call_server_api(context, "GET", "/api/connections");
  }
  if (context.json()) {
    print_json(context.out(), reply);
    return exit_code::kOk;
  }
  const auto& items = reply.as_object().at("connections").as_array();
  if (items.empty()) {
    context.out() << "No active connections.\n";
    return exit_code::kOk;
  }
  const bool by_node = cluster.has_value();
  std::vector<std::string> columns{"ID",        "USER",          "ADDRESS",
                                   "CONNECTED", "SUBSCRIPTIONS", "LAST ACTIVITY"};
  if (by_node) columns.insert(columns.begin() + 1, "NODE");
  Table table(columns);
  for (const auto& item : items) {
    std::string subscriptions;
    for (const auto& slug : item.at("subscriptions").as_array()) {
      if (!subscriptions.empty()) subscriptions += ",";
      subscriptions += std::string(slug.as_string());
    }
    const auto& user = item.at("user_id");
    std::vector<std::string> row{
        string_field(item, "id"),
        user.is_string() ? std::string(user.as_string()) : "(unauthenticated)",
        string_field(item, "remote_address"),
        short_time(string_field(item, "connected_at")),
        subscriptions.empty() ? "-" : subscriptions,
        short_time(string_field(item, "last_activity"))};
    if (by_node) row.insert(row.begin() + 1, string_field(item, "node"));
    table.add_row(row);
  }
  table.print(context.out());
  context.out() << fmt::format("{} connection{}\n", items.size(), items.size() == 1 ? "" : "s");
  return exit_code::kOk;
}

int run_stats(CommandContext& context) {
  json::value figures;
  std::optional<ClusterView> cluster;
  if (server_running(context)) {
    figures = call_server_api(context, "GET", "/api/stats");
    cluster = cluster_view(context);
    if (cluster && !cluster->nodes.empty()) add_cluster_stats(context, *cluster, figures);
  } else {
    auto& store = context.store();
    const auto stats = store.stats(now());
    std::int64_t peak = 0;
    if (auto text = store.get_state(server::kPeakConnectionsKey)) {
      try {
        peak = std::stoll(*text);
      } catch (const std::exception&) {
        peak = 0;
      }
    }
    figures = json::object{{"running", false},
                           {"active_connections", 0},
                           {"total_channels", stats.channels},
                           {"messages_24h", stats.messages_24h},
                           {"online_users", 0},
                           {"average_connection_seconds", stats.average_connection_seconds},
                           {"peak_connections", peak}};
  }
  if (context.json()) {
    print_json(context.out(), figures);
    return exit_code::kOk;
  }
  print_fields(
      context.out(),
      {{"Active Connections",
        with_thousands_separators(integer_field(figures, "active_connections"))},
       {"Total Channels", with_thousands_separators(integer_field(figures, "total_channels"))},
       {"Messages (24h)", with_thousands_separators(integer_field(figures, "messages_24h"))},
       {"Online Users", with_thousands_separators(integer_field(figures, "online_users"))},
       {"Average Connection Duration",
        format_duration(integer_field(figures, "average_connection_seconds"))},
       {"Peak Connections",
        with_thousands_separators(integer_field(figures, "peak_connections"))}});
  if (!figures.as_object().at("running").as_bool()) {
    context.err() << "(the server is not running: live figures are 0)\n";
  }
  if (cluster) {
    context.out() << "\n";
    print_cluster(context.out(), json::object{{"cluster", cluster->health}});
  }
  return exit_code::kOk;
}

int run_cleanup(CommandContext& context) {
  json::value removed;
  std::int64_t batches = 0;
  const bool running = server_running(context);
  if (running) {
    // The server deletes in batches between its message commits; a long run
    // logs its progress in the server's log.
    auto reply =
        call_server_api(context, "POST", "/api/cleanup", nullptr, std::chrono::seconds(600));
    removed = reply.as_object().at("removed");
    batches = integer_field(reply, "batches");
  } else {
    // No server of this project runs: every connection still marked connected is stale.
    auto& store = context.store();
    const auto at = now();
    const auto& config = context.config();
    const auto policy = store::cleanup_policy(
        at, std::chrono::seconds(0), kStalePresenceAfter, config.message_retention_days,
        config.audit_retention_days, config.cleanup_batch_rows);
    // Progress on stderr, once a second, for a long run.
    const auto started = std::chrono::steady_clock::now();
    auto shown = started;
    const auto report = store::run_cleanup(store, policy, [&](const store::CleanupReport& so_far) {
      const auto at_now = std::chrono::steady_clock::now();
      if (at_now - shown < std::chrono::seconds(1)) return;
      shown = at_now;
      context.err() << "cleanup: " << with_thousands_separators(so_far.old_messages)
                    << " old messages and " << with_thousands_separators(so_far.old_audit_entries)
                    << " audit rows deleted so far\n";
    });
    removed = server::cleanup_removed_json(report);
    batches = report.batches;
    store.append_audit(
        store::AuditEntry{0, at, "cli", "cleanup", std::nullopt, json::serialize(removed)});
  }
  if (context.json()) {
    print_json(
        context.out(),
        json::object{{"removed", removed}, {"batches", batches}, {"server_running", running}});
    return exit_code::kOk;
  }
  context.out() << "Cleanup complete:\n";
  print_fields(
      context.out(),
      {{"  Stale connections",
        with_thousands_separators(integer_field(removed, "stale_connections"))},
       {"  Expired broadcasts",
        with_thousands_separators(integer_field(removed, "expired_broadcasts"))},
       {"  Old messages", with_thousands_separators(integer_field(removed, "old_messages"))},
       {"  Old audit entries",
        with_thousands_separators(integer_field(removed, "old_audit_entries"))},
       {"  Stale presence", with_thousands_separators(integer_field(removed, "stale_presence"))}});
  return exit_code::kOk;
}

}  // namespace nself::cli
