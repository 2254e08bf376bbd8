// Role C: history and read positions, after the access check
// (realtime_handler.cpp handle_history and handle_read). History: private
// channels for members and admins. Read: members only (admins too: a read
// position is a member's), the seq clamped to the newest message of a
// persistent channel; no reply unless it fails. A history reply is one page
// bounded in bytes (core/history_page.hpp).
#include <algorithm>

#include "core/engine/channel_ops.hpp"
#include "core/history_page.hpp"

namespace nself::core::engine {

void Channels::on(HistoryOfChannel& message, Context& ctx) {
  with_access(*state_, std::move(message), ctx);
}

void Channels::on(ReadOfChannel& message, Context& ctx) {
  with_access(*state_, std::move(message), ctx);
}

void run_history(ChannelsState& state, HistoryOfChannel& job, const ChannelAnswer& access,
                 Context& ctx) {
  const Asker& asker = job.asker;
  if (!access.channel) {
    end_store_request(asker.connection,
                      {error(asker.ref, "not_found", "no channel \"" + job.channel.slug + "\"")},
                      ctx);
    return;
  }
  const ChannelInfo& info = *access.channel;
  if (info.type == ChannelType::kPrivate && !asker.is_admin && !access.membership) {
    end_store_request(
        asker.connection,
        {error(asker.ref, "forbidden", "not a member of private channel \"" + info.slug + "\"")},
        ctx);
    return;
  }
  const std::uint64_t token =
      ctx.ask_store(Role::kChannels, ReadHistory{info.id, job.limit, job.before, job.after});
  state.pending.emplace(token, PendingHistory{asker, info.slug, job.after.has_value()});
}

bool cut_to_page(std::vector<MessageRecord>& messages, PageKeeps keeps, Context& ctx) {
  return core::cut_to_page(
      messages, ctx.options().history_page_bytes, keeps, [](const MessageRecord& message) {
        return estimated_message_bytes(message.id, message.user_id, message.content_json);
      });
}

void history_answered(PendingHistory& pending, StoreReply& reply, Context& ctx) {
  auto* answer = std::get_if<HistoryAnswer>(&reply.answer);
  if (reply.failure || answer == nullptr) {
    end_store_request(pending.asker.connection,
                      {store_error(pending.asker.ref, reply.failure.value_or("unavailable"))}, ctx);
    return;
  }
  // A page bounded in bytes: what is cut is still there (has_more), older
  // ones for a backward page, newer ones for a forward (`after`) page.
  const bool cut =
      cut_to_page(answer->messages, pending.forward ? PageKeeps::kOldest : PageKeeps::kNewest, ctx);
  end_store_request(pending.asker.connection,
                    {HistoryEvent{pending.asker.ref, pending.slug, std::move(answer->messages),
                                  answer->has_more || cut}},
                    ctx);
}

void run_read(ChannelsState& state, ReadOfChannel& job, const ChannelAnswer& access, Context& ctx) {
  const Asker& asker = job.asker;
  if (!access.channel) {
    end_store_request(asker.connection,
                      {error(asker.ref, "not_found", "no channel \"" + job.channel.slug + "\"")},
                      ctx);
    return;
  }
  const ChannelInfo& info = *access.channel;
  if (!access.membership) {
    end_store_request(asker.connection,
                      {error(asker.ref, "forbidden",
                             "read positions are kept for members of \"" + info.slug + "\" only")},
                      ctx);
    return;
  }
  // A position past the newest message would hide messages still to come.
  // The newest known here: the row read, and every commit since (all go
  // through this owner).
  std::int64_t seq = job.seq;
  if (info.persistent) {
    std::int64_t last_seq = info.last_seq;
    if (const ChannelState* channel = find_channel(state, info.id)) {
      last_seq = std::max(last_seq, channel->info.last_seq);
    }
    seq = std::min(seq, last_seq);
  }
  const std::uint64_t token = ctx.ask_store(Role::kChannels, MarkRead{info.id, asker.user_id, seq});
  state.pending.emplace(token, PendingRead{asker});
}

void read_answered(PendingRead& pending, StoreReply& reply, Context& ctx) {
  if (!reply.failure) {  // no reply on success
    end_store_request(pending.asker.connection, {}, ctx);
    return;
  }
  end_store_request(pending.asker.connection, {store_error(pending.asker.ref, *reply.failure)},
                    ctx);
}

}  // namespace nself::core::engine
