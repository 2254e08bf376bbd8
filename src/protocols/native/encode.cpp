#include "protocols/native/encode.hpp"

#include <type_traits>
#include <vector>

#include "core/protocol/events.hpp"

namespace nself::protocols::native {
namespace {

namespace engine = core::engine;
namespace protocol = core::protocol;

// Views borrow from `message`, which outlives the serializer call.
protocol::MessageView view_of(const engine::MessageRecord& message, std::string_view slug) {
  return protocol::MessageView{
      slug, message.id, message.seq, message.user_id, message.content_json, message.created_at};
}

protocol::PresenceView view_of(const engine::PresenceMemberView& member) {
  std::optional<std::string_view> meta;
  if (member.meta_json) meta = *member.meta_json;
  return protocol::PresenceView{member.user_id, member.away ? "away" : "online", meta,
                                member.last_active};
}

std::vector<protocol::MessageView> views_of(const std::vector<engine::MessageRecord>& messages,
                                            std::string_view slug) {
  std::vector<protocol::MessageView> views;
  views.reserve(messages.size());
  for (const auto& message : messages) views.push_back(view_of(message, slug));
  return views;
}

std::string encode_one(const engine::AuthOk& e) {
  return protocol::auth_ok_event(e.ref, e.user_id, e.connection_id, e.expires_at);
}
std::string encode_one(const engine::Subscribed& e) {
  return protocol::subscribed_event(e.ref, e.channel, e.seq, e.unread);
}
std::string encode_one(const engine::Unsubscribed& e) {
  return protocol::unsubscribed_event(e.ref, e.channel, e.reason);
}
std::string encode_one(const engine::MessageEvent& e) {
  return protocol::message_event(view_of(e.message, e.channel));
}
std::string encode_one(const engine::Ack& e) {
  return protocol::ack_event(e.ref, e.id, e.channel, e.seq);
}
std::string encode_one(const engine::HistoryEvent& e) {
  const auto views = views_of(e.messages, e.channel);
  return protocol::history_event(e.ref, e.channel, views, e.has_more);
}
std::string encode_one(const engine::TypingEvent& e) {
  return protocol::typing_event(e.channel, e.user_id, e.typing);
}
std::string encode_one(const engine::Pong& e) {
  return protocol::pong_event(e.ref);
}
std::string encode_one(const engine::ErrorEvent& e) {
  return protocol::error_event(e.ref, e.code, e.message);
}
std::string encode_one(const engine::ChannelDeleted& e) {
  return protocol::channel_deleted_event(e.channel);
}
std::string encode_one(const engine::PresenceState& e) {
  std::vector<protocol::PresenceView> views;
  views.reserve(e.members.size());
  for (const auto& member : e.members) views.push_back(view_of(member));
  return protocol::presence_state_event(e.ref, e.channel, views);
}
std::string encode_one(const engine::PresenceJoin& e) {
  return protocol::presence_join_event(e.channel, view_of(e.member));
}
std::string encode_one(const engine::PresenceUpdate& e) {
  return protocol::presence_update_event(e.channel, view_of(e.member));
}
std::string encode_one(const engine::PresenceLeave& e) {
  return protocol::presence_leave_event(e.channel, e.user_id);
}
std::string encode_one(const engine::BroadcastEvent& e) {
  std::optional<std::string_view> channel;
  if (e.channel) channel = *e.channel;
  return protocol::broadcast_event(
      protocol::BroadcastView{e.id, channel, e.event, e.payload_json, e.created_at, e.expires_at});
}

}  // namespace

std::string encode(const core::engine::Event& event) {
  return std::visit([](const auto& typed) { return encode_one(typed); }, event);
}

}  // namespace nself::protocols::native
