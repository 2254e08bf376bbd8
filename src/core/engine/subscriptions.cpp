// Role C: subscribes and leaves. A subscribe always reads the channel afresh
// (ReadForSubscribe), so that its answer comes back in the store's order with
// the channel's commits: the subscriber's seq and replay line up with the
// messages fanned out after it joined. Then today's checks, in today's order
// (realtime_handler.cpp: resolve_channel, then finish_subscribe): not found,
// private and not a member (admins pass), max_members (distinct users; a
// connection already in is not counted again).
#include <fmt/format.h>

#include <algorithm>

#include "core/engine/channel_ops.hpp"

namespace nself::core::engine {

namespace {

bool channel_full(const ChannelState& channel, const std::string& user_id, int max_members) {
  if (channel.users.contains(user_id)) return false;  // another tab of a member
  return channel.users.size() >= static_cast<std::size_t>(std::max(max_members, 0));
}

void refuse(const JoinChannel& join, ErrorEvent event, Context& ctx) {
  ctx.to_shard(ctx.owner_of_connection(join.asker.connection),
               JoinOutcome{join.asker.connection, std::nullopt, {std::move(event)}});
}

// The subscription row ReadForSubscribe wrote, for a subscribe that did not
// complete.
void remove_row(const JoinChannel& join, const std::string& channel_id, Context& ctx) {
  ctx.tell_store(RemoveSubscription{join.connection_public_id, channel_id});
}

void count_connection(ChannelState& channel, ConnectionId connection, const std::string& user_id,
                      Context& ctx) {
  channel.connections.emplace(connection, user_id);
  ++channel.users[user_id];
  ++channel.per_loop[ctx.owner_of_connection(connection)];
}

}  // namespace

void Channels::on(JoinChannel& message, Context& ctx) {
  ReadForSubscribe read{message.channel.id, message.asker.user_id, message.history, message.since,
                        message.connection_public_id};
  const std::uint64_t token = ctx.ask_store(Role::kChannels, std::move(read));
  state_->pending.emplace(token, PendingJoin{std::move(message), false});
}

void join_answered(ChannelsState& state, PendingJoin& pending, StoreReply& reply, Context& ctx) {
  const JoinChannel& join = pending.join;
  const Asker& asker = join.asker;
  if (reply.failure) {
    refuse(join, store_error(asker.ref, *reply.failure), ctx);
    return;
  }
  auto* answer = std::get_if<SubscribeAnswer>(&reply.answer);
  if (pending.cancelled) {  // the connection left meanwhile: it never joins
    if (answer != nullptr && answer->channel) remove_row(join, answer->channel->id, ctx);
    ctx.to_shard(ctx.owner_of_connection(asker.connection),
                 JoinOutcome{asker.connection, std::nullopt, {}});
    return;
  }
  if (answer == nullptr || !answer->channel || state.deleted.contains(join.channel.id)) {
    if (answer != nullptr && answer->channel) remove_row(join, answer->channel->id, ctx);
    refuse(join, error(asker.ref, "not_found", "no channel \"" + join.channel.slug + "\""), ctx);
    return;
  }
  ChannelState& channel = channel_of(state, *answer->channel);
  const ChannelInfo& info = channel.info;
  const bool already = channel.connections.contains(asker.connection);
  if (info.type == ChannelType::kPrivate && !asker.is_admin && !answer->membership) {
    if (!already) remove_row(join, info.id, ctx);
    refuse(join,
           error(asker.ref, "forbidden", "not a member of private channel \"" + info.slug + "\""),
           ctx);
    return;
  }
  if (!already && channel_full(channel, asker.user_id, info.max_members)) {
    remove_row(join, info.id, ctx);
    refuse(join,
           error(asker.ref, "forbidden",
                 fmt::format("channel \"{}\" is full: it has its maximum of {} members", info.slug,
                             info.max_members)),
           ctx);
    return;
  }
  remember_access(channel, asker, ChannelAnswer{info, answer->membership}, ctx);
  const std::int64_t seq = info.persistent ? answer->channel->last_seq : channel.ephemeral_seq;
  std::optional<std::int64_t> unread;
  if (answer->membership && info.persistent) {
    unread =
        std::max<std::int64_t>(0, answer->channel->last_seq - answer->membership->last_read_seq);
  }
  // Today's order for the subscriber: subscribed, presence_state, the replay.
  std::vector<Event> events;
  events.push_back(Subscribed{asker.ref, info.slug, seq, unread});
  if (!already) {
    count_connection(channel, asker.connection, asker.user_id, ctx);
    if (info.type == ChannelType::kPresence) presence_join(state, channel, asker.user_id, ctx);
  }
  if (info.type == ChannelType::kPresence) {
    events.push_back(presence_state_of(state, channel, asker.ref));
  }
  if (answer->replay) {
    // One page bounded in bytes: `history` keeps the newest (older remain),
    // `since` the oldest (newer remain: the client pages on with `after`).
    const bool cut =
        cut_to_page(answer->messages, join.since ? PageKeeps::kOldest : PageKeeps::kNewest, ctx);
    events.push_back(HistoryEvent{asker.ref, info.slug, answer->messages, answer->has_more || cut});
  }
  ChannelInfo joined = info;
  joined.last_seq = seq;
  ctx.to_shard(ctx.owner_of_connection(asker.connection),
               JoinOutcome{asker.connection, std::move(joined), std::move(events)});
}

void Channels::on(LeaveChannel& message, Context& ctx) {
  // A subscribe of this connection still waiting for the store never joins.
  for (auto& [token, pending] : state_->pending) {
    if (auto* join = std::get_if<PendingJoin>(&pending);
        join != nullptr && join->join.asker.connection == message.connection &&
        join->join.channel.id == message.channel_id) {
      join->cancelled = true;
    }
  }
  ctx.tell_store(RemoveSubscription{message.connection_public_id, message.channel_id});
  ChannelState* channel = find_channel(*state_, message.channel_id);
  if (channel == nullptr) return;
  auto found = channel->connections.find(message.connection);
  if (found == channel->connections.end()) return;
  const std::string user_id = found->second;
  channel->connections.erase(found);
  if (auto user = channel->users.find(user_id);
      user != channel->users.end() && --user->second <= 0) {
    channel->users.erase(user);
  }
  const ShardIndex loop = ctx.owner_of_connection(message.connection);
  if (auto per = channel->per_loop.find(loop);
      per != channel->per_loop.end() && --per->second <= 0) {
    channel->per_loop.erase(per);
  }
  if (channel->info.type == ChannelType::kPresence) presence_leave(*state_, *channel, user_id, ctx);
}

}  // namespace nself::core::engine
