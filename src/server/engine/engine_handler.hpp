#pragma once

// The server's protocol layer on the sharded pure engine (docs/ENGINE_DESIGN.md):
// one core::engine::Shard per event loop (LoopShard), the loops joined by
// Mailboxes, the store reached through StoreLanes. It turns the transport's
// session events into engine inputs (the native wire adapter parses frames)
// and the admin API's operations into admin inputs; it decides nothing.
//
// Threading: session callbacks run on the session's loop and touch only that
// loop's shard. A cross-loop hand-off goes through the mailboxes (one short
// lock per batch) or, for admin operations, a post to the loop. The admin
// operations that return a figure (connections, disconnect, the counts) run
// on the control loop and wait for the other loops to answer; nothing waits
// the other way, so they cannot deadlock.
//
// Not yet: cluster mode (REDIS_URL) stays on RealtimeHandler. Metrics: each
// loop counts messages, deliveries, errors by code and presence changes in
// its own LoopMetrics (no lock); commits go into the store batch histogram.

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/auth/jwt_verifier.hpp"
#include "core/engine/options.hpp"
#include "core/engine/shard_messages.hpp"
#include "core/origin_policy.hpp"
#include "server/engine/mailboxes.hpp"
#include "server/engine/store_lanes.hpp"
#include "server/realtime_service.hpp"
#include "server/session_handler.hpp"
#include "server/store_worker.hpp"

namespace nself::server::engine {

class LoopShard;

struct EngineHandlerOptions {
  core::engine::EngineOptions engine;
  // Browser origins allowed to upgrade (REALTIME_ALLOWED_ORIGINS): 403 otherwise.
  core::OriginPolicy allowed_origins;
  StoreLaneBounds store_lanes;
};

class EngineHandler final : public SessionHandler, public RealtimeService {
 public:
  // `verifier` and `store` must outlive the handler (and the server using it).
  EngineHandler(const core::auth::JwtVerifier& verifier, StoreWorker& store,
                EngineHandlerOptions options = {});
  ~EngineHandler() override;
  EngineHandler(const EngineHandler&) = delete;
  EngineHandler& operator=(const EngineHandler&) = delete;

  // ---- SessionHandler (the session's loop)
  std::optional<HttpResponse> check_upgrade(const HttpRequest& request) override;
  void on_loops(const std::vector<Loop*>& loops) override;
  void on_loops_closing() override;
  void on_open(WsSession& session) override;
  void on_text(WsSession& session, std::string text) override;
  void on_loop_tick(Loop& loop, std::chrono::steady_clock::time_point now) override;
  void on_slow_consumer(WsSession& session) override;
  void on_closed(WsSession& session) override;

  // ---- RealtimeService (the control loop, or any thread that is not a loop's)
  void set_metrics(Metrics* metrics) override { metrics_ = metrics; }
  void set_stats_feed(StatsFeed* feed) override { stats_feed_ = feed; }
  std::vector<ConnectionInfo> connections() const override;
  std::optional<ConnectionInfo> disconnect(const std::string& id) override;
  void publish(const PublishTarget& channel, std::string user_id, std::string content_json,
               boost::asio::any_io_executor executor,
               std::function<void(Result<store::StoredMessage>)> done) override;
  std::size_t notify_channel_deleted(const std::string& channel_id,
                                     const std::string& slug) override;
  std::size_t revoke_member(const std::string& channel_id, const std::string& user_id) override;
  void member_changed(const std::string& channel_id, const std::string& user_id) override;
  void notify_channel_archived(const std::string& channel_id) override;
  std::size_t deliver_broadcast(const store::Broadcast& broadcast,
                                std::optional<std::string_view> channel_slug) override;
  void set_announcements(std::vector<store::Broadcast> announcements) override;

  // ---- for LoopShard (its loop's thread)
  void to_shard(core::engine::ShardIndex from, core::engine::ShardIndex to,
                core::engine::ShardMessage message);
  // Queues the jobs (emptied); the refused ones are answered on `origin` at once.
  void submit_store_jobs(LoopShard& origin, std::vector<core::engine::StoreJob>& jobs);
  Metrics* metrics() const { return metrics_; }
  StoreLaneStats store_lane_stats() const { return lanes_->stats(); }

 private:
  LoopShard& shard_of(WsSession& session);
  // Runs `work` on every loop (at once on the calling loop) and waits for all.
  void on_every_loop(const std::function<void(LoopShard&)>& work) const;
  // Bookkeeping for a refused upgrade: at most 20 audit rows a second.
  void audit_upgrade_failure(const std::string& code);

  const core::auth::JwtVerifier& verifier_;
  StoreWorker& store_;
  EngineHandlerOptions options_;
  Metrics* metrics_ = nullptr;
  StatsFeed* stats_feed_ = nullptr;
  std::vector<std::unique_ptr<LoopShard>> shards_;
  std::unique_ptr<Mailboxes<core::engine::ShardMessage>> mailboxes_;
  std::unique_ptr<StoreLanes> lanes_;
  // The upgrade's audit cap, guarded by its mutex (refused upgrades only).
  std::mutex audit_mutex_;
  std::chrono::steady_clock::time_point audit_window_{};
  int audits_in_window_ = 0;
};

}  // namespace nself::server::engine
