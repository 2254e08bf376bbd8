#pragma once

// Who owns what (docs/ENGINE_DESIGN.md, "Ownership"). A shard is one event
// loop's share of the engine; every piece of state has exactly one owner:
// - a connection is owned by the shard of the loop its socket lives on, which
//   the server encodes in the connection id (shard_of_connection);
// - a user's counters (connections, rate bucket, flood guards) by
//   shard_of_key(user_id);
// - a channel (seq, subscribers per loop, members, presence, typing, access
//   cache) by shard_of_key(channel_id), the store's UUID.

#include <cstdint>
#include <string_view>

namespace nself::core::engine {

using ShardIndex = std::uint32_t;

// Unique in the process for its lifetime; the top 16 bits are the owning
// shard (make_connection_id), the rest a counter of that shard.
using ConnectionId = std::uint64_t;

inline constexpr ConnectionId make_connection_id(ShardIndex shard, std::uint64_t serial) {
  return (static_cast<ConnectionId>(shard) << 48) | (serial & ((ConnectionId{1} << 48) - 1));
}
inline constexpr ShardIndex shard_of_connection(ConnectionId id) {
  return static_cast<ShardIndex>(id >> 48);
}

// FNV-1a of `key`, reduced to [0, shards). Stable across runs and builds so
// that tests and logs name the same owner. `shards` must be >= 1.
inline constexpr ShardIndex shard_of_key(std::string_view key, ShardIndex shards) {
  std::uint64_t hash = 1469598103934665603ULL;
  for (char c : key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return static_cast<ShardIndex>(hash % shards);
}

}  // namespace nself::core::engine
