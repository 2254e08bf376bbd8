#pragma once

// The real-time protocol (docs/PROTOCOL.md) on top of the transport: parses
// each text frame (core::protocol), authenticates (core::auth), keeps the hub
// (channel -> subscribed sessions) and answers requests. Database work runs
// on the StoreWorker thread; its results are posted back to the session's
// loop, where replies are queued and fan-out happens.
//
// Implemented: auth (Authorization: Bearer header or ?token= on the upgrade,
// 401 when bad; or a first auth message within auth_timeout, else close 4001;
// refresh for the same user; expiry -> error token_expired, close 4001),
// subscribe (history N / since SEQ), unsubscribe, message (persistent: group
// commit, fan-out and ack only after commit, `unavailable` when the database
// fails; ephemeral: at once, in-memory seq), history, typing (not stored,
// automatic false after typing_timeout), ping; private channels for members
// and admins only; realtime.connections / subscriptions rows kept live.
// Broadcasts (delivery and the replay of system announcements on auth):
// realtime_handler_broadcast.cpp, driven by server/broadcast_scheduler.hpp.
// Presence (join/leave/update, automatic away, persisted through
// Store::update_presence), read markers and `unread`, and the limits
// (connections per user, messages per second, subscriptions per connection,
// channel max_members, member can_send, archived channels read-only).
//
// Fan-out serializes an event once and frames it once; every subscriber's
// queue gets the same shared buffer. The hub here knows which sessions of
// which loop are subscribed to a channel; each loop keeps its own share
// (server/loop_hub.hpp) and gets one delivery per event through its mailbox.
//
// Thread safety: sessions live on several loops (threads). Every entry point
// (the SessionHandler calls, the admin and broadcast operations, and the
// store completions posted back to a loop) takes mutex_, so the protocol
// state (clients, hub, presence, limits, sequence numbers) is one consistent
// whole; the lock covers deciding and queueing, never a socket write or a
// database call. Per-subscriber delivery happens on each loop without it.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/auth/jwt_verifier.hpp"
#include "core/channel.hpp"
#include "core/cluster_envelope.hpp"
#include "core/content_filter.hpp"
#include "core/origin_policy.hpp"
#include "core/presence_tracker.hpp"
#include "core/protocol/requests.hpp"
#include "core/rate_limit.hpp"
#include "core/seq_reorder.hpp"
#include "server/metrics.hpp"
#include "server/realtime_service.hpp"
#include "server/session_handler.hpp"
#include "server/store_worker.hpp"
#include "store/store.hpp"

namespace nself::cluster {
class Cluster;
struct DeadNode;
}  // namespace nself::cluster

namespace nself::server {

class StatsFeed;

struct RealtimeOptions {
  // A connection that has not authenticated by then is closed with 4001.
  std::chrono::milliseconds auth_timeout{10'000};
  // A typing indicator not renewed within this time is sent as typing:false.
  std::chrono::milliseconds typing_timeout{6'000};
  // A fan-out slower than this is logged with its duration.
  std::chrono::milliseconds slow_fan_out{50};
  // Written to realtime.connections.node_id.
  std::string node_id = "local";
  // How often realtime.connections.last_seen_at is refreshed for every
  // authenticated connection (the manual's "Heartbeat every 30 seconds"), in
  // one batched store call, so `cleanup` can tell live rows from stale ones.
  std::chrono::milliseconds heartbeat_interval{30'000};

  // ---- limits (docs/PROTOCOL.md "Limits"; the manual's Rate Limiting)
  // More authenticated connections of one user in this process: the next one
  // gets too_many_connections and close 4008.
  int max_connections_per_user = 5;
  // Token bucket per user over message, typing and presence requests:
  // capacity and refill per second. Excess: rate_limited, not delivered.
  int max_messages_per_second = 10;
  // Persistent flooding (see core::FloodPolicy): close 4008.
  core::FloodPolicy flood;
  // Channels one connection may be subscribed to: too_many_subscriptions.
  int max_subscriptions = 50;
  // The sharded engine's (core/engine/options.hpp); not applied by this handler.
  int max_store_requests_per_second = 50;
  int max_store_requests_in_flight = 16;
  // The bytes one history reply (history, subscribe history / since) may
  // carry: half of a connection's send-queue bound (REALTIME_MAX_QUEUED_KB),
  // so that a reply never closes the client that asked (core/history_page.hpp).
  std::size_t history_page_bytes = 512 * 1024;

  // ---- presence
  // A member without activity (any client frame) for this long becomes away.
  std::chrono::milliseconds away_after{300'000};
  // Every heartbeat rewrites the presence rows of the members here, then
  // deletes rows not written for this long: those of a server that died (or
  // of users long gone offline). Must exceed heartbeat_interval.
  std::chrono::milliseconds stale_presence_after{90'000};

  // ---- security (docs/SECURITY.md)
  // Browser origins allowed to upgrade (REALTIME_ALLOWED_ORIGINS); an upgrade
  // with another Origin gets 403. Requests without Origin are not browsers.
  core::OriginPolicy allowed_origins;
  // Patterns redacted from message content (WebSocket and API) before it is
  // stored and delivered (REALTIME_CONTENT_FILTERS).
  core::ContentFilter content_filter;
};

class RealtimeHandler final : public SessionHandler, public RealtimeService {
 public:
  // `verifier` and `store` must outlive the handler (and the server using it).
  RealtimeHandler(const core::auth::JwtVerifier& verifier, StoreWorker& store,
                  RealtimeOptions options = {});

  std::optional<HttpResponse> check_upgrade(const HttpRequest& request) override;
  void on_loops(const std::vector<Loop*>& loops) override;
  // Waits for the store worker's queued jobs: their completions post to the loops.
  void on_loops_closing() override;
  void on_open(WsSession& session) override;
  void on_text(WsSession& session, std::string text) override;
  void on_sweep(std::chrono::steady_clock::time_point now) override;
  void on_tick(WsSession& session, std::chrono::steady_clock::time_point now) override;
  void on_slow_consumer(WsSession& session) override;
  void on_closed(WsSession& session) override;

  // Sessions subscribed to a channel (by channel id), for tests and status.
  std::size_t subscriber_count(const std::string& channel_id) const;

  // ---- admin operations (realtime_handler_admin.cpp)
  // Used by the HTTP API (server/admin_api.hpp). Any thread; set_metrics
  // before the server runs.
  // (RealtimeService, realtime_service.hpp; any thread here)
  void set_metrics(Metrics* metrics) override { metrics_ = metrics; }
  std::vector<ConnectionInfo> connections() const override;
  std::optional<ConnectionInfo> disconnect(const std::string& id) override;
  void publish(const PublishTarget& channel, std::string user_id, std::string content_json,
               boost::asio::any_io_executor executor,
               std::function<void(Result<store::StoredMessage>)> done) override;
  std::size_t notify_channel_deleted(const std::string& channel_id,
                                     const std::string& slug) override;
  std::size_t revoke_member(const std::string& channel_id, const std::string& user_id) override;
  void member_changed(const std::string& /*channel_id*/, const std::string& /*user_id*/) override {}
  void notify_channel_archived(const std::string& channel_id) override;
  bool is_archived(const std::string& channel_id) const {
    std::lock_guard lock(mutex_);
    return archived_channels_.contains(channel_id);
  }

 private:
  // Writes a failed WebSocket authentication to realtime.audit_log (at most
  // kMaxAuthAuditsPerSecond a second, so a flood of bad tokens cannot flood
  // the database; the metric counts them all).
  void audit_auth_failure(std::string actor, std::string_view code);
  static constexpr int kMaxAuthAuditsPerSecond = 20;
  std::chrono::steady_clock::time_point auth_audit_window_{};
  int auth_audits_in_window_ = 0;
  // Removes `channel_id` from every subscriber's state (realtime_handler.cpp,
  // next to Client).
  void drop_channel_subscribers(const std::string& channel_id);
  ConnectionInfo describe(const WsSession& session) const;
  Metrics* metrics_ = nullptr;
  std::unordered_set<std::string> archived_channels_;  // archived while subscribed
                                                       // ---- end of admin operations

 private:
  struct ChannelRef {
    std::string id;
    std::string slug;
    core::ChannelType type = core::ChannelType::kPublic;
    bool persistent = true;
    std::int64_t last_seq = 0;
    // Send permission, as known when the channel was resolved: an archived
    // channel is read-only; a member whose can_send is false may not send.
    bool archived = false;
    bool can_send = true;
  };
  struct Client;

  void dispatch(WsSession& session, Client& client, const core::protocol::Ref& ref,
                core::protocol::Request& request);
  void handle_auth(WsSession& session, Client& client, const core::protocol::Ref& ref,
                   const core::protocol::AuthRequest& request);
  void handle_subscribe(WsSession& session, Client& client, const core::protocol::Ref& ref,
                        const core::protocol::SubscribeRequest& request);
  struct SubscribeOutcome;
  // On the control loop, under mutex_, once the store answered (and, for a
  // presence channel in cluster mode, Redis): joins, and replies queued in
  // order with the session's deliveries (send_ordered).
  void finish_subscribe(WsSession& session, const core::protocol::Ref& ref,
                        const std::shared_ptr<SubscribeOutcome>& outcome);
  void handle_unsubscribe(WsSession& session, Client& client, const core::protocol::Ref& ref,
                          const core::protocol::UnsubscribeRequest& request);
  void handle_message(WsSession& session, Client& client, const core::protocol::Ref& ref,
                      core::protocol::MessageRequest& request);
  void handle_history(WsSession& session, Client& client, const core::protocol::Ref& ref,
                      const core::protocol::HistoryRequest& request);
  void handle_typing(WsSession& session, Client& client,
                     const core::protocol::TypingRequest& request);

  // Authenticates with verified claims once the connection limits allow it:
  // finish_authentication records the connection and sends auth_ok.
  void authenticate(WsSession& session, Client& client, const core::protocol::Ref& ref,
                    core::auth::Claims claims);
  void finish_authentication(WsSession& session, Client& client, const core::protocol::Ref& ref);
  // Sends a message to a resolved channel the client may write to.
  void send_message(WsSession& session, Client& client, const core::protocol::Ref& ref,
                    const ChannelRef& channel, std::string content_json);
  // Frames `event` once and queues it to every subscriber of `channel_id`,
  // except sessions of `skip_user` when given.
  void fan_out(const std::string& channel_id, std::string_view event,
               const std::string* skip_user = nullptr);
  // The same with a framed event; returns the number of deliveries.
  std::size_t fan_out_frame(const std::string& channel_id, std::shared_ptr<const std::string> frame,
                            const std::string* skip_user = nullptr);
  void add_to_hub(WsSession& session, const ChannelRef& channel, const std::string& user_id);
  // The control loop (loop 0): where persistent messages' completions run, in
  // commit order.
  boost::asio::any_io_executor control_executor() const;
  // Sends `text` to the session on its own loop (at once when already there).
  static void send_later(const std::weak_ptr<WsSession>& weak, std::string text);
  // Under mutex_, from any loop: `text` to the session in order with the
  // deliveries queued to it after this call (through its loop's mailbox;
  // at once on its own loop).
  void send_ordered(WsSession& session, std::string_view text);
  void remove_from_hub(WsSession& session, const std::string& channel_id);
  std::size_t subscribers_of(const std::string& channel_id) const;
  void expire_typing(std::chrono::steady_clock::time_point now);
  // An error event, counted in the metrics by its code.
  std::string error_frame(const core::protocol::Ref& ref, std::string_view code,
                          std::string_view message) const;
  std::string error_frame(const core::protocol::Ref& ref, const Error& error) const;
  // At the start of a sweep: writes the ids gathered in the last one and
  // decides whether this sweep gathers.
  void start_heartbeat_sweep(std::chrono::steady_clock::time_point now);

  // ---- presence, read state and limits (issue 4, sections 1, 3 and 6)
  void handle_presence(WsSession& session, Client& client, const core::protocol::Ref& ref,
                       core::protocol::PresenceRequest& request);
  void handle_read(WsSession& session, Client& client, const core::protocol::Ref& ref,
                   const core::protocol::ReadRequest& request);
  // At authentication: counts the connection against its user's limit; false
  // (after error too_many_connections and close 4008) when over it.
  bool admit_connection(WsSession& session, Client& client, const core::protocol::Ref& ref,
                        const std::string& user_id);
  void release_connection(Client& client);
  // Cluster mode: counts the connection in Redis, then finishes the
  // authentication (auth_ok, then the requests that waited), or answers
  // too_many_connections and closes 4008 when the user has
  // max_connections_per_user on the cluster already (never after auth_ok).
  void cluster_admit_connection(WsSession& session, Client& client, const core::protocol::Ref& ref);
  // A request that arrives while cluster_admit_connection waits; past
  // kMaxWaitingRequests, rate_limited and close 4008.
  void hold_until_admitted(WsSession& session, Client& client, const core::protocol::Ref& ref,
                           core::protocol::Request request);
  static constexpr std::size_t kMaxWaitingRequests = 256;
  // Message, typing and presence requests take a token from the user's
  // bucket; false (after rate_limited, maybe close 4008) when refused.
  bool admit_request(WsSession& session, Client& client, const core::protocol::Ref& ref);
  // A token from the user's bucket on this node (true when not counted).
  bool take_local_token(Client& client, std::chrono::steady_clock::time_point now);
  // The bucket's verdict for one request: false after rate_limited (and
  // close 4008 for a flood).
  bool rate_decided(WsSession& session, Client& client, const core::protocol::Ref& ref,
                    bool allowed, std::chrono::steady_clock::time_point now);
  // Cluster mode: the request goes on once the user's bucket in Redis (shared
  // by every node) gave a token; refused: rate_limited.
  void cluster_admit_request(WsSession& session, const core::protocol::Ref& ref,
                             core::protocol::Request request);
  // A request past authentication and rate limits, to its handler.
  void handle_request(WsSession& session, Client& client, const core::protocol::Ref& ref,
                      core::protocol::Request& request);
  // At subscribe: false (after too_many_subscriptions) when the connection
  // has max_subscriptions channels already (pending subscribes included).
  bool admit_subscription(WsSession& session, Client& client, const core::protocol::Ref& ref,
                          const std::string& name);
  // A connection's subscription begins/ends: distinct users per channel (for
  // max_members) and presence join/leave with their events.
  bool channel_full(const std::string& channel_id, const std::string& user_id,
                    int max_members) const;
  struct ClusterPresenceAnswer;
  // `cluster_answer`: in cluster mode, what Redis decided for this connection
  // (cluster-wide join, members); null alone (or for a non-presence channel).
  void join_channel(WsSession& session, Client& client, const ChannelRef& channel,
                    const core::protocol::Ref& ref,
                    const ClusterPresenceAnswer* cluster_answer = nullptr);
  void send_presence_state(WsSession& session, const ChannelRef& channel,
                           const core::protocol::Ref& ref);
  void leave_channel(Client& client, const ChannelRef& channel);
  // Any client frame of an authenticated connection.
  void note_activity(const std::string& user_id);
  // Once per sweep: automatic away; with the heartbeat, refreshes the rows
  // and removes stale ones.
  void sweep_presence(bool heartbeat);
  void publish_presence(const std::string& channel_id, const core::PresenceMember& member);
  void persist_presence(std::vector<store::PresenceRecord> records);
  std::string slug_of(const std::string& channel_id) const;

  const core::auth::JwtVerifier& verifier_;
  StoreWorker& store_;
  RealtimeOptions options_;
  // Guards everything below (and the Client of every session).
  mutable std::mutex mutex_;
  std::vector<Loop*> loops_;
  struct HubChannel {
    std::string slug;
    std::unordered_set<WsSession*> sessions;
    std::vector<std::uint32_t> per_loop;  // subscribed sessions on each loop
    bool persistent = true;               // cluster mode: how gaps are filled
  };
  std::unordered_map<std::string, HubChannel> hub_;              // channel id -> subscribers
  std::unordered_set<WsSession*> sessions_;                      // every open session
  std::unordered_map<std::string, std::int64_t> ephemeral_seq_;  // channel id -> last seq
  struct Typing {
    std::string channel_id;
    std::string slug;
    std::string user_id;
    std::chrono::steady_clock::time_point expires;
  };
  std::unordered_map<std::string, Typing> typing_;  // channel id + '\n' + user id
  // Heartbeat: ids gathered during a sweep in which one is due, written at the
  // start of the next sweep.
  std::chrono::steady_clock::time_point last_heartbeat_{};
  bool collecting_heartbeat_ = false;
  std::vector<std::string> heartbeat_ids_;

  // ---- presence, read state and limits
  struct UserState {
    int connections = 0;
    core::TokenBucket bucket;
  };
  std::unordered_map<std::string, UserState> users_;  // user id -> its connections here
  // channel id -> user id -> that user's subscribed connections (max_members)
  std::unordered_map<std::string, std::unordered_map<std::string, int>> channel_users_;
  core::PresenceTracker presence_;

  // ---- broadcasts (realtime_handler_broadcast.cpp)
 public:
  // Any thread. Delivers a broadcast (claimed by a BroadcastScheduler): with a
  // channel, to the sessions subscribed to it, named `channel_slug` in the
  // event; without one (a system announcement), to every authenticated
  // session. Framed once, the buffer shared. Returns how many sessions got it.
  std::size_t deliver_broadcast(const store::Broadcast& broadcast,
                                std::optional<std::string_view> channel_slug) override;
  // Any thread. The system announcements (sent, no channel) replayed to a
  // session when it authenticates, unless expired by then; replaces the
  // previous set (the scheduler refreshes it on every poll, so authenticating
  // never waits for the database).
  void set_announcements(std::vector<store::Broadcast> announcements) override;

 private:
  // Hooks: authenticate() and on_closed() (of an authenticated session) call these.
  void broadcasts_on_authenticated(WsSession& session);
  void broadcasts_on_closed(WsSession& session);
  std::vector<store::Broadcast> announcements_;
  std::size_t authenticated_count_ = 0;
  // ---- end of broadcasts

  // ---- console stats feed (server/stats_feed.hpp): stats_subscribe requests
 public:
  // Before the server runs; the feed must outlive the handler's use of it.
  void set_stats_feed(StatsFeed* feed) override { stats_feed_ = feed; }

 private:
  StatsFeed* stats_feed_ = nullptr;

  // ---- cluster mode (docs/SCALING.md; realtime_handler_cluster.cpp)
 public:
  // Before the server runs, after it was constructed (null: one node alone,
  // the default; nothing below runs then). Set null again, before stopping
  // the cluster, once the server stopped.
  void set_cluster(cluster::Cluster* cluster);
  // Cluster callbacks, any thread: each posts its work to the control loop,
  // where it runs under the handler's lock.
  // An event another node published: fanned out to local subscribers only
  // (sequenced ones through the reorder buffer), never re-published.
  void on_cluster_event(core::ClusterEnvelope envelope);
  // Events may have been missed (bus resubscribed, node re-registered): reads
  // the tracked persistent channels' new messages from the store.
  void on_cluster_resync();
  void on_cluster_node_dead(cluster::DeadNode node);

 private:
  // Under mutex_, on the control loop: a sequenced event of `channel_id` for
  // the local subscribers (through the reorder buffer in cluster mode).
  void deliver_sequenced(const std::string& channel_id, std::int64_t seq, std::string event);
  // Under mutex_: publishes on the bus (cluster mode only; a no-op alone).
  void cluster_publish(std::string kind, const std::string& channel_id, std::int64_t seq,
                       std::string payload);
  // Under mutex_: fan_out(), and in cluster mode the same event on the bus
  // for the other nodes' subscribers (skip_user included).
  void fan_out_shared(const std::string& channel_id, std::string event,
                      const std::string* skip_user = nullptr);
  // Under mutex_: the next seq of an ephemeral channel; `then(seq, shared)`
  // runs under mutex_ (at once alone; on the control loop after Redis
  // answered in cluster mode; shared is false when Redis numbered nothing).
  void next_ephemeral_seq(const std::string& channel_id,
                          std::function<void(std::int64_t seq, bool shared)> then);
  void apply_cluster_event(core::ClusterEnvelope envelope);
  void check_gaps(std::chrono::steady_clock::time_point now);
  // Once per sweep: due gaps, and the connection count for the heartbeat.
  void cluster_sweep(std::chrono::steady_clock::time_point now);
  void release_events(const std::string& channel_id,
                      std::vector<core::SeqReorderBuffer<std::string>::Event> events);
  void cluster_track(const std::string& channel_id, bool persistent, std::int64_t last_seq);
  void cluster_forget(const std::string& channel_id);
  cluster::Cluster* cluster_ = nullptr;
  // A publish failed (Redis down): once the link is back, this node asks
  // every node to resync (kind "resync"), since they missed its events.
  std::atomic<bool> publish_failed_{false};
  // Under mutex_: reads what the store has after each tracked persistent
  // channel's last released seq, and delivers it in order.
  void resync_from_store();
  boost::asio::any_io_executor control_;  // the control loop, for cluster callbacks

  // Presence across nodes (docs/SCALING.md, "Presence"). Redis counts each
  // subscribed connection of a presence channel per node and decides joins
  // and leaves cluster-wide; the local core::PresenceTracker still holds this
  // node's members (activity, automatic away, sync after an outage) and
  // decides alone while Redis is down.
  struct ClusterPresenceAnswer {
    bool available = false;  // false: Redis did not answer, the node decides alone
    bool joined = false;     // this connection made the user a member cluster-wide
    struct Member {
      std::string user_id;
      std::string status;
      std::string meta_json;  // "null" for none
    };
    std::vector<Member> members;  // the channel's members on every node
  };
  // Counts the connection in Redis and reads the members; `then` runs on
  // `executor` under mutex_.
  void cluster_presence_join(const std::string& channel_id, const std::string& user_id,
                             boost::asio::any_io_executor executor,
                             std::function<void(ClusterPresenceAnswer)> then);
  // Uncounts a connection whose subscribe was counted and then abandoned.
  void cluster_presence_undo(const std::string& channel_id, const std::string& user_id);
  // Uncounts a leaving connection; presence_leave when it was the user's last
  // one anywhere (`left_here`: the local tracker's decision, used while
  // Redis is down).
  void cluster_presence_leave(const ChannelRef& channel, const std::string& user_id,
                              bool left_here);
  void cluster_presence_update(const std::string& channel_id, const core::PresenceMember& member);
  // presence_leave (local subscribers, and presence_gone on the bus) and
  // offline rows for members that left without a leave of theirs (a dead
  // node, a resync).
  void cluster_presence_gone(std::vector<std::pair<std::string, std::string>> channel_users);
  // presence_leave of `user_id` to this node's subscribers of the channel.
  void apply_presence_gone(const std::string& channel_id, const std::string& user_id);
  // After an outage or a reaping: this node's presence and connection
  // counts are written to Redis again (sync_node).
  void cluster_sync_node();
  core::SeqReorderBuffer<std::string> reorder_;

  // Subscribes racing the bus (persistent channels). A subscribe read the
  // channel's last_seq N on the store thread, while other nodes' messages
  // reach this node over the bus in no fixed order with that read. When the
  // node has released less than N, the subscriber waits (parked) until N is
  // released, so that it gets none of (released, N] twice; when more, the
  // released messages after N are sent to it from the channel's recent
  // events, so that it misses none. Under mutex_, on the control loop.
  struct ParkedSubscribe {
    std::weak_ptr<WsSession> session;
    core::protocol::Ref ref;
    std::shared_ptr<SubscribeOutcome> outcome;
    std::string user_id;  // to uncount a presence join whose session closed meanwhile
    std::chrono::steady_clock::time_point since;
  };
  struct RecentEvent {
    std::int64_t seq;
    std::shared_ptr<const std::string> event;
    std::chrono::steady_clock::time_point released_at;
  };
  // kParked: the subscribe waits for the node to release its last_seq.
  // kJoin: it joins now, after sending `catch_up` (the released events after
  // its last_seq). kReread: those are no longer kept; its store read is done
  // again (at most kMaxSubscribeRereads times, then it joins with a warning).
  enum class Alignment { kJoin, kParked, kReread };
  static constexpr int kMaxSubscribeRereads = 3;
  Alignment align_subscribe(WsSession& session, const core::protocol::Ref& ref,
                            const std::shared_ptr<SubscribeOutcome>& outcome,
                            const std::string& user_id,
                            std::vector<std::shared_ptr<const std::string>>& catch_up);
  // The store job of a subscribe (channel, permissions, replay), finished on
  // the control loop by finish_subscribe. `cluster`: a presence join already
  // counted in Redis, carried by a re-read.
  void read_for_subscribe(std::weak_ptr<WsSession> weak, const core::protocol::Ref& ref,
                          const core::protocol::SubscribeRequest& request,
                          std::string connection_id, std::string user_id, bool is_admin,
                          std::optional<ClusterPresenceAnswer> cluster, int rereads);
  // Finishes the parked subscribes of `channel_id` whose last_seq is
  // released; all of them when `all` (timed out, or the channel untracked).
  void resume_parked(const std::string& channel_id, bool all);
  void remember_released(const std::string& channel_id, std::int64_t seq, const std::string& event,
                         std::chrono::steady_clock::time_point now);
  std::unordered_map<std::string, std::vector<ParkedSubscribe>> parked_subscribes_;
  std::unordered_map<std::string, std::deque<RecentEvent>> recent_events_;
  // While release_events fans out one event: its channel and seq (the
  // buffer's last_seq is already past it when it releases a batch).
  std::optional<std::pair<std::string, std::int64_t>> releasing_;
  // The last seq of `channel_id` its subscribers have been sent: the one
  // being fanned out inside release_events, else the reorder buffer's.
  std::optional<std::int64_t> released_seq(const std::string& channel_id) const;
  // ---- end of cluster mode
};

// What a subscribe's store job found, carried to its completion on the
// control loop (finish_subscribe's input).
struct RealtimeHandler::SubscribeOutcome {
  core::protocol::SubscribeRequest request;  // for a re-read
  bool is_admin = false;
  int rereads = 0;
  bool waited_enough = false;  // parked past its time: joins as it is
  Result<store::Channel> channel = Error{};
  std::vector<store::StoredMessage> messages;
  bool replay = false;
  bool has_more = false;
  // ---- read state and send permission of a member
  std::optional<std::int64_t> unread;
  bool can_send = true;
  // ---- cluster mode: Redis' answer for a presence channel
  std::optional<ClusterPresenceAnswer> cluster;
};

}  // namespace nself::server
