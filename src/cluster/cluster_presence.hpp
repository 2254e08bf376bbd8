#pragma once

// Presence across nodes (docs/SCALING.md, "Presence"): per channel, the
// members with their status, metadata and connection count on each node. A
// user connected through two nodes is one member: join is reported for the
// user's first connection in the channel on any node, leave for its last one.
// Each call is one Lua script, so two nodes deciding at once see one order.
//
// Entries are kept per node, so a node that dies takes its counts with it:
// NodeRegistry reaps it (one survivor gets the (channel, user) pairs that
// left, to send presence_leave), see node_registry.hpp.
//
// Degraded mode: every call fails with "unavailable". The server then keeps
// its local presence (core::PresenceTracker) and answers from it alone; when
// the link comes back (or the registry reports that this node was reaped) it
// calls sync_node() with its local state, which restores this node's entries
// and reports the joins and leaves that the difference makes.
//
// Status and metadata are the member's, cluster-wide: an update from any node
// replaces them (last writer wins); join keeps those of a member present already.
//
// Thread safety: any thread; callbacks run on the command thread (short,
// non-blocking; post to your executor).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/callback.hpp"
#include "cluster/redis_client.hpp"

namespace nself::cluster {

struct ClusterMember {
  std::string user_id;
  std::string status;     // "online", "away", ... as the server sets it
  std::string meta_json;  // the metadata JSON as given ("null" for none)
  int connections = 0;    // on every node
  // Connections by node id; filled by members() only.
  std::map<std::string, int> connections_by_node;
};

struct PresenceJoin {
  bool joined = false;  // the user's first connection in the channel, cluster-wide
  ClusterMember member;
};

struct PresenceLeft {
  std::string channel_id;
  std::string user_id;
  bool operator==(const PresenceLeft&) const = default;
};

// One (channel, user) of this node's local presence, for sync_node().
struct LocalPresence {
  std::string channel_id;
  std::string user_id;
  int connections = 1;
  std::string status = "online";
  std::string meta_json = "null";
};

struct PresenceSync {
  std::vector<std::pair<std::string, ClusterMember>> joined;  // channel id, member
  std::vector<PresenceLeft> left;
};

class ClusterPresence {
 public:
  // `client` must outlive this object. `node_id` names this node's entries.
  ClusterPresence(RedisClient& client, std::string node_id, std::string prefix = "nself:");

  // One more connection of `user_id` on this node in `channel_id`; `status`
  // and `meta_json` are used when this makes the user a member.
  void join(const std::string& channel_id, const std::string& user_id, std::string status,
            std::string meta_json, Callback<PresenceJoin> done);
  // One connection fewer; true when it was the user's last one anywhere (a
  // leave). A connection not counted on this node changes nothing (false).
  void leave(const std::string& channel_id, const std::string& user_id, Callback<bool> done = {});
  // Sets status and, when given, metadata; none when the user is not a member.
  void update(const std::string& channel_id, const std::string& user_id, std::string status,
              std::optional<std::string> meta_json, Callback<std::optional<ClusterMember>> done);
  // Every member of the channel, by user id, with per-node counts.
  void members(const std::string& channel_id, Callback<std::vector<ClusterMember>> done);
  // Replaces this node's entries with `local` (after Redis came back, or this
  // node was reaped while cut off). Entries with connections <= 0 are ignored.
  void sync_node(const std::vector<LocalPresence>& local, Callback<PresenceSync> done);
  // Removes every entry of `node_id` (this node at a graceful shutdown, or a
  // node known dead) and its registration; returns who left.
  void remove_node(const std::string& node_id, Callback<std::vector<PresenceLeft>> done);

 private:
  RedisClient& client_;
  const std::string node_id_;
  const std::string prefix_;
};

// Decodes "status\nmeta" as the scripts store a member.
ClusterMember decode_member(std::string user_id, const std::string& stored, int connections);
// Flat (channel, user, ...) pairs into PresenceLeft; false when malformed.
bool decode_left(const std::vector<RedisReply>& flat, std::size_t begin, std::size_t count,
                 std::vector<PresenceLeft>& out);

}  // namespace nself::cluster
