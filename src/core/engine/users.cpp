#include "core/engine/users.hpp"

#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nself::core::engine {

namespace {

struct UserState {
  int connections = 0;
  TokenBucket bucket;        // message, typing, presence
  TokenBucket store_bucket;  // history, read
  // Per connection of the user: rejections in a row (flood -> close 4008).
  std::unordered_map<ConnectionId, FloodGuard> floods;
};

// PresenceToChannels cut into one message per owner of its channels, in the
// order each owner first appears, each with the channels it owns.
std::vector<std::pair<ShardIndex, PresenceToChannels>> split_by_owner(PresenceToChannels& request,
                                                                      const Context& ctx) {
  std::vector<std::pair<ShardIndex, PresenceToChannels>> parts;
  for (ChannelInfo& channel : request.channels) {
    const ShardIndex owner = ctx.owner_of_channel(channel.id);
    auto part = parts.begin();
    while (part != parts.end() && part->first != owner) ++part;
    if (part == parts.end()) {
      parts.push_back(
          {owner, PresenceToChannels{request.asker, {}, request.away, request.meta_json}});
      part = std::prev(parts.end());
    }
    part->second.channels.push_back(std::move(channel));
  }
  return parts;
}

}  // namespace

struct Users::State {
  std::unordered_map<std::string, UserState> users;

  UserState& user(const std::string& user_id, const Context& ctx) {
    auto found = users.find(user_id);
    if (found == users.end()) {
      // Starts full: a user's first request of a burst is never refused.
      const EngineOptions& options = ctx.options();
      const SteadyTime now = ctx.now().steady;
      found =
          users
              .emplace(user_id, UserState{0,
                                          TokenBucket(options.max_messages_per_second, now),
                                          TokenBucket(options.max_store_requests_per_second, now),
                                          {}})
              .first;
    }
    return found->second;
  }
};

Users::Users() : state_(std::make_unique<State>()) {}
Users::~Users() = default;

void Users::on(AdmitConnection& message, Context& ctx) {
  UserState& user = state_->user(message.asker.user_id, ctx);
  const bool admitted = user.connections < ctx.options().max_connections_per_user;
  if (admitted) ++user.connections;
  const ShardIndex target = ctx.owner_of_connection(message.asker.connection);
  ctx.to_shard(target, ConnectionAdmitted{std::move(message.asker), admitted});
}

void Users::on(ReleaseConnection& message, Context& /*ctx*/) {
  auto found = state_->users.find(message.user_id);
  if (found == state_->users.end()) return;
  found->second.floods.erase(message.connection);
  if (found->second.connections > 0) --found->second.connections;
  // The bucket stays until tick() finds it full: reconnecting must not reset it.
}

void Users::on(AdmitRequest& message, Context& ctx) {
  Asker& asker = std::visit([](auto& request) -> Asker& { return request.asker; }, message.request);
  UserState& user = state_->user(asker.user_id, ctx);
  const SteadyTime now = ctx.now().steady;
  const bool store = std::holds_alternative<HistoryOfChannel>(message.request) ||
                     std::holds_alternative<ReadOfChannel>(message.request);
  const bool allowed = (store ? user.store_bucket : user.bucket).try_take(now);
  auto guard = user.floods.try_emplace(asker.connection, ctx.options().flood).first;
  const RateDecision decision = guard->second.record(allowed, now);
  if (decision != RateDecision::kAllow) {
    const ShardIndex target = ctx.owner_of_connection(asker.connection);
    ctx.to_shard(target,
                 RequestRefused{std::move(asker), decision == RateDecision::kDisconnect, store});
    return;
  }
  const ShardIndex home = ctx.owner_of_connection(asker.connection);
  RequestDecided decided{asker.connection, {}};
  if (auto* refused = std::get_if<RefusedAtConnection>(&message.request)) {
    decided.events.push_back(Event{std::move(refused->error)});
  }
  // Decided before the request goes on: L then holds nothing behind it while
  // the channel's owner works (same-shard messages run depth first).
  ctx.to_shard(home, std::move(decided));
  std::visit(
      [&](auto& request) {
        using T = std::decay_t<decltype(request)>;
        if constexpr (std::is_same_v<T, PresenceToChannels>) {
          for (auto& [owner, part] : split_by_owner(request, ctx)) {
            ctx.to_shard(owner, std::move(part));
          }
        } else if constexpr (std::is_same_v<T, RefusedAtConnection>) {
          // Answered by the RequestDecided above.
        } else {
          const ShardIndex owner = ctx.owner_of_channel(request.channel.id);
          ctx.to_shard(owner, std::move(request));
        }
      },
      message.request);
}

void Users::tick(Context& ctx) {
  const int full = ctx.options().max_messages_per_second;
  const int store_full = ctx.options().max_store_requests_per_second;
  const SteadyTime now = ctx.now().steady;
  for (auto it = state_->users.begin(); it != state_->users.end();) {
    UserState& user = it->second;
    if (user.connections == 0 && user.bucket.available(now) >= full &&
        user.store_bucket.available(now) >= store_full) {
      it = state_->users.erase(it);
    } else {
      ++it;
    }
  }
}

std::size_t Users::tracked_users() const {
  return state_->users.size();
}

}  // namespace nself::core::engine
