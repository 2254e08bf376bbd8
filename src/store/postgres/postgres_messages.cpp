// The PostgreSQL backend's messages: appending a batch in one statement
// (seqs from each channel's last_seq, rows sent as arrays), history before a
// seq, messages since a seq, and members' read markers.

#include <fmt/format.h>

#include <limits>
#include <map>
#include <unordered_map>

#include "store/postgres/postgres_store_impl.hpp"
#include "store/uuid.hpp"

namespace nself::store::postgres {
namespace {

constexpr const char* kMessageColumns =
    "id::text, channel_id::text, seq, user_id, content::text, message_type, "
    "metadata::text, " NSELF_MS("sent_at");

std::vector<StoredMessage> read_messages(const PgResult& rows) {
  std::vector<StoredMessage> result;
  result.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    StoredMessage message;
    message.id = rows.text(i, 0);
    message.channel_id = rows.text(i, 1);
    message.seq = rows.integer(i, 2);
    message.user_id = rows.text(i, 3);
    message.content = rows.text(i, 4);
    message.message_type = rows.text(i, 5);
    message.metadata = rows.text(i, 6);
    message.sent_at = rows.time(i, 7);
    result.push_back(std::move(message));
  }
  return result;
}

}  // namespace

std::vector<StoredMessage> PostgresStore::append_messages(std::span<const NewMessage> messages,
                                                          Timestamp now) {
  if (messages.empty()) return {};
  std::vector<StoredMessage> stored(messages.size());
  // Per channel: how many messages, and each message's place among them (1, 2, ...).
  std::map<std::string, std::int64_t> counts;  // ordered: rows updated in one order
  std::vector<std::string> places;
  places.reserve(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const NewMessage& message = messages[i];
    StoredMessage& out = stored[i];
    out.id = new_message_uuid(now);
    out.channel_id = require_channel_id(message.channel_id);
    out.user_id = message.user_id;
    out.content = message.content;
    out.message_type = message.message_type;
    out.metadata = message.metadata;
    out.sent_at = now;
    places.push_back(std::to_string(++counts[out.channel_id]));
  }
  std::vector<std::string> channel_ids;
  std::vector<std::string> increments;
  for (const auto& [channel_id, count] : counts) {
    channel_ids.push_back(channel_id);
    increments.push_back(std::to_string(count));
  }
  // One statement, so one round trip, atomic without BEGIN/COMMIT, parsed
  // and planned once (exec prepares it): it adds each channel's message count to
  // its last_seq (locking the channel row until the commit, so concurrent
  // writers take turns and seqs stay gap-free), inserts every message with
  // seq = the old last_seq + its place in the channel, and returns the old
  // last_seq of each channel. A message whose channel does not exist gets
  // a NULL seq, which fails the whole statement (said plainly below).
  static constexpr const char* kAppendSql =
      "WITH input AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], "
      "$5::text[], $6::text[], $7::text[]) AS t(id, channel_id, place, user_id, content, "
      "message_type, metadata)), "
      "bumped AS (UPDATE realtime.channels c SET last_seq = c.last_seq + v.k "
      "FROM unnest($8::uuid[], $9::bigint[]) AS v(id, k) WHERE c.id = v.id "
      "RETURNING c.id, c.last_seq - v.k AS base), "
      "inserted AS (INSERT INTO realtime.messages (id, channel_id, seq, user_id, content, "
      "message_type, metadata, sent_at) SELECT input.id, input.channel_id, bumped.base + "
      "input.place, input.user_id, input.content::jsonb, input.message_type, "
      "input.metadata::jsonb, $10::timestamptz FROM input LEFT JOIN bumped ON bumped.id = "
      "input.channel_id RETURNING 1) "
      "SELECT bumped.id::text, bumped.base, (SELECT count(*) FROM inserted) FROM bumped";
  const Params params(array_literal(stored, &StoredMessage::id),
                      array_literal(stored, &StoredMessage::channel_id), array_literal(places),
                      array_literal(stored, &StoredMessage::user_id),
                      array_literal(stored, &StoredMessage::content),
                      array_literal(stored, &StoredMessage::message_type),
                      array_literal(stored, &StoredMessage::metadata), array_literal(channel_ids),
                      array_literal(increments), now);
  std::optional<PgResult> result;
  try {
    result.emplace(exec(kAppendSql, params));
  } catch (const StoreUnavailable&) {
    throw;
  } catch (const StoreError& error) {
    // The NULL seq of a message to a missing channel (23502), said plainly.
    if (std::string_view(error.what()).find("SQLSTATE 23502") == std::string_view::npos) throw;
    for (const std::string& channel_id : channel_ids) {
      if (exec("SELECT 1 FROM realtime.channels WHERE id = $1::uuid", Params(channel_id)).rows() ==
          0) {
        throw StoreError("append_messages: no channel with id " + channel_id);
      }
    }
    throw;
  }
  if (result->rows() != static_cast<int>(channel_ids.size()) ||
      result->integer(0, 2) != static_cast<std::int64_t>(stored.size())) {
    throw StoreError(fmt::format("append_messages: {} channels and {} rows stored for {} and {}",
                                 result->rows(), result->rows() > 0 ? result->integer(0, 2) : 0,
                                 channel_ids.size(), stored.size()));
  }
  std::unordered_map<std::string, std::int64_t> base;
  for (int row = 0; row < result->rows(); ++row) {
    base[result->text(row, 0)] = result->integer(row, 1);
  }
  for (std::size_t i = 0; i < stored.size(); ++i) {
    stored[i].seq = base.at(stored[i].channel_id) + std::stoll(places[i]);
  }
  return stored;
}

std::vector<StoredMessage> PostgresStore::history(std::string_view channel_id,
                                                  std::optional<std::int64_t> before_seq,
                                                  int limit) {
  const auto id = canonical_uuid(channel_id);
  if (!id || limit <= 0) return {};
  const auto rows =
      exec(fmt::format("SELECT * FROM (SELECT {} , seq AS order_seq FROM realtime.messages WHERE "
                       "channel_id = $1::uuid AND seq < $2::bigint ORDER BY seq DESC LIMIT "
                       "$3::integer) newest ORDER BY order_seq",
                       kMessageColumns),
           Params(*id, before_seq.value_or(std::numeric_limits<std::int64_t>::max()), limit));
  return read_messages(rows);
}

std::vector<StoredMessage> PostgresStore::messages_since(std::string_view channel_id,
                                                         std::int64_t after_seq, int limit) {
  const auto id = canonical_uuid(channel_id);
  if (!id || limit <= 0) return {};
  const auto rows =
      exec(fmt::format("SELECT {} FROM realtime.messages WHERE channel_id = $1::uuid AND seq > "
                       "$2::bigint ORDER BY seq LIMIT $3::integer",
                       kMessageColumns),
           Params(*id, after_seq, limit));
  return read_messages(rows);
}

void PostgresStore::mark_read(std::string_view channel_id, std::string_view user_id,
                              std::int64_t seq, Timestamp now) {
  const auto id = canonical_uuid(channel_id);
  if (!id) return;
  exec(
      "UPDATE realtime.channel_members SET last_read_seq = GREATEST(last_read_seq, $1::bigint), "
      "last_read_at = $2::timestamptz WHERE channel_id = $3::uuid AND user_id = $4",
      Params(seq, now, *id, user_id));
}

}  // namespace nself::store::postgres
