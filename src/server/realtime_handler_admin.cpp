// RealtimeHandler's admin operations (see the block in realtime_handler.hpp),
// used by the HTTP API. Any thread: each takes the handler's lock.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "core/protocol/events.hpp"
#include "core/ws/frame_codec.hpp"
#include "server/loop.hpp"
#include "server/realtime_handler.hpp"
#include "server/ws_session.hpp"
#include "store/uuid.hpp"

namespace nself::server {

namespace {

// Closed by an administrator (DELETE /api/connections/{id}); docs/PROTOCOL.md.
constexpr std::uint16_t kClosedByAdmin = 4000;

store::Timestamp now_ms() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

}  // namespace

std::vector<RealtimeHandler::ConnectionInfo> RealtimeHandler::connections() const {
  std::lock_guard lock(mutex_);
  std::vector<ConnectionInfo> infos;
  infos.reserve(sessions_.size());
  for (const WsSession* session : sessions_) infos.push_back(describe(*session));
  return infos;
}

std::optional<RealtimeHandler::ConnectionInfo> RealtimeHandler::disconnect(const std::string& id) {
  std::lock_guard lock(mutex_);
  for (WsSession* session : sessions_) {
    if (session->id() != id) continue;
    // The session belongs to its loop: close it there.
    boost::asio::post(session->executor(),
                      [weak = std::weak_ptr<WsSession>(session->shared_from_this())] {
                        if (auto target = weak.lock())
                          target->close(kClosedByAdmin, "disconnected by an administrator");
                      });
    return describe(*session);
  }
  return std::nullopt;
}

void RealtimeHandler::publish(const PublishTarget& channel, std::string user_id,
                              std::string content_json, boost::asio::any_io_executor executor,
                              std::function<void(Result<store::StoredMessage>)> done) {
  // ---- content filters: matches are redacted before storing and delivering
  if (auto redacted = options_.content_filter.redact_json(content_json)) {
    content_json = std::move(*redacted);
  }
  const auto started = std::chrono::steady_clock::now();
  const std::string type(core::to_string(channel.type));
  if (metrics_ != nullptr) metrics_->message_in(type);
  std::unique_lock lock(mutex_);
  if (!channel.persistent && cluster_ != nullptr) {
    // ---- cluster mode: the seq comes from Redis; `done` after the local fan-out.
    next_ephemeral_seq(
        channel.channel_id, [this, channel, type, started, executor, user_id = std::move(user_id),
                             content = std::move(content_json),
                             done = std::move(done)](std::int64_t seq, bool shared) mutable {
          store::StoredMessage message;
          message.id = store::new_uuid();
          message.channel_id = channel.channel_id;
          message.seq = seq;
          message.user_id = std::move(user_id);
          message.content = std::move(content);
          message.message_type = "text";
          message.metadata = "{}";
          message.sent_at = now_ms();
          std::string event = core::protocol::message_event(
              core::protocol::MessageView{channel.slug, message.id, message.seq, message.user_id,
                                          message.content, message.sent_at});
          if (shared) cluster_publish("ephemeral", channel.channel_id, seq, event);
          deliver_sequenced(channel.channel_id, seq, std::move(event));
          if (metrics_ != nullptr) {
            metrics_->message_out(type);
            metrics_->observe_delivery(std::chrono::steady_clock::now() - started);
          }
          boost::asio::post(executor,
                            [done = std::move(done), message = std::move(message)]() mutable {
                              done(std::move(message));
                            });
        });
    return;
  }
  if (!channel.persistent) {
    store::StoredMessage message;
    message.id = store::new_uuid();
    message.channel_id = channel.channel_id;
    message.seq = ++ephemeral_seq_[channel.channel_id];
    message.user_id = std::move(user_id);
    message.content = std::move(content_json);
    message.message_type = "text";
    message.metadata = "{}";
    message.sent_at = now_ms();
    fan_out(channel.channel_id, core::protocol::message_event(core::protocol::MessageView{
                                    channel.slug, message.id, message.seq, message.user_id,
                                    message.content, message.sent_at}));
    if (metrics_ != nullptr) {
      metrics_->message_out(type);
      metrics_->observe_delivery(std::chrono::steady_clock::now() - started);
    }
    boost::asio::post(executor, [done = std::move(done), message = std::move(message)]() mutable {
      done(std::move(message));
    });
    return;
  }
  store::NewMessage message;
  message.channel_id = channel.channel_id;
  message.user_id = std::move(user_id);
  message.content = std::move(content_json);
  // The completion runs on the loop (the handler's thread); `done` is then posted to `executor`.
  store_.append(
      std::move(message), executor,
      [this, slug = channel.slug, type, started,
       done = std::move(done)](Result<store::StoredMessage> stored) mutable {
        if (!stored) return done(stored.error());  // unavailable or overloaded
        {
          std::lock_guard lock(mutex_);
          std::string event = core::protocol::message_event(core::protocol::MessageView{
              slug, stored->id, stored->seq, stored->user_id, stored->content, stored->sent_at});
          if (cluster_ == nullptr) {
            fan_out(stored->channel_id, event);
          } else {
            cluster_publish("message", stored->channel_id, stored->seq, event);
            deliver_sequenced(stored->channel_id, stored->seq, std::move(event));
          }
          if (metrics_ != nullptr) {
            metrics_->message_out(type);
            metrics_->observe_delivery(std::chrono::steady_clock::now() - started);
          }
        }
        done(std::move(*stored));
      });
}

std::size_t RealtimeHandler::notify_channel_deleted(const std::string& channel_id,
                                                    const std::string& slug) {
  std::lock_guard lock(mutex_);
  const std::size_t told = subscribers_of(channel_id);
  fan_out(channel_id, core::protocol::channel_deleted_event(slug));
  cluster_publish("channel_deleted", channel_id, 0, core::protocol::channel_deleted_event(slug));
  drop_channel_subscribers(channel_id);
  ephemeral_seq_.erase(channel_id);
  if (told > 0) spdlog::info("channel {} deleted: told {} subscribers", slug, told);
  return told;
}

void RealtimeHandler::audit_auth_failure(std::string actor, std::string_view code) {
  const auto now = std::chrono::steady_clock::now();
  if (now - auth_audit_window_ >= std::chrono::seconds(1)) {
    auth_audit_window_ = now;
    auth_audits_in_window_ = 0;
  }
  if (++auth_audits_in_window_ > kMaxAuthAuditsPerSecond) return;
  store::AuditEntry entry;
  entry.at = now_ms();
  entry.actor = std::move(actor);
  entry.action = "auth.failed";
  entry.details = boost::json::serialize(boost::json::object{{"code", code}, {"via", "websocket"}});
  store_.submit([entry = std::move(entry)](store::Store* store) {
    if (store == nullptr) return;
    try {
      store->append_audit(entry);
    } catch (const store::StoreError& error) {
      spdlog::warn("audit log: {}", error.what());
    }
  });
}

void RealtimeHandler::notify_channel_archived(const std::string& channel_id) {
  std::lock_guard lock(mutex_);
  archived_channels_.insert(channel_id);
  cluster_publish("archived", channel_id, 0, "");
}

}  // namespace nself::server
