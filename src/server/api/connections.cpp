// GET /api/connections and DELETE /api/connections/{id}: the open WebSocket
// connections as the loop sees them, and closing one (audited).

#include <algorithm>
#include <chrono>
#include <vector>

#include "core/time_format.hpp"
#include "server/api/admin_state.hpp"

namespace nself::server {

namespace json = boost::json;
using namespace api;

void AdminApi::State::connections(Responder respond) {
  std::vector<RealtimeService::ConnectionInfo> infos = handler.connections();
  std::sort(infos.begin(), infos.end(),
            [](const auto& a, const auto& b) { return a.connected_at < b.connected_at; });
  const auto system_now = std::chrono::system_clock::now();
  json::array items;
  for (const auto& info : infos) {
    json::array subscriptions;
    for (const auto& slug : info.subscriptions) subscriptions.push_back(json::value(slug));
    const auto last_activity =
        system_now - std::chrono::duration_cast<std::chrono::system_clock::duration>(info.idle_for);
    items.push_back(json::object{
        {"id", info.id},
        {"user_id", info.authenticated ? json::value(info.user_id) : json::value(nullptr)},
        {"remote_address", info.remote_address},
        {"connected_at",
         core::format_iso8601(
             std::chrono::time_point_cast<std::chrono::milliseconds>(info.connected_at))},
        {"subscriptions", std::move(subscriptions)},
        {"last_activity",
         core::format_iso8601(
             std::chrono::time_point_cast<std::chrono::milliseconds>(last_activity))}});
  }
  respond(json_reply(http::status::ok, json::object{{"connections", std::move(items)}}));
}

void AdminApi::State::disconnect(const std::string& actor, const std::string& id,
                                 Responder respond) {
  const auto found = handler.disconnect(id);
  if (!found) {
    respond(error_reply(http::status::not_found, "not_found", "no open connection \"" + id + "\""));
    return;
  }
  const auto& info = *found;
  audit(actor, "connection.disconnect", info.id, json::object{{"user_id", info.user_id}});
  respond(json_reply(http::status::ok,
                     json::object{{"disconnected", info.id}, {"user_id", info.user_id}}));
}

}  // namespace nself::server
