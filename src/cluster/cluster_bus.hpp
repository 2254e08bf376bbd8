#pragma once

// Events between nodes: every node publishes the events it accepts (messages,
// presence, typing, broadcasts, as pre-serialized JSON in a
// core::ClusterEnvelope) to one Redis pub/sub channel ("<prefix>bus"), and
// receives every other node's events from it; its own come back from Redis
// too and are skipped here.
//
// Ordering: Redis delivers one publisher's messages in publish order, but two
// nodes' messages interleave, and a publish can be lost while Redis is down.
// The receiver passes sequenced events (seq > 0) through a
// core::SeqReorderBuffer together with its own, and fills gaps from the store
// (docs/SCALING.md, "Ordering").
//
// Degraded mode: publish() fails with "unavailable" (through `done`) while
// the command connection is down: the node still serves its local
// subscribers, remote nodes miss the event and recover it from the store
// (persistent channels: gap fill, or subscribe with "since" after a
// reconnect; ephemeral events are lost). While the subscriber connection is
// down nothing is received; `on_state` reports the link, and a
// `resubscribed` state change says events may have been missed: the owner
// re-reads its persistent channels' last seq from the store.
//
// Thread safety: publish(), state(), counters: any thread. `on_event` and
// `on_state` run on the subscriber thread; `done` on the command thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "cluster/callback.hpp"
#include "cluster/redis_client.hpp"
#include "cluster/redis_subscriber.hpp"
#include "core/cluster_envelope.hpp"

namespace nself::cluster {

struct ClusterBusOptions {
  std::string node_id;            // this node; its own events are skipped
  std::string prefix = "nself:";  // key prefix shared by the cluster's nodes
  RedisSubscriberOptions subscriber;
};

class ClusterBus {
 public:
  using EventCallback = std::function<void(core::ClusterEnvelope)>;

  // `client` must outlive the bus. The bus owns its subscriber connection.
  ClusterBus(RedisClient& client, ClusterBusOptions options, EventCallback on_event,
             RedisSubscriber::StateCallback on_state = {});
  ~ClusterBus();
  ClusterBus(const ClusterBus&) = delete;
  ClusterBus& operator=(const ClusterBus&) = delete;

  // Starts the subscriber thread.
  void start();
  // Joins the subscriber thread: no on_event/on_state after it returns.
  void stop();

  // Publishes `envelope` with node_id set to this node. An envelope that
  // cannot be encoded is refused at once (invalid_envelope, nothing sent);
  // else `done` gets the number of nodes' subscriber connections that got it
  // (this one included) or "unavailable".
  Status publish(core::ClusterEnvelope envelope, Callback<std::int64_t> done = {});

  // The subscriber connection's state (the command connection's is the client's).
  RedisState state() const;
  // Messages received that were not valid envelopes (dropped).
  std::uint64_t malformed() const { return malformed_.load(); }
  std::uint64_t received() const { return received_.load(); }
  const std::string& channel() const { return channel_; }

 private:
  void on_message(const std::string& channel, const std::string& payload);

  RedisClient& client_;
  const ClusterBusOptions options_;
  const std::string channel_;
  EventCallback on_event_;
  std::atomic<std::uint64_t> malformed_{0};
  std::atomic<std::uint64_t> received_{0};
  std::unique_ptr<RedisSubscriber> subscriber_;
};

// Ephemeral channels' seq, from Redis (INCR per channel), so that it is
// gap-free and increasing across nodes.
//
// `floor` is the highest seq this node has seen for the channel: the result is
// always above it, so a Redis that restarted empty (or a counter that expired)
// never makes seqs go back on this node.
//
// Degraded mode: "unavailable"; the caller numbers locally (its last seq + 1)
// and delivers to local subscribers only. After recovery the floor keeps the
// counter ahead of what this node used; two nodes numbering alone at the same
// time may use the same seq (receivers drop the second as a duplicate).
//
// Thread safety: any thread; `done` runs on the command thread.
class EphemeralSeq {
 public:
  EphemeralSeq(RedisClient& client, std::string prefix = "nself:")
      : client_(client), prefix_(std::move(prefix)) {}
  void next(const std::string& channel_id, std::int64_t floor, Callback<std::int64_t> done);

 private:
  RedisClient& client_;
  const std::string prefix_;
};

}  // namespace nself::cluster
