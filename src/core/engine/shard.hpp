#pragma once

// One event loop's share of the engine: the three roles (connections of
// this loop, users and channels whose key hashes here) behind one entry
// point. Pure and single-threaded: the driver feeds it inputs with `now`
// and carries out the actions; shards talk only through ToShard actions
// that the driver delivers as FromShard inputs (docs/ENGINE_DESIGN.md).

#include "core/auth/jwt_verifier.hpp"
#include "core/engine/channels.hpp"
#include "core/engine/connections.hpp"
#include "core/engine/inputs.hpp"
#include "core/engine/options.hpp"
#include "core/engine/users.hpp"

namespace nself::core::engine {

class Shard {
 public:
  // `verifier` must outlive the shard. `shards` >= 1, `index` < `shards`.
  Shard(ShardIndex index, ShardIndex shards, EngineOptions options,
        const auth::JwtVerifier& verifier);

  // Decides what `input` means at `now`; appends the actions to `out`.
  void handle(Input input, Now now, Actions& out);

  ShardIndex index() const { return index_; }
  ShardIndex shards() const { return shards_; }
  const EngineOptions& options() const { return options_; }
  const Connections& connections() const { return connections_; }
  const Channels& channels() const { return channels_; }
  const Users& users() const { return users_; }
  const EngineCounters& counters() const { return counters_; }

 private:
  friend class Context;
  void dispatch(ShardMessage message, Context& ctx);
  std::uint64_t next_token(Role role);

  ShardIndex index_;
  ShardIndex shards_;
  EngineOptions options_;
  const auth::JwtVerifier& verifier_;
  std::uint64_t token_serial_ = 0;
  EngineCounters counters_;
  Connections connections_;
  Users users_;
  Channels channels_;
};

}  // namespace nself::core::engine
