#include "store/maintenance.hpp"

namespace nself::store {

CleanupReport run_cleanup(Store& store, const CleanupPolicy& policy) {
  CleanupReport report;
  report.stale_connections = store.cleanup_stale_connections(policy.connections_seen_before);
  report.expired_broadcasts = store.cleanup_expired_broadcasts(policy.now);
  if (policy.messages_before)
    report.old_messages = store.delete_messages_before(*policy.messages_before);
  report.stale_presence = store.cleanup_stale_presence(policy.presence_updated_before);
  return report;
}

CleanupPolicy cleanup_policy(Timestamp now, std::chrono::seconds stale_after,
                             std::chrono::seconds presence_stale_after, int retention_days) {
  CleanupPolicy policy;
  policy.now = now;
  policy.connections_seen_before = now - stale_after;
  policy.presence_updated_before = now - presence_stale_after;
  if (retention_days > 0) policy.messages_before = now - std::chrono::days(retention_days);
  return policy;
}

}  // namespace nself::store
