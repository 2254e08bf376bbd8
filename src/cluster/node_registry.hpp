#pragma once

// The cluster's nodes (docs/SCALING.md, "Nodes"). Each node heartbeats a key
// "<prefix>node:<id>" holding its NodeInfo as JSON with a TTL, and is listed
// in the set "<prefix>nodes". Every node also reaps: a node in the set whose
// key expired (it died, or was cut off from Redis for longer than the TTL) is
// removed from the set together with its presence entries and connection
// counts, in one script, so exactly one surviving node reports it, with the
// (channel, user) pairs that left, to `on_dead`: that node sends the
// presence_leave events (to its subscribers, and on the bus for the others).
//
// A heartbeat that finds this node missing from the set (Redis restarted
// empty, or this node was reaped while cut off) calls `on_rejoined`: the
// server then re-registers its presence and connection counts
// (ClusterPresence::sync_node, ClusterLimits::sync_node).
//
// Degraded mode: heartbeats and reaping fail quietly (retried at the next
// interval); list() fails with "unavailable" and the caller shows this node
// alone.
//
// Thread safety: set_connections() and the calls: any thread. Callbacks
// (`on_dead`, `on_rejoined`, `done`) run on the command thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cluster/callback.hpp"
#include "cluster/cluster_presence.hpp"
#include "cluster/redis_client.hpp"

namespace nself::cluster {

struct NodeInfo {
  std::string id;
  std::string address;  // where clients reach it (host or IP)
  int port = 0;
  std::int64_t connections = 0;
  std::chrono::system_clock::time_point started_at{};
  std::chrono::system_clock::time_point last_heartbeat{};
};

// NodeInfo <-> the JSON of the heartbeat key (times in ms since the epoch).
std::string encode_node_info(const NodeInfo& node);
std::optional<NodeInfo> decode_node_info(std::string_view json);

struct DeadNode {
  std::string id;
  std::vector<PresenceLeft> left;  // members whose last connection was on it
};

struct NodeRegistryOptions {
  std::string prefix = "nself:";
  std::chrono::milliseconds heartbeat_interval{2000};
  // A node not heard from for this long is dead. Must exceed the heartbeat
  // interval by a margin (asserted: at least twice).
  std::chrono::milliseconds ttl{6000};
  std::chrono::milliseconds reap_interval{2000};
};

class NodeRegistry {
 public:
  // `self` is this node (id, address, port, started_at). `client` must
  // outlive the registry, and be stopped before the registry is destroyed
  // (start() schedules tasks on it).
  NodeRegistry(RedisClient& client, NodeInfo self, NodeRegistryOptions options,
               std::function<void(DeadNode)> on_dead, std::function<void()> on_rejoined = {});

  // Schedules the heartbeat and the reaper on the client's thread; sends the
  // first heartbeat at once.
  void start();
  // The connection count reported by the next heartbeat.
  void set_connections(std::int64_t connections) { connections_.store(connections); }

  // One heartbeat now; `done` gets whether this node was (re)added to the set.
  void heartbeat(Callback<bool> done = {});
  // One reaping pass now: the dead nodes this call removed (also given to on_dead).
  void reap(Callback<std::vector<DeadNode>> done = {});
  // Every live node (key present), by id; nodes whose key is unreadable are skipped.
  void list(Callback<std::vector<NodeInfo>> done);
  // Graceful shutdown: removes this node, its presence and counts now (no
  // wait for the TTL); `done` gets who left, for presence_leave events.
  void leave(Callback<std::vector<PresenceLeft>> done = {});

  const NodeInfo& self() const { return self_; }

 private:
  std::vector<std::string> heartbeat_args() const;
  void heartbeat_done(Result<RedisReply> reply, const Callback<bool>& done);
  RedisClient& client_;
  const NodeInfo self_;
  const NodeRegistryOptions options_;
  std::function<void(DeadNode)> on_dead_;
  std::function<void()> on_rejoined_;
  std::atomic<std::int64_t> connections_{0};
  std::atomic<bool> registered_{false};  // a heartbeat succeeded once
};

}  // namespace nself::cluster
