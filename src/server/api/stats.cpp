// GET /api/stats: the server's figures, live ones from the loop (connections,
// online users, the peak) and the rest from the database.

#include <algorithm>
#include <set>

#include "server/api/admin_state.hpp"

namespace nself::server {

namespace json = boost::json;
using namespace api;

void AdminApi::State::stats(Responder respond) {
  // Live figures come from the loop, the rest from the database.
  std::set<std::string> users;
  std::uint64_t authenticated = 0;
  for (const auto& info : handler.connections()) {
    if (!info.authenticated) continue;
    ++authenticated;
    users.insert(info.user_id);
  }
  const std::uint64_t open = server.session_count();
  metrics.restore_peak(open);
  const std::uint64_t peak = metrics.peak_connections();
  const auto online = static_cast<std::int64_t>(users.size());
  on_store(std::move(respond), [open, peak, online](store::Store& store) {
    const auto figures = store.stats(now_ms());
    std::uint64_t stored_peak = 0;
    if (auto text = store.get_state(kPeakConnectionsKey)) {
      stored_peak = static_cast<std::uint64_t>(parse_integer(*text).value_or(0));
    }
    const std::uint64_t best = std::max(peak, stored_peak);
    if (best > stored_peak) store.set_state(kPeakConnectionsKey, std::to_string(best));
    return json_reply(http::status::ok, json::object{{"running", true},
                                                     {"active_connections", open},
                                                     {"total_channels", figures.channels},
                                                     {"messages_24h", figures.messages_24h},
                                                     {"online_users", online},
                                                     {"average_connection_seconds",
                                                      figures.average_connection_seconds},
                                                     {"peak_connections", best}});
  });
}

}  // namespace nself::server
