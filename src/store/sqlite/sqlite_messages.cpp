// The SQLite backend's messages: appending a batch in one transaction (seqs
// taken from each channel's last_seq, rows in multi-row INSERTs), history
// before a seq, messages since a seq, and members' read markers.

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <limits>
#include <map>
#include <unordered_map>

#include "store/sqlite/sqlite_store_impl.hpp"
#include "store/uuid.hpp"

namespace nself::store::sqlite {
namespace {

constexpr const char* kMessageColumns =
    "id, channel_id, seq, user_id, content, message_type, metadata, sent_at";

StoredMessage read_message(const Query& row) {
  StoredMessage message;
  message.id = row.text(0);
  message.channel_id = row.text(1);
  message.seq = row.integer(2);
  message.user_id = row.text(3);
  message.content = row.text(4);
  message.message_type = row.text(5);
  message.metadata = row.text(6);
  message.sent_at = row.time(7);
  return message;
}

}  // namespace

std::vector<StoredMessage> SqliteStore::append_messages(std::span<const NewMessage> messages,
                                                        Timestamp now) {
  if (messages.empty()) return {};
  std::vector<StoredMessage> stored(messages.size());
  std::map<std::string, std::int64_t> counts;  // ordered: locks taken in one order
  for (std::size_t i = 0; i < messages.size(); ++i) {
    stored[i].channel_id = require_channel_id(messages[i].channel_id);
    ++counts[stored[i].channel_id];
  }
  Transaction transaction(*this);
  std::unordered_map<std::string, std::int64_t> next_seq;
  for (const auto& [channel_id, count] : counts) {
    auto row = query(
        "UPDATE realtime.channels SET last_seq = last_seq + ? WHERE id = ? RETURNING last_seq");
    row.bind(count, channel_id);
    if (!row.step()) throw StoreError("append_messages: no channel with id " + channel_id);
    next_seq[channel_id] = row.integer(0) - count + 1;
    row.run();
  }
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const NewMessage& message = messages[i];
    StoredMessage& out = stored[i];
    out.id = new_message_uuid(now);
    out.seq = next_seq[out.channel_id]++;
    out.user_id = message.user_id;
    out.content = message.content;
    out.message_type = message.message_type;
    out.metadata = message.metadata;
    out.sent_at = now;
  }
  // Multi-row INSERTs of kInsertRows, then halving chunks for the rest: one
  // statement execution per chunk instead of per row. The text is bound
  // without copying: `stored` outlives every step.
  const std::string sent_at = core::format_iso8601(now);
  std::size_t next = 0;
  for (std::size_t rows = kInsertRows; rows > 0; rows /= 2) {
    for (; stored.size() - next >= rows; next += rows) {
      auto insert = query(insert_messages_sql(rows));
      int index = 1;
      for (std::size_t i = next; i < next + rows; ++i) {
        const StoredMessage& row = stored[i];
        insert.bind_static(index++, row.id);
        insert.bind_static(index++, row.channel_id);
        insert.bind_static(index++, row.seq);
        insert.bind_static(index++, row.user_id);
        insert.bind_static(index++, row.content);
        insert.bind_static(index++, row.message_type);
        insert.bind_static(index++, row.metadata);
        insert.bind_static(index++, sent_at);
      }
      insert.run();
    }
  }
  transaction.commit();
  return stored;
}

const std::string& SqliteStore::insert_messages_sql(std::size_t rows) {
  std::string& sql = insert_sql_[static_cast<std::size_t>(std::countr_zero(rows))];
  if (sql.empty()) {
    sql =
        "INSERT INTO realtime.messages (id, channel_id, seq, user_id, content, message_type, "
        "metadata, sent_at) VALUES ";
    for (std::size_t i = 0; i < rows; ++i)
      sql += i == 0 ? "(?,?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?,?)";
  }
  return sql;
}

std::vector<StoredMessage> SqliteStore::history(std::string_view channel_id,
                                                std::optional<std::int64_t> before_seq, int limit) {
  const auto id = canonical_uuid(channel_id);
  if (!id || limit <= 0) return {};
  auto rows = query(fmt::format(
      "SELECT {} FROM realtime.messages WHERE channel_id = ? AND seq < ? ORDER BY seq DESC "
      "LIMIT ?",
      kMessageColumns));
  rows.bind(*id, before_seq.value_or(std::numeric_limits<std::int64_t>::max()), limit);
  std::vector<StoredMessage> result;
  while (rows.step()) result.push_back(read_message(rows));
  std::reverse(result.begin(), result.end());
  return result;
}

std::vector<StoredMessage> SqliteStore::messages_since(std::string_view channel_id,
                                                       std::int64_t after_seq, int limit) {
  const auto id = canonical_uuid(channel_id);
  if (!id || limit <= 0) return {};
  auto rows = query(fmt::format(
      "SELECT {} FROM realtime.messages WHERE channel_id = ? AND seq > ? ORDER BY seq LIMIT ?",
      kMessageColumns));
  rows.bind(*id, after_seq, limit);
  std::vector<StoredMessage> result;
  while (rows.step()) result.push_back(read_message(rows));
  return result;
}

void SqliteStore::mark_read(std::string_view channel_id, std::string_view user_id, std::int64_t seq,
                            Timestamp now) {
  const auto id = canonical_uuid(channel_id);
  if (!id) return;
  query(
      "UPDATE realtime.channel_members SET last_read_seq = MAX(last_read_seq, ?), "
      "last_read_at = ? WHERE channel_id = ? AND user_id = ?")
      .bind(seq, now, *id, user_id)
      .run();
}

}  // namespace nself::store::sqlite
