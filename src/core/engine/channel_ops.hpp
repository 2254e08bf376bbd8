#pragma once

// What role C's feature files (subscriptions, messages, access, history_read,
// presence, typing) share: the replies, the fan-out, the access cache and the
// continuations that store answers resume. Internal to role C.

#include <optional>
#include <string>
#include <vector>

#include "core/engine/channel_state.hpp"
#include "core/history_page.hpp"

namespace nself::core::engine {

// ---- replies and fan-out (channels.cpp)
// The channel's state, created when first seen; `info` refreshes what is
// known of its row (archived sticks, last_seq only grows).
ChannelState& channel_of(ChannelsState& state, const ChannelInfo& info);
ChannelState* find_channel(ChannelsState& state, const std::string& channel_id);
// True once the channel was archived while this process runs, or when its
// freshest known row says so.
bool is_archived(const ChannelsState& state, const ChannelInfo& info);
// One ChannelEventForLoop to each loop with subscribers, in loop order.
void fan_out(const ChannelState& channel, Event event, std::optional<std::string> skip_user,
             Context& ctx);
// Events for one connection, through its loop's L.
void to_connection(ConnectionId connection, std::vector<Event> events, Context& ctx);
// The answer of a history or read request (L counts it off the connection's
// store requests in flight); `events` may be empty (a read that succeeded).
void end_store_request(ConnectionId connection, std::vector<Event> events, Context& ctx);
// A store job that did not run: "unavailable" or "overloaded", as today's
// handler words them.
ErrorEvent store_error(const Ref& ref, const std::string& failure);
// The ephemeral message id: a UUID (version 7 layout) from the wall clock,
// the shard and a counter; unique without randomness.
std::string new_message_id(ChannelsState& state, Context& ctx);

// ---- access (access.cpp)
// Runs `job` with the connection's access to its channel: from the cache
// when fresh, else after a ReadAccess (jobs of the same user queue behind it).
void with_access(ChannelsState& state, AccessJob job, Context& ctx);
// Keeps an answer that lets the user in (subscribe answers too).
void remember_access(ChannelState& channel, const Asker& asker, const ChannelAnswer& answer,
                     Context& ctx);
void access_answered(ChannelsState& state, const PendingAccess& pending, StoreReply& reply,
                     Context& ctx);
// The user's entries (every connection of theirs) are forgotten: the API
// changed the membership.
void forget_access(ChannelState& channel, const std::string& user_id);
// Expired entries are forgotten (tick).
void expire_access(ChannelsState& state, Context& ctx);

// ---- continuations once access is known
void run_message(ChannelsState& state, MessageJob& job, const ChannelAnswer& access, Context& ctx);
void run_history(ChannelsState& state, HistoryOfChannel& job, const ChannelAnswer& access,
                 Context& ctx);
void run_read(ChannelsState& state, ReadOfChannel& job, const ChannelAnswer& access, Context& ctx);
void run_recheck(RecheckJob& job, const ChannelAnswer& access, Context& ctx);

// ---- store answers
void join_answered(ChannelsState& state, PendingJoin& pending, StoreReply& reply, Context& ctx);
void append_answered(ChannelsState& state, PendingAppend& pending, StoreReply& reply, Context& ctx);
void history_answered(PendingHistory& pending, StoreReply& reply, Context& ctx);
// Cuts a reply's messages (oldest first) to one page of
// options().history_page_bytes, keeping the `keeps` end; true when some were
// dropped (the reply then says has_more).
bool cut_to_page(std::vector<MessageRecord>& messages, PageKeeps keeps, Context& ctx);
void read_answered(PendingRead& pending, StoreReply& reply, Context& ctx);

// ---- presence (presence.cpp)
// A connection of `user_id` joined / left a presence channel; the member's
// join or leave is fanned out and written when it is the user's first / last.
void presence_join(ChannelsState& state, ChannelState& channel, const std::string& user_id,
                   Context& ctx);
void presence_leave(ChannelsState& state, ChannelState& channel, const std::string& user_id,
                    Context& ctx);
PresenceState presence_state_of(const ChannelsState& state, const ChannelState& channel,
                                const Ref& ref);
// Automatic away, and every heartbeat_interval the rows' refresh and the
// stale rows' cleanup.
void tick_presence(ChannelsState& state, Context& ctx);

// ---- typing (typing.cpp)
void tick_typing(ChannelsState& state, Context& ctx);

}  // namespace nself::core::engine
