// The PostgreSQL backend's bookkeeping of live clients: connection rows
// (connect, disconnect, heartbeat, list), their channel subscriptions, and
// presence rows (through realtime.update_presence()).

#include <fmt/format.h>

#include "store/postgres/postgres_store_impl.hpp"
#include "store/uuid.hpp"

namespace nself::store::postgres {
namespace {

constexpr const char* kConnectionColumns =
    "connection_id, user_id, client_ip, user_agent, node_id, " NSELF_MS(
        "connected_at") ", " NSELF_MS("last_seen_at") ", status";
constexpr const char* kPresenceColumns =
    "user_id, channel_id::text, status, metadata::text, " NSELF_MS("updated_at");

}  // namespace

// ---- connections

void PostgresStore::record_connection(const ConnectionRecord& connection) {
  exec(
      "INSERT INTO realtime.connections (id, user_id, connection_id, client_ip, user_agent, "
      "node_id, status, connected_at, last_seen_at) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, "
      "$8::timestamptz, $9::timestamptz) ON CONFLICT (connection_id) DO UPDATE SET "
      "user_id = EXCLUDED.user_id, client_ip = EXCLUDED.client_ip, "
      "user_agent = EXCLUDED.user_agent, node_id = EXCLUDED.node_id, "
      "status = EXCLUDED.status, connected_at = EXCLUDED.connected_at, "
      "last_seen_at = EXCLUDED.last_seen_at, disconnected_at = NULL",
      Params(new_uuid(), connection.user_id, connection.connection_id, connection.client_ip,
             connection.user_agent, connection.node_id, connection.status, connection.connected_at,
             connection.last_seen_at));
}

void PostgresStore::record_disconnect(std::string_view connection_id, Timestamp now) {
  Transaction transaction(*this);
  exec(
      "UPDATE realtime.connections SET status = 'disconnected', disconnected_at = "
      "$1::timestamptz WHERE connection_id = $2 AND status <> 'disconnected'",
      Params(now, connection_id));
  exec("DELETE FROM realtime.subscriptions WHERE connection_id = $1", Params(connection_id));
  transaction.commit();
}

void PostgresStore::touch_connections(std::span<const std::string> connection_ids, Timestamp now) {
  if (connection_ids.empty()) return;
  exec(
      "UPDATE realtime.connections SET last_seen_at = $1::timestamptz "
      "WHERE connection_id = ANY ($2::text[])",
      Params(now, array_literal(connection_ids)));
}

std::vector<ConnectionRecord> PostgresStore::list_connections(bool include_disconnected) {
  const auto rows = exec(fmt::format("SELECT {} FROM realtime.connections WHERE $1::boolean OR "
                                     "status <> 'disconnected' ORDER BY connected_at, "
                                     "connection_id",
                                     kConnectionColumns),
                         Params(include_disconnected));
  std::vector<ConnectionRecord> result;
  for (int i = 0; i < rows.rows(); ++i) {
    ConnectionRecord record;
    record.connection_id = rows.text(i, 0);
    record.user_id = rows.text(i, 1);
    record.client_ip = rows.text(i, 2);
    record.user_agent = rows.text(i, 3);
    record.node_id = rows.text(i, 4);
    record.connected_at = rows.time(i, 5);
    record.last_seen_at = rows.time(i, 6);
    record.status = rows.text(i, 7);
    result.push_back(std::move(record));
  }
  return result;
}

// ---- subscriptions

void PostgresStore::add_subscription(std::string_view connection_id, std::string_view channel_id,
                                     std::string_view user_id, Timestamp now) {
  exec(
      "INSERT INTO realtime.subscriptions (id, connection_id, channel_id, user_id, "
      "subscribed_at) VALUES ($1::uuid, $2, $3::uuid, $4, $5::timestamptz) "
      "ON CONFLICT (connection_id, channel_id) DO NOTHING",
      Params(new_uuid(), connection_id, require_channel_id(channel_id), user_id, now));
}

void PostgresStore::remove_subscription(std::string_view connection_id,
                                        std::string_view channel_id) {
  const auto id = canonical_uuid(channel_id);
  if (!id) return;
  exec("DELETE FROM realtime.subscriptions WHERE connection_id = $1 AND channel_id = $2::uuid",
       Params(connection_id, *id));
}

std::int64_t PostgresStore::count_subscriptions(std::string_view connection_id) {
  return exec("SELECT count(*) FROM realtime.subscriptions WHERE connection_id = $1",
              Params(connection_id))
      .integer(0, 0);
}

// ---- presence

void PostgresStore::update_presence(const PresenceRecord& presence) {
  std::optional<std::string> channel_id;
  if (presence.channel_id) channel_id = require_channel_id(*presence.channel_id);
  exec("SELECT realtime.update_presence($1, $2::uuid, $3, $4::jsonb, $5::timestamptz)",
       Params(presence.user_id, channel_id, to_string(presence.status), presence.metadata,
              presence.updated_at));
}

std::vector<PresenceRecord> PostgresStore::list_presence(std::string_view channel_id) {
  std::optional<PgResult> rows;
  if (channel_id.empty()) {
    rows.emplace(
        exec(fmt::format("SELECT {} FROM realtime.presence WHERE channel_id IS NULL "
                         "ORDER BY user_id",
                         kPresenceColumns)));
  } else {
    const auto id = canonical_uuid(channel_id);
    if (!id) return {};
    rows.emplace(exec(fmt::format("SELECT {} FROM realtime.presence WHERE channel_id = "
                                  "$1::uuid ORDER BY user_id",
                                  kPresenceColumns),
                      Params(*id)));
  }
  std::vector<PresenceRecord> result;
  for (int i = 0; i < rows->rows(); ++i) {
    PresenceRecord record;
    record.user_id = rows->text(i, 0);
    record.channel_id = rows->optional_text(i, 1);
    record.status = parse_or_throw(parse_presence_status(rows->text(i, 2)), "presence status");
    record.metadata = rows->text(i, 3);
    record.updated_at = rows->time(i, 4);
    result.push_back(std::move(record));
  }
  return result;
}

}  // namespace nself::store::postgres
