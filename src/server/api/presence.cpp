// GET /api/channels/{channel}/presence: who is present in a channel, as the
// database last recorded it (status, meta, last activity).

#include "core/time_format.hpp"
#include "server/api/admin_state.hpp"
#include "server/api/json_views.hpp"

namespace nself::server {

namespace json = boost::json;
using namespace api;

void AdminApi::State::presence(const std::string& channel_name, Responder respond) {
  with_channel(
      channel_name, std::move(respond), [](store::Store& store, const store::Channel& channel) {
        json::array members;
        for (const auto& row : store.list_presence(channel.id)) {
          members.push_back(json::object{{"user_id", row.user_id},
                                         {"status", store::to_string(row.status)},
                                         {"meta", parse_json_text(row.metadata)},
                                         {"last_active", core::format_iso8601(row.updated_at)}});
        }
        return json_reply(http::status::ok,
                          json::object{{"channel", channel.slug}, {"members", std::move(members)}});
      });
}

}  // namespace nself::server
