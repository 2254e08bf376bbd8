// Role C: messages (already rate-admitted by U, content filtered by L) and
// the admin API's publish. Today's checks in today's order
// (realtime_handler.cpp: resolve_channel, then send_message): not found,
// private and not a member (admins pass), archived, can_send false. A
// persistent message is fanned out and acked only once committed; an
// ephemeral one is numbered here and fanned out at once. The fan-out goes
// to every subscriber, the sender's connections included, before the ack.
#include <fmt/format.h>

#include "core/engine/channel_ops.hpp"

namespace nself::core::engine {

namespace {

// Why `user` may not send, or none.
std::optional<ErrorEvent> refusal(const ChannelsState& state, const MessageJob& job,
                                  const ChannelAnswer& access) {
  const Ref& ref = job.asker.ref;
  if (!access.channel) return error(ref, "not_found", "no channel \"" + job.channel.slug + "\"");
  const ChannelInfo& info = *access.channel;
  if (info.type == ChannelType::kPrivate && !job.asker.is_admin && !access.membership) {
    return error(ref, "forbidden", "not a member of private channel \"" + info.slug + "\"");
  }
  if (is_archived(state, info) || job.channel.archived) {
    return error(ref, "forbidden",
                 fmt::format("channel \"{}\" is archived (read-only)", info.slug));
  }
  if (access.membership && !access.membership->can_send) {
    return error(ref, "forbidden",
                 fmt::format("you may not send to channel \"{}\" (can_send is false)", info.slug));
  }
  return std::nullopt;
}

// An ephemeral message: numbered here, never stored.
MessageRecord number(ChannelsState& state, ChannelState& channel, std::string user_id,
                     std::string content_json, Context& ctx) {
  MessageRecord record;
  record.id = new_message_id(state, ctx);
  record.channel_id = channel.info.id;
  record.seq = ++channel.ephemeral_seq;
  record.user_id = std::move(user_id);
  record.content_json = std::move(content_json);
  record.created_at = ctx.now().wall;
  return record;
}

void append(ChannelsState& state, const ChannelInfo& info, std::string user_id,
            std::string content_json, PendingAppend pending, Context& ctx) {
  const std::uint64_t token = ctx.ask_store(
      Role::kChannels, AppendMessage{info.id, std::move(user_id), std::move(content_json)});
  state.pending.emplace(token, std::move(pending));
}

}  // namespace

void Channels::on(MessageToChannel& message, Context& ctx) {
  with_access(*state_,
              MessageJob{std::move(message.asker), std::move(message.channel),
                         std::move(message.content_json)},
              ctx);
}

void run_message(ChannelsState& state, MessageJob& job, const ChannelAnswer& access, Context& ctx) {
  if (auto refused = refusal(state, job, access)) {
    to_connection(job.asker.connection, {std::move(*refused)}, ctx);
    return;
  }
  ChannelState& channel = channel_of(state, *access.channel);
  ++ctx.counters().messages_in[EngineCounters::index(channel.info.type)];
  if (channel.info.persistent) {
    append(state, channel.info, job.asker.user_id, std::move(job.content_json),
           PendingAppend{channel.info, job.asker, std::nullopt}, ctx);
    return;
  }
  MessageRecord record =
      number(state, channel, job.asker.user_id, std::move(job.content_json), ctx);
  Ack ack{job.asker.ref, record.id, channel.info.slug, record.seq};
  ++ctx.counters().messages_out[EngineCounters::index(channel.info.type)];
  fan_out(channel, MessageEvent{channel.info.slug, std::move(record)}, std::nullopt, ctx);
  to_connection(job.asker.connection, {std::move(ack)}, ctx);
}

void Channels::on(AdminPublish& input, Context& ctx) {
  // Today's publish: no access check (the API checked the channel), the
  // content filter applied here since no L saw this content.
  std::string content = std::move(input.content_json);
  if (auto redacted = ctx.options().content_filter.redact_json(content)) {
    content = std::move(*redacted);
  }
  ChannelState& channel = channel_of(*state_, input.channel);
  ++ctx.counters().messages_in[EngineCounters::index(channel.info.type)];
  if (channel.info.persistent) {
    append(*state_, channel.info, std::move(input.user_id), std::move(content),
           PendingAppend{channel.info, std::nullopt, input.request_id}, ctx);
    return;
  }
  MessageRecord record =
      number(*state_, channel, std::move(input.user_id), std::move(content), ctx);
  ++ctx.counters().messages_out[EngineCounters::index(channel.info.type)];
  fan_out(channel, MessageEvent{channel.info.slug, record}, std::nullopt, ctx);
  ctx.emit(AdminDone{input.request_id, std::nullopt, std::move(record)});
}

void append_answered(ChannelsState& state, PendingAppend& pending, StoreReply& reply,
                     Context& ctx) {
  auto* stored = std::get_if<AppendAnswer>(&reply.answer);
  if (reply.failure || stored == nullptr) {  // neither stored nor delivered
    const std::string failure = reply.failure.value_or("unavailable");
    if (pending.sender) {
      to_connection(pending.sender->connection, {store_error(pending.sender->ref, failure)}, ctx);
    } else if (pending.request_id) {
      ctx.emit(AdminDone{*pending.request_id, failure, std::nullopt});
    }
    return;
  }
  ChannelState& channel = channel_of(state, pending.channel);
  channel.info.last_seq = std::max(channel.info.last_seq, stored->message.seq);
  // Committed: every subscriber first, then the sender's ack (same mailbox
  // to the sender's loop, so its own copy arrives before the ack).
  ++ctx.counters().messages_out[EngineCounters::index(channel.info.type)];
  fan_out(channel, MessageEvent{channel.info.slug, stored->message}, std::nullopt, ctx);
  if (pending.sender) {
    to_connection(
        pending.sender->connection,
        {Ack{pending.sender->ref, stored->message.id, channel.info.slug, stored->message.seq}},
        ctx);
  } else if (pending.request_id) {
    ctx.emit(AdminDone{*pending.request_id, std::nullopt, std::move(stored->message)});
  }
}

}  // namespace nself::core::engine
