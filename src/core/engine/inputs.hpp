#pragma once

// What the driver feeds a shard. Every input goes to the shard that owns its
// subject: a connection's inputs to shard_of_connection, an admin operation on
// a channel to shard_of_key(channel id), broadcasts to every shard.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/auth/jwt_verifier.hpp"
#include "core/engine/events.hpp"
#include "core/engine/ids.hpp"
#include "core/engine/shard_messages.hpp"
#include "core/engine/store_requests.hpp"
#include "core/protocol/requests.hpp"

namespace nself::core::engine {

// A socket finished its upgrade. `claims`: the token of the upgrade request
// (Authorization or ?token=), already verified; none: the client must send
// auth within auth_timeout.
struct ConnectionOpened {
  ConnectionId connection = 0;
  std::string public_id;  // UUID, in auth_ok and realtime.connections
  std::string remote_address;
  std::string user_agent;
  bool batch = false;  // ?batch=1
  std::optional<auth::Claims> claims;
};

// One text frame, parsed by the wire adapter: one request, or an array of
// them (`batch`), each parsed or refused on its own.
struct ClientFrame {
  ConnectionId connection = 0;
  protocol::ParsedFrame frame;
};

struct ConnectionClosed {
  ConnectionId connection = 0;
};

struct FromShard {
  ShardMessage message;
};

struct StoreDone {
  StoreReply reply;
};

// Periodic (the driver's sweep, about once a second): deadlines, typing
// expiry, automatic away, heartbeat.
struct Tick {};

// ---- admin operations (the HTTP API and the broadcast scheduler)
// To the channel's owner: a message from a backend.
struct AdminPublish {
  std::uint64_t request_id = 0;
  ChannelInfo channel;
  std::string user_id;
  std::string content_json;
};
// To every shard: the channel no longer exists (subscribers told, caches dropped).
struct AdminChannelDeleted {
  std::string channel_id;
  std::string slug;
};
// To every shard: the channel is read-only from now on.
struct AdminChannelArchived {
  std::string channel_id;
};
// To every shard: the user is no longer a member (private: unsubscribed).
struct AdminMemberRevoked {
  std::string channel_id;
  std::string user_id;
};
// To every shard (the channel's owner acts): the API added the user or
// changed the membership (can_send, role); what was cached of it is dropped,
// so that the user's next request reads it again.
struct AdminMemberChanged {
  std::string channel_id;
  std::string user_id;
};
// To the connection's shard.
struct AdminDisconnect {
  ConnectionId connection = 0;
};
// To every shard: a broadcast to deliver (channel: its subscribers here;
// none: every authenticated connection here).
struct AdminBroadcast {
  BroadcastEvent broadcast;
  std::optional<std::string> channel_id;
};
// To every shard: the system announcements replayed on authentication.
struct AdminAnnouncements {
  std::vector<BroadcastEvent> announcements;
};

using Input =
    std::variant<ConnectionOpened, ClientFrame, ConnectionClosed, FromShard, StoreDone, Tick,
                 AdminPublish, AdminChannelDeleted, AdminChannelArchived, AdminMemberRevoked,
                 AdminMemberChanged, AdminDisconnect, AdminBroadcast, AdminAnnouncements>;

}  // namespace nself::core::engine
