#pragma once

// One event loop's engine shard and what carries its actions out
// (docs/ENGINE_DESIGN.md, "Shape"): the loop's sessions by ConnectionId, the
// inputs fed to core::engine::Shard in order, and each action done as the
// engine said: Send and Deliver through the native adapter's encoder
// (a Deliver framed once per loop, the frame shared by every subscriber
// here), Close, SetBatching, ToShard through the mailboxes, Store through the
// store lanes (one submit per turn of inputs), AdminDone to whoever waits.
//
// Thread safety: none. Everything runs on the loop's thread, except
// construction and what EngineHandler documents.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/engine/shard.hpp"

namespace nself::server {
class Loop;
class LoopMetrics;
class Metrics;
class WsSession;
}  // namespace nself::server

namespace nself::server::engine {

class EngineHandler;

class LoopShard {
 public:
  using AdminWaiter = std::function<void(core::engine::AdminDone&)>;

  LoopShard(EngineHandler& owner, Loop& loop, core::engine::ShardIndex shards,
            const core::engine::EngineOptions& options, const core::auth::JwtVerifier& verifier);
  LoopShard(const LoopShard&) = delete;
  LoopShard& operator=(const LoopShard&) = delete;

  // Decides `input` now, then everything it caused on this shard, in order.
  void input(core::engine::Input input);
  // A batch (one mailbox drain, one store pump's answers): decided in order,
  // their store jobs submitted together (one lock on the lanes per batch).
  void inputs(std::vector<core::engine::Input>& batch);

  // A new session of this loop: its id, from now until forget().
  core::engine::ConnectionId open(WsSession& session);
  void forget(core::engine::ConnectionId connection);
  WsSession* session(core::engine::ConnectionId connection) const;
  // The sessions of this loop (admin listings).
  const std::unordered_map<core::engine::ConnectionId, WsSession*>& sessions() const {
    return sessions_;
  }

  // A request id for an admin operation whose AdminDone `waiter` gets.
  std::uint64_t await_admin(AdminWaiter waiter);

  const core::engine::Shard& shard() const { return shard_; }
  Loop& loop() { return loop_; }
  core::engine::ShardIndex index() const { return shard_.index(); }
  // Events sent to single connections so far (admin operations count theirs).
  std::uint64_t sends() const { return sends_; }

 private:
  void run();
  void carry_out(core::engine::Actions& actions);
  void deliver(const core::engine::Deliver& deliver);
  void deliver_authenticated(const core::engine::DeliverAuthenticated& deliver);
  void submit_store_jobs();
  // Hands what the shard counted since the last call to the Metrics registry.
  void report_counters();
  // An error event sent to a client, by code (nself_realtime_errors_total).
  void count_error(std::string_view code);

  EngineHandler& owner_;
  Loop& loop_;
  core::engine::Shard shard_;
  std::deque<core::engine::Input> pending_;
  bool running_ = false;
  core::engine::Actions actions_;  // reused between inputs
  std::vector<core::engine::StoreJob> store_jobs_;
  std::unordered_map<core::engine::ConnectionId, WsSession*> sessions_;
  std::uint64_t serial_ = 0;
  std::uint64_t next_admin_ = 0;
  std::unordered_map<std::uint64_t, AdminWaiter> admin_waiters_;
  std::uint64_t sends_ = 0;
  core::engine::EngineCounters reported_;
  // This loop's cells of the registry (written here only); null until the
  // first report with a registry set.
  LoopMetrics* loop_metrics_ = nullptr;
  LoopMetrics* loop_metrics();
};

}  // namespace nself::server::engine
