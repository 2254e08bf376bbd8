#pragma once

// Role L's state (connections.hpp), shared by the files that implement it:
// connections.cpp (inputs, closes, ticks), connection_auth.cpp (auth,
// admission, expiry), connection_requests.cpp (the client's requests),
// connection_admin.cpp (admin operations). Internal to the engine.

#include <boost/container/devector.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/engine/channel_names.hpp"
#include "core/engine/connections.hpp"
#include "core/engine/local_hub.hpp"

namespace nself::core::engine {

// A first-in first-out queue that costs nothing while empty, which these
// almost always are: libstdc++'s empty std::deque allocates its map and a
// 512-byte block (544 B), two of them per connection (idle memory was
// 3.28 KiB per connection with them, 2.15 with this; docs/BENCHMARKS.md).
template <class T>
using Fifo = boost::container::devector<T>;

struct ConnectionRecord {
  enum class Phase {
    kAnonymous,      // must authenticate before auth_deadline
    kAdmitting,      // verified; U decides (too_many_connections); frames wait
    kAuthenticated,  // auth_ok sent
    kClosing,        // a Close was emitted: nothing more is sent or done
  };

  ConnectionId id = 0;
  std::string public_id;
  std::string remote_address;
  std::string user_agent;  // until realtime.connections has the row
  Phase phase = Phase::kAnonymous;
  auth::Claims claims;  // valid once admitting
  SteadyTime auth_deadline{};
  bool counted = false;   // U counts it: ReleaseConnection on close
  bool recorded = false;  // realtime.connections has its row: RecordDisconnect on close
  // Subscriptions in the order they were made (a channel once).
  std::vector<ChannelInfo> subscriptions;
  int resolving_subscribes = 0;  // waiting for the channel's name
  int joining_subscribes = 0;    // JoinChannel sent, JoinOutcome not back
  // Store requests of this connection not answered yet: its history and read
  // requests, and the channel-name reads its messages started. At
  // max_store_requests_in_flight, more are refused (rate_limited) here.
  int store_requests = 0;
  // Subscribes admitted (counted against the limit) behind the one in flight:
  // one subscribe of a connection runs at a time, so that its answers come in
  // the order of its requests whichever shards own the channels (the store's
  // FIFO gave that order before the engine was sharded).
  Fifo<std::pair<protocol::Ref, protocol::SubscribeRequest>> queued_subscribes;
  // Held replies: the connection's replies in the order of its requests. A
  // rated request waits for its user's owner (U) to decide the rate; replies
  // decided after it (a pong, an error) wait behind it here, and go out once
  // U has answered (RequestRefused or RequestDecided, which arrive in
  // order). nullopt marks an undecided request.
  Fifo<std::optional<Event>> held_replies;
  int undecided = 0;
  // Frames that arrived while U decided the admission, answered after it.
  std::vector<protocol::ParseOutcome> held;
  // Presence channel id -> when Activity was last sent for it.
  std::unordered_map<std::string, SteadyTime> activity;

  bool authenticated() const { return phase == Phase::kAuthenticated; }
  bool closing() const { return phase == Phase::kClosing; }
  // By id or slug, as the client names it.
  const ChannelInfo* subscription(const std::string& name) const;
  bool erase_subscription(const std::string& channel_id);
  Asker asker(const protocol::Ref& ref) const {
    return Asker{id, claims.user_id, claims.is_admin, ref};
  }
};

// A connection closed while JoinChannels of it were in flight: their
// JoinOutcomes must still be undone at the channel (LeaveChannel).
struct DepartedConnection {
  std::string user_id;
  std::string public_id;
  int joining_subscribes = 0;
};

struct Connections::State {
  std::unordered_map<ConnectionId, ConnectionRecord> connections;
  std::unordered_map<ConnectionId, DepartedConnection> departed;
  LocalHub hub;
  ChannelNames names;
  std::vector<BroadcastEvent> announcements;
  std::optional<SteadyTime> last_heartbeat;
  // Name reads a message started, by token: the connection they count for.
  std::unordered_map<std::uint64_t, ConnectionId> name_reads_of;
  // Audit rows for failed auth: at most kMaxAuthAuditsPerSecond a second.
  static constexpr int kMaxAuthAuditsPerSecond = 20;
  SteadyTime audit_window{};
  int audits_in_window = 0;

  ConnectionRecord* find(ConnectionId id) {
    auto found = connections.find(id);
    return found == connections.end() ? nullptr : &found->second;
  }
  // A Close: the connection answers nothing more; what is held goes first.
  void close(ConnectionRecord& connection, int code, std::string reason, Context& ctx) {
    for (auto& held : connection.held_replies) {
      if (held) ctx.send(connection.id, std::move(*held));
    }
    connection.held_replies.clear();
    connection.undecided = 0;
    connection.phase = ConnectionRecord::Phase::kClosing;
    ctx.close(connection.id, code, std::move(reason));
  }
};

// One reply to the connection, after those of its earlier requests.
inline void reply(ConnectionRecord& connection, Event event, Context& ctx) {
  if (connection.undecided > 0) {
    connection.held_replies.emplace_back(std::move(event));
  } else {
    ctx.send(connection.id, std::move(event));
  }
}
// One of the connection's store requests was answered (or refused).
inline void store_request_done(ConnectionRecord& connection) {
  if (connection.store_requests > 0) --connection.store_requests;
}
// A rated request goes to U: replies after it wait for U's decision.
inline void await_decision(ConnectionRecord& connection) {
  connection.held_replies.emplace_back(std::nullopt);
  ++connection.undecided;
}
// U decided the oldest undecided request: its `events`, then what waited
// behind it up to the next undecided one.
inline void decided(ConnectionRecord& connection, std::vector<Event>& events, Context& ctx) {
  if (connection.undecided > 0) {
    connection.held_replies.pop_front();  // the oldest undecided is always in front
    --connection.undecided;
  }
  for (Event& event : events) ctx.send(connection.id, std::move(event));
  while (!connection.held_replies.empty() && connection.held_replies.front()) {
    ctx.send(connection.id, std::move(*connection.held_replies.front()));
    connection.held_replies.pop_front();
  }
}

// ---- connection_auth.cpp
void on_auth_request(Connections::State& state, ConnectionRecord& connection,
                     const protocol::Ref& ref, const protocol::AuthRequest& request, Context& ctx);
// Verified claims of a connection not authenticated yet: U admits it.
void admit(Connections::State& state, ConnectionRecord& connection, const protocol::Ref& ref,
           auth::Claims claims, Context& ctx);
void on_admitted(Connections::State& state, ConnectionAdmitted& message, Context& ctx);
// Auth deadline and token expiry at `ctx.now()`.
void check_deadlines(Connections::State& state, ConnectionRecord& connection, Context& ctx);

// ---- connection_requests.cpp
// One parsed element of a client frame.
void on_outcome(Connections::State& state, ConnectionRecord& connection,
                protocol::ParseOutcome& outcome, Context& ctx);
void on_resolved(Connections::State& state, StoreReply& reply, Context& ctx);
// The connection's next queued subscribe starts once none is in flight.
void start_next_subscribe(Connections::State& state, ConnectionRecord& connection, Context& ctx);
// Any client frame: activity for the connection's presence channels.
void note_activity(ConnectionRecord& connection, Context& ctx);
// The connection leaves the channel: hub, subscription, the channel's owner.
void leave(Connections::State& state, ConnectionRecord& connection, const ChannelInfo& channel,
           Context& ctx);

}  // namespace nself::core::engine
