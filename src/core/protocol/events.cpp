#include "core/protocol/events.hpp"

#include <cassert>

namespace nself::core::protocol {
namespace {

using detail::append_integer;
using detail::append_json_string;
using detail::append_ref_member;
using detail::append_timestamp;

// `"type":"<type>"` opens every event; `type` is a literal, never escaped.
std::string open_event(std::string_view type, std::size_t reserve = 64) {
  std::string out;
  out.reserve(reserve);
  out.append("{\"type\":\"");
  out.append(type);
  out.push_back('"');
  return out;
}

// ,"<key>": (key is a literal)
void key(std::string& out, std::string_view name) {
  out.push_back(',');
  out.push_back('"');
  out.append(name);
  out.append("\":");
}

// Raw JSON (content, meta, payload) goes out as the client sent it, except
// that a line break becomes a space: in valid JSON a line break can only be
// whitespace between tokens, and every event must be one line so that batch
// mode can join events with "\n" (docs/PROTOCOL.md, "Batching").
void append_raw_json(std::string& out, std::string_view json) {
  assert(!json.empty());
  if (json.empty()) json = "null";
  const std::size_t at = out.size();
  out.append(json);
  if (json.find_first_of("\r\n") == std::string_view::npos) return;
  for (std::size_t i = at; i < out.size(); ++i) {
    if (out[i] == '\n' || out[i] == '\r') out[i] = ' ';
  }
}

void append_optional_timestamp(std::string& out, const std::optional<Timestamp>& time) {
  if (time) {
    append_timestamp(out, *time);
  } else {
    out.append("null");
  }
}

// The message fields after "channel": ,"id","seq","user_id","content","created_at".
void append_message_fields(std::string& out, const MessageView& message) {
  key(out, "id");
  append_json_string(out, message.id);
  key(out, "seq");
  append_integer(out, message.seq);
  key(out, "user_id");
  append_json_string(out, message.user_id);
  key(out, "content");
  append_raw_json(out, message.content_json);
  key(out, "created_at");
  append_timestamp(out, message.created_at);
}

// Appends one array element, the object {fields}, where `append_fields` writes
// members the way key() does, each led by a comma: the first one's is dropped.
template <class AppendFields>
void append_object(std::string& out, AppendFields append_fields) {
  const std::size_t open = out.size();
  out.push_back('{');
  append_fields();
  out.erase(open + 1, 1);
  out.push_back('}');
}

void append_presence_fields(std::string& out, const PresenceView& member) {
  key(out, "user_id");
  append_json_string(out, member.user_id);
  key(out, "status");
  append_json_string(out, member.status);
  key(out, "meta");
  if (member.meta_json) {
    append_raw_json(out, *member.meta_json);
  } else {
    out.append("null");
  }
  key(out, "last_active");
  append_timestamp(out, member.last_active);
}

std::string presence_member_event(std::string_view type, std::string_view channel,
                                  const PresenceView& member) {
  std::string out = open_event(type, 160 + (member.meta_json ? member.meta_json->size() : 0));
  key(out, "channel");
  append_json_string(out, channel);
  append_presence_fields(out, member);
  out.push_back('}');
  return out;
}

}  // namespace

std::string auth_ok_event(const Ref& ref, std::string_view user_id, std::string_view connection_id,
                          std::optional<Timestamp> expires_at) {
  std::string out = open_event("auth_ok", 128);
  append_ref_member(out, ref);
  key(out, "user_id");
  append_json_string(out, user_id);
  key(out, "connection_id");
  append_json_string(out, connection_id);
  key(out, "expires_at");
  append_optional_timestamp(out, expires_at);
  out.push_back('}');
  return out;
}

std::string subscribed_event(const Ref& ref, std::string_view channel, std::int64_t seq,
                             std::optional<std::int64_t> unread) {
  std::string out = open_event("subscribed");
  append_ref_member(out, ref);
  key(out, "channel");
  append_json_string(out, channel);
  key(out, "seq");
  append_integer(out, seq);
  if (unread) {
    key(out, "unread");
    append_integer(out, *unread);
  }
  out.push_back('}');
  return out;
}

std::string unsubscribed_event(const Ref& ref, std::string_view channel, std::string_view reason) {
  std::string out = open_event("unsubscribed");
  append_ref_member(out, ref);
  key(out, "channel");
  append_json_string(out, channel);
  if (!reason.empty()) {
    key(out, "reason");
    append_json_string(out, reason);
  }
  out.push_back('}');
  return out;
}

std::string message_event(const MessageView& message) {
  std::string out = open_event("message", 160 + message.channel.size() + message.user_id.size() +
                                              message.content_json.size());
  key(out, "channel");
  append_json_string(out, message.channel);
  append_message_fields(out, message);
  out.push_back('}');
  return out;
}

std::string ack_event(const Ref& ref, std::string_view id, std::string_view channel,
                      std::int64_t seq) {
  std::string out = open_event("ack", 128);
  append_ref_member(out, ref);
  key(out, "id");
  append_json_string(out, id);
  key(out, "channel");
  append_json_string(out, channel);
  key(out, "seq");
  append_integer(out, seq);
  out.push_back('}');
  return out;
}

std::string history_event(const Ref& ref, std::string_view channel,
                          std::span<const MessageView> messages, bool has_more) {
  std::size_t reserve = 96;
  for (const MessageView& message : messages) {
    reserve += 128 + message.user_id.size() + message.content_json.size();
  }
  std::string out = open_event("history", reserve);
  append_ref_member(out, ref);
  key(out, "channel");
  append_json_string(out, channel);
  key(out, "messages");
  out.push_back('[');
  bool first = true;
  for (const MessageView& message : messages) {
    if (!first) out.push_back(',');
    first = false;
    append_object(out, [&] { append_message_fields(out, message); });
  }
  out.push_back(']');
  key(out, "has_more");
  out.append(has_more ? "true" : "false");
  out.push_back('}');
  return out;
}

std::string typing_event(std::string_view channel, std::string_view user_id, bool typing) {
  std::string out = open_event("typing", 96);
  key(out, "channel");
  append_json_string(out, channel);
  key(out, "user_id");
  append_json_string(out, user_id);
  key(out, "typing");
  out.append(typing ? "true" : "false");
  out.push_back('}');
  return out;
}

std::string pong_event(const Ref& ref) {
  std::string out = open_event("pong", 32);
  append_ref_member(out, ref);
  out.push_back('}');
  return out;
}

std::string error_event(const Ref& ref, std::string_view code, std::string_view message) {
  std::string out = open_event("error", 64 + message.size());
  append_ref_member(out, ref);
  key(out, "code");
  append_json_string(out, code);
  key(out, "message");
  append_json_string(out, message);
  out.push_back('}');
  return out;
}

std::string error_event(const Ref& ref, const Error& error) {
  return error_event(ref, error.code, error.message);
}

std::string channel_deleted_event(std::string_view channel) {
  std::string out = open_event("channel_deleted");
  key(out, "channel");
  append_json_string(out, channel);
  out.push_back('}');
  return out;
}

std::string presence_state_event(const Ref& ref, std::string_view channel,
                                 std::span<const PresenceView> members) {
  std::string out = open_event("presence_state", 96 + members.size() * 128);
  append_ref_member(out, ref);
  key(out, "channel");
  append_json_string(out, channel);
  key(out, "members");
  out.push_back('[');
  bool first = true;
  for (const PresenceView& member : members) {
    if (!first) out.push_back(',');
    first = false;
    append_object(out, [&] { append_presence_fields(out, member); });
  }
  out.push_back(']');
  out.push_back('}');
  return out;
}

std::string presence_join_event(std::string_view channel, const PresenceView& member) {
  return presence_member_event("presence_join", channel, member);
}

std::string presence_update_event(std::string_view channel, const PresenceView& member) {
  return presence_member_event("presence_update", channel, member);
}

std::string presence_leave_event(std::string_view channel, std::string_view user_id) {
  std::string out = open_event("presence_leave", 96);
  key(out, "channel");
  append_json_string(out, channel);
  key(out, "user_id");
  append_json_string(out, user_id);
  out.push_back('}');
  return out;
}

std::string broadcast_event(const BroadcastView& broadcast) {
  std::string out = open_event("broadcast", 192 + broadcast.payload_json.size());
  key(out, "id");
  append_json_string(out, broadcast.id);
  key(out, "channel");
  if (broadcast.channel) {
    append_json_string(out, *broadcast.channel);
  } else {
    out.append("null");
  }
  key(out, "event");
  append_json_string(out, broadcast.event);
  key(out, "payload");
  append_raw_json(out, broadcast.payload_json);
  key(out, "created_at");
  append_timestamp(out, broadcast.created_at);
  key(out, "expires_at");
  append_optional_timestamp(out, broadcast.expires_at);
  out.push_back('}');
  return out;
}

}  // namespace nself::core::protocol
