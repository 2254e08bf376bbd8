#include "store/maintenance.hpp"

#include <algorithm>

namespace nself::store {

CleanupRun::CleanupRun(const CleanupPolicy& policy) : policy_(policy) {
  policy_.batch_rows = std::max<std::int64_t>(1, policy_.batch_rows);
}

bool CleanupRun::step(Store& store) {
  switch (phase_) {
    case Phase::kQuick: {
      CleanupReport quick = report_;
      quick.stale_connections = store.cleanup_stale_connections(policy_.connections_seen_before);
      quick.expired_broadcasts = store.cleanup_expired_broadcasts(policy_.now);
      quick.stale_presence = store.cleanup_stale_presence(policy_.presence_updated_before);
      report_ = quick;
      phase_ = Phase::kMessages;
      return true;
    }
    case Phase::kMessages:
    case Phase::kAudit: {
      const bool messages = phase_ == Phase::kMessages;
      const auto& cutoff = messages ? policy_.messages_before : policy_.audit_before;
      std::int64_t removed = 0;
      if (cutoff) {
        removed = store.prune_before(messages ? PruneTable::kMessages : PruneTable::kAuditLog,
                                     *cutoff, policy_.batch_rows);
        ++report_.batches;
        (messages ? report_.old_messages : report_.old_audit_entries) += removed;
      }
      // A short batch was the last one of its table.
      if (!cutoff || removed < policy_.batch_rows) {
        phase_ = messages ? Phase::kAudit : Phase::kDone;
      }
      return phase_ != Phase::kDone;
    }
    case Phase::kDone:
      return false;
  }
  return false;
}

CleanupReport run_cleanup(Store& store, const CleanupPolicy& policy,
                          const std::function<void(const CleanupReport&)>& progress) {
  CleanupRun run(policy);
  while (run.step(store)) {
    if (progress) progress(run.report());
  }
  return run.report();
}

CleanupPolicy cleanup_policy(Timestamp now, std::chrono::seconds stale_after,
                             std::chrono::seconds presence_stale_after, int retention_days,
                             int audit_retention_days, std::int64_t batch_rows) {
  CleanupPolicy policy;
  policy.now = now;
  policy.connections_seen_before = now - stale_after;
  policy.presence_updated_before = now - presence_stale_after;
  if (retention_days > 0) policy.messages_before = now - std::chrono::days(retention_days);
  if (audit_retention_days > 0) policy.audit_before = now - std::chrono::days(audit_retention_days);
  policy.batch_rows = batch_rows;
  return policy;
}

}  // namespace nself::store
