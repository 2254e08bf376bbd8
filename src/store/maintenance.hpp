#pragma once

// `cleanup`: one pass of the retention and staleness rules over a Store, used
// by POST /api/cleanup (on the server's store thread) and by the CLI when no
// server runs. See docs/OPERATIONS.md, "Cleanup and retention".

#include <chrono>
#include <cstdint>
#include <optional>

#include "store/store.hpp"

namespace nself::store {

struct CleanupPolicy {
  // Connections not seen since this instant are stale (the server heartbeats
  // its live ones every 30 s; with no server running, every row is stale).
  Timestamp connections_seen_before{};
  // Messages sent before this are deleted; none: keep forever
  // (REALTIME_MESSAGE_RETENTION_DAYS=0).
  std::optional<Timestamp> messages_before;
  // Presence rows not updated since this instant are deleted.
  Timestamp presence_updated_before{};
  Timestamp now{};  // broadcasts expired at or before now are deleted
};

struct CleanupReport {
  std::int64_t stale_connections = 0;
  std::int64_t expired_broadcasts = 0;
  std::int64_t old_messages = 0;
  std::int64_t stale_presence = 0;
};

// Runs every rule; throws what the store throws.
CleanupReport run_cleanup(Store& store, const CleanupPolicy& policy);

// The policy of a server or CLI run at `now`: connections stale after
// `stale_after`, presence after `presence_stale_after`, messages past
// `retention_days` (0: kept forever).
CleanupPolicy cleanup_policy(Timestamp now, std::chrono::seconds stale_after,
                             std::chrono::seconds presence_stale_after, int retention_days);

}  // namespace nself::store
