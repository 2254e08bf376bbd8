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
// Not yet: presence, read, broadcasts, rate limits, per-user connection caps.
//
// Fan-out serializes an event once and frames it once; every subscriber's
// queue gets the same shared buffer.
//
// Thread safety: every method runs on the loop thread (one loop today). The
// hub would become per-loop with cross-loop forwarding when there are several.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/auth/jwt_verifier.hpp"
#include "core/channel.hpp"
#include "core/protocol/requests.hpp"
#include "server/metrics.hpp"
#include "server/session_handler.hpp"
#include "server/store_worker.hpp"

namespace nself::server {

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
};

class RealtimeHandler final : public SessionHandler {
 public:
  // `verifier` and `store` must outlive the handler (and the server using it).
  RealtimeHandler(const core::auth::JwtVerifier& verifier, StoreWorker& store,
                  RealtimeOptions options = {});

  std::optional<HttpResponse> check_upgrade(const HttpRequest& request) override;
  void on_open(WsSession& session) override;
  void on_text(WsSession& session, std::string text) override;
  void on_tick(WsSession& session, std::chrono::steady_clock::time_point now) override;
  void on_closed(WsSession& session) override;

  // Sessions subscribed to a channel (by channel id), for tests and status.
  std::size_t subscriber_count(const std::string& channel_id) const;

  // ---- admin operations (realtime_handler_admin.cpp)
  // Used by the HTTP API (server/admin_api.hpp). Loop thread only, except
  // set_metrics (before the server runs).
  struct ConnectionInfo {
    std::string id;
    std::string user_id;  // empty while not authenticated
    bool authenticated = false;
    std::string remote_address;
    std::chrono::system_clock::time_point connected_at;
    std::chrono::steady_clock::duration idle_for{};  // since the last frame received
    std::vector<std::string> subscriptions;          // channel slugs, sorted
  };
  // Counters for /metrics; may be null (the default).
  void set_metrics(Metrics* metrics) { metrics_ = metrics; }
  ConnectionInfo describe(const WsSession& session) const;
  // Closes the session with 4000 "disconnected by an administrator".
  void disconnect(WsSession& session);
  // Publishes a message from a backend: persistent channels go through the
  // group commit (fan-out after commit), ephemeral ones fan out at once.
  // `done` runs on `executor` with the stored/sent message, or none when the
  // database failed.
  struct PublishTarget {
    std::string channel_id;
    std::string slug;
    core::ChannelType type = core::ChannelType::kPublic;
    bool persistent = true;
  };
  void publish(const PublishTarget& channel, std::string user_id, std::string content_json,
               boost::asio::any_io_executor executor,
               std::function<void(std::optional<store::StoredMessage>)> done);
  // The channel was deleted: every subscriber gets {"type":"channel_deleted",
  // "channel":slug} and loses the subscription. Returns how many were told.
  std::size_t notify_channel_deleted(const std::string& channel_id, const std::string& slug);
  // The channel was archived: it is read-only from now on (sends get forbidden).
  void notify_channel_archived(const std::string& channel_id);
  bool is_archived(const std::string& channel_id) const {
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
  };
  struct Client;

  void dispatch(WsSession& session, Client& client, const core::protocol::Ref& ref,
                core::protocol::Request& request);
  void handle_auth(WsSession& session, Client& client, const core::protocol::Ref& ref,
                   const core::protocol::AuthRequest& request);
  void handle_subscribe(WsSession& session, Client& client, const core::protocol::Ref& ref,
                        const core::protocol::SubscribeRequest& request);
  void handle_unsubscribe(WsSession& session, Client& client, const core::protocol::Ref& ref,
                          const core::protocol::UnsubscribeRequest& request);
  void handle_message(WsSession& session, Client& client, const core::protocol::Ref& ref,
                      core::protocol::MessageRequest& request);
  void handle_history(WsSession& session, Client& client, const core::protocol::Ref& ref,
                      const core::protocol::HistoryRequest& request);
  void handle_typing(WsSession& session, Client& client,
                     const core::protocol::TypingRequest& request);

  // Authenticates with verified claims: records the connection, sends auth_ok.
  void authenticate(WsSession& session, Client& client, const core::protocol::Ref& ref,
                    core::auth::Claims claims);
  // Sends a message to a resolved channel the client may write to.
  void send_message(WsSession& session, Client& client, const core::protocol::Ref& ref,
                    const ChannelRef& channel, std::string content_json);
  // Frames `event` once and queues it to every subscriber of `channel_id`,
  // except sessions of `skip_user` when given.
  void fan_out(const std::string& channel_id, std::string_view event,
               const std::string* skip_user = nullptr);
  void remove_from_hub(WsSession& session, const std::string& channel_id);
  void expire_typing(std::chrono::steady_clock::time_point now);
  // At the start of a sweep: writes the ids gathered in the last one and
  // decides whether this sweep gathers.
  void start_heartbeat_sweep(std::chrono::steady_clock::time_point now);

  const core::auth::JwtVerifier& verifier_;
  StoreWorker& store_;
  RealtimeOptions options_;
  std::unordered_map<std::string, std::unordered_set<WsSession*>> hub_;  // channel id -> sessions
  std::unordered_map<std::string, std::int64_t> ephemeral_seq_;          // channel id -> last seq
  struct Typing {
    std::string channel_id;
    std::string slug;
    std::string user_id;
    std::chrono::steady_clock::time_point expires;
  };
  std::unordered_map<std::string, Typing> typing_;  // channel id + '\n' + user id
  std::chrono::steady_clock::time_point last_tick_{};
  // Heartbeat: ids gathered during a sweep in which one is due, written at the
  // start of the next sweep.
  std::chrono::steady_clock::time_point last_heartbeat_{};
  bool collecting_heartbeat_ = false;
  std::vector<std::string> heartbeat_ids_;
};

}  // namespace nself::server
