// Role L: the client's requests (what RealtimeHandler::dispatch and the
// handle_* functions decided), routed per docs/ENGINE_DESIGN.md "Paths":
// answered here when nobody else is needed (ping, unsubscribe, errors of the
// connection), else to the user's owner (rated requests) or the channel's
// owner, after resolving the channel's name.

#include <string>
#include <type_traits>
#include <utility>

#include "core/engine/connections_state.hpp"

namespace nself::core::engine {

namespace {

using Phase = ConnectionRecord::Phase;

// What a store read that did not run means to the client.
ErrorEvent store_failure(const protocol::Ref& ref, const std::string& failure) {
  if (failure == "overloaded") {
    return error(ref, "overloaded", "too many requests are waiting for the database; retry later");
  }
  return error(ref, "unavailable", "the database is unavailable; retry later");
}

// Rated requests go to the user's owner, who takes a token first.
void admit_request(ConnectionRecord& connection, RatedRequest request, Context& ctx) {
  await_decision(connection);  // before: a U on this shard decides at once
  ctx.to_shard(ctx.owner_of_user(connection.claims.user_id), AdmitRequest{std::move(request)});
}

// A rated request refused here still counts against the rate (the handler
// checked the rate before anything else): U answers the error or rate_limited.
void refuse_rated(ConnectionRecord& connection, const protocol::Ref& ref, ErrorEvent error,
                  Context& ctx) {
  admit_request(connection, RefusedAtConnection{connection.asker(ref), std::move(error)}, ctx);
}

// A connection's store requests in flight are bounded: past the bound the
// request is refused here, before it costs the store anything.
bool admit_store_request(ConnectionRecord& connection, const protocol::Ref& ref, Context& ctx) {
  const int max = ctx.options().max_store_requests_in_flight;
  if (connection.store_requests < max) {
    ++connection.store_requests;
    return true;
  }
  reply(connection,
        error(ref, "rate_limited",
              "more than " + std::to_string(max) +
                  " requests of this connection are waiting for the database: this one was not "
                  "run"),
        ctx);
  return false;
}

bool admit_subscription(ConnectionRecord& connection, const protocol::Ref& ref,
                        const std::string& name, Context& ctx) {
  if (connection.subscription(name) != nullptr) return true;  // renewing is not a new one
  const std::size_t held =
      connection.subscriptions.size() +
      static_cast<std::size_t>(connection.resolving_subscribes + connection.joining_subscribes) +
      connection.queued_subscribes.size();
  const int max = ctx.options().max_subscriptions;
  if (held < static_cast<std::size_t>(max)) return true;
  reply(connection,
        error(ref, "too_many_subscriptions",
              "a connection may subscribe to at most " + std::to_string(max) + " channels"),
        ctx);
  return false;
}

const std::string* channel_name(const protocol::Request& request) {
  return std::visit(
      [](const auto& typed) -> const std::string* {
        using T = std::decay_t<decltype(typed)>;
        if constexpr (std::is_same_v<T, protocol::SubscribeRequest> ||
                      std::is_same_v<T, protocol::MessageRequest> ||
                      std::is_same_v<T, protocol::HistoryRequest> ||
                      std::is_same_v<T, protocol::ReadRequest>) {
          return &typed.channel;
        } else {
          return nullptr;
        }
      },
      request);
}

// The request continues with its channel resolved, or with why it is not.
void continue_with(Connections::State& state, ConnectionRecord& connection,
                   const protocol::Ref& ref, protocol::Request& request, const ChannelInfo* channel,
                   const ErrorEvent* failure, Context& ctx) {
  std::visit(
      [&](auto& typed) {
        using T = std::decay_t<decltype(typed)>;
        if constexpr (std::is_same_v<T, protocol::SubscribeRequest>) {
          --connection.resolving_subscribes;
          if (channel == nullptr) {
            reply(connection, *failure, ctx);
            start_next_subscribe(state, connection, ctx);
            return;
          }
          ++connection.joining_subscribes;
          ctx.to_shard(ctx.owner_of_channel(channel->id),
                       JoinChannel{connection.asker(ref), *channel, typed.history, typed.since,
                                   connection.public_id});
        } else if constexpr (std::is_same_v<T, protocol::MessageRequest>) {
          if (channel == nullptr) {
            refuse_rated(connection, ref, *failure, ctx);
            return;
          }
          admit_request(
              connection,
              MessageToChannel{connection.asker(ref), *channel, std::move(typed.content_json)},
              ctx);
        } else if constexpr (std::is_same_v<T, protocol::HistoryRequest>) {
          if (channel == nullptr) {
            store_request_done(connection);
            reply(connection, *failure, ctx);
            return;
          }
          admit_request(connection,
                        HistoryOfChannel{connection.asker(ref), *channel, typed.limit, typed.before,
                                         typed.after},
                        ctx);
        } else if constexpr (std::is_same_v<T, protocol::ReadRequest>) {
          if (channel == nullptr) {
            store_request_done(connection);
            reply(connection, *failure, ctx);
            return;
          }
          admit_request(connection, ReadOfChannel{connection.asker(ref), *channel, typed.seq}, ctx);
        }
      },
      request);
}

// The channel the request names: the connection's subscription, else the
// cache, else a store read (the request waits for it).
void resolve(Connections::State& state, ConnectionRecord& connection, const protocol::Ref& ref,
             protocol::Request& request, Context& ctx) {
  const std::string& name = *channel_name(request);
  const ChannelInfo* channel = connection.subscription(name);
  if (channel == nullptr) channel = state.names.find(name);
  if (channel != nullptr) {
    const ChannelInfo copy = *channel;  // continue_with may change the subscriptions
    continue_with(state, connection, ref, request, &copy, nullptr, ctx);
    return;
  }
  const std::string key = name;
  // A message that starts a read counts as a store request of its connection
  // (messages are rated after their channel is known: unbounded, a stream of
  // messages to unknown names would be a stream of store reads).
  const bool counted =
      std::holds_alternative<protocol::MessageRequest>(request) && !state.names.reading(key);
  if (counted && !admit_store_request(connection, ref, ctx)) return;
  if (state.names.wait(key, NameWaiter{connection.id, ref, std::move(request)})) {
    const std::uint64_t token = ctx.ask_store(Role::kConnections, ResolveChannel{key});
    state.names.asked(token, key);
    if (counted) state.name_reads_of.emplace(token, connection.id);
  }
}

void on_unsubscribe(Connections::State& state, ConnectionRecord& connection,
                    const protocol::Ref& ref, const protocol::UnsubscribeRequest& request,
                    Context& ctx) {
  const ChannelInfo* subscribed = connection.subscription(request.channel);
  if (subscribed == nullptr) {  // not subscribed is not an error
    reply(connection, Unsubscribed{ref, request.channel, {}}, ctx);
    return;
  }
  const ChannelInfo channel = *subscribed;
  leave(state, connection, channel, ctx);
  reply(connection, Unsubscribed{ref, channel.slug, {}}, ctx);
}

void on_typing(ConnectionRecord& connection, const protocol::Ref& ref,
               const protocol::TypingRequest& request, Context& ctx) {
  const ChannelInfo* channel = connection.subscription(request.channel);
  if (channel == nullptr) {
    // The handler's error carries no ref here (tests/data/protocol/typing.txt).
    refuse_rated(
        connection, ref,
        error({}, "forbidden", "subscribe to \"" + request.channel + "\" before sending typing"),
        ctx);
    return;
  }
  admit_request(connection, TypingToChannel{connection.asker(ref), *channel, request.typing}, ctx);
}

void on_presence(ConnectionRecord& connection, const protocol::Ref& ref,
                 protocol::PresenceRequest& request, Context& ctx) {
  std::vector<ChannelInfo> targets;
  if (request.channel) {
    const ChannelInfo* channel = connection.subscription(*request.channel);
    if (channel == nullptr) {
      refuse_rated(connection, ref,
                   error(ref, "forbidden",
                         "subscribe to \"" + *request.channel + "\" before setting presence"),
                   ctx);
      return;
    }
    if (channel->type != ChannelType::kPresence) {
      refuse_rated(connection, ref,
                   error(ref, "bad_request", "\"" + channel->slug + "\" is not a presence channel"),
                   ctx);
      return;
    }
    targets.push_back(*channel);
  } else {
    for (const ChannelInfo& channel : connection.subscriptions) {
      if (channel.type == ChannelType::kPresence) targets.push_back(channel);
    }
  }
  // Metadata is filtered as message content is, here on the connection's loop.
  if (auto redacted = request.meta_json
                          ? ctx.options().content_filter.redact_json(*request.meta_json)
                          : std::nullopt) {
    request.meta_json = std::move(*redacted);
  }
  // Even with no target: the request takes its token, as it did.
  admit_request(connection,
                PresenceToChannels{connection.asker(ref), std::move(targets),
                                   request.status == protocol::PresenceStatus::kAway,
                                   std::move(request.meta_json)},
                ctx);
}

void on_request(Connections::State& state, ConnectionRecord& connection, const protocol::Ref& ref,
                protocol::Request& request, Context& ctx) {
  if (auto* auth = std::get_if<protocol::AuthRequest>(&request)) {
    on_auth_request(state, connection, ref, *auth, ctx);
    return;
  }
  if (!connection.authenticated()) {
    reply(connection, error(ref, "unauthenticated", "authenticate first (an auth message)"), ctx);
    return;
  }
  std::visit(
      [&](auto& typed) {
        using T = std::decay_t<decltype(typed)>;
        if constexpr (std::is_same_v<T, protocol::SubscribeRequest>) {
          if (!admit_subscription(connection, ref, typed.channel, ctx)) return;
          if (connection.resolving_subscribes + connection.joining_subscribes > 0) {
            connection.queued_subscribes.emplace_back(ref, std::move(typed));
            return;
          }
          ++connection.resolving_subscribes;
          resolve(state, connection, ref, request, ctx);
        } else if constexpr (std::is_same_v<T, protocol::UnsubscribeRequest>) {
          on_unsubscribe(state, connection, ref, typed, ctx);
        } else if constexpr (std::is_same_v<T, protocol::MessageRequest>) {
          // Redacted before storing and delivering; regex work stays on this loop.
          if (auto redacted = ctx.options().content_filter.redact_json(typed.content_json)) {
            typed.content_json = std::move(*redacted);
          }
          resolve(state, connection, ref, request, ctx);
        } else if constexpr (std::is_same_v<T, protocol::HistoryRequest> ||
                             std::is_same_v<T, protocol::ReadRequest>) {
          if (!admit_store_request(connection, ref, ctx)) return;
          resolve(state, connection, ref, request, ctx);
        } else if constexpr (std::is_same_v<T, protocol::TypingRequest>) {
          on_typing(connection, ref, typed, ctx);
        } else if constexpr (std::is_same_v<T, protocol::PresenceRequest>) {
          on_presence(connection, ref, typed, ctx);
        } else if constexpr (std::is_same_v<T, protocol::PingRequest>) {
          reply(connection, Pong{ref}, ctx);
        }
      },
      request);
}

}  // namespace

void on_outcome(Connections::State& state, ConnectionRecord& connection,
                protocol::ParseOutcome& outcome, Context& ctx) {
  if (connection.phase == Phase::kAdmitting) {
    connection.held.push_back(std::move(outcome));
    return;
  }
  if (!outcome.request) {
    reply(connection,
          error(outcome.ref, outcome.request.error().code, outcome.request.error().message), ctx);
    return;
  }
  on_request(state, connection, outcome.ref, outcome.request.value(), ctx);
}

void on_resolved(Connections::State& state, StoreReply& reply, Context& ctx) {
  if (auto starter = state.name_reads_of.find(reply.token); starter != state.name_reads_of.end()) {
    if (ConnectionRecord* connection = state.find(starter->second)) store_request_done(*connection);
    state.name_reads_of.erase(starter);
  }
  auto answered = state.names.answered(reply.token);
  if (!answered) return;
  const ChannelInfo* channel = nullptr;
  std::optional<ErrorEvent> failure;
  if (reply.failure) {
    failure = store_failure({}, *reply.failure);
  } else if (auto* answer = std::get_if<ChannelAnswer>(&reply.answer); answer && answer->channel) {
    state.names.remember(*answer->channel);
    channel = &*answer->channel;
  } else {
    failure = error({}, "not_found", "no channel \"" + answered->name + "\"");
  }
  for (NameWaiter& waiter : answered->waiters) {
    ConnectionRecord* connection = state.find(waiter.connection);
    if (connection == nullptr || !connection->authenticated()) continue;  // closed meanwhile
    if (failure) failure->ref = waiter.ref;
    continue_with(state, *connection, waiter.ref, waiter.request, channel,
                  failure ? &*failure : nullptr, ctx);
  }
}

void start_next_subscribe(Connections::State& state, ConnectionRecord& connection, Context& ctx) {
  if (connection.closing() || connection.resolving_subscribes + connection.joining_subscribes > 0 ||
      connection.queued_subscribes.empty()) {
    return;
  }
  auto [ref, subscribe] = std::move(connection.queued_subscribes.front());
  connection.queued_subscribes.pop_front();
  protocol::Request request{std::move(subscribe)};
  ++connection.resolving_subscribes;
  resolve(state, connection, ref, request, ctx);
}

void note_activity(ConnectionRecord& connection, Context& ctx) {
  const SteadyTime now = ctx.now().steady;
  std::vector<std::string> due;
  for (const ChannelInfo& channel : connection.subscriptions) {
    if (channel.type != ChannelType::kPresence) continue;
    auto [last, first] = connection.activity.try_emplace(channel.id, now);
    // At most once a second per channel: the owner's last_active is that precise.
    if (!first && now - last->second < std::chrono::seconds(1)) continue;
    last->second = now;
    due.push_back(channel.id);
  }
  for (std::string& channel_id : due) {
    const ShardIndex owner = ctx.owner_of_channel(channel_id);
    ctx.to_shard(owner, Activity{connection.claims.user_id, std::move(channel_id)});
  }
}

void leave(Connections::State& state, ConnectionRecord& connection, const ChannelInfo& channel,
           Context& ctx) {
  state.hub.remove(channel.id, connection.id);
  connection.erase_subscription(channel.id);
  connection.activity.erase(channel.id);
  // The channel's owner drops the member and the subscription row.
  ctx.to_shard(
      ctx.owner_of_channel(channel.id),
      LeaveChannel{connection.id, connection.claims.user_id, channel.id, connection.public_id});
}

}  // namespace nself::core::engine
