#include "server/realtime_handler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/beast/core/string.hpp>

#include "core/protocol/events.hpp"
#include "core/ws/frame_codec.hpp"
#include "server/ws_session.hpp"
#include "store/uuid.hpp"

namespace nself::server {

namespace protocol = core::protocol;
namespace ws = core::ws;
using core::auth::Claims;

namespace {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

Timestamp now_ms() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// The token offered on the upgrade request: "Authorization: Bearer X", else ?token=X.
std::optional<std::string> upgrade_token(std::string_view authorization, std::string_view target) {
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() > kBearer.size() &&
      boost::beast::iequals(authorization.substr(0, kBearer.size()), kBearer)) {
    return std::string(authorization.substr(kBearer.size()));
  }
  return query_param(split_target(target).query, "token");
}

// Worker thread: the channel named by a client (slug or UUID) if this user may
// use it. Errors: not_found (none, or archived), forbidden (private, not a member).
Result<store::Channel> resolve_channel(store::Store& store, const std::string& name,
                                       const std::string& user_id, bool is_admin) {
  std::optional<store::Channel> channel = store.find_channel(name);
  if (!channel || channel->archived_at) {
    return Error{"not_found", "no channel \"" + name + "\""};
  }
  if (channel->type == core::ChannelType::kPrivate && !is_admin &&
      !store.find_member(channel->id, user_id)) {
    return Error{"forbidden", "not a member of private channel \"" + channel->slug + "\""};
  }
  return std::move(*channel);
}

protocol::MessageView view_of(const store::StoredMessage& message, std::string_view slug) {
  return protocol::MessageView{
      slug, message.id, message.seq, message.user_id, message.content, message.sent_at};
}

Error unavailable_error() {
  return Error{"unavailable", "the database is unavailable; retry later"};
}

}  // namespace

// Per-connection protocol state, owned by the session.
struct RealtimeHandler::Client : SessionContext {
  bool authenticated = false;
  bool recorded = false;  // realtime.connections has a row for it
  Claims claims;
  std::chrono::steady_clock::time_point auth_deadline;
  std::unordered_map<std::string, ChannelRef> subscriptions;  // channel id -> channel
  // Lookup of subscriptions by the name the client uses (slug or id).
  const ChannelRef* find(const std::string& name) const {
    auto by_id = subscriptions.find(name);
    if (by_id != subscriptions.end()) return &by_id->second;
    for (const auto& [id, channel] : subscriptions) {
      if (channel.slug == name) return &channel;
    }
    return nullptr;
  }
};

RealtimeHandler::RealtimeHandler(const core::auth::JwtVerifier& verifier, StoreWorker& store,
                                 RealtimeOptions options)
    : verifier_(verifier), store_(store), options_(std::move(options)) {}

std::optional<HttpResponse> RealtimeHandler::check_upgrade(const HttpRequest& request) {
  auto token = upgrade_token(request[http::field::authorization], request.target());
  if (!token) return std::nullopt;  // must authenticate with a first message
  auto claims = verifier_.verify(*token, now_ms());
  if (claims) return std::nullopt;
  if (metrics_ != nullptr) metrics_->auth_failure();
  audit_auth_failure("websocket", claims.error().code);
  HttpResponse response = error_response(http::status::unauthorized, claims.error().code,
                                         claims.error().message, &request);
  response.set(http::field::www_authenticate, "Bearer");
  return response;
}

void RealtimeHandler::on_open(WsSession& session) {
  if (metrics_ != nullptr) metrics_->connection_opened();
  auto client = std::make_unique<Client>();
  client->auth_deadline = std::chrono::steady_clock::now() + options_.auth_timeout;
  Client& state = *client;
  session.set_context(std::move(client));
  auto token = upgrade_token(session.info().authorization, session.info().target);
  if (!token) return;
  auto claims = verifier_.verify(*token, now_ms());
  if (!claims) {
    // Checked at the upgrade already; it can only have expired since.
    session.send_text(protocol::error_event({}, claims.error()));
    session.close(ws::close_code::kAuthFailed, claims.error().message);
    return;
  }
  authenticate(session, state, {}, std::move(*claims));
}

void RealtimeHandler::on_text(WsSession& session, std::string text) {
  auto* client = static_cast<Client*>(session.context());
  protocol::ParsedFrame frame = protocol::parse_frame(text);
  for (auto& outcome : frame.outcomes) {
    if (!session.is_open()) return;
    if (!outcome.request) {
      if (metrics_ != nullptr) metrics_->error(outcome.request.error().code);
      session.send_text(protocol::error_event(outcome.ref, outcome.request.error()));
      continue;
    }
    dispatch(session, *client, outcome.ref, outcome.request.value());
  }
}

void RealtimeHandler::dispatch(WsSession& session, Client& client, const protocol::Ref& ref,
                               protocol::Request& request) {
  if (auto* auth = std::get_if<protocol::AuthRequest>(&request)) {
    handle_auth(session, client, ref, *auth);
    return;
  }
  if (!client.authenticated) {
    session.send_text(
        protocol::error_event(ref, "unauthenticated", "authenticate first (an auth message)"));
    return;
  }
  std::visit(
      [&](auto& typed) {
        using T = std::decay_t<decltype(typed)>;
        if constexpr (std::is_same_v<T, protocol::SubscribeRequest>) {
          handle_subscribe(session, client, ref, typed);
        } else if constexpr (std::is_same_v<T, protocol::UnsubscribeRequest>) {
          handle_unsubscribe(session, client, ref, typed);
        } else if constexpr (std::is_same_v<T, protocol::MessageRequest>) {
          handle_message(session, client, ref, typed);
        } else if constexpr (std::is_same_v<T, protocol::HistoryRequest>) {
          handle_history(session, client, ref, typed);
        } else if constexpr (std::is_same_v<T, protocol::TypingRequest>) {
          handle_typing(session, client, typed);
        } else if constexpr (std::is_same_v<T, protocol::PingRequest>) {
          session.send_text(protocol::pong_event(ref));
        } else if constexpr (std::is_same_v<T, protocol::AuthRequest>) {
          // handled above
        } else {
          session.send_text(protocol::error_event(
              ref, "internal",
              std::string(protocol::type_name(request)) + " is not supported yet"));
        }
      },
      request);
}

void RealtimeHandler::handle_auth(WsSession& session, Client& client, const protocol::Ref& ref,
                                  const protocol::AuthRequest& request) {
  auto claims = verifier_.verify(request.token, now_ms());
  if (!claims) {
    if (metrics_ != nullptr) {
      metrics_->auth_failure();
      metrics_->error(claims.error().code);
    }
    audit_auth_failure(session.info().remote_address, claims.error().code);
    session.send_text(protocol::error_event(ref, claims.error()));
    // A refresh with a bad token leaves the connection on its old token.
    if (!client.authenticated) session.close(ws::close_code::kAuthFailed, claims.error().message);
    return;
  }
  if (client.authenticated) {
    if (claims->user_id != client.claims.user_id) {
      session.send_text(
          protocol::error_event(ref, "invalid_token", "a refreshed token must name the same user"));
      return;
    }
    client.claims = std::move(*claims);
    session.send_text(protocol::auth_ok_event(ref, client.claims.user_id, session.id(),
                                              client.claims.expires_at));
    return;
  }
  authenticate(session, client, ref, std::move(*claims));
}

void RealtimeHandler::authenticate(WsSession& session, Client& client, const protocol::Ref& ref,
                                   Claims claims) {
  client.authenticated = true;
  client.claims = std::move(claims);
  client.recorded = true;
  store::ConnectionRecord record;
  record.connection_id = session.id();
  record.user_id = client.claims.user_id;
  record.client_ip = session.info().remote_address;
  record.user_agent = session.info().user_agent;
  record.node_id = options_.node_id;
  record.connected_at =
      std::chrono::time_point_cast<std::chrono::milliseconds>(session.info().connected_at);
  record.last_seen_at = now_ms();
  store_.submit([record = std::move(record)](store::Store* store) {
    if (store) store->record_connection(record);
  });
  session.send_text(
      protocol::auth_ok_event(ref, client.claims.user_id, session.id(), client.claims.expires_at));
}

void RealtimeHandler::handle_subscribe(WsSession& session, Client& client, const protocol::Ref& ref,
                                       const protocol::SubscribeRequest& request) {
  struct Outcome {
    Result<store::Channel> channel = Error{};
    std::vector<store::StoredMessage> messages;
    bool replay = false;
    bool has_more = false;
  };
  std::weak_ptr<WsSession> weak = session.shared_from_this();
  auto executor = session.executor();
  store_.submit([this, weak, executor, ref, request, connection_id = session.id(),
                 user_id = client.claims.user_id,
                 is_admin = client.claims.is_admin](store::Store* store) {
    auto outcome = std::make_shared<Outcome>();
    if (store == nullptr) {
      outcome->channel = unavailable_error();
    } else {
      try {
        outcome->channel = resolve_channel(*store, request.channel, user_id, is_admin);
        if (outcome->channel) {
          const store::Channel& channel = outcome->channel.value();
          if (request.history) {
            outcome->replay = true;
            outcome->messages =
                store->history(channel.id, std::nullopt, static_cast<int>(*request.history) + 1);
            if (outcome->messages.size() > static_cast<std::size_t>(*request.history)) {
              outcome->has_more = true;
              outcome->messages.erase(outcome->messages.begin());
            }
          } else if (request.since) {
            outcome->replay = true;
            outcome->messages = store->messages_since(channel.id, *request.since,
                                                      static_cast<int>(protocol::kMaxHistory) + 1);
            if (outcome->messages.size() > static_cast<std::size_t>(protocol::kMaxHistory)) {
              outcome->has_more = true;
              outcome->messages.pop_back();
            }
          }
          store->add_subscription(connection_id, channel.id, user_id, now_ms());
        }
      } catch (const store::StoreError& error) {
        spdlog::error("subscribe: {}", error.what());
        outcome->channel = unavailable_error();
      }
    }
    boost::asio::post(executor, [this, weak, ref, outcome] {
      auto session = weak.lock();
      if (!session || !session->is_open()) return;
      auto* client = static_cast<Client*>(session->context());
      if (!outcome->channel) {
        session->send_text(protocol::error_event(ref, outcome->channel.error()));
        return;
      }
      const store::Channel& channel = outcome->channel.value();
      ChannelRef info{channel.id, channel.slug, channel.type, channel.is_persistent,
                      channel.last_seq};
      std::int64_t seq = channel.is_persistent ? channel.last_seq : ephemeral_seq_[channel.id];
      client->subscriptions[channel.id] = info;
      hub_[channel.id].insert(session.get());
      session->send_text(protocol::subscribed_event(ref, channel.slug, seq));
      if (outcome->replay) {
        std::vector<protocol::MessageView> views;
        views.reserve(outcome->messages.size());
        for (const auto& message : outcome->messages)
          views.push_back(view_of(message, channel.slug));
        session->send_text(protocol::history_event(ref, channel.slug, views, outcome->has_more));
      }
    });
  });
}

void RealtimeHandler::handle_unsubscribe(WsSession& session, Client& client,
                                         const protocol::Ref& ref,
                                         const protocol::UnsubscribeRequest& request) {
  if (const ChannelRef* channel = client.find(request.channel)) {
    std::string id = channel->id;
    std::string slug = channel->slug;
    remove_from_hub(session, id);
    client.subscriptions.erase(id);
    store_.submit([connection_id = session.id(), id](store::Store* store) {
      if (store) store->remove_subscription(connection_id, id);
    });
    session.send_text(protocol::unsubscribed_event(ref, slug));
    return;
  }
  // Not subscribed is not an error.
  session.send_text(protocol::unsubscribed_event(ref, request.channel));
}

void RealtimeHandler::handle_message(WsSession& session, Client& client, const protocol::Ref& ref,
                                     protocol::MessageRequest& request) {
  if (const ChannelRef* channel = client.find(request.channel)) {
    // Subscribed: access was checked when subscribing.
    send_message(session, client, ref, *channel, std::move(request.content_json));
    return;
  }
  std::weak_ptr<WsSession> weak = session.shared_from_this();
  auto executor = session.executor();
  store_.submit([this, weak, executor, ref, name = request.channel,
                 content = std::move(request.content_json), user_id = client.claims.user_id,
                 is_admin = client.claims.is_admin](store::Store* store) mutable {
    auto resolved = std::make_shared<Result<store::Channel>>(unavailable_error());
    if (store != nullptr) {
      try {
        *resolved = resolve_channel(*store, name, user_id, is_admin);
      } catch (const store::StoreError& error) {
        spdlog::error("message: {}", error.what());
      }
    }
    boost::asio::post(executor,
                      [this, weak, ref, resolved, content = std::move(content)]() mutable {
                        auto session = weak.lock();
                        if (!session || !session->is_open()) return;
                        if (!*resolved) {
                          session->send_text(protocol::error_event(ref, resolved->error()));
                          return;
                        }
                        const store::Channel& channel = resolved->value();
                        ChannelRef info{channel.id, channel.slug, channel.type,
                                        channel.is_persistent, channel.last_seq};
                        send_message(*session, *static_cast<Client*>(session->context()), ref, info,
                                     std::move(content));
                      });
  });
}

void RealtimeHandler::send_message(WsSession& session, Client& client, const protocol::Ref& ref,
                                   const ChannelRef& channel, std::string content_json) {
  if (is_archived(channel.id)) {
    session.send_text(protocol::error_event(
        ref, "forbidden", "channel \"" + channel.slug + "\" is archived (read-only)"));
    return;
  }
  const auto started = std::chrono::steady_clock::now();
  if (metrics_ != nullptr) metrics_->message_in(core::to_string(channel.type));
  if (!channel.persistent) {
    std::int64_t seq = ++ephemeral_seq_[channel.id];
    std::string id = store::new_uuid();
    protocol::MessageView view{channel.slug,          id,           seq,
                               client.claims.user_id, content_json, now_ms()};
    fan_out(channel.id, protocol::message_event(view));
    if (metrics_ != nullptr) {
      metrics_->message_out(core::to_string(channel.type));
      metrics_->observe_delivery(std::chrono::steady_clock::now() - started);
    }
    session.send_text(protocol::ack_event(ref, id, channel.slug, seq));
    return;
  }
  store::NewMessage message;
  message.channel_id = channel.id;
  message.user_id = client.claims.user_id;
  message.content = std::move(content_json);
  std::weak_ptr<WsSession> weak = session.shared_from_this();
  store_.append(std::move(message), session.executor(),
                [this, weak, ref, slug = channel.slug, type = channel.type,
                 started](std::optional<store::StoredMessage> stored) {
                  if (!stored) {
                    if (metrics_ != nullptr) metrics_->error("unavailable");
                    if (auto session = weak.lock(); session && session->is_open()) {
                      session->send_text(protocol::error_event(ref, unavailable_error()));
                    }
                    return;
                  }
                  // Committed: deliver to every subscriber, then ack the sender.
                  fan_out(stored->channel_id, protocol::message_event(view_of(*stored, slug)));
                  if (metrics_ != nullptr) {
                    metrics_->message_out(core::to_string(type));
                    metrics_->observe_delivery(std::chrono::steady_clock::now() - started);
                  }
                  if (auto session = weak.lock(); session && session->is_open()) {
                    session->send_text(protocol::ack_event(ref, stored->id, slug, stored->seq));
                  }
                });
}

void RealtimeHandler::handle_history(WsSession& session, Client& client, const protocol::Ref& ref,
                                     const protocol::HistoryRequest& request) {
  struct Outcome {
    Result<store::Channel> channel = Error{};
    std::vector<store::StoredMessage> messages;
    bool has_more = false;
  };
  std::weak_ptr<WsSession> weak = session.shared_from_this();
  auto executor = session.executor();
  store_.submit([weak, executor, ref, request, user_id = client.claims.user_id,
                 is_admin = client.claims.is_admin](store::Store* store) {
    auto outcome = std::make_shared<Outcome>();
    if (store == nullptr) {
      outcome->channel = unavailable_error();
    } else {
      try {
        outcome->channel = resolve_channel(*store, request.channel, user_id, is_admin);
        if (outcome->channel) {
          outcome->messages = store->history(outcome->channel.value().id, request.before,
                                             static_cast<int>(request.limit) + 1);
          if (outcome->messages.size() > static_cast<std::size_t>(request.limit)) {
            outcome->has_more = true;
            outcome->messages.erase(outcome->messages.begin());
          }
        }
      } catch (const store::StoreError& error) {
        spdlog::error("history: {}", error.what());
        outcome->channel = unavailable_error();
      }
    }
    boost::asio::post(executor, [weak, ref, outcome] {
      auto session = weak.lock();
      if (!session || !session->is_open()) return;
      if (!outcome->channel) {
        session->send_text(protocol::error_event(ref, outcome->channel.error()));
        return;
      }
      const std::string& slug = outcome->channel.value().slug;
      std::vector<protocol::MessageView> views;
      views.reserve(outcome->messages.size());
      for (const auto& message : outcome->messages) views.push_back(view_of(message, slug));
      session->send_text(protocol::history_event(ref, slug, views, outcome->has_more));
    });
  });
}

void RealtimeHandler::handle_typing(WsSession& session, Client& client,
                                    const protocol::TypingRequest& request) {
  const ChannelRef* channel = client.find(request.channel);
  if (channel == nullptr) {
    session.send_text(protocol::error_event(
        {}, "forbidden", "subscribe to \"" + request.channel + "\" before sending typing"));
    return;
  }
  const std::string& user_id = client.claims.user_id;
  std::string key = channel->id + '\n' + user_id;
  if (request.typing) {
    typing_[key] = Typing{channel->id, channel->slug, user_id,
                          std::chrono::steady_clock::now() + options_.typing_timeout};
  } else {
    typing_.erase(key);
  }
  fan_out(channel->id, protocol::typing_event(channel->slug, user_id, request.typing), &user_id);
}

void RealtimeHandler::fan_out(const std::string& channel_id, std::string_view event,
                              const std::string* skip_user) {
  auto found = hub_.find(channel_id);
  if (found == hub_.end()) return;
  // Framed once; every queue shares the same bytes.
  const auto started = std::chrono::steady_clock::now();
  auto frame = std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, event));
  std::uint64_t delivered = 0;
  for (WsSession* subscriber : found->second) {
    if (skip_user != nullptr &&
        static_cast<Client*>(subscriber->context())->claims.user_id == *skip_user) {
      continue;
    }
    subscriber->send_frame(frame);
    ++delivered;
  }
  if (metrics_ != nullptr) metrics_->deliveries(delivered);
  const auto took = std::chrono::steady_clock::now() - started;
  if (took > options_.slow_fan_out) {
    spdlog::warn("slow fan-out: {} subscribers of channel {} in {} ms (threshold {} ms)", delivered,
                 channel_id, std::chrono::duration_cast<std::chrono::milliseconds>(took).count(),
                 options_.slow_fan_out.count());
  }
}

void RealtimeHandler::remove_from_hub(WsSession& session, const std::string& channel_id) {
  auto found = hub_.find(channel_id);
  if (found == hub_.end()) return;
  found->second.erase(&session);
  // Empty channels are dropped so that many short-lived channels cost nothing.
  if (found->second.empty()) hub_.erase(found);
}

void RealtimeHandler::on_tick(WsSession& session, std::chrono::steady_clock::time_point now) {
  if (now != last_tick_) {  // once per sweep, not once per session
    last_tick_ = now;
    expire_typing(now);
    start_heartbeat_sweep(now);
  }
  auto* client = static_cast<Client*>(session.context());
  if (!client->authenticated) {
    if (now >= client->auth_deadline) {
      session.send_text(protocol::error_event({}, "invalid_token", "authentication timed out"));
      session.close(ws::close_code::kAuthFailed, "authentication timeout");
    }
    return;
  }
  if (client->claims.expires_at && *client->claims.expires_at <= now_ms()) {
    session.send_text(protocol::error_event({}, "token_expired", "the token has expired"));
    session.close(ws::close_code::kAuthFailed, "token expired");
    return;
  }
  if (collecting_heartbeat_) heartbeat_ids_.push_back(session.id());
}

void RealtimeHandler::start_heartbeat_sweep(std::chrono::steady_clock::time_point now) {
  if (!heartbeat_ids_.empty()) {
    store_.submit([ids = std::move(heartbeat_ids_), at = now_ms()](store::Store* store) {
      if (store) store->touch_connections(ids, at);
    });
    heartbeat_ids_.clear();
  }
  collecting_heartbeat_ = now - last_heartbeat_ >= options_.heartbeat_interval;
  if (collecting_heartbeat_) last_heartbeat_ = now;
}

void RealtimeHandler::expire_typing(std::chrono::steady_clock::time_point now) {
  for (auto it = typing_.begin(); it != typing_.end();) {
    if (it->second.expires <= now) {
      Typing typing = std::move(it->second);
      it = typing_.erase(it);
      fan_out(typing.channel_id, protocol::typing_event(typing.slug, typing.user_id, false),
              &typing.user_id);
    } else {
      ++it;
    }
  }
}

void RealtimeHandler::on_closed(WsSession& session) {
  auto* client = static_cast<Client*>(session.context());
  if (client == nullptr) return;
  if (metrics_ != nullptr) metrics_->connection_closed();
  for (const auto& [id, channel] : client->subscriptions) remove_from_hub(session, id);
  client->subscriptions.clear();
  if (client->recorded) {
    store_.submit([connection_id = session.id()](store::Store* store) {
      if (store) store->record_disconnect(connection_id, now_ms());
    });
  }
}

std::size_t RealtimeHandler::subscriber_count(const std::string& channel_id) const {
  auto found = hub_.find(channel_id);
  return found == hub_.end() ? 0 : found->second.size();
}

// ---- admin operations that need Client (the rest: realtime_handler_admin.cpp)

RealtimeHandler::ConnectionInfo RealtimeHandler::describe(const WsSession& session) const {
  ConnectionInfo info;
  info.id = session.id();
  info.remote_address = session.info().remote_address;
  info.connected_at = session.info().connected_at;
  info.idle_for = std::chrono::steady_clock::now() - session.last_received();
  if (const auto* client = static_cast<const Client*>(session.context())) {
    info.authenticated = client->authenticated;
    if (client->authenticated) info.user_id = client->claims.user_id;
    for (const auto& [id, channel] : client->subscriptions)
      info.subscriptions.push_back(channel.slug);
    std::sort(info.subscriptions.begin(), info.subscriptions.end());
  }
  return info;
}

void RealtimeHandler::drop_channel_subscribers(const std::string& channel_id) {
  auto found = hub_.find(channel_id);
  if (found != hub_.end()) {
    for (WsSession* session : found->second) {
      if (auto* client = static_cast<Client*>(session->context())) {
        client->subscriptions.erase(channel_id);
      }
    }
    hub_.erase(found);
  }
  for (auto it = typing_.begin(); it != typing_.end();) {
    it = it->second.channel_id == channel_id ? typing_.erase(it) : std::next(it);
  }
}

}  // namespace nself::server
