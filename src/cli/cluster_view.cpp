#include "cli/cluster_view.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "cli/http_client.hpp"
#include "cli/output.hpp"

namespace nself::cli {

std::optional<ClusterView> cluster_view(CommandContext& context) {
  const auto& config = context.config();
  if (config.redis_url.empty()) return std::nullopt;
  const auto response = http_request(connect_host(config.host), config.port, "GET", "/health", {},
                                     {}, std::chrono::seconds(3), config.ssl_cert);
  if (!response) return std::nullopt;
  boost::json::error_code error;
  auto body = boost::json::parse(response->body, error);
  if (error || !body.is_object()) return std::nullopt;
  const auto* cluster = body.as_object().if_contains("cluster");
  if (cluster == nullptr || !cluster->is_object()) return std::nullopt;
  ClusterView view;
  view.health = *cluster;
  const auto* self_id = cluster->as_object().if_contains("node_id");
  const auto* nodes = cluster->as_object().if_contains("nodes");
  if (nodes == nullptr || !nodes->is_array()) return view;
  for (const auto& node : nodes->as_array()) {
    if (!node.is_object()) continue;
    const auto& fields = node.as_object();
    const auto* id = fields.if_contains("id");
    const auto* address = fields.if_contains("address");
    const auto* port = fields.if_contains("port");
    if (id == nullptr || !id->is_string() || address == nullptr || !address->is_string() ||
        port == nullptr) {
      continue;
    }
    boost::json::error_code bad_port;
    const auto number = port->to_number<std::uint16_t>(bad_port);
    if (bad_port) continue;
    ClusterNode entry{std::string(id->as_string()), std::string(address->as_string()), number,
                      self_id != nullptr && *self_id == *id};
    view.nodes.push_back(std::move(entry));
  }
  return view;
}

std::optional<boost::json::value> call_node_api(CommandContext& context, const ClusterNode& node,
                                                const std::string& target, std::string& why) {
  const auto& config = context.config();
  // This node is reached the way every command reaches it; the others at
  // the address they registered.
  const std::string host = node.self ? connect_host(config.host) : node.address;
  const int port = node.self ? config.port : node.port;
  const auto response = http_request(host, port, "GET", target, {},
                                     {{"X-Realtime-Admin-Secret", config.admin_secret}},
                                     std::chrono::seconds(5), config.ssl_cert);
  if (!response) {
    why = fmt::format("{}:{} does not answer", host, port);
    return std::nullopt;
  }
  boost::json::error_code error;
  auto body = boost::json::parse(response->body, error);
  if (response->status < 200 || response->status >= 300 || error) {
    why = fmt::format(
        "{}:{} answered HTTP {}{}", host, port, response->status,
        response->status == 401 ? " (is REALTIME_ADMIN_SECRET the same on every node?)" : "");
    return std::nullopt;
  }
  return body;
}

// ---- cluster mode: the Redis link and every live node (from /health).
void print_cluster(std::ostream& out, const std::optional<boost::json::object>& health) {
  const auto* value = health ? health->if_contains("cluster") : nullptr;
  if (value == nullptr || !value->is_object()) return;
  const auto& cluster = value->as_object();
  auto text = [](const boost::json::object& object, const char* key) -> std::string {
    const auto* field = object.if_contains(key);
    if (field == nullptr) return "";
    if (field->is_string()) return std::string(field->as_string());
    return boost::json::serialize(*field);
  };
  std::string redis = text(cluster, "redis");
  if (const auto error = text(cluster, "last_error"); redis != "connected" && !error.empty()) {
    redis += " (" + error + ")";
  }
  print_fields(out, {{"Node", text(cluster, "node_id")}, {"Redis", redis}});
  const auto* nodes = cluster.if_contains("nodes");
  if (nodes == nullptr || !nodes->is_array()) return;
  Table table({"NODE", "ADDRESS", "CONNECTIONS", "LAST HEARTBEAT"});
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  for (const auto& node : nodes->as_array()) {
    if (!node.is_object()) continue;
    const auto& fields = node.as_object();
    boost::json::error_code error;
    const auto* beat = fields.if_contains("last_heartbeat_ms");
    const auto beat_ms = beat ? beat->to_number<std::int64_t>(error) : 0;
    table.add_row(
        {text(fields, "id"), text(fields, "address") + ":" + text(fields, "port"),
         text(fields, "connections"),
         error || beat_ms == 0 ? "?" : fmt::format("{:.1f}s ago", (now_ms - beat_ms) / 1000.0)});
  }
  out << "\n";
  table.print(out);
}

}  // namespace nself::cli
