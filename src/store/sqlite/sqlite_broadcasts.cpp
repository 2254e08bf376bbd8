// The SQLite backend's broadcasts: scheduled and immediate events to a
// channel or to everyone (announcements), claimed for sending in a write
// transaction so that several servers never send one twice.

#include <fmt/format.h>

#include "store/sqlite/sqlite_store_impl.hpp"
#include "store/uuid.hpp"

namespace nself::store::sqlite {
namespace {

constexpr const char* kBroadcastColumns =
    "id, channel_id, user_id, event_type, payload, created_at, scheduled_at, expires_at, sent_at";

std::vector<Broadcast> read_broadcasts(Query& rows) {
  std::vector<Broadcast> result;
  while (rows.step()) {
    Broadcast broadcast;
    broadcast.id = rows.text(0);
    broadcast.channel_id = rows.optional_text(1);
    broadcast.user_id = rows.optional_text(2);
    broadcast.event_type = rows.text(3);
    broadcast.payload = rows.text(4);
    broadcast.created_at = rows.time(5);
    broadcast.scheduled_at = rows.optional_time(6);
    broadcast.expires_at = rows.optional_time(7);
    broadcast.sent_at = rows.optional_time(8);
    result.push_back(std::move(broadcast));
  }
  return result;
}

}  // namespace

Broadcast SqliteStore::create_broadcast(const Broadcast& broadcast, Timestamp now) {
  Broadcast created = broadcast;
  created.id = new_uuid();
  created.created_at = now;
  if (created.channel_id) created.channel_id = require_channel_id(*created.channel_id);
  query(
      "INSERT INTO realtime.broadcasts (id, channel_id, user_id, event_type, payload, "
      "created_at, scheduled_at, expires_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(created.id, created.channel_id, created.user_id, created.event_type, created.payload,
            now, created.scheduled_at, created.expires_at, created.sent_at)
      .run();
  return created;
}

std::vector<Broadcast> SqliteStore::due_broadcasts(Timestamp now) {
  auto rows = query(fmt::format(
      "SELECT {} FROM realtime.broadcasts WHERE sent_at IS NULL AND (scheduled_at IS NULL OR "
      "scheduled_at <= ?1) AND (expires_at IS NULL OR expires_at > ?1) "
      "ORDER BY COALESCE(scheduled_at, created_at), created_at, id",
      kBroadcastColumns));
  rows.bind(now);
  return read_broadcasts(rows);
}

void SqliteStore::mark_broadcast_sent(std::string_view broadcast_id, Timestamp now) {
  const auto id = canonical_uuid(broadcast_id);
  if (!id) return;
  query("UPDATE realtime.broadcasts SET sent_at = ? WHERE id = ? AND sent_at IS NULL")
      .bind(now, *id)
      .run();
}

void SqliteStore::release_broadcast(std::string_view broadcast_id) {
  const auto id = canonical_uuid(broadcast_id);
  if (!id) return;
  query("UPDATE realtime.broadcasts SET sent_at = NULL WHERE id = ?").bind(*id).run();
}

std::vector<Broadcast> SqliteStore::claim_due_broadcasts(Timestamp now, int limit) {
  if (limit <= 0) return {};
  // The write lock is taken before reading, so no other claimer can read
  // the same rows as unsent until this transaction commits.
  Transaction transaction(*this);
  std::vector<Broadcast> claimed;
  {
    auto rows = query(fmt::format(
        "SELECT {} FROM realtime.broadcasts WHERE sent_at IS NULL AND (scheduled_at IS NULL OR "
        "scheduled_at <= ?1) AND (expires_at IS NULL OR expires_at > ?1) "
        "ORDER BY COALESCE(scheduled_at, created_at), created_at, id LIMIT ?2",
        kBroadcastColumns));
    rows.bind(now, static_cast<std::int64_t>(limit));
    claimed = read_broadcasts(rows);
  }
  for (Broadcast& broadcast : claimed) {
    query("UPDATE realtime.broadcasts SET sent_at = ? WHERE id = ?").bind(now, broadcast.id).run();
    broadcast.sent_at = now;
  }
  transaction.commit();
  return claimed;
}

std::vector<Broadcast> SqliteStore::active_announcements(Timestamp now) {
  auto rows = query(fmt::format(
      "SELECT {} FROM realtime.broadcasts WHERE sent_at IS NOT NULL AND channel_id IS NULL AND "
      "(expires_at IS NULL OR expires_at > ?) ORDER BY sent_at, id",
      kBroadcastColumns));
  rows.bind(now);
  return read_broadcasts(rows);
}

std::vector<Broadcast> SqliteStore::list_broadcasts() {
  auto rows = query(
      fmt::format("SELECT {} FROM realtime.broadcasts ORDER BY created_at, id", kBroadcastColumns));
  return read_broadcasts(rows);
}

bool SqliteStore::delete_broadcast(std::string_view broadcast_id) {
  const auto id = canonical_uuid(broadcast_id);
  if (!id) return false;
  query("DELETE FROM realtime.broadcasts WHERE id = ?").bind(*id).run();
  return changes() > 0;
}

}  // namespace nself::store::sqlite
