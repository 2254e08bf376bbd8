#include "server/realtime_handler.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "cluster/cluster.hpp"
#include "core/history_page.hpp"
#include "core/protocol/events.hpp"
#include "core/ws/frame_codec.hpp"
#include "server/loop.hpp"
#include "server/realtime_handler_client.hpp"
#include "server/stats_feed.hpp"
#include "server/upgrade_token.hpp"
#include "server/ws_session.hpp"
#include "store/history_reads.hpp"
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

// Worker thread: the channel named by a client (slug or UUID) if this user may
// use it. Errors: not_found (none), forbidden (private, not a member). An
// archived channel resolves: it can be read, and sending to it is refused.
Result<store::Channel> resolve_channel(store::Store& store, const std::string& name,
                                       const std::string& user_id, bool is_admin) {
  std::optional<store::Channel> channel = store.find_channel(name);
  if (!channel) {
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

// Worker thread: a history reply or replay cut to one page of `budget` bytes
// (core/history_page.hpp). True when more remain.
bool cut_to_page(store::MessagePage& page, std::size_t budget, core::PageKeeps keeps) {
  const bool cut =
      core::cut_to_page(page.messages, budget, keeps, [](const store::StoredMessage& message) {
        return core::estimated_message_bytes(message.id, message.user_id, message.content);
      });
  return page.has_more || cut;
}

// ---- presence, read state and limits: helpers

protocol::PresenceView presence_view(const core::PresenceMember& member) {
  std::optional<std::string_view> meta;
  if (member.meta_json) meta = *member.meta_json;
  return protocol::PresenceView{member.user_id, core::to_string(member.status), meta,
                                member.last_active};
}

store::PresenceRecord presence_record(const std::string& channel_id,
                                      const core::PresenceMember& member, Timestamp now) {
  store::PresenceRecord record;
  record.user_id = member.user_id;
  record.channel_id = channel_id;
  record.status = member.status == core::PresenceState::kAway ? store::PresenceStatus::kAway
                                                              : store::PresenceStatus::kOnline;
  record.metadata = member.meta_json.value_or("{}");
  record.updated_at = now;
  return record;
}

// Requests that reach other users count against the messages-per-second limit.
bool counts_against_rate(const protocol::Request& request) {
  return std::holds_alternative<protocol::MessageRequest>(request) ||
         std::holds_alternative<protocol::TypingRequest>(request) ||
         std::holds_alternative<protocol::PresenceRequest>(request);
}

}  // namespace

RealtimeHandler::RealtimeHandler(const core::auth::JwtVerifier& verifier, StoreWorker& store,
                                 RealtimeOptions options)
    : verifier_(verifier), store_(store), options_(std::move(options)) {}

std::optional<HttpResponse> RealtimeHandler::check_upgrade(const HttpRequest& request) {
  // ---- origin (REALTIME_ALLOWED_ORIGINS): a browser page that is not listed
  if (const auto origin = request.find(http::field::origin);
      origin != request.end() && !options_.allowed_origins.allows(origin->value())) {
    return error_response(http::status::forbidden, "origin_not_allowed",
                          "this origin may not connect (REALTIME_ALLOWED_ORIGINS)", &request);
  }
  auto token = upgrade_token(request[http::field::authorization], request.target());
  if (!token) return std::nullopt;  // must authenticate with a first message
  auto claims = verifier_.verify(*token, now_ms());
  if (claims) return std::nullopt;
  if (metrics_ != nullptr) metrics_->auth_failure();
  {
    std::lock_guard lock(mutex_);
    audit_auth_failure("websocket", claims.error().code);
  }
  HttpResponse response = error_response(http::status::unauthorized, claims.error().code,
                                         claims.error().message, &request);
  response.set(http::field::www_authenticate, "Bearer");
  return response;
}

void RealtimeHandler::on_loops(const std::vector<Loop*>& loops) {
  std::lock_guard lock(mutex_);
  loops_ = loops;
}

void RealtimeHandler::on_loops_closing() {
  store_.drain();
}

void RealtimeHandler::on_open(WsSession& session) {
  std::lock_guard lock(mutex_);
  sessions_.insert(&session);
  if (metrics_ != nullptr) metrics_->connection_opened();
  auto client = std::make_unique<Client>();
  client->auth_deadline = std::chrono::steady_clock::now() + options_.auth_timeout;
  client->flood = core::FloodGuard(options_.flood);
  Client& state = *client;
  if (!session.upgrade().user_agent.empty()) {
    state.user_agent = std::make_unique<std::string>(session.upgrade().user_agent);
  }
  session.set_context(std::move(client));
  // Batch mode (docs/PROTOCOL.md "Batching"): ?batch=1 on the upgrade URL.
  if (auto batch = query_param(split_target(session.upgrade().target).query, "batch");
      batch && (*batch == "1" || *batch == "true")) {
    session.set_batching(true);
  }
  auto token = upgrade_token(session.upgrade().authorization, session.upgrade().target);
  if (!token) return;
  auto claims = verifier_.verify(*token, now_ms());
  if (!claims) {
    // Checked at the upgrade already; it can only have expired since.
    session.send_text(error_frame({}, claims.error()));
    session.close(ws::close_code::kAuthFailed, claims.error().message);
    return;
  }
  authenticate(session, state, {}, std::move(*claims));
}

void RealtimeHandler::on_text(WsSession& session, std::string text) {
  std::lock_guard lock(mutex_);
  auto* client = static_cast<Client*>(session.context());
  if (stats_feed_ != nullptr &&
      stats_feed_->intercept(session, text, client->authenticated, client->claims.is_admin)) {
    return;  // a console stats request (server/stats_feed.hpp)
  }
  protocol::ParsedFrame frame = protocol::parse_frame(text);
  for (auto& outcome : frame.outcomes) {
    if (!session.is_open()) return;
    if (!outcome.request) {
      session.send_text(error_frame(outcome.ref, outcome.request.error()));
      continue;
    }
    dispatch(session, *client, outcome.ref, outcome.request.value());
  }
  // ---- presence: any client frame is activity
  if (client->authenticated && session.is_open()) note_activity(client->claims.user_id);
}

void RealtimeHandler::dispatch(WsSession& session, Client& client, const protocol::Ref& ref,
                               protocol::Request& request) {
  if (client.admitting) return hold_until_admitted(session, client, ref, std::move(request));
  if (auto* auth = std::get_if<protocol::AuthRequest>(&request)) {
    handle_auth(session, client, ref, *auth);
    return;
  }
  if (!client.authenticated) {
    session.send_text(error_frame(ref, "unauthenticated", "authenticate first (an auth message)"));
    return;
  }
  // ---- limits: messages per second
  if (counts_against_rate(request)) {
    // ---- cluster mode: the user's bucket in Redis is shared by every node;
    // the local one still turns floods away without asking Redis.
    if (cluster_ != nullptr) {
      const auto now = std::chrono::steady_clock::now();
      if (take_local_token(client, now)) {
        cluster_admit_request(session, ref, std::move(request));
      } else {
        rate_decided(session, client, ref, false, now);
      }
      return;
    }
    if (!admit_request(session, client, ref)) return;
  }
  handle_request(session, client, ref, request);
}

void RealtimeHandler::handle_request(WsSession& session, Client& client, const protocol::Ref& ref,
                                     protocol::Request& request) {
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
        } else if constexpr (std::is_same_v<T, protocol::PresenceRequest>) {
          handle_presence(session, client, ref, typed);
        } else if constexpr (std::is_same_v<T, protocol::ReadRequest>) {
          handle_read(session, client, ref, typed);
        } else if constexpr (std::is_same_v<T, protocol::PingRequest>) {
          session.send_text(protocol::pong_event(ref));
        } else if constexpr (std::is_same_v<T, protocol::AuthRequest>) {
          // handled above
        } else {
          session.send_text(
              error_frame(ref, "internal",
                          std::string(protocol::type_name(request)) + " is not supported yet"));
        }
      },
      request);
}

void RealtimeHandler::handle_auth(WsSession& session, Client& client, const protocol::Ref& ref,
                                  const protocol::AuthRequest& request) {
  if (request.batch) session.set_batching(true);
  auto claims = verifier_.verify(request.token, now_ms());
  if (!claims) {
    if (metrics_ != nullptr) {
      metrics_->auth_failure();
    }
    audit_auth_failure(session.info().remote_address, claims.error().code);
    session.send_text(error_frame(ref, claims.error()));
    // A refresh with a bad token leaves the connection on its old token.
    if (!client.authenticated) session.close(ws::close_code::kAuthFailed, claims.error().message);
    return;
  }
  if (client.authenticated) {
    if (claims->user_id != client.claims.user_id) {
      session.send_text(
          error_frame(ref, "invalid_token", "a refreshed token must name the same user"));
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
  // ---- limits: connections per user (cluster mode: auth_ok after Redis's count)
  if (!admit_connection(session, client, ref, claims.user_id)) return;
  client.claims = std::move(claims);
  if (cluster_ != nullptr) return cluster_admit_connection(session, client, ref);
  finish_authentication(session, client, ref);
}

void RealtimeHandler::finish_authentication(WsSession& session, Client& client,
                                            const protocol::Ref& ref) {
  client.authenticated = true;
  client.recorded = true;
  store::ConnectionRecord record;
  record.connection_id = session.id();
  record.user_id = client.claims.user_id;
  record.client_ip = session.info().remote_address;
  // Kept from the upgrade only until now (see on_open).
  if (client.user_agent) record.user_agent = std::move(*client.user_agent);
  client.user_agent.reset();
  record.node_id = options_.node_id;
  record.connected_at =
      std::chrono::time_point_cast<std::chrono::milliseconds>(session.info().connected_at);
  record.last_seen_at = now_ms();
  store_.submit([record = std::move(record)](store::Store* store) {
    if (store) store->record_connection(record);
  });
  session.send_text(
      protocol::auth_ok_event(ref, client.claims.user_id, session.id(), client.claims.expires_at));
  broadcasts_on_authenticated(session);
}

void RealtimeHandler::handle_subscribe(WsSession& session, Client& client, const protocol::Ref& ref,
                                       const protocol::SubscribeRequest& request) {
  // ---- limits: subscriptions per connection
  if (!admit_subscription(session, client, ref, request.channel)) return;
  ++client.pending_subscribes;
  read_for_subscribe(session.weak_from_this(), ref, request, session.id(), client.claims.user_id,
                     client.claims.is_admin, std::nullopt, 0);
}

void RealtimeHandler::read_for_subscribe(std::weak_ptr<WsSession> weak, const protocol::Ref& ref,
                                         const protocol::SubscribeRequest& request,
                                         std::string connection_id, std::string user_id,
                                         bool is_admin,
                                         std::optional<ClusterPresenceAnswer> cluster,
                                         int rereads) {
  store_.submit([this, weak = std::move(weak), control = control_executor(), ref, request,
                 connection_id = std::move(connection_id), user_id = std::move(user_id), is_admin,
                 cluster = std::move(cluster), rereads](store::Store* store) mutable {
    auto outcome = std::make_shared<SubscribeOutcome>();
    outcome->request = request;
    outcome->is_admin = is_admin;
    outcome->cluster = std::move(cluster);
    outcome->rereads = rereads;
    if (store == nullptr) {
      outcome->channel = unavailable_error();
    } else {
      try {
        outcome->channel = resolve_channel(*store, request.channel, user_id, is_admin);
        if (outcome->channel) {
          const store::Channel& channel = outcome->channel.value();
          if (request.history || request.since) {
            // One page bounded in bytes: `history` keeps the newest, `since`
            // the oldest (the client pages on with `after`).
            outcome->replay = true;
            store::MessagePage page =
                store::read_replay(*store, channel.id, request.history, request.since);
            outcome->has_more =
                cut_to_page(page, options_.history_page_bytes,
                            request.since ? core::PageKeeps::kOldest : core::PageKeeps::kNewest);
            outcome->messages = std::move(page.messages);
          }
          store->add_subscription(connection_id, channel.id, user_id, now_ms());
          // ---- read state and send permission of a member
          if (auto member = store->find_member(channel.id, user_id)) {
            outcome->can_send = member->can_send;
            if (channel.is_persistent) {
              outcome->unread = std::max<std::int64_t>(0, channel.last_seq - member->last_read_seq);
            }
          }
        }
      } catch (const store::StoreError& error) {
        spdlog::error("subscribe: {}", error.what());
        outcome->channel = unavailable_error();
      }
    }
    // On the control loop, like every commit's completion, in the order the
    // store thread posted them: a message committed after this read is
    // fanned out after the session joined the hub, never before.
    boost::asio::post(control, [this, weak, ref, outcome, user_id] {
      std::lock_guard lock(mutex_);
      auto session = weak.lock();
      if (!session || !sessions_.contains(session.get())) {  // closed meanwhile
        // A re-read carries a presence join already counted in Redis.
        if (outcome->cluster && outcome->cluster->available && outcome->channel) {
          cluster_presence_undo(outcome->channel.value().id, user_id);
        }
        return;
      }
      finish_subscribe(*session, ref, outcome);
    });
  });
}

void RealtimeHandler::finish_subscribe(WsSession& session_ref, const protocol::Ref& ref,
                                       const std::shared_ptr<SubscribeOutcome>& outcome) {
  WsSession* session = &session_ref;
  auto* client = static_cast<Client*>(session->context());
  --client->pending_subscribes;
  // A connection counted in Redis whose subscribe does not complete.
  const auto abandon = [&](const store::Channel& channel) {
    if (outcome->cluster && outcome->cluster->available) {
      cluster_presence_undo(channel.id, client->claims.user_id);
    }
  };
  if (!outcome->channel) {
    send_ordered(*session, error_frame(ref, outcome->channel.error()));
    return;
  }
  const store::Channel& channel = outcome->channel.value();
  ChannelRef info{channel.id,       channel.slug,          channel.type,     channel.is_persistent,
                  channel.last_seq, !!channel.archived_at, outcome->can_send};
  // ---- limits: channel max_members (distinct users subscribed)
  const bool already = client->subscriptions.contains(channel.id);
  if (!already && channel_full(channel.id, client->claims.user_id, channel.max_members)) {
    store_.submit([connection_id = session->id(), id = channel.id](store::Store* store) {
      if (store) store->remove_subscription(connection_id, id);
    });
    send_ordered(*session,
                 error_frame(ref, "forbidden",
                             fmt::format("channel \"{}\" is full: it has its maximum of {} members",
                                         channel.slug, channel.max_members)));
    abandon(channel);
    return;
  }
  if (already) abandon(channel);  // a second subscribe of this connection raced the first
  // ---- cluster mode: a presence channel's join is decided by Redis first
  if (cluster_ != nullptr && !already && channel.type == core::ChannelType::kPresence &&
      !outcome->cluster) {
    ++client->pending_subscribes;
    std::weak_ptr<WsSession> weak = session->weak_from_this();
    cluster_presence_join(
        channel.id, client->claims.user_id, control_,
        [this, weak, ref, outcome, user_id = client->claims.user_id](ClusterPresenceAnswer answer) {
          const bool counted = answer.available;
          outcome->cluster = std::move(answer);
          auto session = weak.lock();
          if (!session || !sessions_.contains(session.get())) {
            if (counted) cluster_presence_undo(outcome->channel.value().id, user_id);
            return;
          }
          finish_subscribe(*session, ref, outcome);
        });
    return;
  }
  // ---- cluster mode: line the subscriber up with what this node released
  std::vector<std::shared_ptr<const std::string>> catch_up;
  if (cluster_ != nullptr && !already && channel.is_persistent) {
    switch (align_subscribe(*session, ref, outcome, client->claims.user_id, catch_up)) {
      case Alignment::kJoin:
        break;
      case Alignment::kParked:
        ++client->pending_subscribes;  // finish_subscribe runs again
        return;
      case Alignment::kReread:
        ++client->pending_subscribes;
        read_for_subscribe(session->weak_from_this(), ref, outcome->request, session->id(),
                           client->claims.user_id, outcome->is_admin, outcome->cluster,
                           outcome->rereads + 1);
        return;
    }
  }
  std::int64_t seq = channel.is_persistent ? channel.last_seq : ephemeral_seq_[channel.id];
  client->subscriptions[channel.id] = info;
  add_to_hub(*session, info, client->claims.user_id);
  send_ordered(*session, protocol::subscribed_event(ref, channel.slug, seq, outcome->unread));
  // ---- presence: presence_state to the subscriber, presence_join to the others
  if (!already) {
    join_channel(*session, *client, info, ref, outcome->cluster ? &*outcome->cluster : nullptr);
  } else if (channel.type == core::ChannelType::kPresence) {
    send_presence_state(*session, info, ref);
  }
  if (outcome->replay) {
    std::vector<protocol::MessageView> views;
    views.reserve(outcome->messages.size());
    for (const auto& message : outcome->messages) views.push_back(view_of(message, channel.slug));
    send_ordered(*session, protocol::history_event(ref, channel.slug, views, outcome->has_more));
  }
  for (const auto& event : catch_up) send_ordered(*session, *event);
}

void RealtimeHandler::handle_unsubscribe(WsSession& session, Client& client,
                                         const protocol::Ref& ref,
                                         const protocol::UnsubscribeRequest& request) {
  if (const ChannelRef* channel = client.find(request.channel)) {
    std::string id = channel->id;
    std::string slug = channel->slug;
    remove_from_hub(session, id);
    leave_channel(client, *channel);  // ---- presence / max_members
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
    auto can_send = std::make_shared<bool>(true);
    if (store != nullptr) {
      try {
        *resolved = resolve_channel(*store, name, user_id, is_admin);
        // ---- send permission of a member
        if (*resolved) {
          auto member = store->find_member(resolved->value().id, user_id);
          if (member && !member->can_send) *can_send = false;
        }
      } catch (const store::StoreError& error) {
        spdlog::error("message: {}", error.what());
        *resolved = unavailable_error();
      }
    }
    boost::asio::post(executor, [this, weak, ref, resolved, can_send,
                                 content = std::move(content)]() mutable {
      auto session = weak.lock();
      if (!session || !session->is_open()) return;
      std::lock_guard lock(mutex_);
      if (!*resolved) {
        session->send_text(error_frame(ref, resolved->error()));
        return;
      }
      const store::Channel& channel = resolved->value();
      ChannelRef info{channel.id,       channel.slug,          channel.type, channel.is_persistent,
                      channel.last_seq, !!channel.archived_at, *can_send};
      send_message(*session, *static_cast<Client*>(session->context()), ref, info,
                   std::move(content));
    });
  });
}

void RealtimeHandler::send_message(WsSession& session, Client& client, const protocol::Ref& ref,
                                   const ChannelRef& channel, std::string content_json) {
  // ---- content filters: matches are redacted before storing and delivering
  if (auto redacted = options_.content_filter.redact_json(content_json)) {
    content_json = std::move(*redacted);
  }
  // ---- send permission: archived channels are read-only; can_send
  const bool archived = channel.archived || archived_channels_.contains(channel.id);
  if (archived || !channel.can_send) {
    session.send_text(error_frame(
        ref, "forbidden",
        archived
            ? fmt::format("channel \"{}\" is archived (read-only)", channel.slug)
            : fmt::format("you may not send to channel \"{}\" (can_send is false)", channel.slug)));
    return;
  }
  const auto started = std::chrono::steady_clock::now();
  if (metrics_ != nullptr) metrics_->message_in(core::to_string(channel.type));
  if (!channel.persistent) {
    if (cluster_ == nullptr) {
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
    // ---- cluster mode: the seq comes from Redis (EphemeralSeq); the ack
    // follows the local fan-out, on the sender's loop.
    next_ephemeral_seq(channel.id,
                       [this, weak = session.weak_from_this(), ref, channel_id = channel.id,
                        slug = channel.slug, type = channel.type, user_id = client.claims.user_id,
                        content = std::move(content_json), started](std::int64_t seq, bool shared) {
                         std::string id = store::new_uuid();
                         std::string event = protocol::message_event(
                             protocol::MessageView{slug, id, seq, user_id, content, now_ms()});
                         if (shared) cluster_publish("ephemeral", channel_id, seq, event);
                         deliver_sequenced(channel_id, seq, std::move(event));
                         if (metrics_ != nullptr) {
                           metrics_->message_out(core::to_string(type));
                           metrics_->observe_delivery(std::chrono::steady_clock::now() - started);
                         }
                         send_later(weak, protocol::ack_event(ref, id, slug, seq));
                       });
    return;
  }
  store::NewMessage message;
  message.channel_id = channel.id;
  message.user_id = client.claims.user_id;
  message.content = std::move(content_json);
  std::weak_ptr<WsSession> weak = session.shared_from_this();
  // Completions run on the control loop, in commit order, so every loop
  // receives a channel's messages in seq order; the ack goes back to the
  // sender's loop after the fan-out was pushed there.
  store_.append(std::move(message), control_executor(),
                [this, weak, ref, slug = channel.slug, type = channel.type,
                 started](Result<store::StoredMessage> stored) {
                  std::string reply;
                  {
                    std::lock_guard lock(mutex_);
                    if (!stored) {  // unavailable or overloaded: neither stored nor delivered
                      reply = error_frame(ref, stored.error());
                    } else {
                      // Committed: deliver to every subscriber, then ack the sender.
                      if (cluster_ == nullptr) {
                        fan_out(stored->channel_id,
                                protocol::message_event(view_of(*stored, slug)));
                      } else {
                        std::string event = protocol::message_event(view_of(*stored, slug));
                        cluster_publish("message", stored->channel_id, stored->seq, event);
                        deliver_sequenced(stored->channel_id, stored->seq, std::move(event));
                      }
                      if (metrics_ != nullptr) {
                        metrics_->message_out(core::to_string(type));
                        metrics_->observe_delivery(std::chrono::steady_clock::now() - started);
                      }
                      reply = protocol::ack_event(ref, stored->id, slug, stored->seq);
                    }
                  }
                  send_later(weak, std::move(reply));
                });
}

boost::asio::any_io_executor RealtimeHandler::control_executor() const {
  return loops_.front()->io().get_executor();
}

void RealtimeHandler::send_later(const std::weak_ptr<WsSession>& weak, std::string text) {
  auto session = weak.lock();
  if (!session) return;
  auto send = [weak, text = std::move(text)] {
    if (auto target = weak.lock(); target && target->is_open()) target->send_text(text);
  };
  if (session->loop().on_this_thread()) {
    send();
  } else {
    boost::asio::post(session->executor(), std::move(send));
  }
}

void RealtimeHandler::send_ordered(WsSession& session, std::string_view text) {
  if (session.loop().on_this_thread()) {
    session.send_text(text);
    return;
  }
  HubCommand command;
  command.kind = HubCommand::Kind::kSendTo;
  command.target = session.shared_from_this();
  command.frame = std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, text));
  session.loop().push(std::move(command));
}

void RealtimeHandler::handle_history(WsSession& session, Client& client, const protocol::Ref& ref,
                                     const protocol::HistoryRequest& request) {
  std::weak_ptr<WsSession> weak = session.shared_from_this();
  auto executor = session.executor();
  store_.submit([this, weak, executor, ref, request, user_id = client.claims.user_id,
                 is_admin = client.claims.is_admin](store::Store* store) {
    auto outcome = std::make_shared<SubscribeOutcome>();
    if (store == nullptr) {
      outcome->channel = unavailable_error();
    } else {
      try {
        outcome->channel = resolve_channel(*store, request.channel, user_id, is_admin);
        if (outcome->channel) {
          store::MessagePage page = store::read_history(
              *store, outcome->channel.value().id, request.limit, request.before, request.after);
          outcome->has_more =
              cut_to_page(page, options_.history_page_bytes,
                          request.after ? core::PageKeeps::kOldest : core::PageKeeps::kNewest);
          outcome->messages = std::move(page.messages);
        }
      } catch (const store::StoreError& error) {
        spdlog::error("history: {}", error.what());
        outcome->channel = unavailable_error();
      }
    }
    boost::asio::post(executor, [this, weak, ref, outcome] {
      auto session = weak.lock();
      if (!session || !session->is_open()) return;
      if (!outcome->channel) {
        session->send_text(error_frame(ref, outcome->channel.error()));
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
    session.send_text(error_frame(
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
  fan_out_shared(channel->id, protocol::typing_event(channel->slug, user_id, request.typing),
                 &user_id);
}

void RealtimeHandler::fan_out(const std::string& channel_id, std::string_view event,
                              const std::string* skip_user) {
  if (!hub_.contains(channel_id)) return;
  // Framed once; every loop and every queue shares the same bytes.
  fan_out_frame(channel_id,
                std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, event)),
                skip_user);
}

std::size_t RealtimeHandler::fan_out_frame(const std::string& channel_id,
                                           std::shared_ptr<const std::string> frame,
                                           const std::string* skip_user) {
  auto found = hub_.find(channel_id);
  if (found == hub_.end()) return 0;
  const auto started = std::chrono::steady_clock::now();
  const HubChannel& channel = found->second;
  std::size_t delivered = channel.sessions.size();
  if (skip_user != nullptr) {
    // The skipped user's subscribed connections (channel_users_ counts them).
    if (auto users = channel_users_.find(channel_id); users != channel_users_.end()) {
      if (auto user = users->second.find(*skip_user); user != users->second.end()) {
        delivered -= std::min<std::size_t>(delivered, static_cast<std::size_t>(user->second));
      }
    }
  }
  for (std::size_t index = 0; index < loops_.size(); ++index) {
    if (channel.per_loop[index] == 0) continue;
    HubCommand command;
    command.kind = HubCommand::Kind::kDeliver;
    command.channel_id = channel_id;
    if (skip_user != nullptr) command.user_id = *skip_user;
    command.frame = frame;
    loops_[index]->push(std::move(command));
  }
  if (metrics_ != nullptr) metrics_->deliveries(delivered);
  const auto took = std::chrono::steady_clock::now() - started;
  if (took > options_.slow_fan_out) {
    spdlog::warn("slow fan-out: {} subscribers of channel {} in {} ms (threshold {} ms)", delivered,
                 channel_id, std::chrono::duration_cast<std::chrono::milliseconds>(took).count(),
                 options_.slow_fan_out.count());
  }
  return delivered;
}

void RealtimeHandler::add_to_hub(WsSession& session, const ChannelRef& channel,
                                 const std::string& user_id) {
  HubChannel& entry = hub_[channel.id];
  if (entry.per_loop.empty()) {
    entry.per_loop.resize(loops_.size());
    entry.slug = channel.slug;
    entry.persistent = channel.persistent;
    if (cluster_ != nullptr) cluster_track(channel.id, channel.persistent, channel.last_seq);
  }
  if (!entry.sessions.insert(&session).second) return;
  ++entry.per_loop[session.loop().index()];
  HubCommand command;
  command.kind = HubCommand::Kind::kSubscribe;
  command.channel_id = channel.id;
  command.session = &session;
  command.user_id = user_id;
  session.loop().push(std::move(command));
}

void RealtimeHandler::remove_from_hub(WsSession& session, const std::string& channel_id) {
  auto found = hub_.find(channel_id);
  if (found == hub_.end()) return;
  if (found->second.sessions.erase(&session) > 0) {
    --found->second.per_loop[session.loop().index()];
    HubCommand command;
    command.kind = HubCommand::Kind::kUnsubscribe;
    command.channel_id = channel_id;
    command.session = &session;
    session.loop().push(std::move(command));
  }
  // Empty channels are dropped so that many short-lived channels cost nothing.
  if (found->second.sessions.empty()) {
    hub_.erase(found);
    if (cluster_ != nullptr) cluster_forget(channel_id);
  }
}

void RealtimeHandler::on_sweep(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  expire_typing(now);
  start_heartbeat_sweep(now);
  sweep_presence(collecting_heartbeat_);        // ---- presence
  if (cluster_ != nullptr) cluster_sweep(now);  // ---- cluster mode
}

void RealtimeHandler::on_slow_consumer(WsSession& /*session*/) {
  // Called inside sends, maybe under mutex_: count only.
  if (metrics_ != nullptr) metrics_->slow_consumer();
}

void RealtimeHandler::on_tick(WsSession& session, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto* client = static_cast<Client*>(session.context());
  if (!client->authenticated) {
    if (now >= client->auth_deadline) {
      session.send_text(error_frame({}, "invalid_token", "authentication timed out"));
      session.close(ws::close_code::kAuthFailed, "authentication timeout");
    }
    return;
  }
  if (client->claims.expires_at && *client->claims.expires_at <= now_ms()) {
    session.send_text(error_frame({}, "token_expired", "the token has expired"));
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
      fan_out_shared(typing.channel_id, protocol::typing_event(typing.slug, typing.user_id, false),
                     &typing.user_id);
    } else {
      ++it;
    }
  }
}

void RealtimeHandler::on_closed(WsSession& session) {
  std::lock_guard lock(mutex_);
  sessions_.erase(&session);
  auto* client = static_cast<Client*>(session.context());
  if (client == nullptr) return;
  if (client->authenticated) broadcasts_on_closed(session);
  if (metrics_ != nullptr) metrics_->connection_closed();
  for (const auto& [id, channel] : client->subscriptions) {
    remove_from_hub(session, id);
    leave_channel(*client, channel);  // ---- presence / max_members
  }
  client->subscriptions.clear();
  release_connection(*client);  // ---- limits
  if (client->recorded) {
    store_.submit([connection_id = session.id()](store::Store* store) {
      if (store) store->record_disconnect(connection_id, now_ms());
    });
  }
}

std::size_t RealtimeHandler::subscriber_count(const std::string& channel_id) const {
  std::lock_guard lock(mutex_);
  return subscribers_of(channel_id);
}

std::size_t RealtimeHandler::subscribers_of(const std::string& channel_id) const {
  auto found = hub_.find(channel_id);
  return found == hub_.end() ? 0 : found->second.sessions.size();
}

// ---- presence, read state and limits (issue 4, sections 1, 3 and 6) --------

bool RealtimeHandler::admit_request(WsSession& session, Client& client, const protocol::Ref& ref) {
  auto user = users_.find(client.claims.user_id);
  if (user == users_.end()) return true;  // not counted: cannot happen once authenticated
  const auto now = std::chrono::steady_clock::now();
  return rate_decided(session, client, ref, user->second.bucket.try_take(now), now);
}

bool RealtimeHandler::take_local_token(Client& client, std::chrono::steady_clock::time_point now) {
  auto user = users_.find(client.claims.user_id);
  return user == users_.end() || user->second.bucket.try_take(now);
}

void RealtimeHandler::cluster_admit_request(WsSession& session, const protocol::Ref& ref,
                                            protocol::Request request) {
  auto* client = static_cast<Client*>(session.context());
  // Redis answers in order and each answer is posted to the session's loop in
  // that order, so a connection's requests keep their order.
  cluster_->limits().take_message_token(
      client->claims.user_id, options_.max_messages_per_second,
      [this, weak = session.weak_from_this(), executor = session.executor(), ref,
       request = std::make_shared<protocol::Request>(std::move(request))](Result<bool> allowed) {
        boost::asio::post(executor, [this, weak, ref, request, allowed = std::move(allowed)] {
          auto session = weak.lock();
          if (!session || !session->is_open()) return;
          std::lock_guard lock(mutex_);
          auto* client = static_cast<Client*>(session->context());
          // Redis down: the local bucket, which allowed it, decides alone.
          if (allowed && !rate_decided(*session, *client, ref, allowed.value(),
                                       std::chrono::steady_clock::now())) {
            return;
          }
          handle_request(*session, *client, ref, *request);
        });
      });
}

bool RealtimeHandler::rate_decided(WsSession& session, Client& client, const protocol::Ref& ref,
                                   bool allowed, std::chrono::steady_clock::time_point now) {
  const core::RateDecision decision = client.flood.record(allowed, now);
  if (decision == core::RateDecision::kAllow) return true;
  session.send_text(
      error_frame(ref, "rate_limited",
                  fmt::format("more than {} messages per second: this one was not delivered",
                              options_.max_messages_per_second)));
  if (decision == core::RateDecision::kDisconnect) {
    spdlog::warn("connection {} of user {} disconnected for flooding", session.id(),
                 client.claims.user_id);
    session.close(ws::close_code::kLimitExceeded, "rate limit exceeded");
  }
  return false;
}

bool RealtimeHandler::admit_subscription(WsSession& session, Client& client,
                                         const protocol::Ref& ref, const std::string& name) {
  if (client.find(name) != nullptr) return true;  // renewing a subscription is not a new one
  const auto held =
      client.subscriptions.size() + static_cast<std::size_t>(client.pending_subscribes);
  if (held < static_cast<std::size_t>(options_.max_subscriptions)) return true;
  session.send_text(error_frame(ref, "too_many_subscriptions",
                                fmt::format("a connection may subscribe to at most {} channels",
                                            options_.max_subscriptions)));
  return false;
}

bool RealtimeHandler::channel_full(const std::string& channel_id, const std::string& user_id,
                                   int max_members) const {
  auto found = channel_users_.find(channel_id);
  if (found == channel_users_.end()) return max_members <= 0;
  if (found->second.contains(user_id)) return false;  // another tab of a member
  return found->second.size() >= static_cast<std::size_t>(std::max(max_members, 0));
}

void RealtimeHandler::join_channel(WsSession& session, Client& client, const ChannelRef& channel,
                                   const protocol::Ref& ref,
                                   const ClusterPresenceAnswer* cluster_answer) {
  const std::string& user_id = client.claims.user_id;
  ++channel_users_[channel.id][user_id];
  if (channel.type != core::ChannelType::kPresence) return;
  const Timestamp now = now_ms();
  auto joined = presence_.join(channel.id, user_id, now);
  if (cluster_answer != nullptr && cluster_answer->available) {
    // Cluster-wide: Redis decided whether this is the user's first connection
    // anywhere, and knows every node's members.
    if (cluster_answer->joined) {
      const core::PresenceMember& member = joined ? *joined : *presence_.find(channel.id, user_id);
      if (metrics_ != nullptr) metrics_->presence_update();
      fan_out_shared(channel.id, protocol::presence_join_event(channel.slug, presence_view(member)),
                     &user_id);
      persist_presence({presence_record(channel.id, member, now)});
    }
    std::vector<protocol::PresenceView> views;
    views.reserve(cluster_answer->members.size());
    for (const auto& member : cluster_answer->members) {
      // last_active is known for this node's members; others: now.
      const core::PresenceMember* local = presence_.find(channel.id, member.user_id);
      std::optional<std::string_view> meta;
      if (member.meta_json != "null" && !member.meta_json.empty()) meta = member.meta_json;
      views.push_back(protocol::PresenceView{member.user_id, member.status, meta,
                                             local != nullptr ? local->last_active : now});
    }
    send_ordered(session, protocol::presence_state_event(ref, channel.slug, views));
    return;
  }
  if (joined) {
    if (metrics_ != nullptr) metrics_->presence_update();
    fan_out_shared(channel.id, protocol::presence_join_event(channel.slug, presence_view(*joined)),
                   &user_id);
    persist_presence({presence_record(channel.id, *joined, now)});
  }
  send_presence_state(session, channel, ref);
}

void RealtimeHandler::send_presence_state(WsSession& session, const ChannelRef& channel,
                                          const protocol::Ref& ref) {
  std::vector<core::PresenceMember> members = presence_.members(channel.id);
  std::vector<protocol::PresenceView> views;
  views.reserve(members.size());
  for (const auto& member : members) views.push_back(presence_view(member));
  send_ordered(session, protocol::presence_state_event(ref, channel.slug, views));
}

void RealtimeHandler::leave_channel(Client& client, const ChannelRef& channel) {
  const std::string& user_id = client.claims.user_id;
  if (auto users = channel_users_.find(channel.id); users != channel_users_.end()) {
    if (auto user = users->second.find(user_id);
        user != users->second.end() && --user->second <= 0) {
      users->second.erase(user);
    }
    if (users->second.empty()) channel_users_.erase(users);
  }
  if (channel.type != core::ChannelType::kPresence) return;
  const bool left_here = presence_.leave(channel.id, user_id);
  if (cluster_ != nullptr) {
    cluster_presence_leave(channel, user_id, left_here);
    return;
  }
  if (!left_here) return;
  if (metrics_ != nullptr) metrics_->presence_update();
  fan_out_shared(channel.id, protocol::presence_leave_event(channel.slug, user_id));
  store::PresenceRecord record;
  record.user_id = user_id;
  record.channel_id = channel.id;
  record.status = store::PresenceStatus::kOffline;
  record.updated_at = now_ms();
  persist_presence({std::move(record)});
}

void RealtimeHandler::handle_presence(WsSession& session, Client& client, const protocol::Ref& ref,
                                      protocol::PresenceRequest& request) {
  // ---- content filters: presence metadata as message content
  if (auto redacted = request.meta_json ? options_.content_filter.redact_json(*request.meta_json)
                                        : std::nullopt) {
    request.meta_json = std::move(*redacted);
  }
  std::vector<const ChannelRef*> targets;
  if (request.channel) {
    const ChannelRef* channel = client.find(*request.channel);
    if (channel == nullptr) {
      session.send_text(error_frame(
          ref, "forbidden", "subscribe to \"" + *request.channel + "\" before setting presence"));
      return;
    }
    if (channel->type != core::ChannelType::kPresence) {
      session.send_text(
          error_frame(ref, "bad_request", "\"" + channel->slug + "\" is not a presence channel"));
      return;
    }
    targets.push_back(channel);
  } else {
    for (const auto& [id, channel] : client.subscriptions) {
      if (channel.type == core::ChannelType::kPresence) targets.push_back(&channel);
    }
  }
  const auto status = request.status == protocol::PresenceStatus::kAway
                          ? core::PresenceState::kAway
                          : core::PresenceState::kOnline;
  const Timestamp now = now_ms();
  std::vector<store::PresenceRecord> records;
  for (const ChannelRef* channel : targets) {
    auto updated =
        presence_.update(channel->id, client.claims.user_id, status, request.meta_json, now);
    if (!updated) continue;
    if (cluster_ != nullptr) cluster_presence_update(channel->id, *updated);
    if (metrics_ != nullptr) metrics_->presence_update();
    fan_out_shared(channel->id,
                   protocol::presence_update_event(channel->slug, presence_view(*updated)));
    records.push_back(presence_record(channel->id, *updated, now));
  }
  persist_presence(std::move(records));
}

void RealtimeHandler::handle_read(WsSession& session, Client& client, const protocol::Ref& ref,
                                  const protocol::ReadRequest& request) {
  std::weak_ptr<WsSession> weak = session.shared_from_this();
  auto executor = session.executor();
  store_.submit([this, weak, executor, ref, request,
                 user_id = client.claims.user_id](store::Store* store) {
    std::optional<Error> failure;
    if (store == nullptr) {
      failure = unavailable_error();
    } else {
      try {
        auto channel = store->find_channel(request.channel);
        if (!channel) {
          failure = Error{"not_found", "no channel \"" + request.channel + "\""};
        } else if (!store->find_member(channel->id, user_id)) {
          failure = Error{"forbidden",
                          "read positions are kept for members of \"" + channel->slug + "\" only"};
        } else {
          // A position past the newest message would hide messages still to come.
          const std::int64_t seq =
              channel->is_persistent ? std::min(request.seq, channel->last_seq) : request.seq;
          store->mark_read(channel->id, user_id, seq, now_ms());
        }
      } catch (const store::StoreError& error) {
        spdlog::error("read: {}", error.what());
        failure = unavailable_error();
      }
    }
    if (!failure) return;  // no reply on success
    boost::asio::post(executor, [this, weak, ref, failure = std::move(*failure)] {
      if (auto session = weak.lock(); session && session->is_open()) {
        session->send_text(error_frame(ref, failure));
      }
    });
  });
}

void RealtimeHandler::note_activity(const std::string& user_id) {
  const Timestamp now = now_ms();
  for (const core::PresenceChange& change : presence_.touch(user_id, now)) {
    publish_presence(change.channel_id, change.member);
  }
}

void RealtimeHandler::sweep_presence(bool heartbeat) {
  const Timestamp now = now_ms();
  for (const core::PresenceChange& change : presence_.expire_idle(now, options_.away_after)) {
    publish_presence(change.channel_id, change.member);
  }
  if (!heartbeat) return;
  // Keeps updated_at of live rows fresh so that stale-presence cleanup only
  // removes rows that no running server maintains.
  std::vector<store::PresenceRecord> records;
  for (const core::PresenceChange& entry : presence_.all()) {
    records.push_back(presence_record(entry.channel_id, entry.member, now));
  }
  persist_presence(std::move(records));
  store_.submit([before = now - options_.stale_presence_after](store::Store* store) {
    if (store == nullptr) return;
    try {
      if (auto removed = store->cleanup_stale_presence(before); removed > 0) {
        spdlog::info("removed {} stale presence rows", removed);
      }
    } catch (const store::StoreError& error) {
      spdlog::warn("stale presence cleanup: {}", error.what());
    }
  });
}

void RealtimeHandler::publish_presence(const std::string& channel_id,
                                       const core::PresenceMember& member) {
  if (metrics_ != nullptr) metrics_->presence_update();
  if (cluster_ != nullptr) cluster_presence_update(channel_id, member);
  fan_out_shared(channel_id,
                 protocol::presence_update_event(slug_of(channel_id), presence_view(member)));
  persist_presence({presence_record(channel_id, member, now_ms())});
}

void RealtimeHandler::persist_presence(std::vector<store::PresenceRecord> records) {
  if (records.empty()) return;
  store_.submit([records = std::move(records)](store::Store* store) {
    if (store == nullptr) return;
    for (const auto& record : records) {
      try {
        store->update_presence(record);
      } catch (const store::StoreError& error) {
        // A channel deleted meanwhile, or the database down: presence is
        // rebuilt by the next change or heartbeat.
        spdlog::warn("presence of {}: {}", record.user_id, error.what());
      }
    }
  });
}

std::string RealtimeHandler::slug_of(const std::string& channel_id) const {
  auto found = hub_.find(channel_id);
  return found == hub_.end() ? channel_id : found->second.slug;
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

std::size_t RealtimeHandler::revoke_member(const std::string& channel_id,
                                           const std::string& user_id) {
  std::lock_guard lock(mutex_);
  const auto found = hub_.find(channel_id);
  if (found == hub_.end()) return 0;
  std::vector<WsSession*> sessions;
  for (WsSession* session : found->second.sessions) {
    const auto* client = static_cast<const Client*>(session->context());
    if (client != nullptr && client->claims.user_id == user_id && !client->claims.is_admin) {
      sessions.push_back(session);
    }
  }
  std::size_t revoked = 0;
  for (WsSession* session : sessions) {
    auto& client = *static_cast<Client*>(session->context());
    const auto subscription = client.subscriptions.find(channel_id);
    if (subscription == client.subscriptions.end() ||
        subscription->second.type != core::ChannelType::kPrivate) {
      continue;
    }
    // What the client's own unsubscribe does (hub, presence, rows), with the
    // reply sent on the session's own loop.
    const ChannelRef channel = subscription->second;
    remove_from_hub(*session, channel_id);
    leave_channel(client, channel);
    client.subscriptions.erase(channel_id);
    store_.submit([connection_id = session->id(), channel_id](store::Store* store) {
      if (store) store->remove_subscription(connection_id, channel_id);
    });
    send_later(session->weak_from_this(), protocol::unsubscribed_event({}, channel.slug));
    ++revoked;
  }
  return revoked;
}

void RealtimeHandler::drop_channel_subscribers(const std::string& channel_id) {
  auto found = hub_.find(channel_id);
  if (found != hub_.end()) {
    for (std::size_t index = 0; index < loops_.size(); ++index) {
      if (found->second.per_loop[index] == 0) continue;
      HubCommand command;
      command.kind = HubCommand::Kind::kDropChannel;
      command.channel_id = channel_id;
      loops_[index]->push(std::move(command));
    }
    for (WsSession* session : found->second.sessions) {
      if (auto* client = static_cast<Client*>(session->context())) {
        client->subscriptions.erase(channel_id);
        // The channel is gone (its rows with it): forget its members quietly,
        // subscribers were told with channel_deleted.
        presence_.leave(channel_id, client->claims.user_id);
      }
    }
    hub_.erase(found);
    if (cluster_ != nullptr) cluster_forget(channel_id);
  }
  channel_users_.erase(channel_id);
  for (auto it = typing_.begin(); it != typing_.end();) {
    it = it->second.channel_id == channel_id ? typing_.erase(it) : std::next(it);
  }
}

// Every error event the handler sends is built here, so each is counted by code.
std::string RealtimeHandler::error_frame(const protocol::Ref& ref, std::string_view code,
                                         std::string_view message) const {
  if (metrics_ != nullptr) metrics_->error(code);
  return protocol::error_event(ref, code, message);
}

std::string RealtimeHandler::error_frame(const protocol::Ref& ref, const Error& error) const {
  return error_frame(ref, error.code, error.message);
}

}  // namespace nself::server
