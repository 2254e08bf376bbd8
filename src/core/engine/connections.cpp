// Role L's entry points: a connection's life (open, frames, close), the
// periodic tick, and what U and C answer. The requests themselves are in
// connection_requests.cpp, authentication in connection_auth.cpp, admin
// operations in connection_admin.cpp.

#include "core/engine/connections.hpp"

#include <algorithm>
#include <utility>

#include "core/engine/connections_state.hpp"

namespace nself::core::engine {

namespace {

constexpr int kAuthFailed = 4001;
constexpr int kLimitExceeded = 4008;

// Connection ids in order, so that ticks and listings are deterministic.
std::vector<ConnectionId> sorted_ids(const Connections::State& state) {
  std::vector<ConnectionId> ids;
  ids.reserve(state.connections.size());
  for (const auto& [id, connection] : state.connections) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

const ChannelInfo* ConnectionRecord::subscription(const std::string& name) const {
  for (const ChannelInfo& channel : subscriptions) {
    if (channel.id == name) return &channel;
  }
  for (const ChannelInfo& channel : subscriptions) {
    if (channel.slug == name) return &channel;
  }
  return nullptr;
}

bool ConnectionRecord::erase_subscription(const std::string& channel_id) {
  return std::erase_if(subscriptions,
                       [&](const ChannelInfo& channel) { return channel.id == channel_id; }) > 0;
}

Connections::Connections() : state_(std::make_unique<State>()) {}
Connections::~Connections() = default;

void Connections::opened(ConnectionOpened& input, Context& ctx) {
  auto [entry, inserted] = state_->connections.try_emplace(input.connection);
  if (!inserted) return;  // the driver never reuses an id
  ConnectionRecord& connection = entry->second;
  connection.id = input.connection;
  connection.public_id = std::move(input.public_id);
  connection.remote_address = std::move(input.remote_address);
  connection.user_agent = std::move(input.user_agent);
  connection.auth_deadline = ctx.now().steady + ctx.options().auth_timeout;
  if (input.batch) ctx.emit(SetBatching{connection.id, true});  // ?batch=1
  if (!input.claims) return;  // must authenticate with a first message
  // Verified at the upgrade; it can only have expired since.
  if (input.claims->expires_at && *input.claims->expires_at <= ctx.now().wall) {
    reply(connection, error({}, "token_expired", "token has expired"), ctx);
    state_->close(connection, kAuthFailed, "token has expired", ctx);
    return;
  }
  admit(*state_, connection, {}, std::move(*input.claims), ctx);
}

void Connections::frame(ClientFrame& input, Context& ctx) {
  ConnectionRecord* connection = state_->find(input.connection);
  if (connection == nullptr) return;
  for (protocol::ParseOutcome& outcome : input.frame.outcomes) {
    if (connection->closing()) return;  // nothing after a close is answered
    on_outcome(*state_, *connection, outcome, ctx);
  }
  // Any client frame is presence activity.
  if (connection->authenticated()) note_activity(*connection, ctx);
}

void Connections::closed(const ConnectionClosed& input, Context& ctx) {
  auto found = state_->connections.find(input.connection);
  if (found == state_->connections.end()) return;
  ConnectionRecord connection = std::move(found->second);
  state_->connections.erase(found);
  for (const ChannelInfo& channel : std::vector<ChannelInfo>(connection.subscriptions)) {
    leave(*state_, connection, channel, ctx);
  }
  if (connection.joining_subscribes > 0) {
    state_->departed[connection.id] = DepartedConnection{
        connection.claims.user_id, connection.public_id, connection.joining_subscribes};
  }
  if (connection.counted) {
    const ShardIndex owner = ctx.owner_of_user(connection.claims.user_id);
    ctx.to_shard(owner, ReleaseConnection{connection.claims.user_id, connection.id});
  }
  if (connection.recorded) {
    ctx.tell_store(RecordDisconnect{connection.public_id, ctx.now().wall});
  }
}

void Connections::store_done(StoreReply& reply, Context& ctx) {
  on_resolved(*state_, reply, ctx);  // L asks the store for channel names only
}

void Connections::tick(Context& ctx) {
  std::vector<std::string> alive;
  for (ConnectionId id : sorted_ids(*state_)) {
    ConnectionRecord& connection = *state_->find(id);
    check_deadlines(*state_, connection, ctx);
    if (connection.authenticated()) alive.push_back(connection.public_id);
  }
  // ---- heartbeat: realtime.connections.last_seen_at of the live ones
  const SteadyTime now = ctx.now().steady;
  if (state_->last_heartbeat && now - *state_->last_heartbeat < ctx.options().heartbeat_interval) {
    return;
  }
  state_->last_heartbeat = now;
  if (!alive.empty()) ctx.tell_store(Heartbeat{std::move(alive), ctx.now().wall});
}

void Connections::on(ConnectionAdmitted& message, Context& ctx) {
  on_admitted(*state_, message, ctx);
}

void Connections::on(RequestRefused& message, Context& ctx) {
  ConnectionRecord* connection = state_->find(message.asker.connection);
  if (connection == nullptr || connection->closing()) return;
  std::vector<Event> events;
  if (message.store) {
    store_request_done(*connection);
    const int rate = ctx.options().max_store_requests_per_second;
    events.push_back(error(message.asker.ref, "rate_limited",
                           "more than " + std::to_string(rate) +
                               " history or read requests per second: this one was not run"));
  } else {
    const int rate = ctx.options().max_messages_per_second;
    events.push_back(error(
        message.asker.ref, "rate_limited",
        "more than " + std::to_string(rate) + " messages per second: this one was not delivered"));
  }
  decided(*connection, events, ctx);
  if (message.disconnect) state_->close(*connection, kLimitExceeded, "rate limit exceeded", ctx);
}

void Connections::on(RequestDecided& message, Context& ctx) {
  ConnectionRecord* connection = state_->find(message.connection);
  if (connection == nullptr || connection->closing()) return;
  decided(*connection, message.events, ctx);
}

void Connections::on(ToConnection& message, Context& ctx) {
  ConnectionRecord* connection = state_->find(message.connection);
  if (connection == nullptr || connection->closing()) return;
  if (message.ends_store_request) store_request_done(*connection);
  for (Event& event : message.events) reply(*connection, std::move(event), ctx);
}

void Connections::on(JoinOutcome& message, Context& ctx) {
  ConnectionRecord* connection = state_->find(message.connection);
  if (connection == nullptr) {
    // Closed while joining: undo the join at the channel.
    auto departed = state_->departed.find(message.connection);
    if (departed == state_->departed.end()) return;
    if (message.joined) {
      ctx.to_shard(ctx.owner_of_channel(message.joined->id),
                   LeaveChannel{message.connection, departed->second.user_id, message.joined->id,
                                departed->second.public_id});
    }
    if (--departed->second.joining_subscribes <= 0) state_->departed.erase(departed);
    return;
  }
  if (connection->joining_subscribes > 0) --connection->joining_subscribes;
  if (message.joined) {
    const ChannelInfo& channel = *message.joined;
    connection->erase_subscription(channel.id);
    connection->subscriptions.push_back(channel);
    state_->names.remember(channel);
    // In the hub before the events: what C fans out after the join follows them.
    state_->hub.add(channel.id, connection->id, connection->claims.user_id);
  }
  if (connection->closing()) return;
  for (Event& event : message.events) reply(*connection, std::move(event), ctx);
  start_next_subscribe(*state_, *connection, ctx);
}

void Connections::on(ChannelEventForLoop& message, Context& ctx) {
  if (!state_->hub.has_subscribers(message.channel_id)) return;
  SubscriberSnapshot subscribers = state_->hub.snapshot(message.channel_id);
  ctx.emit(Deliver{std::move(message.channel_id), std::move(message.event),
                   std::move(message.skip_user), std::move(subscribers)});
}

const std::vector<LocalSubscriber>& Connections::local_subscribers(
    const std::string& channel_id) const {
  return state_->hub.subscribers(channel_id);
}

std::vector<ConnectionSummary> Connections::describe() const {
  std::vector<ConnectionSummary> summaries;
  for (ConnectionId id : sorted_ids(*state_)) {
    const ConnectionRecord& connection = state_->connections.at(id);
    ConnectionSummary summary;
    summary.connection = id;
    summary.public_id = connection.public_id;
    summary.authenticated = connection.authenticated();
    if (summary.authenticated) summary.user_id = connection.claims.user_id;
    summary.remote_address = connection.remote_address;
    for (const ChannelInfo& channel : connection.subscriptions) {
      summary.subscriptions.push_back(channel.slug);
    }
    std::sort(summary.subscriptions.begin(), summary.subscriptions.end());
    summaries.push_back(std::move(summary));
  }
  return summaries;
}

std::size_t Connections::size() const {
  return state_->connections.size();
}

std::size_t Connections::authenticated() const {
  return static_cast<std::size_t>(
      std::count_if(state_->connections.begin(), state_->connections.end(),
                    [](const auto& entry) { return entry.second.authenticated(); }));
}

bool Connections::is_authenticated(ConnectionId connection) const {
  auto found = state_->connections.find(connection);
  return found != state_->connections.end() && found->second.authenticated();
}

bool Connections::is_admin(ConnectionId connection) const {
  auto found = state_->connections.find(connection);
  return found != state_->connections.end() && found->second.authenticated() &&
         found->second.claims.is_admin;
}

}  // namespace nself::core::engine
