#pragma once

// Cluster mode in one object (docs/SCALING.md): the Redis command connection
// and its thread (RedisClient), the bus with its subscriber thread
// (ClusterBus), ephemeral seqs, the node registry (heartbeat, reaping),
// presence and limits. The server makes one per process when REDIS_URL is set.
//
//   cluster::Cluster cluster(options, callbacks);
//   cluster.start();                       // threads start, connects
//   cluster.bus().publish(envelope);       // from any loop thread
//   cluster.presence().join(..., [executor](auto result) {
//     boost::asio::post(executor, [r = std::move(result)] { ... });  // back to the loop
//   });
//   cluster.stop();                        // before destroying what callbacks use
//
// Threads: every component's `done` callback and on_node_dead run on the
// command thread; on_event runs on the subscriber thread; on_health and
// on_resync on either. None may block; post to your executor.
//
// Degraded mode summary (details in each header): while Redis is unreachable
// publish/presence/limits/seq calls fail fast with "unavailable", the node
// serves its local connections with local presence, limits and seqs, and
// health() reports degraded with the last error; both connections reconnect
// with backoff and jitter, the bus resubscribes, and on_resync tells the
// server to re-register its local presence and counts (sync_node) and to
// look for missed messages of its persistent channels in the store.

#include <functional>
#include <memory>
#include <string>

#include "cluster/cluster_bus.hpp"
#include "cluster/cluster_limits.hpp"
#include "cluster/cluster_presence.hpp"
#include "cluster/node_registry.hpp"
#include "cluster/redis_client.hpp"
#include "cluster/redis_subscriber.hpp"
#include "core/redis_url.hpp"

namespace nself::cluster {

struct ClusterOptions {
  core::RedisUrl redis;
  NodeInfo self;                  // id (required), address, port, started_at
  std::string prefix = "nself:";  // every key and the bus channel start with it
  RedisClientOptions client;
  RedisSubscriberOptions subscriber;
  NodeRegistryOptions registry;  // its prefix is replaced by `prefix`
};

// Both connections' states: healthy when both are connected.
struct ClusterHealth {
  RedisState commands;
  RedisState subscriber;
  bool healthy() const { return commands.connected() && subscriber.connected(); }
  // The newer of the two last errors ("" when none).
  std::string last_error() const;
};

struct ClusterCallbacks {
  ClusterBus::EventCallback on_event;                   // subscriber thread
  std::function<void(const ClusterHealth&)> on_health;  // at every change of either link
  // The bus subscribed (the first time too) or resubscribed, or the registry
  // found this node missing: events may have been missed and Redis may have
  // lost this node's entries. Idempotent work: sync_node() and a look at the
  // store for the tracked persistent channels.
  std::function<void()> on_resync;
  std::function<void(DeadNode)> on_node_dead;  // command thread, once cluster-wide
};

class Cluster {
 public:
  Cluster(ClusterOptions options, ClusterCallbacks callbacks);
  // Calls stop().
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  void start();
  // Stops the subscriber and then the command thread (pending calls get
  // "unavailable"); no callback runs after it returns. Idempotent. Call
  // nodes().leave() before it for a graceful exit.
  void stop();

  ClusterBus& bus() { return *bus_; }
  EphemeralSeq& seq() { return *seq_; }
  NodeRegistry& nodes() { return *nodes_; }
  ClusterPresence& presence() { return *presence_; }
  ClusterLimits& limits() { return *limits_; }
  ClusterHealth health() const;
  const std::string& node_id() const { return options_.self.id; }

 private:
  void report_health();

  const ClusterOptions options_;
  ClusterCallbacks callbacks_;
  std::unique_ptr<RedisClient> client_;
  std::unique_ptr<ClusterBus> bus_;
  std::unique_ptr<EphemeralSeq> seq_;
  std::unique_ptr<NodeRegistry> nodes_;
  std::unique_ptr<ClusterPresence> presence_;
  std::unique_ptr<ClusterLimits> limits_;
};

}  // namespace nself::cluster
