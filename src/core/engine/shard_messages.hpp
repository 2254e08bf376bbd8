#pragma once

// What shards say to each other (docs/ENGINE_DESIGN.md, "Paths"). Three
// roles, each on the shard that owns the state (ids.hpp):
//   L  the connection's shard: claims, token expiry, its subscriptions, the
//      loop's local hub (channel -> its subscribed connections), name cache;
//   U  the user's shard: connection count, rate bucket, flood guards;
//   C  the channel's shard: seq, subscribers per loop, users, presence,
//      typing, access cache.
// A message names its direction in a comment. A shard addressing itself is
// handled at once, depth first (so one shard alone is synchronous).

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/engine/events.hpp"
#include "core/engine/ids.hpp"
#include "core/engine/store_requests.hpp"

namespace nself::core::engine {

// Who asks, carried along so that any role can answer the connection.
struct Asker {
  ConnectionId connection = 0;
  std::string user_id;
  bool is_admin = false;
  Ref ref;
};

// ---- L -> U
struct AdmitConnection {
  Asker asker;
};
struct ReleaseConnection {
  std::string user_id;
  // The closed connection, whose flood guard U drops (0: none to drop).
  ConnectionId connection = 0;
};
// A request that counts against the user's rate (message, typing, presence),
// with what L resolved; U forwards it to the channel owner(s) when admitted.
struct MessageToChannel {
  Asker asker;
  ChannelInfo channel;
  std::string content_json;
};
struct TypingToChannel {
  Asker asker;
  ChannelInfo channel;
  bool typing = false;
};
struct PresenceToChannels {
  Asker asker;
  std::vector<ChannelInfo> channels;  // presence channels the connection is subscribed to
  bool away = false;
  std::optional<std::string> meta_json;
};
// A rated request that L refused itself (typing or presence on a channel the
// connection is not subscribed to, a message to a channel that does not
// resolve): it still takes a token and counts in the flood guard, as the
// handler did (the rate was checked before anything else), so U answers the
// connection either `error` (a token was there) or rate_limited.
struct RefusedAtConnection {
  Asker asker;
  ErrorEvent error;
};
// Store requests (history, read) take a token of the user's second bucket
// (max_store_requests_per_second); U forwards them to the channel's owner (C),
// whose answer ends the connection's count of them (ToConnection).
struct HistoryOfChannel {
  Asker asker;
  ChannelInfo channel;
  std::int64_t limit = 50;
  std::optional<std::int64_t> before;
  std::optional<std::int64_t> after;
};
struct ReadOfChannel {
  Asker asker;
  ChannelInfo channel;
  std::int64_t seq = 0;
};
using RatedRequest = std::variant<MessageToChannel, TypingToChannel, PresenceToChannels,
                                  RefusedAtConnection, HistoryOfChannel, ReadOfChannel>;
struct AdmitRequest {
  RatedRequest request;
};

// ---- U -> L
struct ConnectionAdmitted {
  Asker asker;
  bool admitted = false;  // false: too_many_connections, close 4008
};
struct RequestRefused {
  Asker asker;
  bool disconnect = false;  // flood: close 4008 after the error
  bool store = false;       // a store request (history, read): its own bucket
};
// The rated request took its token and went on (to the channel's owner);
// `events` take its place among the connection's replies (the error of a
// request L refused, which still counts against the rate). Every AdmitRequest
// is answered by one RequestRefused or one RequestDecided, in order, so that
// L can answer a connection's requests in the order they came
// (connections_state.hpp, "held replies").
struct RequestDecided {
  ConnectionId connection = 0;
  std::vector<Event> events;
};

// ---- L -> C
struct JoinChannel {
  Asker asker;
  ChannelInfo channel;
  std::optional<std::int64_t> history;
  std::optional<std::int64_t> since;
  std::string connection_public_id;
};
// Unsubscribe or close: the connection leaves (no reply; L answered already).
struct LeaveChannel {
  ConnectionId connection = 0;
  std::string user_id;
  std::string channel_id;
  std::string connection_public_id;
};
// A token refresh took the connection's admin role away: is it still
// allowed to receive this private channel (a member)? C answers with
// SubscriptionLost when not, nothing when it is.
struct RecheckSubscription {
  Asker asker;  // with the refreshed claims
  ChannelInfo channel;
};
// Any client frame of a user subscribed to a presence channel (at most once
// a second per connection and channel).
struct Activity {
  std::string user_id;
  std::string channel_id;
};

// ---- C -> L
// Events for one connection, in order (replies, replays, errors).
struct ToConnection {
  ConnectionId connection = 0;
  std::vector<Event> events;
  // The answer of a history or read request (for a read that succeeded, with
  // no events): L counts it off the connection's store requests in flight.
  bool ends_store_request = false;
};
// The subscribe's outcome: when joined, L adds the connection to its local
// hub before sending `events` (subscribed, replay, presence_state).
struct JoinOutcome {
  ConnectionId connection = 0;
  std::optional<ChannelInfo> joined;
  std::vector<Event> events;
};
// The connection may no longer receive the channel (RecheckSubscription):
// L ends the subscription and tells the client `reason`.
struct SubscriptionLost {
  ConnectionId connection = 0;
  std::string channel_id;
  std::string reason;
};
// A channel event for this loop's subscribers (skip: not to this user's).
struct ChannelEventForLoop {
  std::string channel_id;
  SharedEvent event;
  std::optional<std::string> skip_user;
};

using ShardMessage =
    std::variant<AdmitConnection, ReleaseConnection, AdmitRequest, ConnectionAdmitted,
                 RequestRefused, RequestDecided, JoinChannel, LeaveChannel, HistoryOfChannel,
                 ReadOfChannel, MessageToChannel, TypingToChannel, PresenceToChannels, Activity,
                 RecheckSubscription, ToConnection, JoinOutcome, SubscriptionLost,
                 ChannelEventForLoop>;

}  // namespace nself::core::engine
