#pragma once

// What the engine says to clients, as typed values. A wire adapter
// (src/protocols/<name>/) turns each into bytes; the engine never formats a
// frame. Fan-out events are shared (SharedEvent): encoded once per encoding
// on each loop, the bytes shared by every subscriber there.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/engine/clock.hpp"
#include "core/protocol/requests.hpp"

namespace nself::core::engine {

using Ref = protocol::Ref;

// A stored (or, on an ephemeral channel, numbered) message.
struct MessageRecord {
  std::string id;          // UUID
  std::string channel_id;  // UUID
  std::int64_t seq = 0;
  std::string user_id;
  std::string content_json;  // valid JSON, as sent
  WallTime created_at{};
};

struct PresenceMemberView {
  std::string user_id;
  bool away = false;
  std::optional<std::string> meta_json;
  WallTime last_active{};
};

struct AuthOk {
  Ref ref;
  std::string user_id;
  std::string connection_id;  // the public id (realtime.connections)
  std::optional<WallTime> expires_at;
};
struct Subscribed {
  Ref ref;
  std::string channel;  // the slug
  std::int64_t seq = 0;
  std::optional<std::int64_t> unread;
};
struct Unsubscribed {
  Ref ref;
  std::string channel;
  // Set when the server ended the subscription (docs/PROTOCOL.md,
  // "unsubscribed"): "removed" (membership removed through the API),
  // "forbidden" (a token refresh took the right away).
  std::string reason;
};
struct MessageEvent {
  std::string channel;  // slug
  MessageRecord message;
};
struct Ack {
  Ref ref;
  std::string id;
  std::string channel;
  std::int64_t seq = 0;
};
struct HistoryEvent {
  Ref ref;
  std::string channel;
  std::vector<MessageRecord> messages;  // oldest first
  bool has_more = false;
};
struct TypingEvent {
  std::string channel;
  std::string user_id;
  bool typing = false;
};
struct Pong {
  Ref ref;
};
struct ErrorEvent {
  Ref ref;
  std::string code;  // docs/PROTOCOL.md "Error codes"
  std::string message;
};
struct ChannelDeleted {
  std::string channel;
};
struct PresenceState {
  Ref ref;
  std::string channel;
  std::vector<PresenceMemberView> members;
};
struct PresenceJoin {
  std::string channel;
  PresenceMemberView member;
};
struct PresenceUpdate {
  std::string channel;
  PresenceMemberView member;
};
struct PresenceLeave {
  std::string channel;
  std::string user_id;
};
struct BroadcastEvent {
  std::string id;
  std::optional<std::string> channel;  // slug; none: to every connection
  std::string event;
  std::string payload_json;
  WallTime created_at{};
  std::optional<WallTime> expires_at;
};

using Event = std::variant<AuthOk, Subscribed, Unsubscribed, MessageEvent, Ack, HistoryEvent,
                           TypingEvent, Pong, ErrorEvent, ChannelDeleted, PresenceState,
                           PresenceJoin, PresenceUpdate, PresenceLeave, BroadcastEvent>;
using SharedEvent = std::shared_ptr<const Event>;

inline ErrorEvent error(const Ref& ref, std::string code, std::string message) {
  return ErrorEvent{ref, std::move(code), std::move(message)};
}

}  // namespace nself::core::engine
