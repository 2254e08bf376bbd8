#pragma once

// What a role (connections, users, channels) may do while it handles one
// input: emit actions, address another shard, ask the store. Built by the
// Shard for each input; roles never keep it.

#include <cstdint>
#include <string_view>

#include "core/auth/jwt_verifier.hpp"
#include "core/engine/actions.hpp"
#include "core/engine/clock.hpp"
#include "core/engine/counters.hpp"
#include "core/engine/options.hpp"

namespace nself::core::engine {

class Shard;

// The role a store answer goes back to (the top byte of its token).
enum class Role : std::uint8_t { kConnections = 1, kUsers = 2, kChannels = 3 };

class Context {
 public:
  Context(Shard& shard, Actions& out, Now now) : shard_(shard), out_(out), now_(now) {}

  Now now() const { return now_; }
  ShardIndex index() const;
  ShardIndex shards() const;
  const EngineOptions& options() const;
  EngineCounters& counters();
  const auth::JwtVerifier& verifier() const;

  ShardIndex owner_of_user(std::string_view user_id) const {
    return shard_of_key(user_id, shards());
  }
  ShardIndex owner_of_channel(std::string_view channel_id) const {
    return shard_of_key(channel_id, shards());
  }
  ShardIndex owner_of_connection(ConnectionId connection) const {
    return shard_of_connection(connection);
  }

  void send(ConnectionId connection, Event event) {
    out_.push_back(engine::Send{connection, std::move(event)});
  }
  void close(ConnectionId connection, int code, std::string reason) {
    out_.push_back(engine::Close{connection, code, std::move(reason)});
  }
  void emit(Action action) { out_.push_back(std::move(action)); }

  // To the shard `target`: an action for the driver, or, when it is this
  // shard, handled now (depth first) before this call returns.
  void to_shard(ShardIndex target, ShardMessage message);

  // Store work whose answer comes back to `role` on this shard as a
  // StoreDone with the returned token.
  std::uint64_t ask_store(Role role, StoreRequest request);
  // Store work without an answer (bookkeeping).
  void tell_store(StoreRequest request) {
    out_.push_back(engine::Store{StoreJob{index(), 0, std::move(request)}});
  }

 private:
  Shard& shard_;
  Actions& out_;
  Now now_;
};

inline Role role_of_token(std::uint64_t token) {
  return static_cast<Role>(token >> 56);
}

}  // namespace nself::core::engine
