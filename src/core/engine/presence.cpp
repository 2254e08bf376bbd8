// Role C: presence in the channels this shard owns, on core::PresenceTracker
// (as today's handler): joins and leaves (first and last connection of a
// user), updates, activity per channel, automatic away, and the rows of
// realtime.presence written through the store (WritePresence) for each
// change and, every heartbeat_interval, for every member (with the stale
// rows' cleanup, which shard 0 alone asks for: it is one table).
#include "core/engine/channel_ops.hpp"

namespace nself::core::engine {

namespace {

PresenceMemberView view_of(const core::PresenceMember& member) {
  return PresenceMemberView{member.user_id, member.status == core::PresenceState::kAway,
                            member.meta_json, member.last_active};
}

PresenceRow row_of(const std::string& channel_id, const core::PresenceMember& member) {
  return PresenceRow{member.user_id, channel_id, member.status == core::PresenceState::kAway, false,
                     member.meta_json.value_or("{}")};
}

void write(std::vector<PresenceRow> rows, Context& ctx) {
  if (rows.empty()) return;
  ctx.tell_store(WritePresence{std::move(rows), ctx.now().wall, std::nullopt});
}

// A change without a request of the member's (away, back online): today's
// publish_presence.
void publish(ChannelsState& state, const std::string& channel_id,
             const core::PresenceMember& member, std::vector<PresenceRow>& rows, Context& ctx) {
  if (ChannelState* channel = find_channel(state, channel_id)) {
    fan_out(*channel, PresenceUpdate{channel->info.slug, view_of(member)}, std::nullopt, ctx);
    ++ctx.counters().presence_updates;
  }
  rows.push_back(row_of(channel_id, member));
}

}  // namespace

void presence_join(ChannelsState& state, ChannelState& channel, const std::string& user_id,
                   Context& ctx) {
  auto joined = state.presence.join(channel.info.id, user_id, ctx.now().wall);
  if (!joined) return;  // another tab of a member
  fan_out(channel, PresenceJoin{channel.info.slug, view_of(*joined)}, user_id, ctx);
  ++ctx.counters().presence_updates;
  write({row_of(channel.info.id, *joined)}, ctx);
}

void presence_leave(ChannelsState& state, ChannelState& channel, const std::string& user_id,
                    Context& ctx) {
  if (!state.presence.leave(channel.info.id, user_id)) return;
  fan_out(channel, PresenceLeave{channel.info.slug, user_id}, std::nullopt, ctx);
  ++ctx.counters().presence_updates;
  PresenceRow row{user_id, channel.info.id, false, true, "{}"};
  write({std::move(row)}, ctx);
}

PresenceState presence_state_of(const ChannelsState& state, const ChannelState& channel,
                                const Ref& ref) {
  PresenceState event{ref, channel.info.slug, {}};
  for (const core::PresenceMember& member : state.presence.members(channel.info.id)) {
    event.members.push_back(view_of(member));
  }
  return event;
}

void Channels::on(PresenceToChannels& message, Context& ctx) {
  const auto status = message.away ? core::PresenceState::kAway : core::PresenceState::kOnline;
  std::vector<PresenceRow> rows;
  for (const ChannelInfo& info : message.channels) {
    // A channel of another owner (U may hand each owner the whole list) has
    // no member here: update() finds none.
    auto updated = state_->presence.update(info.id, message.asker.user_id, status,
                                           message.meta_json, ctx.now().wall);
    if (!updated) continue;
    if (ChannelState* channel = find_channel(*state_, info.id)) {
      fan_out(*channel, PresenceUpdate{channel->info.slug, view_of(*updated)}, std::nullopt, ctx);
      ++ctx.counters().presence_updates;
    }
    rows.push_back(row_of(info.id, *updated));
  }
  write(std::move(rows), ctx);
}

void Channels::on(Activity& message, Context& ctx) {
  auto back = state_->presence.touch(message.channel_id, message.user_id, ctx.now().wall);
  if (!back) return;
  std::vector<PresenceRow> rows;
  publish(*state_, message.channel_id, *back, rows, ctx);
  write(std::move(rows), ctx);
}

void tick_presence(ChannelsState& state, Context& ctx) {
  const WallTime now = ctx.now().wall;
  std::vector<PresenceRow> rows;
  for (const core::PresenceChange& change :
       state.presence.expire_idle(now, ctx.options().away_after)) {
    publish(state, change.channel_id, change.member, rows, ctx);
  }
  write(std::move(rows), ctx);
  const bool heartbeat =
      !state.last_presence_refresh ||
      ctx.now().steady - *state.last_presence_refresh >= ctx.options().heartbeat_interval;
  if (!heartbeat) return;
  state.last_presence_refresh = ctx.now().steady;
  // Keeps updated_at of live rows fresh so that the cleanup removes only
  // rows no running server maintains.
  std::vector<PresenceRow> refresh;
  for (const core::PresenceChange& entry : state.presence.all()) {
    refresh.push_back(row_of(entry.channel_id, entry.member));
  }
  std::optional<WallTime> stale_before;
  if (ctx.index() == 0) stale_before = now - ctx.options().stale_presence_after;
  if (refresh.empty() && !stale_before) return;
  ctx.tell_store(WritePresence{std::move(refresh), now, stale_before});
}

}  // namespace nself::core::engine
