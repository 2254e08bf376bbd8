// The SQLite backend's housekeeping and figures: stale connections, expired
// broadcasts and stale presence cleaned up, old rows pruned in batches, the
// statistics, the server_state key/value table and the audit log.

#include <algorithm>

#include "store/prune_sql.hpp"
#include "store/sqlite/sqlite_store_impl.hpp"

namespace nself::store::sqlite {

// ---- cleanup (the same semantics as the PostgreSQL functions in
// 0001_initial.postgres.sql) and prune

std::int64_t SqliteStore::cleanup_stale_connections(Timestamp last_seen_before) {
  Transaction transaction(*this);
  std::vector<std::string> connections;
  std::vector<std::string> users;
  {
    auto rows = query(
        "SELECT connection_id, user_id FROM realtime.connections "
        "WHERE status IN ('connected', 'idle') AND last_seen_at < ?");
    rows.bind(last_seen_before);
    while (rows.step()) {
      connections.push_back(rows.text(0));
      if (!rows.is_null(1)) users.push_back(rows.text(1));
    }
  }
  for (const std::string& connection_id : connections) {
    query(
        "UPDATE realtime.connections SET status = 'disconnected', "
        "disconnected_at = last_seen_at WHERE connection_id = ?")
        .bind(connection_id)
        .run();
    query("DELETE FROM realtime.subscriptions WHERE connection_id = ?").bind(connection_id).run();
  }
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  for (const std::string& user_id : users) {
    query(
        "DELETE FROM realtime.presence WHERE user_id = ?1 AND NOT EXISTS (SELECT 1 FROM "
        "realtime.connections c WHERE c.user_id = ?1 AND c.status IN ('connected', 'idle'))")
        .bind(user_id)
        .run();
  }
  transaction.commit();
  return static_cast<std::int64_t>(connections.size());
}

std::int64_t SqliteStore::cleanup_expired_broadcasts(Timestamp now) {
  query("DELETE FROM realtime.broadcasts WHERE expires_at <= ?").bind(now).run();
  return changes();
}

std::int64_t SqliteStore::cleanup_stale_presence(Timestamp updated_before) {
  query("DELETE FROM realtime.presence WHERE updated_at < ?").bind(updated_before).run();
  return changes();
}

std::int64_t SqliteStore::prune_before(PruneTable table, Timestamp cutoff, std::int64_t limit) {
  if (limit > 0) query(sqlite_prune_sql(table)).bind(cutoff, limit).run();
  return limit > 0 ? changes() : 0;
}

// ---- statistics and server state

StoreStats SqliteStore::stats(Timestamp now) {
  auto row = query(
      "SELECT (SELECT count(*) FROM realtime.channels WHERE archived_at IS NULL), "
      "(SELECT count(*) FROM realtime.messages WHERE sent_at > ?1 AND sent_at <= ?2), "
      "(SELECT count(*) FROM realtime.connections WHERE status = 'connected'), "
      "(SELECT count(DISTINCT user_id) FROM realtime.connections WHERE status = 'connected'), "
      "(SELECT count(*) FROM realtime.connections), "
      "(SELECT COALESCE(SUM(CAST(round((julianday(COALESCE(disconnected_at, ?2)) - "
      "julianday(connected_at)) * 86400000.0) AS INTEGER)), 0) FROM realtime.connections)");
  row.bind(now - std::chrono::hours(24), now);
  row.step();
  StoreStats stats;
  stats.channels = row.integer(0);
  stats.messages_24h = row.integer(1);
  stats.active_connections = row.integer(2);
  stats.online_users = row.integer(3);
  const std::int64_t connections = row.integer(4);
  const std::int64_t total_ms = row.integer(5);
  stats.average_connection_seconds = connections == 0 ? 0 : total_ms / connections / 1000;
  return stats;
}

std::optional<std::string> SqliteStore::get_state(std::string_view key) {
  auto row = query("SELECT value FROM realtime.server_state WHERE key = ?");
  row.bind(key);
  if (!row.step()) return std::nullopt;
  return row.text(0);
}

void SqliteStore::set_state(std::string_view key, std::string_view value) {
  query(
      "INSERT INTO realtime.server_state (key, value) VALUES (?, ?) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
      .bind(key, value)
      .run();
}

// ---- audit log

void SqliteStore::append_audit(const AuditEntry& entry) {
  query(
      "INSERT INTO realtime.audit_log (at, actor, action, target, details) "
      "VALUES (?, ?, ?, ?, ?)")
      .bind(entry.at, entry.actor, entry.action, entry.target, entry.details)
      .run();
}

std::vector<AuditEntry> SqliteStore::list_audit(int limit) {
  if (limit <= 0) return {};
  auto rows = query(
      "SELECT id, at, actor, action, target, details FROM realtime.audit_log "
      "ORDER BY id DESC LIMIT ?");
  rows.bind(limit);
  std::vector<AuditEntry> result;
  while (rows.step()) {
    AuditEntry entry;
    entry.id = rows.integer(0);
    entry.at = rows.time(1);
    entry.actor = rows.text(2);
    entry.action = rows.text(3);
    entry.target = rows.optional_text(4);
    entry.details = rows.text(5);
    result.push_back(std::move(entry));
  }
  return result;
}

}  // namespace nself::store::sqlite
