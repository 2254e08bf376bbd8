// Role C: the access cache. Messages, history and read need the channel's
// row and the user's membership; the lock engine read both from the store
// for every request of a connection not subscribed. Here an answer that lets
// the user in is kept per connection (issue 15 item 6: a new connection
// reads the database again) for options.access_ttl, and dropped by archive,
// delete and the API's membership changes; requests of one user wait in
// order behind one ReadAccess.
#include <type_traits>

#include "core/engine/channel_ops.hpp"

namespace nself::core::engine {

namespace {

const ChannelInfo& channel_of_job(const AccessJob& job) {
  return std::visit([](const auto& typed) -> const ChannelInfo& { return typed.channel; }, job);
}
const Asker& asker_of_job(const AccessJob& job) {
  return std::visit([](const auto& typed) -> const Asker& { return typed.asker; }, job);
}

// Whether a cached answer decides `job`: read positions are for members, so
// a cached non-member is asked again (a member may have been added since).
bool decides(const AccessJob& job, const ChannelAnswer& answer) {
  return !std::holds_alternative<ReadOfChannel>(job) || answer.membership.has_value();
}

void run(ChannelsState& state, AccessJob& job, const ChannelAnswer& access, Context& ctx) {
  std::visit(
      [&](auto& typed) {
        using T = std::decay_t<decltype(typed)>;
        if constexpr (std::is_same_v<T, MessageJob>) {
          run_message(state, typed, access, ctx);
        } else if constexpr (std::is_same_v<T, HistoryOfChannel>) {
          run_history(state, typed, access, ctx);
        } else if constexpr (std::is_same_v<T, RecheckJob>) {
          run_recheck(typed, access, ctx);
        } else {
          run_read(state, typed, access, ctx);
        }
      },
      job);
}

void ask(ChannelsState& state, const std::string& channel_id, const std::string& user_id,
         Context& ctx) {
  const std::uint64_t token = ctx.ask_store(Role::kChannels, ReadAccess{channel_id, user_id});
  state.pending.emplace(token, PendingAccess{channel_id, user_id});
}

}  // namespace

void with_access(ChannelsState& state, AccessJob job, Context& ctx) {
  // Copies: the job moves into the queue below.
  const std::string channel_id = channel_of_job(job).id;
  const std::string user_id = asker_of_job(job).user_id;
  ChannelState& channel = channel_of(state, channel_of_job(job));
  if (auto waiting = channel.waiting.find(user_id); waiting != channel.waiting.end()) {
    waiting->second.push_back(std::move(job));  // behind the ReadAccess asked already
    return;
  }
  const ConnectionId connection = asker_of_job(job).connection;
  if (auto cached = channel.access.find(connection);
      cached != channel.access.end() && cached->second.user_id == user_id &&
      ctx.now().steady < cached->second.expires && decides(job, cached->second.answer)) {
    const ChannelAnswer answer = cached->second.answer;
    run(state, job, answer, ctx);
    return;
  }
  channel.waiting[user_id].push_back(std::move(job));
  ask(state, channel_id, user_id, ctx);
}

void remember_access(ChannelState& channel, const Asker& asker, const ChannelAnswer& answer,
                     Context& ctx) {
  if (!answer.channel) return;
  const bool lets_in = answer.channel->type != ChannelType::kPrivate || answer.membership;
  if (!lets_in) return;
  channel.access[asker.connection] =
      AccessEntry{asker.user_id, answer, ctx.now().steady + ctx.options().access_ttl};
}

void forget_access(ChannelState& channel, const std::string& user_id) {
  std::erase_if(channel.access, [&](const auto& entry) { return entry.second.user_id == user_id; });
}

void access_answered(ChannelsState& state, const PendingAccess& pending, StoreReply& reply,
                     Context& ctx) {
  ChannelState* channel = find_channel(state, pending.channel_id);
  if (channel == nullptr) return;
  auto waiting = channel->waiting.find(pending.user_id);
  if (waiting == channel->waiting.end()) return;
  std::deque<AccessJob> jobs = std::move(waiting->second);
  channel->waiting.erase(waiting);
  if (reply.failure) {
    for (AccessJob& job : jobs) {
      const Asker& asker = asker_of_job(job);
      std::vector<Event> events{store_error(asker.ref, *reply.failure)};
      if (std::holds_alternative<HistoryOfChannel>(job) ||
          std::holds_alternative<ReadOfChannel>(job)) {
        end_store_request(asker.connection, std::move(events), ctx);
      } else {
        to_connection(asker.connection, std::move(events), ctx);
      }
    }
    return;
  }
  ChannelAnswer answer;
  if (auto* got = std::get_if<ChannelAnswer>(&reply.answer)) answer = std::move(*got);
  if (state.deleted.contains(pending.channel_id)) answer.channel.reset();
  if (answer.channel) {
    // The store's row is the freshest: keep it (archived, last_seq).
    ChannelState& fresh = channel_of(state, *answer.channel);
    // Once per connection: a burst of one connection's requests is one entry.
    ConnectionId last = 0;
    for (const AccessJob& job : jobs) {
      const Asker& asker = asker_of_job(job);
      if (asker.connection == last) continue;
      last = asker.connection;
      remember_access(fresh, asker, answer, ctx);
    }
  }
  // A job may run a store request or reply; none touches this user's queue
  // again unless a new request arrives, which then queues or reads anew.
  for (AccessJob& job : jobs) run(state, job, answer, ctx);
}

void expire_access(ChannelsState& state, Context& ctx) {
  for (auto& [id, channel] : state.channels) {
    std::erase_if(channel.access,
                  [&](const auto& entry) { return entry.second.expires <= ctx.now().steady; });
  }
}

}  // namespace nself::core::engine
