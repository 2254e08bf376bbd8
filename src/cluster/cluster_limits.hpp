#pragma once

// Limits counted across nodes (docs/SCALING.md, "Limits"):
// - connections per user: counted per node (uconn:<user> node -> count), so
//   the reaping of a dead node removes its counts; admission is one script
//   (sum, compare, increment), so two nodes cannot both admit the last slot.
// - messages per second per user: one token bucket per user in Redis, on
//   Redis' clock (capacity = rate, refilled at rate per second), shared by
//   every node.
//
// Degraded mode: every call fails with "unavailable"; the server falls back
// to its local limits (its own per-user count and core::TokenBucket), so a
// user may get up to (nodes x limit) while Redis is down. Connections
// admitted locally meanwhile are registered by sync_node() when the link
// comes back (or after this node was reaped).
//
// Thread safety: any thread; callbacks run on the command thread.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cluster/callback.hpp"
#include "cluster/redis_client.hpp"

namespace nself::cluster {

struct ConnectionAdmission {
  bool admitted = false;
  std::int64_t total = 0;  // the user's connections cluster-wide (with this one when admitted)
};

class ClusterLimits {
 public:
  ClusterLimits(RedisClient& client, std::string node_id, std::string prefix = "nself:");

  // Counts one more connection of `user_id` on this node unless the user has
  // `max` already, cluster-wide.
  void acquire_connection(const std::string& user_id, int max, Callback<ConnectionAdmission> done);
  // One connection fewer (of one admitted by acquire_connection or sync_node).
  void release_connection(const std::string& user_id, Callback<bool> done = {});
  // Takes a token from the user's bucket of `rate` per second: true when allowed.
  void take_message_token(const std::string& user_id, int rate, Callback<bool> done);
  // Replaces this node's counts with `counts` (user id, connections).
  void sync_node(const std::vector<std::pair<std::string, int>>& counts, Callback<bool> done = {});

 private:
  RedisClient& client_;
  const std::string node_id_;
  const std::string prefix_;
};

}  // namespace nself::cluster
