#include "server/engine/loop_shard.hpp"

#include <spdlog/spdlog.h>

#include <type_traits>
#include <utility>

#include "core/ws/frame_codec.hpp"
#include "protocols/native/encode.hpp"
#include "server/engine/engine_handler.hpp"
#include "server/loop.hpp"
#include "server/metrics.hpp"
#include "server/ws_session.hpp"

namespace nself::server::engine {

namespace ce = core::engine;

namespace {

ce::Now now() {
  return ce::Now{
      std::chrono::steady_clock::now(),
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now())};
}

std::shared_ptr<const std::string> text_frame(const ce::Event& event) {
  return std::make_shared<const std::string>(
      core::ws::encode_frame(core::ws::Opcode::kText, protocols::native::encode(event)));
}

}  // namespace

LoopShard::LoopShard(EngineHandler& owner, Loop& loop, ce::ShardIndex shards,
                     const ce::EngineOptions& options, const core::auth::JwtVerifier& verifier)
    : owner_(owner),
      loop_(loop),
      shard_(static_cast<ce::ShardIndex>(loop.index()), shards, options, verifier) {}

void LoopShard::input(ce::Input in) {
  pending_.push_back(std::move(in));
  run();
}

void LoopShard::inputs(std::vector<ce::Input>& batch) {
  for (ce::Input& in : batch) pending_.push_back(std::move(in));
  batch.clear();
  run();
}

// Depth first is the engine's business (a shard addressing itself); here an
// input that arrives while actions are carried out (a session closed by a
// send) waits for them, so that actions always run in the order decided.
void LoopShard::run() {
  if (running_) return;
  running_ = true;
  while (!pending_.empty()) {
    ce::Input next = std::move(pending_.front());
    pending_.pop_front();
    actions_.clear();
    shard_.handle(std::move(next), now(), actions_);
    carry_out(actions_);
  }
  submit_store_jobs();
  report_counters();
  running_ = false;
  // Refused store jobs were answered into pending_ by submit_store_jobs.
  if (!pending_.empty()) run();
}

ce::ConnectionId LoopShard::open(WsSession& session) {
  const ce::ConnectionId id = ce::make_connection_id(index(), ++serial_);
  sessions_.emplace(id, &session);
  return id;
}

void LoopShard::forget(ce::ConnectionId connection) {
  sessions_.erase(connection);
}

WsSession* LoopShard::session(ce::ConnectionId connection) const {
  auto found = sessions_.find(connection);
  return found == sessions_.end() ? nullptr : found->second;
}

std::uint64_t LoopShard::await_admin(AdminWaiter waiter) {
  const std::uint64_t id = ++next_admin_;
  admin_waiters_.emplace(id, std::move(waiter));
  return id;
}

void LoopShard::carry_out(ce::Actions& actions) {
  for (ce::Action& action : actions) {
    std::visit(
        [&](auto& a) {
          using T = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<T, ce::Send>) {
            ++sends_;
            if (const auto* failure = std::get_if<ce::ErrorEvent>(&a.event))
              count_error(failure->code);
            if (WsSession* target = session(a.connection)) {
              if (std::holds_alternative<ce::AuthOk>(a.event)) target->mark_authenticated();
              target->send_text(protocols::native::encode(a.event));
            }
          } else if constexpr (std::is_same_v<T, ce::Deliver>) {
            deliver(a);
          } else if constexpr (std::is_same_v<T, ce::DeliverAuthenticated>) {
            deliver_authenticated(a);
          } else if constexpr (std::is_same_v<T, ce::Close>) {
            if (WsSession* target = session(a.connection)) {
              target->close(static_cast<std::uint16_t>(a.code), a.reason);
            }
          } else if constexpr (std::is_same_v<T, ce::SetBatching>) {
            if (WsSession* target = session(a.connection)) target->set_batching(a.batch);
          } else if constexpr (std::is_same_v<T, ce::ToShard>) {
            owner_.to_shard(index(), a.shard, std::move(a.message));
          } else if constexpr (std::is_same_v<T, ce::Store>) {
            store_jobs_.push_back(std::move(a.job));
          } else if constexpr (std::is_same_v<T, ce::AdminDone>) {
            auto found = admin_waiters_.find(a.request_id);
            if (found == admin_waiters_.end()) return;
            AdminWaiter waiter = std::move(found->second);
            admin_waiters_.erase(found);
            waiter(a);
          }
        },
        action);
  }
}

// Framed once on this loop; every subscriber here queues the same buffer.
void LoopShard::deliver(const ce::Deliver& deliver) {
  if (!deliver.subscribers || deliver.subscribers->empty()) return;
  const auto started = std::chrono::steady_clock::now();
  const auto frame = text_frame(*deliver.event);
  std::uint64_t delivered = 0;
  for (const ce::LocalSubscriber& subscriber : *deliver.subscribers) {
    if (deliver.skip_user && subscriber.user_id == *deliver.skip_user) continue;
    if (WsSession* target = session(subscriber.connection)) {
      target->send_frame(frame);
      ++delivered;
    }
  }
  if (LoopMetrics* metrics = loop_metrics()) {
    metrics->deliveries(delivered);
    metrics->observe_delivery(std::chrono::steady_clock::now() - started);
  }
}

void LoopShard::deliver_authenticated(const ce::DeliverAuthenticated& deliver) {
  const auto frame = text_frame(*deliver.event);
  std::uint64_t delivered = 0;
  for (const auto& [id, target] : sessions_) {
    if (!shard_.connections().is_authenticated(id)) continue;
    target->send_frame(frame);
    ++delivered;
  }
  if (LoopMetrics* metrics = loop_metrics()) metrics->deliveries(delivered);
}

LoopMetrics* LoopShard::loop_metrics() {
  if (loop_metrics_ == nullptr && owner_.metrics() != nullptr) {
    loop_metrics_ = &owner_.metrics()->add_loop();  // once per loop: the only lock
  }
  return loop_metrics_;
}

// The shard's counters into this loop's cells (no lock, no shared
// read-modify-write: Metrics sums the loops when scraped).
void LoopShard::report_counters() {
  LoopMetrics* metrics = loop_metrics();
  if (metrics == nullptr) return;
  const ce::EngineCounters& now = shard_.counters();
  for (std::size_t i = 0; i < LoopMetrics::kChannelTypes; ++i) {
    if (now.messages_in[i] != reported_.messages_in[i]) {
      metrics->messages_in(i, now.messages_in[i] - reported_.messages_in[i]);
    }
    if (now.messages_out[i] != reported_.messages_out[i]) {
      metrics->messages_out(i, now.messages_out[i] - reported_.messages_out[i]);
    }
  }
  if (now.presence_updates != reported_.presence_updates) {
    metrics->presence_updates(now.presence_updates - reported_.presence_updates);
  }
  reported_ = now;
}

void LoopShard::count_error(std::string_view code) {
  LoopMetrics* metrics = loop_metrics();
  if (metrics == nullptr) return;
  // Every code the engine sends is in kErrorCodes; another one (none today)
  // is still counted, under Metrics' lock.
  if (!metrics->error(code)) owner_.metrics()->error(code);
}

void LoopShard::submit_store_jobs() {
  if (store_jobs_.empty()) return;
  owner_.submit_store_jobs(*this, store_jobs_);
  store_jobs_.clear();
}

}  // namespace nself::server::engine
