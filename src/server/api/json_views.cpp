// The JSON shapes of stored channels, members, messages and broadcasts
// (json_views.hpp).

#include "server/api/json_views.hpp"

#include "core/time_format.hpp"

namespace nself::server::api {

namespace json = boost::json;

json::value optional_time(const std::optional<store::Timestamp>& time) {
  return store::optional_time_json(time);
}

json::value parse_json_text(const std::string& text) {
  return store::json_text_value(text);
}

json::object message_json(const store::StoredMessage& message, std::string_view slug) {
  return json::object{{"id", message.id},
                      {"channel", slug},
                      {"seq", message.seq},
                      {"user_id", message.user_id},
                      {"content", parse_json_text(message.content)},
                      {"created_at", core::format_iso8601(message.sent_at)}};
}

json::object broadcast_json(const store::Broadcast& broadcast) {
  auto optional_text = [](const std::optional<std::string>& text) {
    return text ? json::value(*text) : json::value(nullptr);
  };
  return json::object{{"id", broadcast.id},
                      {"channel_id", optional_text(broadcast.channel_id)},
                      {"user_id", optional_text(broadcast.user_id)},
                      {"event", broadcast.event_type},
                      {"payload", parse_json_text(broadcast.payload)},
                      {"created_at", core::format_iso8601(broadcast.created_at)},
                      {"scheduled_at", optional_time(broadcast.scheduled_at)},
                      {"expires_at", optional_time(broadcast.expires_at)},
                      {"sent_at", optional_time(broadcast.sent_at)}};
}

}  // namespace nself::server::api
