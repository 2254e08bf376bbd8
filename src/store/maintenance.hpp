#pragma once

// `cleanup`: one pass of the retention and staleness rules over a Store, used
// by POST /api/cleanup (on the server's store thread, server/cleanup_job.hpp)
// and by the CLI when no server runs. See docs/OPERATIONS.md, "Cleanup and
// retention".
//
// Old messages and audit rows are deleted in bounded batches (batch_rows rows
// per transaction, Store::prune_before), one batch per step, so that a
// cleanup of millions of rows never holds the database for long: the server
// runs each step as its own store job, and message commits queued meanwhile
// run between two steps (issue 16, item 0b).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "store/store.hpp"

namespace nself::store {

// Rows per prune transaction (REALTIME_CLEANUP_BATCH_ROWS).
inline constexpr std::int64_t kDefaultCleanupBatchRows = 5000;

struct CleanupPolicy {
  // Connections not seen since this instant are stale (the server heartbeats
  // its live ones every 30 s; with no server running, every row is stale).
  Timestamp connections_seen_before{};
  // Messages sent before this are deleted; none: keep forever
  // (REALTIME_MESSAGE_RETENTION_DAYS=0).
  std::optional<Timestamp> messages_before;
  // Audit rows written before this are deleted; none: keep forever
  // (REALTIME_AUDIT_RETENTION_DAYS=0).
  std::optional<Timestamp> audit_before;
  // Presence rows not updated since this instant are deleted.
  Timestamp presence_updated_before{};
  Timestamp now{};  // broadcasts expired at or before now are deleted
  std::int64_t batch_rows = kDefaultCleanupBatchRows;  // at least 1
};

struct CleanupReport {
  std::int64_t stale_connections = 0;
  std::int64_t expired_broadcasts = 0;
  std::int64_t old_messages = 0;
  std::int64_t old_audit_entries = 0;
  std::int64_t stale_presence = 0;
  // Prune transactions run (each at most batch_rows rows; the last of each
  // table finds fewer, often none).
  std::int64_t batches = 0;
};

// One cleanup, a step at a time.
class CleanupRun {
 public:
  explicit CleanupRun(const CleanupPolicy& policy);

  // Runs the next step against `store`: the first applies the quick rules
  // (stale connections, expired broadcasts, stale presence), each later one
  // deletes one batch of old messages, then of old audit rows. Returns true
  // while another step is needed. Throws what the store throws (the run can
  // be stepped again after a failure: the failed step is retried).
  bool step(Store& store);
  bool done() const { return phase_ == Phase::kDone; }
  const CleanupReport& report() const { return report_; }

 private:
  enum class Phase { kQuick, kMessages, kAudit, kDone };
  CleanupPolicy policy_;
  Phase phase_ = Phase::kQuick;
  CleanupReport report_;
};

// Runs every step in a row; `progress` (when set) is called after each batch.
CleanupReport run_cleanup(Store& store, const CleanupPolicy& policy,
                          const std::function<void(const CleanupReport&)>& progress = {});

// The policy of a server or CLI run at `now`: connections stale after
// `stale_after`, presence after `presence_stale_after`, messages past
// `retention_days` and audit rows past `audit_retention_days` (0: kept
// forever), `batch_rows` rows per prune transaction.
CleanupPolicy cleanup_policy(Timestamp now, std::chrono::seconds stale_after,
                             std::chrono::seconds presence_stale_after, int retention_days,
                             int audit_retention_days = 0,
                             std::int64_t batch_rows = kDefaultCleanupBatchRows);

}  // namespace nself::store
