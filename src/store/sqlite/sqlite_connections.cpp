// The SQLite backend's bookkeeping of live clients: connection rows
// (connect, disconnect, heartbeat, list), their channel subscriptions, and
// presence rows (global and per channel).

#include <fmt/format.h>

#include "store/sqlite/sqlite_store_impl.hpp"
#include "store/uuid.hpp"

namespace nself::store::sqlite {
namespace {

constexpr const char* kConnectionColumns =
    "connection_id, user_id, client_ip, user_agent, node_id, connected_at, last_seen_at, status";
constexpr const char* kPresenceColumns = "user_id, channel_id, status, metadata, updated_at";

std::vector<PresenceRecord> read_presence(Query& rows) {
  std::vector<PresenceRecord> result;
  while (rows.step()) {
    PresenceRecord record;
    record.user_id = rows.text(0);
    record.channel_id = rows.optional_text(1);
    record.status = parse_or_throw(parse_presence_status(rows.text(2)), "presence status");
    record.metadata = rows.text(3);
    record.updated_at = rows.time(4);
    result.push_back(std::move(record));
  }
  return result;
}

}  // namespace

// ---- connections

void SqliteStore::record_connection(const ConnectionRecord& connection) {
  query(
      "INSERT INTO realtime.connections (id, user_id, connection_id, client_ip, user_agent, "
      "node_id, status, connected_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (connection_id) DO UPDATE SET user_id = excluded.user_id, "
      "client_ip = excluded.client_ip, user_agent = excluded.user_agent, "
      "node_id = excluded.node_id, status = excluded.status, "
      "connected_at = excluded.connected_at, last_seen_at = excluded.last_seen_at, "
      "disconnected_at = NULL")
      .bind(new_uuid(), connection.user_id, connection.connection_id, connection.client_ip,
            connection.user_agent, connection.node_id, connection.status, connection.connected_at,
            connection.last_seen_at)
      .run();
}

void SqliteStore::record_disconnect(std::string_view connection_id, Timestamp now) {
  Transaction transaction(*this);
  query(
      "UPDATE realtime.connections SET status = 'disconnected', disconnected_at = ? "
      "WHERE connection_id = ? AND status <> 'disconnected'")
      .bind(now, connection_id)
      .run();
  query("DELETE FROM realtime.subscriptions WHERE connection_id = ?").bind(connection_id).run();
  transaction.commit();
}

void SqliteStore::touch_connections(std::span<const std::string> connection_ids, Timestamp now) {
  if (connection_ids.empty()) return;
  Transaction transaction(*this);
  for (const std::string& connection_id : connection_ids) {
    query("UPDATE realtime.connections SET last_seen_at = ? WHERE connection_id = ?")
        .bind(now, connection_id)
        .run();
  }
  transaction.commit();
}

std::vector<ConnectionRecord> SqliteStore::list_connections(bool include_disconnected) {
  auto rows =
      query(fmt::format("SELECT {} FROM realtime.connections WHERE ? OR status <> 'disconnected' "
                        "ORDER BY connected_at, connection_id",
                        kConnectionColumns));
  rows.bind(include_disconnected);
  std::vector<ConnectionRecord> result;
  while (rows.step()) {
    ConnectionRecord record;
    record.connection_id = rows.text(0);
    record.user_id = rows.text(1);
    record.client_ip = rows.text(2);
    record.user_agent = rows.text(3);
    record.node_id = rows.text(4);
    record.connected_at = rows.time(5);
    record.last_seen_at = rows.time(6);
    record.status = rows.text(7);
    result.push_back(std::move(record));
  }
  return result;
}

// ---- subscriptions

void SqliteStore::add_subscription(std::string_view connection_id, std::string_view channel_id,
                                   std::string_view user_id, Timestamp now) {
  const std::string id = require_channel_id(channel_id);
  query(
      "INSERT INTO realtime.subscriptions (id, connection_id, channel_id, user_id, "
      "subscribed_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (connection_id, channel_id) DO NOTHING")
      .bind(new_uuid(), connection_id, id, user_id, now)
      .run();
}

void SqliteStore::remove_subscription(std::string_view connection_id, std::string_view channel_id) {
  const auto id = canonical_uuid(channel_id);
  if (!id) return;
  query("DELETE FROM realtime.subscriptions WHERE connection_id = ? AND channel_id = ?")
      .bind(connection_id, *id)
      .run();
}

std::int64_t SqliteStore::count_subscriptions(std::string_view connection_id) {
  auto row = query("SELECT count(*) FROM realtime.subscriptions WHERE connection_id = ?");
  row.bind(connection_id);
  row.step();
  return row.integer(0);
}

// ---- presence

void SqliteStore::update_presence(const PresenceRecord& presence) {
  std::optional<std::string> channel_id;
  if (presence.channel_id) channel_id = require_channel_id(*presence.channel_id);
  query(
      "INSERT INTO realtime.presence (id, user_id, channel_id, status, metadata, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, COALESCE(channel_id, '')) DO UPDATE "
      "SET status = excluded.status, metadata = excluded.metadata, "
      "updated_at = excluded.updated_at")
      .bind(new_uuid(), presence.user_id, channel_id, to_string(presence.status), presence.metadata,
            presence.updated_at)
      .run();
}

std::vector<PresenceRecord> SqliteStore::list_presence(std::string_view channel_id) {
  if (channel_id.empty()) {
    auto rows = query(
        fmt::format("SELECT {} FROM realtime.presence WHERE channel_id IS NULL ORDER BY user_id",
                    kPresenceColumns));
    return read_presence(rows);
  }
  const auto id = canonical_uuid(channel_id);
  if (!id) return {};
  auto rows = query(fmt::format(
      "SELECT {} FROM realtime.presence WHERE channel_id = ? ORDER BY user_id", kPresenceColumns));
  rows.bind(*id);
  return read_presence(rows);
}

}  // namespace nself::store::sqlite
