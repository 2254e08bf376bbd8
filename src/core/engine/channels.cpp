// Role C's entry points that are not one feature's: construction, the store
// answers' dispatch, the tick, the admin operations on a channel's state, and
// the helpers every feature file uses (fan-out, replies, ids).
#include "core/engine/channels.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <type_traits>

#include "core/engine/channel_ops.hpp"

namespace nself::core::engine {

Channels::Channels() : state_(std::make_unique<State>()) {}
Channels::~Channels() = default;

void Channels::store_done(StoreReply& reply, Context& ctx) {
  auto found = state_->pending.find(reply.token);
  if (found == state_->pending.end()) return;
  PendingStore pending = std::move(found->second);
  state_->pending.erase(found);
  std::visit(
      [&](auto& what) {
        using T = std::decay_t<decltype(what)>;
        if constexpr (std::is_same_v<T, PendingJoin>) {
          join_answered(*state_, what, reply, ctx);
        } else if constexpr (std::is_same_v<T, PendingAccess>) {
          access_answered(*state_, what, reply, ctx);
        } else if constexpr (std::is_same_v<T, PendingAppend>) {
          append_answered(*state_, what, reply, ctx);
        } else if constexpr (std::is_same_v<T, PendingHistory>) {
          history_answered(what, reply, ctx);
        } else {
          read_answered(what, reply, ctx);
        }
      },
      pending);
}

void Channels::tick(Context& ctx) {
  // Today's sweep order: typing expiry, then presence (away, heartbeat).
  tick_typing(*state_, ctx);
  tick_presence(*state_, ctx);
  expire_access(*state_, ctx);
  // A channel nobody uses costs nothing; an ephemeral one keeps its seq
  // (today's ephemeral_seq_ lives until the channel is deleted).
  std::erase_if(state_->channels, [](const auto& entry) {
    const ChannelState& channel = entry.second;
    return channel.connections.empty() && channel.typing.empty() && channel.access.empty() &&
           channel.waiting.empty() && channel.ephemeral_seq == 0;
  });
}

std::size_t Channels::subscriber_count(const std::string& channel_id) const {
  auto found = state_->channels.find(channel_id);
  return found == state_->channels.end() ? 0 : found->second.connections.size();
}

void Channels::on(const AdminChannelDeleted& input, Context& /*ctx*/) {
  state_->deleted.insert(input.channel_id);
  auto found = state_->channels.find(input.channel_id);
  if (found == state_->channels.end()) return;
  // The channel's rows went with it: its members are forgotten quietly
  // (subscribers are told channel_deleted by their L).
  for (const auto& [connection, user_id] : found->second.connections) {
    state_->presence.leave(input.channel_id, user_id);
  }
  // Requests still waiting for access are answered by their ReadAccess
  // (not found); keep them, drop the rest.
  ChannelState& channel = found->second;
  channel.connections.clear();
  channel.users.clear();
  channel.per_loop.clear();
  channel.typing.clear();
  channel.access.clear();
  channel.ephemeral_seq = 0;
}

void Channels::on(const AdminChannelArchived& input, Context& /*ctx*/) {
  state_->archived.insert(input.channel_id);
  if (ChannelState* channel = find_channel(*state_, input.channel_id)) {
    channel->info.archived = true;
    channel->access.clear();
  }
}

void Channels::on(const AdminMemberRevoked& input, Context& /*ctx*/) {
  if (ChannelState* channel = find_channel(*state_, input.channel_id)) {
    forget_access(*channel, input.user_id);
  }
}

void Channels::on(const AdminMemberChanged& input, Context& /*ctx*/) {
  if (ChannelState* channel = find_channel(*state_, input.channel_id)) {
    forget_access(*channel, input.user_id);
  }
}

void Channels::on(RecheckSubscription& message, Context& ctx) {
  with_access(*state_, RecheckJob{std::move(message.asker), std::move(message.channel)}, ctx);
}

void run_recheck(RecheckJob& job, const ChannelAnswer& access, Context& ctx) {
  const bool allowed = access.channel && (access.channel->type != ChannelType::kPrivate ||
                                          job.asker.is_admin || access.membership);
  if (allowed) return;
  ctx.to_shard(ctx.owner_of_connection(job.asker.connection),
               SubscriptionLost{job.asker.connection, job.channel.id, "forbidden"});
}

// ---- helpers (channel_ops.hpp)

ChannelState& channel_of(ChannelsState& state, const ChannelInfo& info) {
  auto [it, inserted] = state.channels.try_emplace(info.id);
  ChannelState& channel = it->second;
  if (inserted) {
    channel.info = info;
  } else {
    const bool archived = channel.info.archived || info.archived;
    const std::int64_t last_seq = std::max(channel.info.last_seq, info.last_seq);
    channel.info = info;
    channel.info.archived = archived;
    channel.info.last_seq = last_seq;
  }
  return channel;
}

ChannelState* find_channel(ChannelsState& state, const std::string& channel_id) {
  auto found = state.channels.find(channel_id);
  return found == state.channels.end() ? nullptr : &found->second;
}

bool is_archived(const ChannelsState& state, const ChannelInfo& info) {
  if (info.archived || state.archived.contains(info.id)) return true;
  auto found = state.channels.find(info.id);
  return found != state.channels.end() && found->second.info.archived;
}

void fan_out(const ChannelState& channel, Event event, std::optional<std::string> skip_user,
             Context& ctx) {
  if (channel.per_loop.empty()) return;
  // One shared value: every loop encodes it once for all its subscribers.
  auto shared = std::make_shared<const Event>(std::move(event));
  // Copied first: a message to this shard runs at once (depth first).
  std::vector<ShardIndex> loops;
  for (const auto& [loop, count] : channel.per_loop) {
    if (count > 0) loops.push_back(loop);
  }
  const std::string channel_id = channel.info.id;
  for (ShardIndex loop : loops) {
    ctx.to_shard(loop, ChannelEventForLoop{channel_id, shared, skip_user});
  }
}

void to_connection(ConnectionId connection, std::vector<Event> events, Context& ctx) {
  ctx.to_shard(ctx.owner_of_connection(connection), ToConnection{connection, std::move(events)});
}

void end_store_request(ConnectionId connection, std::vector<Event> events, Context& ctx) {
  ctx.to_shard(ctx.owner_of_connection(connection),
               ToConnection{connection, std::move(events), true});
}

ErrorEvent store_error(const Ref& ref, const std::string& failure) {
  if (failure == "overloaded") {
    return error(ref, "overloaded", "too many messages are waiting to be stored; retry later");
  }
  return error(ref, "unavailable", "the database is unavailable; retry later");
}

std::string new_message_id(ChannelsState& state, Context& ctx) {
  const auto ms = static_cast<std::uint64_t>(ctx.now().wall.time_since_epoch().count());
  const std::uint64_t serial = ++state.message_serial;
  // 48 bits of milliseconds, version 7, 12 bits of the serial; variant 10,
  // 16 bits of shard, 46 bits of the serial: unique per shard and serial,
  // and across restarts as long as the clock moves on.
  const std::uint64_t high = (ms << 16) | 0x7000 | ((serial >> 46) & 0x0fff);
  const std::uint64_t low = (0b10ULL << 62) |
                            (static_cast<std::uint64_t>(ctx.index() & 0xffff) << 46) |
                            (serial & ((1ULL << 46) - 1));
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", high >> 32, (high >> 16) & 0xffff,
                     high & 0xffff, low >> 48, low & 0xffffffffffffULL);
}

}  // namespace nself::core::engine
