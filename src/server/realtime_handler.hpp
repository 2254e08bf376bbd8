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
// Not yet: presence, read, rate limits, per-user connection caps.
//
// Fan-out serializes an event once and frames it once; every subscriber's
// queue gets the same shared buffer.
//
// Thread safety: every method runs on the loop thread (one loop today). The
// hub would become per-loop with cross-loop forwarding when there are several.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/auth/jwt_verifier.hpp"
#include "core/channel.hpp"
#include "core/protocol/requests.hpp"
#include "server/session_handler.hpp"
#include "server/store_worker.hpp"
#include "store/store.hpp"

namespace nself::server {

struct RealtimeOptions {
  // A connection that has not authenticated by then is closed with 4001.
  std::chrono::milliseconds auth_timeout{10'000};
  // A typing indicator not renewed within this time is sent as typing:false.
  std::chrono::milliseconds typing_timeout{6'000};
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

  // ---- broadcasts (realtime_handler_broadcast.cpp)
 public:
  // Loop thread. Delivers a broadcast (claimed by a BroadcastScheduler): with a
  // channel, to the sessions subscribed to it, named `channel_slug` in the
  // event; without one (a system announcement), to every authenticated
  // session. Framed once, the buffer shared. Returns how many sessions got it.
  std::size_t deliver_broadcast(const store::Broadcast& broadcast,
                                std::optional<std::string_view> channel_slug);
  // Loop thread. The system announcements (sent, no channel) replayed to a
  // session when it authenticates, unless expired by then; replaces the
  // previous set (the scheduler refreshes it on every poll, so authenticating
  // never waits for the database).
  void set_announcements(std::vector<store::Broadcast> announcements);

 private:
  // Hooks: authenticate() and on_closed() call these.
  void broadcasts_on_authenticated(WsSession& session);
  void broadcasts_on_closed(WsSession& session);
  std::unordered_set<WsSession*> authenticated_sessions_;
  std::vector<store::Broadcast> announcements_;
  // ---- end of broadcasts
};

}  // namespace nself::server
