// The PostgreSQL backend's broadcasts: scheduled and immediate events to a
// channel or to everyone (announcements), claimed for sending with FOR UPDATE
// SKIP LOCKED so that several servers never send one twice.

#include <fmt/format.h>

#include <algorithm>

#include "store/postgres/postgres_store_impl.hpp"
#include "store/uuid.hpp"

namespace nself::store::postgres {
namespace {

constexpr const char* kBroadcastColumns =
    "id::text, channel_id::text, user_id, event_type, payload::text, " NSELF_MS(
        "created_at") ", " NSELF_MS("scheduled_at") ", " NSELF_MS("expires_at") ", " NSELF_MS("sent_at");

std::vector<Broadcast> read_broadcasts(const PgResult& rows) {
  std::vector<Broadcast> result;
  for (int i = 0; i < rows.rows(); ++i) {
    Broadcast broadcast;
    broadcast.id = rows.text(i, 0);
    broadcast.channel_id = rows.optional_text(i, 1);
    broadcast.user_id = rows.optional_text(i, 2);
    broadcast.event_type = rows.text(i, 3);
    broadcast.payload = rows.text(i, 4);
    broadcast.created_at = rows.time(i, 5);
    broadcast.scheduled_at = rows.optional_time(i, 6);
    broadcast.expires_at = rows.optional_time(i, 7);
    broadcast.sent_at = rows.optional_time(i, 8);
    result.push_back(std::move(broadcast));
  }
  return result;
}

}  // namespace

Broadcast PostgresStore::create_broadcast(const Broadcast& broadcast, Timestamp now) {
  Broadcast created = broadcast;
  created.id = new_uuid();
  created.created_at = now;
  if (created.channel_id) created.channel_id = require_channel_id(*created.channel_id);
  exec(
      "INSERT INTO realtime.broadcasts (id, channel_id, user_id, event_type, payload, "
      "created_at, scheduled_at, expires_at, sent_at) VALUES ($1::uuid, $2::uuid, $3, $4, "
      "$5::jsonb, $6::timestamptz, $7::timestamptz, $8::timestamptz, $9::timestamptz)",
      Params(created.id, created.channel_id, created.user_id, created.event_type, created.payload,
             now, created.scheduled_at, created.expires_at, created.sent_at));
  return created;
}

std::vector<Broadcast> PostgresStore::due_broadcasts(Timestamp now) {
  return read_broadcasts(
      exec(fmt::format("SELECT {} FROM realtime.broadcasts WHERE sent_at IS NULL AND (scheduled_at "
                       "IS NULL OR scheduled_at <= $1::timestamptz) AND (expires_at IS NULL OR "
                       "expires_at > $1::timestamptz) ORDER BY COALESCE(scheduled_at, created_at), "
                       "created_at, id",
                       kBroadcastColumns),
           Params(now)));
}

void PostgresStore::mark_broadcast_sent(std::string_view broadcast_id, Timestamp now) {
  const auto id = canonical_uuid(broadcast_id);
  if (!id) return;
  exec(
      "UPDATE realtime.broadcasts SET sent_at = $1::timestamptz WHERE id = $2::uuid AND "
      "sent_at IS NULL",
      Params(now, *id));
}

void PostgresStore::release_broadcast(std::string_view broadcast_id) {
  const auto id = canonical_uuid(broadcast_id);
  if (!id) return;
  exec("UPDATE realtime.broadcasts SET sent_at = NULL WHERE id = $1::uuid", Params(*id));
}

std::vector<Broadcast> PostgresStore::claim_due_broadcasts(Timestamp now, int limit) {
  if (limit <= 0) return {};
  // FOR UPDATE SKIP LOCKED: a concurrent claimer skips the rows locked here;
  // a row it committed meanwhile is re-checked (sent_at IS NULL fails) and
  // skipped too. RETURNING has no order: sorted below.
  auto claimed = read_broadcasts(exec(
      fmt::format("UPDATE realtime.broadcasts SET sent_at = $1::timestamptz WHERE sent_at IS "
                  "NULL AND id IN (SELECT id FROM realtime.broadcasts WHERE sent_at IS NULL AND "
                  "(scheduled_at IS NULL OR scheduled_at <= $1::timestamptz) AND (expires_at "
                  "IS NULL OR expires_at > $1::timestamptz) ORDER BY COALESCE(scheduled_at, "
                  "created_at), created_at, id LIMIT $2::integer FOR UPDATE SKIP LOCKED) "
                  "RETURNING {}",
                  kBroadcastColumns),
      Params(now, static_cast<std::int64_t>(limit))));
  std::sort(claimed.begin(), claimed.end(), [](const Broadcast& a, const Broadcast& b) {
    const auto a_due = a.scheduled_at.value_or(a.created_at);
    const auto b_due = b.scheduled_at.value_or(b.created_at);
    if (a_due != b_due) return a_due < b_due;
    if (a.created_at != b.created_at) return a.created_at < b.created_at;
    return a.id < b.id;
  });
  return claimed;
}

std::vector<Broadcast> PostgresStore::active_announcements(Timestamp now) {
  return read_broadcasts(exec(
      fmt::format("SELECT {} FROM realtime.broadcasts WHERE sent_at IS NOT NULL AND channel_id "
                  "IS NULL AND (expires_at IS NULL OR expires_at > $1::timestamptz) ORDER BY "
                  "sent_at, id",
                  kBroadcastColumns),
      Params(now)));
}

std::vector<Broadcast> PostgresStore::list_broadcasts() {
  return read_broadcasts(exec(fmt::format(
      "SELECT {} FROM realtime.broadcasts ORDER BY created_at, id", kBroadcastColumns)));
}

bool PostgresStore::delete_broadcast(std::string_view broadcast_id) {
  const auto id = canonical_uuid(broadcast_id);
  if (!id) return false;
  return exec("DELETE FROM realtime.broadcasts WHERE id = $1::uuid", Params(*id)).affected() > 0;
}

}  // namespace nself::store::postgres
