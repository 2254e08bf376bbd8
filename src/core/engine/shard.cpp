#include "core/engine/shard.hpp"

#include <type_traits>
#include <utility>

namespace nself::core::engine {

ShardIndex Context::index() const {
  return shard_.index();
}
ShardIndex Context::shards() const {
  return shard_.shards();
}
const EngineOptions& Context::options() const {
  return shard_.options();
}
const auth::JwtVerifier& Context::verifier() const {
  return shard_.verifier_;
}

void Context::to_shard(ShardIndex target, ShardMessage message) {
  if (target == shard_.index()) {
    shard_.dispatch(std::move(message), *this);
  } else {
    out_.push_back(engine::ToShard{target, std::move(message)});
  }
}

EngineCounters& Context::counters() {
  return shard_.counters_;
}

std::uint64_t Context::ask_store(Role role, StoreRequest request) {
  std::uint64_t token = shard_.next_token(role);
  out_.push_back(engine::Store{StoreJob{index(), token, std::move(request)}});
  return token;
}

Shard::Shard(ShardIndex index, ShardIndex shards, EngineOptions options,
             const auth::JwtVerifier& verifier)
    : index_(index), shards_(shards), options_(std::move(options)), verifier_(verifier) {}

std::uint64_t Shard::next_token(Role role) {
  ++token_serial_;
  // Role (8 bits), this shard (16 bits), serial (40 bits): unique across
  // shards, since the store lanes route a batch's answers back by token (two
  // shards' equal serials in one batch sent both answers to one shard, and the
  // other's subscribe never completed: bench_load.smoke.fanout_full_speed).
  return (static_cast<std::uint64_t>(role) << 56) |
         ((static_cast<std::uint64_t>(index_) & 0xffff) << 40) |
         (token_serial_ & ((1ULL << 40) - 1));
}

void Shard::dispatch(ShardMessage message, Context& ctx) {
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, AdmitConnection> || std::is_same_v<T, ReleaseConnection> ||
                      std::is_same_v<T, AdmitRequest>) {
          users_.on(m, ctx);
        } else if constexpr (std::is_same_v<T, ConnectionAdmitted> ||
                             std::is_same_v<T, RequestRefused> ||
                             std::is_same_v<T, RequestDecided> || std::is_same_v<T, ToConnection> ||
                             std::is_same_v<T, JoinOutcome> ||
                             std::is_same_v<T, SubscriptionLost> ||
                             std::is_same_v<T, ChannelEventForLoop>) {
          connections_.on(m, ctx);
        } else {
          channels_.on(m, ctx);
        }
      },
      message);
}

void Shard::handle(Input input, Now now, Actions& out) {
  Context ctx(*this, out, now);
  std::visit(
      [&](auto& in) {
        using T = std::decay_t<decltype(in)>;
        if constexpr (std::is_same_v<T, ConnectionOpened>) {
          connections_.opened(in, ctx);
        } else if constexpr (std::is_same_v<T, ClientFrame>) {
          connections_.frame(in, ctx);
        } else if constexpr (std::is_same_v<T, ConnectionClosed>) {
          connections_.closed(in, ctx);
        } else if constexpr (std::is_same_v<T, FromShard>) {
          dispatch(std::move(in.message), ctx);
        } else if constexpr (std::is_same_v<T, StoreDone>) {
          switch (role_of_token(in.reply.token)) {
            case Role::kConnections:
              connections_.store_done(in.reply, ctx);
              break;
            case Role::kChannels:
              channels_.store_done(in.reply, ctx);
              break;
            case Role::kUsers:
              break;  // users ask nothing of the store
          }
        } else if constexpr (std::is_same_v<T, Tick>) {
          connections_.tick(ctx);
          users_.tick(ctx);
          channels_.tick(ctx);
        } else if constexpr (std::is_same_v<T, AdminPublish>) {
          channels_.on(in, ctx);
        } else if constexpr (std::is_same_v<T, AdminMemberChanged>) {
          if (ctx.owner_of_channel(in.channel_id) == index_) channels_.on(in, ctx);
        } else if constexpr (std::is_same_v<T, AdminChannelDeleted> ||
                             std::is_same_v<T, AdminChannelArchived> ||
                             std::is_same_v<T, AdminMemberRevoked>) {
          connections_.on(in, ctx);
          if (ctx.owner_of_channel(in.channel_id) == index_) channels_.on(in, ctx);
        } else {  // AdminDisconnect, AdminBroadcast, AdminAnnouncements
          connections_.on(in, ctx);
        }
      },
      input);
}

}  // namespace nself::core::engine
