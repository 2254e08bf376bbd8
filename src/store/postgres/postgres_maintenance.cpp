// The PostgreSQL backend's housekeeping and figures: the cleanup functions
// of 0001_initial.postgres.sql, old rows pruned in batches, the statistics,
// the server_state key/value table and the audit log.

#include "store/postgres/postgres_store_impl.hpp"
#include "store/prune_sql.hpp"

namespace nself::store::postgres {

// ---- cleanup and prune

std::int64_t PostgresStore::cleanup_stale_connections(Timestamp last_seen_before) {
  return exec("SELECT realtime.cleanup_stale_connections($1::timestamptz)",
              Params(last_seen_before))
      .integer(0, 0);
}

std::int64_t PostgresStore::cleanup_expired_broadcasts(Timestamp now) {
  return exec("SELECT realtime.cleanup_expired_broadcasts($1::timestamptz)", Params(now))
      .integer(0, 0);
}

std::int64_t PostgresStore::cleanup_stale_presence(Timestamp updated_before) {
  return exec("DELETE FROM realtime.presence WHERE updated_at < $1::timestamptz",
              Params(updated_before))
      .affected();
}

std::int64_t PostgresStore::prune_before(PruneTable table, Timestamp cutoff, std::int64_t limit) {
  if (limit <= 0) return 0;
  return exec(postgres_prune_sql(table), Params(cutoff, limit)).affected();
}

// ---- statistics and server state

StoreStats PostgresStore::stats(Timestamp now) {
  const auto row = exec(
      "SELECT (SELECT count(*) FROM realtime.channels WHERE archived_at IS NULL), "
      "(SELECT count(*) FROM realtime.messages WHERE sent_at > $1::timestamptz AND "
      "sent_at <= $2::timestamptz), "
      "(SELECT count(*) FROM realtime.connections WHERE status = 'connected'), "
      "(SELECT count(DISTINCT user_id) FROM realtime.connections WHERE status = 'connected'), "
      "(SELECT count(*) FROM realtime.connections), "
      "(SELECT COALESCE(SUM(" NSELF_MS("(COALESCE(disconnected_at, $2::timestamptz) - "
                                       "connected_at)") "), 0)::bigint "
      "FROM realtime.connections)",
      Params(now - std::chrono::hours(24), now));
  StoreStats stats;
  stats.channels = row.integer(0, 0);
  stats.messages_24h = row.integer(0, 1);
  stats.active_connections = row.integer(0, 2);
  stats.online_users = row.integer(0, 3);
  const std::int64_t connections = row.integer(0, 4);
  const std::int64_t total_ms = row.integer(0, 5);
  stats.average_connection_seconds = connections == 0 ? 0 : total_ms / connections / 1000;
  return stats;
}

std::optional<std::string> PostgresStore::get_state(std::string_view key) {
  const auto rows = exec("SELECT value FROM realtime.server_state WHERE key = $1", Params(key));
  if (rows.rows() == 0) return std::nullopt;
  return rows.text(0, 0);
}

void PostgresStore::set_state(std::string_view key, std::string_view value) {
  exec(
      "INSERT INTO realtime.server_state (key, value) VALUES ($1, $2) "
      "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
      Params(key, value));
}

// ---- audit log

void PostgresStore::append_audit(const AuditEntry& entry) {
  exec(
      "INSERT INTO realtime.audit_log (at, actor, action, target, details) "
      "VALUES ($1::timestamptz, $2, $3, $4, $5::jsonb)",
      Params(entry.at, entry.actor, entry.action, entry.target, entry.details));
}

std::vector<AuditEntry> PostgresStore::list_audit(int limit) {
  if (limit <= 0) return {};
  const auto rows = exec(
      "SELECT id, " NSELF_MS("at") ", actor, action, target, details::text "
      "FROM realtime.audit_log ORDER BY id DESC LIMIT $1",
      Params(limit));
  std::vector<AuditEntry> result;
  for (int i = 0; i < rows.rows(); ++i) {
    AuditEntry entry;
    entry.id = rows.integer(i, 0);
    entry.at = rows.time(i, 1);
    entry.actor = rows.text(i, 2);
    entry.action = rows.text(i, 3);
    entry.target = rows.optional_text(i, 4);
    entry.details = rows.text(i, 5);
    result.push_back(std::move(entry));
  }
  return result;
}

}  // namespace nself::store::postgres
