// The JSON shapes of stored channels, members, messages and broadcasts
// (json_views.hpp).

#include "server/api/json_views.hpp"

#include "core/channel.hpp"
#include "core/time_format.hpp"

namespace nself::server::api {

namespace json = boost::json;

json::value optional_time(const std::optional<store::Timestamp>& time) {
  if (!time) return nullptr;
  return json::value(core::format_iso8601(*time));
}

json::value parse_json_text(const std::string& text) {
  json::error_code error;
  auto value = json::parse(text, error);
  return error ? json::value(nullptr) : value;
}

json::object channel_json(const store::Channel& channel) {
  json::object object;
  object["id"] = channel.id;
  object["name"] = channel.name;
  object["slug"] = channel.slug;
  object["description"] = channel.description;
  object["type"] = core::to_string(channel.type);
  object["max_members"] = channel.max_members;
  object["is_persistent"] = channel.is_persistent;
  object["metadata"] = parse_json_text(channel.metadata);
  object["created_at"] = core::format_iso8601(channel.created_at);
  object["created_by"] =
      channel.created_by ? json::value(*channel.created_by) : json::value(nullptr);
  object["archived_at"] = optional_time(channel.archived_at);
  object["last_seq"] = channel.last_seq;
  return object;
}

json::object member_json(const store::ChannelMember& member) {
  return json::object{{"user_id", member.user_id},
                      {"role", store::to_string(member.role)},
                      {"can_send", member.can_send},
                      {"can_invite", member.can_invite},
                      {"subscribed_at", core::format_iso8601(member.subscribed_at)},
                      {"last_read_at", optional_time(member.last_read_at)},
                      {"last_read_seq", member.last_read_seq}};
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
