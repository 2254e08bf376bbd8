#pragma once

// What the engine asks its driver (src/server/) to do. The driver carries
// actions out in order and never decides anything itself.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/engine/events.hpp"
#include "core/engine/ids.hpp"
#include "core/engine/shard_messages.hpp"
#include "core/engine/store_requests.hpp"

namespace nself::core::engine {

// One event to one connection of this shard.
struct Send {
  ConnectionId connection = 0;
  Event event;
};
// A connection of this loop subscribed to a channel, for the driver's fan-out.
struct LocalSubscriber {
  ConnectionId connection = 0;
  std::string user_id;
};
// The subscribers of one channel on this loop as they were when an action was
// decided (the hub is copy-on-write: taking one costs a reference count).
using SubscriberSnapshot = std::shared_ptr<const std::vector<LocalSubscriber>>;

// One event to every connection of this shard subscribed to a channel when
// it was decided (`subscribers`), except those of `skip_user`. A snapshot, not
// the hub read when the driver runs it: a request later in the same frame
// (an unsubscribe) must not take back what was decided before it.
struct Deliver {
  std::string channel_id;
  SharedEvent event;
  std::optional<std::string> skip_user;
  SubscriberSnapshot subscribers;
};
// One event to every authenticated connection of this shard (announcements).
struct DeliverAuthenticated {
  SharedEvent event;
};
// Close the connection's socket with a WebSocket close code, after what was
// sent to it before.
struct Close {
  ConnectionId connection = 0;
  int code = 1000;
  std::string reason;
};
// The connection asked for batched delivery (auth {"batch":true}).
struct SetBatching {
  ConnectionId connection = 0;
  bool batch = false;
};
struct ToShard {
  ShardIndex shard = 0;  // never this shard (those are handled at once)
  ShardMessage message;
};
struct Store {
  StoreJob job;
};
// The answer to an admin operation that waits (AdminPublish).
struct AdminDone {
  std::uint64_t request_id = 0;
  std::optional<std::string> failure;  // "unavailable", "overloaded", "forbidden"...
  std::optional<MessageRecord> message;
};

using Action = std::variant<Send, Deliver, DeliverAuthenticated, Close, SetBatching, ToShard, Store,
                            AdminDone>;
using Actions = std::vector<Action>;

}  // namespace nself::core::engine
