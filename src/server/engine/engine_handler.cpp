#include "server/engine/engine_handler.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <future>

#include "core/protocol/requests.hpp"
#include "core/ws/frame_codec.hpp"
#include "protocols/native/encode.hpp"
#include "server/engine/loop_shard.hpp"
#include "server/loop.hpp"
#include "server/metrics.hpp"
#include "server/stats_feed.hpp"
#include "server/upgrade_token.hpp"
#include "server/ws_session.hpp"
#include "store/engine_jobs.hpp"

namespace nself::server::engine {

namespace ce = core::engine;

namespace {

ce::WallTime wall_now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// The session's engine id.
struct EngineSession : SessionContext {
  explicit EngineSession(ce::ConnectionId id_in) : id(id_in) {}
  ce::ConnectionId id;
};

ce::ConnectionId id_of(WsSession& session) {
  return static_cast<EngineSession*>(session.context())->id;
}

// Worker thread: one pump's jobs of one class against the store (null: unavailable).
std::vector<ce::StoreReply> run_jobs(store::Store* store, std::vector<ce::StoreJob>& jobs,
                                     ce::StoreClass cls) {
  std::vector<ce::StoreReply> replies;
  if (store == nullptr) {
    for (const ce::StoreJob& job : jobs) {
      if (job.token == 0) continue;
      ce::StoreReply reply;
      reply.token = job.token;
      reply.failure = "unavailable";
      replies.push_back(std::move(reply));
    }
    return replies;
  }
  std::vector<ce::StoreReply> all = cls == ce::StoreClass::kBookkeeping
                                        ? store::run_bookkeeping_batch(*store, jobs, wall_now())
                                        : store::run_append_batch(*store, jobs, wall_now());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].token != 0) replies.push_back(std::move(all[i]));
  }
  return replies;
}

ce::BroadcastEvent broadcast_event(const store::Broadcast& broadcast,
                                   std::optional<std::string_view> channel_slug) {
  // As RealtimeHandler names it: the slug given, else the channel's id.
  ce::BroadcastEvent event;
  event.id = broadcast.id;
  if (broadcast.channel_id)
    event.channel = std::string(channel_slug.value_or(*broadcast.channel_id));
  event.event = broadcast.event_type;
  event.payload_json = broadcast.payload;
  event.created_at = broadcast.created_at;
  event.expires_at = broadcast.expires_at;
  return event;
}

}  // namespace

EngineHandler::EngineHandler(const core::auth::JwtVerifier& verifier, StoreWorker& store,
                             EngineHandlerOptions options)
    : verifier_(verifier), store_(store), options_(std::move(options)) {}

EngineHandler::~EngineHandler() = default;

std::optional<HttpResponse> EngineHandler::check_upgrade(const HttpRequest& request) {
  if (const auto origin = request.find(http::field::origin);
      origin != request.end() && !options_.allowed_origins.allows(origin->value())) {
    return error_response(http::status::forbidden, "origin_not_allowed",
                          "this origin may not connect (REALTIME_ALLOWED_ORIGINS)", &request);
  }
  auto token = upgrade_token(request[http::field::authorization], request.target());
  if (!token) return std::nullopt;  // must authenticate with a first message
  auto claims = verifier_.verify(*token, wall_now());
  if (claims) return std::nullopt;
  if (metrics_ != nullptr) metrics_->auth_failure();
  audit_upgrade_failure(claims.error().code);
  HttpResponse response = error_response(http::status::unauthorized, claims.error().code,
                                         claims.error().message, &request);
  response.set(http::field::www_authenticate, "Bearer");
  return response;
}

void EngineHandler::audit_upgrade_failure(const std::string& code) {
  {
    std::lock_guard lock(audit_mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - audit_window_ >= std::chrono::seconds(1)) {
      audit_window_ = now;
      audits_in_window_ = 0;
    }
    if (++audits_in_window_ > 20) return;
  }
  std::vector<ce::StoreJob> jobs;
  jobs.push_back(ce::StoreJob{0, 0, ce::AuditAuthFailure{"websocket", code, wall_now()}});
  lanes_->submit(jobs);
}

void EngineHandler::on_loops(const std::vector<Loop*>& loops) {
  const auto count = static_cast<ce::ShardIndex>(loops.size());
  std::vector<boost::asio::any_io_executor> executors;
  for (Loop* loop : loops) {
    shards_.push_back(std::make_unique<LoopShard>(*this, *loop, count, options_.engine, verifier_));
    executors.push_back(loop->io().get_executor());
  }
  mailboxes_ = std::make_unique<Mailboxes<ce::ShardMessage>>(
      std::move(executors), [this](std::size_t target, std::vector<ce::ShardMessage>& messages) {
        std::vector<ce::Input> batch;
        batch.reserve(messages.size());
        for (ce::ShardMessage& message : messages)
          batch.push_back(ce::FromShard{std::move(message)});
        shards_[target]->inputs(batch);
      });
  lanes_ = std::make_unique<StoreLanes>(
      store_, run_jobs,
      [this](ce::ShardIndex origin, std::vector<ce::StoreReply> replies) {
        LoopShard& shard = *shards_.at(origin);
        boost::asio::post(shard.loop().io(), [&shard, replies = std::move(replies)]() mutable {
          std::vector<ce::Input> batch;
          batch.reserve(replies.size());
          for (ce::StoreReply& reply : replies) batch.push_back(ce::StoreDone{std::move(reply)});
          shard.inputs(batch);
        });
      },
      options_.store_lanes);
}

void EngineHandler::on_loops_closing() {
  store_.drain();
}

LoopShard& EngineHandler::shard_of(WsSession& session) {
  return *shards_[session.loop().index()];
}

void EngineHandler::on_open(WsSession& session) {
  LoopShard& shard = shard_of(session);
  const ce::ConnectionId id = shard.open(session);
  session.set_context(std::make_unique<EngineSession>(id));
  if (metrics_ != nullptr) metrics_->connection_opened();
  ce::ConnectionOpened opened;
  opened.connection = id;
  opened.public_id = session.id();
  opened.remote_address = session.info().remote_address;
  opened.user_agent = session.upgrade().user_agent;
  // Batch mode (docs/PROTOCOL.md "Batching"): ?batch=1 on the upgrade URL.
  if (auto batch = query_param(split_target(session.upgrade().target).query, "batch");
      batch && (*batch == "1" || *batch == "true")) {
    opened.batch = true;
    session.set_batching(true);
  }
  if (auto token = upgrade_token(session.upgrade().authorization, session.upgrade().target)) {
    auto claims = verifier_.verify(*token, wall_now());
    if (!claims) {
      // Checked at the upgrade already; it can only have expired since.
      session.send_text(protocols::native::encode(
          ce::Event{ce::error({}, claims.error().code, claims.error().message)}));
      session.close(core::ws::close_code::kAuthFailed, claims.error().message);
    } else {
      opened.claims = std::move(*claims);
    }
  }
  shard.input(std::move(opened));
}

void EngineHandler::on_text(WsSession& session, std::string text) {
  LoopShard& shard = shard_of(session);
  const ce::ConnectionId id = id_of(session);
  if (stats_feed_ != nullptr) {
    const auto& connections = shard.shard().connections();
    if (stats_feed_->intercept(session, text, connections.is_authenticated(id),
                               connections.is_admin(id))) {
      return;  // a console stats request (server/stats_feed.hpp)
    }
  }
  // The native wire adapter: the frame as typed requests.
  shard.input(ce::ClientFrame{id, core::protocol::parse_frame(text)});
}

void EngineHandler::on_loop_tick(Loop& loop, std::chrono::steady_clock::time_point /*now*/) {
  if (loop.index() < shards_.size()) shards_[loop.index()]->input(ce::Tick{});
}

void EngineHandler::on_slow_consumer(WsSession& /*session*/) {
  if (metrics_ != nullptr) metrics_->slow_consumer();
}

void EngineHandler::on_closed(WsSession& session) {
  if (session.context() == nullptr) return;
  LoopShard& shard = shard_of(session);
  const ce::ConnectionId id = id_of(session);
  shard.forget(id);
  if (metrics_ != nullptr) metrics_->connection_closed();
  shard.input(ce::ConnectionClosed{id});
}

// ---- for LoopShard

void EngineHandler::to_shard(ce::ShardIndex from, ce::ShardIndex to, ce::ShardMessage message) {
  mailboxes_->send(from, to, std::move(message));
}

void EngineHandler::submit_store_jobs(LoopShard& origin, std::vector<ce::StoreJob>& jobs) {
  for (ce::StoreReply& refused : lanes_->submit(jobs)) {
    origin.input(ce::StoreDone{std::move(refused)});
  }
}

// ---- admin operations

void EngineHandler::on_every_loop(const std::function<void(LoopShard&)>& work) const {
  std::vector<std::future<void>> waits;
  for (const auto& shard : shards_) {
    if (shard->loop().on_this_thread()) {
      work(*shard);
      continue;
    }
    auto done = std::make_shared<std::promise<void>>();
    waits.push_back(done->get_future());
    boost::asio::post(shard->loop().io(), [&work, &shard = *shard, done] {
      work(shard);
      done->set_value();
    });
  }
  for (auto& wait : waits) wait.wait();
}

std::vector<RealtimeService::ConnectionInfo> EngineHandler::connections() const {
  std::mutex mutex;
  std::vector<ConnectionInfo> all;
  on_every_loop([&](LoopShard& shard) {
    std::vector<ConnectionInfo> here;
    const auto now = std::chrono::steady_clock::now();
    for (ce::ConnectionSummary& summary : shard.shard().connections().describe()) {
      WsSession* session = shard.session(summary.connection);
      if (session == nullptr) continue;
      ConnectionInfo info;
      info.id = std::move(summary.public_id);
      info.user_id = std::move(summary.user_id);
      info.authenticated = summary.authenticated;
      info.remote_address = std::move(summary.remote_address);
      info.connected_at = session->info().connected_at;
      info.idle_for = now - session->last_received();
      info.subscriptions = std::move(summary.subscriptions);
      here.push_back(std::move(info));
    }
    std::lock_guard lock(mutex);
    for (auto& info : here) all.push_back(std::move(info));
  });
  return all;
}

std::optional<RealtimeService::ConnectionInfo> EngineHandler::disconnect(const std::string& id) {
  std::optional<ConnectionInfo> found;
  for (ConnectionInfo& info : connections()) {
    if (info.id == id) found = std::move(info);
  }
  if (!found) return std::nullopt;
  on_every_loop([&](LoopShard& shard) {
    for (const auto& [connection, session] : shard.sessions()) {
      if (session->id() == id) {
        shard.input(ce::AdminDisconnect{connection});
        return;
      }
    }
  });
  return found;
}

void EngineHandler::publish(const PublishTarget& channel, std::string user_id,
                            std::string content_json, boost::asio::any_io_executor executor,
                            std::function<void(Result<store::StoredMessage>)> done) {
  ce::AdminPublish input;
  input.channel.id = channel.channel_id;
  input.channel.slug = channel.slug;
  input.channel.type = channel.type;
  input.channel.persistent = channel.persistent;
  input.user_id = std::move(user_id);
  input.content_json = std::move(content_json);
  LoopShard& owner =
      *shards_[ce::shard_of_key(channel.channel_id, static_cast<ce::ShardIndex>(shards_.size()))];
  boost::asio::post(owner.loop().io(), [&owner, input = std::move(input), executor,
                                        done = std::move(done)]() mutable {
    input.request_id = owner.await_admin([executor, done](ce::AdminDone& answer) {
      Result<store::StoredMessage> result = Error{"internal", "no answer"};
      if (answer.failure) {
        result = Error{*answer.failure, *answer.failure == "overloaded"
                                            ? "too many messages are waiting to be stored"
                                            : "the database is unavailable; retry later"};
      } else if (answer.message) {
        store::StoredMessage message;
        message.id = answer.message->id;
        message.channel_id = answer.message->channel_id;
        message.seq = answer.message->seq;
        message.user_id = answer.message->user_id;
        message.content = answer.message->content_json;
        message.sent_at = answer.message->created_at;
        result = std::move(message);
      }
      boost::asio::post(executor,
                        [done, result = std::move(result)]() mutable { done(std::move(result)); });
    });
    owner.input(std::move(input));
  });
}

std::size_t EngineHandler::notify_channel_deleted(const std::string& channel_id,
                                                  const std::string& slug) {
  std::atomic<std::size_t> told{0};
  on_every_loop([&](LoopShard& shard) {
    told += shard.shard().connections().local_subscribers(channel_id).size();
    shard.input(ce::AdminChannelDeleted{channel_id, slug});
  });
  return told;
}

std::size_t EngineHandler::revoke_member(const std::string& channel_id,
                                         const std::string& user_id) {
  std::atomic<std::size_t> told{0};
  on_every_loop([&](LoopShard& shard) {
    const std::uint64_t before = shard.sends();
    shard.input(ce::AdminMemberRevoked{channel_id, user_id});
    told += shard.sends() - before;
  });
  return told;
}

void EngineHandler::member_changed(const std::string& channel_id, const std::string& user_id) {
  on_every_loop([&](LoopShard& shard) {
    shard.input(ce::AdminMemberChanged{channel_id, user_id});
  });
}

void EngineHandler::notify_channel_archived(const std::string& channel_id) {
  on_every_loop([&](LoopShard& shard) { shard.input(ce::AdminChannelArchived{channel_id}); });
}

std::size_t EngineHandler::deliver_broadcast(const store::Broadcast& broadcast,
                                             std::optional<std::string_view> channel_slug) {
  std::atomic<std::size_t> reached{0};
  const ce::BroadcastEvent event = broadcast_event(broadcast, channel_slug);
  on_every_loop([&](LoopShard& shard) {
    const auto& connections = shard.shard().connections();
    reached += broadcast.channel_id ? connections.local_subscribers(*broadcast.channel_id).size()
                                    : connections.authenticated();
    shard.input(ce::AdminBroadcast{event, broadcast.channel_id});
  });
  return reached;
}

void EngineHandler::set_announcements(std::vector<store::Broadcast> announcements) {
  std::vector<ce::BroadcastEvent> events;
  for (const store::Broadcast& broadcast : announcements) {
    if (!broadcast.channel_id) events.push_back(broadcast_event(broadcast, std::nullopt));
  }
  for (const auto& shard : shards_) {
    boost::asio::post(shard->loop().io(),
                      [&shard = *shard, events] { shard.input(ce::AdminAnnouncements{events}); });
  }
}

}  // namespace nself::server::engine
