#pragma once

// Server -> client events of the JSON protocol (docs/PROTOCOL.md), each
// serialized to its JSON text. Keys come in a fixed order: "type" first, then
// "ref" (only in replies to a request that carried one), then the fields in
// the order documented. Strings are escaped (invalid UTF-8 becomes U+FFFD);
// fields named *_json are embedded verbatim and must already be valid JSON
// (they come from our request parser or from the store).
// Pure functions, thread-safe.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/protocol/json_writer.hpp"
#include "core/protocol/requests.hpp"
#include "core/result.hpp"

namespace nself::core::protocol {

// A stored or just-sent message, by reference (no copies on the hot path).
struct MessageView {
  std::string_view channel;  // slug
  std::string_view id;       // message UUID
  std::int64_t seq = 0;      // per-channel sequence number
  std::string_view user_id;
  std::string_view content_json;  // the content as sent, valid JSON
  Timestamp created_at;
};

// One member's presence in a channel.
struct PresenceView {
  std::string_view user_id;
  std::string_view status;                    // "online" or "away"
  std::optional<std::string_view> meta_json;  // a JSON object, or absent (null)
  Timestamp last_active;                      // the user's last activity (any client frame)
};

struct BroadcastView {
  std::string_view id;
  std::optional<std::string_view> channel;  // absent: to every connection
  std::string_view event;
  std::string_view payload_json;  // valid JSON
  Timestamp created_at;
  std::optional<Timestamp> expires_at;
};

// {"type":"auth_ok","ref"?,"user_id","connection_id","expires_at":ISO|null}
std::string auth_ok_event(const Ref& ref, std::string_view user_id, std::string_view connection_id,
                          std::optional<Timestamp> expires_at);

// {"type":"subscribed","ref"?,"channel","seq","unread"?}: seq is the channel's
// latest sequence number; unread only when known (private channels with a
// read marker).
std::string subscribed_event(const Ref& ref, std::string_view channel, std::int64_t seq,
                             std::optional<std::int64_t> unread = std::nullopt);

// {"type":"unsubscribed","ref"?,"channel"}
// `reason`: empty for the client's own unsubscribe; set when the server ended it.
std::string unsubscribed_event(const Ref& ref, std::string_view channel,
                               std::string_view reason = {});

// {"type":"message","channel","id","seq","user_id","content","created_at"}
// The fan-out event: serialized once, sent to every subscriber; no ref.
std::string message_event(const MessageView& message);

// {"type":"ack","ref"?,"id","channel","seq"}: the sender's confirmation.
std::string ack_event(const Ref& ref, std::string_view id, std::string_view channel,
                      std::int64_t seq);

// {"type":"history","ref"?,"channel","messages":[{"id","seq","user_id",
// "content","created_at"}...],"has_more"}: messages oldest first.
std::string history_event(const Ref& ref, std::string_view channel,
                          std::span<const MessageView> messages, bool has_more);

// {"type":"typing","channel","user_id","typing"}
std::string typing_event(std::string_view channel, std::string_view user_id, bool typing);

// {"type":"pong","ref"?}
std::string pong_event(const Ref& ref);

// {"type":"error","ref"?,"code","message"}
std::string error_event(const Ref& ref, std::string_view code, std::string_view message);
std::string error_event(const Ref& ref, const Error& error);

// {"type":"channel_deleted","channel"}
std::string channel_deleted_event(std::string_view channel);

// {"type":"presence_state","ref"?,"channel","members":[{"user_id","status",
// "meta","last_active"}...]}: sent on subscribing to a presence channel.
std::string presence_state_event(const Ref& ref, std::string_view channel,
                                 std::span<const PresenceView> members);
// {"type":"presence_join"|"presence_update","channel","user_id","status","meta","last_active"}
std::string presence_join_event(std::string_view channel, const PresenceView& member);
std::string presence_update_event(std::string_view channel, const PresenceView& member);
// {"type":"presence_leave","channel","user_id"}
std::string presence_leave_event(std::string_view channel, std::string_view user_id);

// {"type":"broadcast","id","channel":S|null,"event","payload","created_at","expires_at":ISO|null}
std::string broadcast_event(const BroadcastView& broadcast);

}  // namespace nself::core::protocol
