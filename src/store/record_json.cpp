// The JSON shapes of stored channels and members (record_json.hpp).

#include "store/record_json.hpp"

#include "core/channel.hpp"
#include "core/time_format.hpp"

namespace nself::store {

namespace json = boost::json;

json::value optional_time_json(const std::optional<Timestamp>& time) {
  if (!time) return nullptr;
  return json::value(core::format_iso8601(*time));
}

json::value json_text_value(const std::string& text) {
  json::error_code error;
  auto value = json::parse(text, error);
  return error ? json::value(nullptr) : value;
}

json::object channel_json(const Channel& channel) {
  json::object object;
  object["id"] = channel.id;
  object["name"] = channel.name;
  object["slug"] = channel.slug;
  object["description"] = channel.description;
  object["type"] = core::to_string(channel.type);
  object["max_members"] = channel.max_members;
  object["is_persistent"] = channel.is_persistent;
  object["metadata"] = json_text_value(channel.metadata);
  object["created_at"] = core::format_iso8601(channel.created_at);
  object["created_by"] =
      channel.created_by ? json::value(*channel.created_by) : json::value(nullptr);
  object["archived_at"] = optional_time_json(channel.archived_at);
  object["last_seq"] = channel.last_seq;
  return object;
}

json::object member_json(const ChannelMember& member) {
  return json::object{{"user_id", member.user_id},
                      {"role", to_string(member.role)},
                      {"can_send", member.can_send},
                      {"can_invite", member.can_invite},
                      {"subscribed_at", core::format_iso8601(member.subscribed_at)},
                      {"last_read_at", optional_time_json(member.last_read_at)},
                      {"last_read_seq", member.last_read_seq}};
}

}  // namespace nself::store
