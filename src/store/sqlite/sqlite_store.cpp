#include "store/sqlite/sqlite_store.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <bit>
#include <limits>
#include <map>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "core/time_format.hpp"
#include "store/migrations.hpp"
#include "store/private_files.hpp"
#include "store/prune_sql.hpp"
#include "store/sqlite/sqlite_errors.hpp"
#include "store/uuid.hpp"

namespace nself::store {
namespace {

constexpr const char* kChannelColumns =
    "id, name, slug, description, type, max_members, is_persistent, metadata, created_at, "
    "created_by, archived_at, last_seq";
constexpr const char* kMemberColumns =
    "channel_id, user_id, role, can_send, can_invite, subscribed_at, last_read_at, last_read_seq";
constexpr const char* kMessageColumns =
    "id, channel_id, seq, user_id, content, message_type, metadata, sent_at";
constexpr const char* kConnectionColumns =
    "connection_id, user_id, client_ip, user_agent, node_id, connected_at, last_seen_at, status";
constexpr const char* kPresenceColumns = "user_id, channel_id, status, metadata, updated_at";
constexpr const char* kBroadcastColumns =
    "id, channel_id, user_id, event_type, payload, created_at, scheduled_at, expires_at, sent_at";

Timestamp system_now() {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

class SqliteStore;

// One use of a cached prepared statement: binds parameters, steps through the
// rows, and resets the statement when it goes away.
class Query {
 public:
  Query(SqliteStore& store, sqlite3_stmt* statement) : store_(store), statement_(statement) {}
  ~Query() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  template <class... Args>
  Query& bind(const Args&... args) {
    int index = 1;
    (bind_one(index++, args), ...);
    return *this;
  }

  // Binds parameter `index` (from 1) without copying: `value` must stay
  // valid and unchanged until the query is reset (it goes away).
  void bind_static(int index, std::string_view value) {
    check(sqlite3_bind_text64(statement_, index, value.data(), value.size(), SQLITE_STATIC,
                              SQLITE_UTF8));
  }
  void bind_static(int index, std::int64_t value) {
    check(sqlite3_bind_int64(statement_, index, value));
  }

  // Steps once; true when a row is available.
  bool step();
  // Steps to completion (for statements without rows).
  void run() {
    while (step()) {
    }
  }

  bool is_null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
  std::string text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    if (data == nullptr) return {};
    return std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)));
  }
  std::optional<std::string> optional_text(int column) const {
    if (is_null(column)) return std::nullopt;
    return text(column);
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
  Timestamp time(int column) const {
    const std::string value = text(column);
    const auto parsed = core::parse_iso8601(value);
    if (!parsed) throw StoreError("SQLite: unreadable timestamp '" + value + "' in the database");
    return *parsed;
  }
  std::optional<Timestamp> optional_time(int column) const {
    if (is_null(column)) return std::nullopt;
    return time(column);
  }

 private:
  void check(int rc);
  void bind_one(int index, std::string_view value) {
    check(sqlite3_bind_text64(statement_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                              SQLITE_UTF8));
  }
  void bind_one(int index, const std::string& value) { bind_one(index, std::string_view(value)); }
  void bind_one(int index, const char* value) { bind_one(index, std::string_view(value)); }
  void bind_one(int index, std::nullopt_t) { check(sqlite3_bind_null(statement_, index)); }
  void bind_one(int index, const std::optional<std::string>& value) {
    if (value) {
      bind_one(index, *value);
    } else {
      bind_one(index, std::nullopt);
    }
  }
  void bind_one(int index, std::int64_t value) {
    check(sqlite3_bind_int64(statement_, index, value));
  }
  void bind_one(int index, int value) { check(sqlite3_bind_int(statement_, index, value)); }
  void bind_one(int index, bool value) {
    check(sqlite3_bind_int(statement_, index, value ? 1 : 0));
  }
  void bind_one(int index, Timestamp value) { bind_one(index, core::format_iso8601(value)); }
  void bind_one(int index, const std::optional<Timestamp>& value) {
    if (value) {
      bind_one(index, *value);
    } else {
      bind_one(index, std::nullopt);
    }
  }

  SqliteStore& store_;
  sqlite3_stmt* statement_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(std::filesystem::path path, std::chrono::milliseconds busy_timeout,
              SqliteSynchronous synchronous)
      : path_(std::move(path)) {
    try {
      open(busy_timeout, synchronous);
    } catch (...) {
      close();  // the destructor does not run for a half-built object
      throw;
    }
  }

  ~SqliteStore() override { close(); }

  // Throws the exception matching `rc` (which is not OK/ROW/DONE).
  [[noreturn]] void fail(int rc, std::string_view context) const {
    throw_sqlite_error(db_, rc, path_, context);
  }

  Query query(const char* sql) {
    auto found = statements_.find(sql);
    if (found == statements_.end()) {
      sqlite3_stmt* statement = nullptr;
      const int rc =
          sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
      if (rc != SQLITE_OK) fail(rc, sql);
      found = statements_.emplace(sql, statement).first;
    }
    return Query(*this, found->second);
  }
  Query query(const std::string& sql) {
    auto found = statements_.find(sql);
    if (found == statements_.end()) {
      query(sql.c_str());  // prepares and caches under the same text
      found = statements_.find(sql);
    }
    return Query(*this, found->second);
  }

  std::int64_t changes() const { return sqlite3_changes64(db_); }

  // A write transaction: BEGIN IMMEDIATE takes the write lock up front (waiting
  // up to busy_timeout), so two writers never deadlock on a lock upgrade.
  class Transaction {
   public:
    explicit Transaction(SqliteStore& store) : store_(store) {
      store_.query("BEGIN IMMEDIATE").run();
    }
    ~Transaction() {
      if (!done_) sqlite3_exec(store_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
      store_.query("COMMIT").run();
      done_ = true;
    }

   private:
    SqliteStore& store_;
    bool done_ = false;
  };

  std::string_view backend() const override { return "sqlite"; }
  bool connection_lost() const override { return false; }  // a file: nothing to lose
  std::string describe() const override { return path_.string(); }

  // ---- schema

  MigrationReport migrate() override {
    query(
        "CREATE TABLE IF NOT EXISTS realtime.schema_migrations (version INTEGER PRIMARY KEY NOT "
        "NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        .run();
    MigrationReport report;
    for (const Migration& migration : migrations_for("sqlite")) {
      if (is_applied(migration.version)) continue;
      Transaction transaction(*this);
      if (is_applied(migration.version)) continue;  // another process was first
      const std::string sql(migration.sql);
      char* error = nullptr;
      const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
      if (rc != SQLITE_OK) {
        const std::string detail = error != nullptr ? error : sqlite3_errstr(rc);
        sqlite3_free(error);
        throw StoreError(fmt::format("SQLite: migration {:04}_{} failed: {}", migration.version,
                                     migration.name, detail));
      }
      query("INSERT INTO realtime.schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
          .bind(migration.version, migration.name, system_now())
          .run();
      transaction.commit();
      report.applied.push_back(fmt::format("{:04}_{}", migration.version, migration.name));
    }
    report.version = schema_version();
    return report;
  }

  int schema_version() override {
    auto exists = query(
        "SELECT count(*) FROM realtime.sqlite_master WHERE type = 'table' AND name = "
        "'schema_migrations'");
    if (!exists.step() || exists.integer(0) == 0) return 0;
    auto version = query("SELECT COALESCE(MAX(version), 0) FROM realtime.schema_migrations");
    version.step();
    return static_cast<int>(version.integer(0));
  }

  // ---- channels

  Result<Channel> create_channel(const NewChannel& channel, Timestamp now) override {
    Channel created = channel_row(channel, now);
    query(
        "INSERT INTO realtime.channels (id, name, slug, description, type, max_members, "
        "is_persistent, metadata, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (slug) DO NOTHING")
        .bind(created.id, created.name, created.slug, created.description,
              core::to_string(created.type), created.max_members, created.is_persistent,
              created.metadata, now, created.created_by)
        .run();
    if (changes() == 0) {
      return Error{"conflict", "a channel with the slug '" + channel.slug + "' already exists"};
    }
    return created;
  }

  std::vector<Channel> list_channels(bool include_archived) override {
    auto rows = query(fmt::format(
        "SELECT {} FROM realtime.channels WHERE ? OR archived_at IS NULL ORDER BY created_at, slug",
        kChannelColumns));
    rows.bind(include_archived);
    std::vector<Channel> result;
    while (rows.step()) result.push_back(read_channel(rows));
    return result;
  }

  std::optional<Channel> find_channel(std::string_view id_or_slug) override {
    const auto id = canonical_uuid(id_or_slug);
    auto rows = query(fmt::format("SELECT {} FROM realtime.channels WHERE {} = ?", kChannelColumns,
                                  id ? "id" : "slug"));
    rows.bind(id ? std::string_view(*id) : id_or_slug);
    if (!rows.step()) return std::nullopt;
    return read_channel(rows);
  }

  bool delete_channel(std::string_view channel_id) override {
    const auto id = canonical_uuid(channel_id);
    if (!id) return false;
    query("DELETE FROM realtime.channels WHERE id = ?").bind(*id).run();
    return changes() > 0;
  }

  bool archive_channel(std::string_view channel_id, Timestamp now) override {
    const auto id = canonical_uuid(channel_id);
    if (!id) return false;
    query("UPDATE realtime.channels SET archived_at = COALESCE(archived_at, ?) WHERE id = ?")
        .bind(now, *id)
        .run();
    return changes() > 0;
  }

  // ---- members

  void upsert_member(const ChannelMember& member) override {
    const std::string channel_id = require_channel_id(member.channel_id);
    query(
        "INSERT INTO realtime.channel_members (id, channel_id, user_id, role, can_send, "
        "can_invite, subscribed_at, last_read_at, last_read_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
        "?) ON CONFLICT (channel_id, user_id) DO UPDATE SET role = excluded.role, "
        "can_send = excluded.can_send, can_invite = excluded.can_invite")
        .bind(new_uuid(), channel_id, member.user_id, to_string(member.role), member.can_send,
              member.can_invite, member.subscribed_at, member.last_read_at, member.last_read_seq)
        .run();
  }

  bool remove_member(std::string_view channel_id, std::string_view user_id) override {
    const auto id = canonical_uuid(channel_id);
    if (!id) return false;
    query("DELETE FROM realtime.channel_members WHERE channel_id = ? AND user_id = ?")
        .bind(*id, user_id)
        .run();
    return changes() > 0;
  }

  std::vector<ChannelMember> get_channel_members(std::string_view channel_id) override {
    const auto id = canonical_uuid(channel_id);
    if (!id) return {};
    auto rows = query(fmt::format(
        "SELECT {} FROM realtime.channel_members WHERE channel_id = ? ORDER BY subscribed_at, "
        "user_id",
        kMemberColumns));
    rows.bind(*id);
    std::vector<ChannelMember> result;
    while (rows.step()) result.push_back(read_member(rows));
    return result;
  }

  std::optional<ChannelMember> find_member(std::string_view channel_id,
                                           std::string_view user_id) override {
    const auto id = canonical_uuid(channel_id);
    if (!id) return std::nullopt;
    auto rows = query(
        fmt::format("SELECT {} FROM realtime.channel_members WHERE channel_id = ? AND user_id = ?",
                    kMemberColumns));
    rows.bind(*id, user_id);
    if (!rows.step()) return std::nullopt;
    return read_member(rows);
  }

  void mark_read(std::string_view channel_id, std::string_view user_id, std::int64_t seq,
                 Timestamp now) override {
    const auto id = canonical_uuid(channel_id);
    if (!id) return;
    query(
        "UPDATE realtime.channel_members SET last_read_seq = MAX(last_read_seq, ?), "
        "last_read_at = ? WHERE channel_id = ? AND user_id = ?")
        .bind(seq, now, *id, user_id)
        .run();
  }

  // ---- messages

  std::vector<StoredMessage> append_messages(std::span<const NewMessage> messages,
                                             Timestamp now) override {
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

  std::vector<StoredMessage> history(std::string_view channel_id,
                                     std::optional<std::int64_t> before_seq, int limit) override {
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

  std::vector<StoredMessage> messages_since(std::string_view channel_id, std::int64_t after_seq,
                                            int limit) override {
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

  std::int64_t prune_before(PruneTable table, Timestamp cutoff, std::int64_t limit) override {
    if (limit > 0) query(sqlite_prune_sql(table)).bind(cutoff, limit).run();
    return limit > 0 ? changes() : 0;
  }

  // ---- connections and subscriptions

  void record_connection(const ConnectionRecord& connection) override {
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

  void record_disconnect(std::string_view connection_id, Timestamp now) override {
    Transaction transaction(*this);
    query(
        "UPDATE realtime.connections SET status = 'disconnected', disconnected_at = ? "
        "WHERE connection_id = ? AND status <> 'disconnected'")
        .bind(now, connection_id)
        .run();
    query("DELETE FROM realtime.subscriptions WHERE connection_id = ?").bind(connection_id).run();
    transaction.commit();
  }

  void touch_connections(std::span<const std::string> connection_ids, Timestamp now) override {
    if (connection_ids.empty()) return;
    Transaction transaction(*this);
    for (const std::string& connection_id : connection_ids) {
      query("UPDATE realtime.connections SET last_seen_at = ? WHERE connection_id = ?")
          .bind(now, connection_id)
          .run();
    }
    transaction.commit();
  }

  std::vector<ConnectionRecord> list_connections(bool include_disconnected) override {
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

  void add_subscription(std::string_view connection_id, std::string_view channel_id,
                        std::string_view user_id, Timestamp now) override {
    const std::string id = require_channel_id(channel_id);
    query(
        "INSERT INTO realtime.subscriptions (id, connection_id, channel_id, user_id, "
        "subscribed_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (connection_id, channel_id) DO NOTHING")
        .bind(new_uuid(), connection_id, id, user_id, now)
        .run();
  }

  void remove_subscription(std::string_view connection_id, std::string_view channel_id) override {
    const auto id = canonical_uuid(channel_id);
    if (!id) return;
    query("DELETE FROM realtime.subscriptions WHERE connection_id = ? AND channel_id = ?")
        .bind(connection_id, *id)
        .run();
  }

  std::int64_t count_subscriptions(std::string_view connection_id) override {
    auto row = query("SELECT count(*) FROM realtime.subscriptions WHERE connection_id = ?");
    row.bind(connection_id);
    row.step();
    return row.integer(0);
  }

  // ---- presence

  void update_presence(const PresenceRecord& presence) override {
    std::optional<std::string> channel_id;
    if (presence.channel_id) channel_id = require_channel_id(*presence.channel_id);
    query(
        "INSERT INTO realtime.presence (id, user_id, channel_id, status, metadata, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, COALESCE(channel_id, '')) DO UPDATE "
        "SET status = excluded.status, metadata = excluded.metadata, "
        "updated_at = excluded.updated_at")
        .bind(new_uuid(), presence.user_id, channel_id, to_string(presence.status),
              presence.metadata, presence.updated_at)
        .run();
  }

  std::vector<PresenceRecord> list_presence(std::string_view channel_id) override {
    if (channel_id.empty()) {
      auto rows = query(
          fmt::format("SELECT {} FROM realtime.presence WHERE channel_id IS NULL ORDER BY user_id",
                      kPresenceColumns));
      return read_presence(rows);
    }
    const auto id = canonical_uuid(channel_id);
    if (!id) return {};
    auto rows =
        query(fmt::format("SELECT {} FROM realtime.presence WHERE channel_id = ? ORDER BY user_id",
                          kPresenceColumns));
    rows.bind(*id);
    return read_presence(rows);
  }

  // ---- broadcasts

  Broadcast create_broadcast(const Broadcast& broadcast, Timestamp now) override {
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

  std::vector<Broadcast> due_broadcasts(Timestamp now) override {
    auto rows = query(fmt::format(
        "SELECT {} FROM realtime.broadcasts WHERE sent_at IS NULL AND (scheduled_at IS NULL OR "
        "scheduled_at <= ?1) AND (expires_at IS NULL OR expires_at > ?1) "
        "ORDER BY COALESCE(scheduled_at, created_at), created_at, id",
        kBroadcastColumns));
    rows.bind(now);
    return read_broadcasts(rows);
  }

  void mark_broadcast_sent(std::string_view broadcast_id, Timestamp now) override {
    const auto id = canonical_uuid(broadcast_id);
    if (!id) return;
    query("UPDATE realtime.broadcasts SET sent_at = ? WHERE id = ? AND sent_at IS NULL")
        .bind(now, *id)
        .run();
  }

  void release_broadcast(std::string_view broadcast_id) override {
    const auto id = canonical_uuid(broadcast_id);
    if (!id) return;
    query("UPDATE realtime.broadcasts SET sent_at = NULL WHERE id = ?").bind(*id).run();
  }

  std::vector<Broadcast> claim_due_broadcasts(Timestamp now, int limit) override {
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
      query("UPDATE realtime.broadcasts SET sent_at = ? WHERE id = ?")
          .bind(now, broadcast.id)
          .run();
      broadcast.sent_at = now;
    }
    transaction.commit();
    return claimed;
  }

  std::vector<Broadcast> active_announcements(Timestamp now) override {
    auto rows = query(fmt::format(
        "SELECT {} FROM realtime.broadcasts WHERE sent_at IS NOT NULL AND channel_id IS NULL AND "
        "(expires_at IS NULL OR expires_at > ?) ORDER BY sent_at, id",
        kBroadcastColumns));
    rows.bind(now);
    return read_broadcasts(rows);
  }

  std::vector<Broadcast> list_broadcasts() override {
    auto rows = query(fmt::format("SELECT {} FROM realtime.broadcasts ORDER BY created_at, id",
                                  kBroadcastColumns));
    return read_broadcasts(rows);
  }

  bool delete_broadcast(std::string_view broadcast_id) override {
    const auto id = canonical_uuid(broadcast_id);
    if (!id) return false;
    query("DELETE FROM realtime.broadcasts WHERE id = ?").bind(*id).run();
    return changes() > 0;
  }

  // ---- maintenance (the same semantics as the PostgreSQL functions in
  // 0001_initial.postgres.sql)

  std::int64_t cleanup_stale_connections(Timestamp last_seen_before) override {
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

  std::int64_t cleanup_expired_broadcasts(Timestamp now) override {
    query("DELETE FROM realtime.broadcasts WHERE expires_at <= ?").bind(now).run();
    return changes();
  }

  std::int64_t cleanup_stale_presence(Timestamp updated_before) override {
    query("DELETE FROM realtime.presence WHERE updated_at < ?").bind(updated_before).run();
    return changes();
  }

  // ---- statistics and server state

  StoreStats stats(Timestamp now) override {
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

  std::optional<std::string> get_state(std::string_view key) override {
    auto row = query("SELECT value FROM realtime.server_state WHERE key = ?");
    row.bind(key);
    if (!row.step()) return std::nullopt;
    return row.text(0);
  }

  void set_state(std::string_view key, std::string_view value) override {
    query(
        "INSERT INTO realtime.server_state (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key, value)
        .run();
  }

  void append_audit(const AuditEntry& entry) override {
    query(
        "INSERT INTO realtime.audit_log (at, actor, action, target, details) "
        "VALUES (?, ?, ?, ?, ?)")
        .bind(entry.at, entry.actor, entry.action, entry.target, entry.details)
        .run();
  }

  std::vector<AuditEntry> list_audit(int limit) override {
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

 private:
  void open(std::chrono::milliseconds busy_timeout, SqliteSynchronous synchronous) {
    // Owner-only from creation: 0700 folders, a 0600 file (SQLite gives its
    // -wal and -shm files the database file's mode).
    if (const auto error = create_private_file(path_)) {
      throw StoreUnavailable(fmt::format(
          "cannot create the SQLite database {}: {}; check the path and its permissions",
          path_.string(), error.message()));
    }
    const int rc =
        sqlite3_open_v2(":memory:", &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) fail(rc, "open");
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
    query("ATTACH DATABASE ? AS realtime").bind(path_.string()).run();
    {
      // Reading the schema fails here (not later) when the file is not a database.
      auto mode = query("PRAGMA realtime.journal_mode = WAL");
      if (!mode.step() || mode.text(0) != "wal") {
        throw StoreUnavailable(fmt::format(
            "cannot switch the SQLite database {} to WAL mode; check that it is on a local "
            "file system",
            path_.string()));
      }
    }
    query(synchronous == SqliteSynchronous::kFull ? "PRAGMA realtime.synchronous = FULL"
                                                  : "PRAGMA realtime.synchronous = NORMAL")
        .run();
    query("PRAGMA foreign_keys = ON").run();
  }

  void close() {
    for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
    statements_.clear();
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  // The INSERT of `rows` messages (a power of two up to kInsertRows), made once.
  const std::string& insert_messages_sql(std::size_t rows) {
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

  bool is_applied(int version) {
    auto row = query("SELECT count(*) FROM realtime.schema_migrations WHERE version = ?");
    row.bind(version);
    row.step();
    return row.integer(0) > 0;
  }

  // Channel ids a write refers to: a non-UUID cannot name a channel.
  static std::string require_channel_id(std::string_view channel_id) {
    auto id = canonical_uuid(channel_id);
    if (!id) throw StoreError("no channel with id '" + std::string(channel_id) + "'");
    return std::move(*id);
  }

  template <class T>
  static T parse_or_throw(std::optional<T> value, std::string_view what) {
    if (!value) throw StoreError("SQLite: unexpected " + std::string(what) + " in the database");
    return *value;
  }

  static Channel read_channel(const Query& row) {
    Channel channel;
    channel.id = row.text(0);
    channel.name = row.text(1);
    channel.slug = row.text(2);
    channel.description = row.text(3);
    channel.type = parse_or_throw(core::parse_channel_type(row.text(4)), "channel type");
    channel.max_members = static_cast<int>(row.integer(5));
    channel.is_persistent = row.integer(6) != 0;
    channel.metadata = row.text(7);
    channel.created_at = row.time(8);
    channel.created_by = row.optional_text(9);
    channel.archived_at = row.optional_time(10);
    channel.last_seq = row.integer(11);
    return channel;
  }

  static ChannelMember read_member(const Query& row) {
    ChannelMember member;
    member.channel_id = row.text(0);
    member.user_id = row.text(1);
    member.role = parse_or_throw(parse_member_role(row.text(2)), "member role");
    member.can_send = row.integer(3) != 0;
    member.can_invite = row.integer(4) != 0;
    member.subscribed_at = row.time(5);
    member.last_read_at = row.optional_time(6);
    member.last_read_seq = row.integer(7);
    return member;
  }

  static StoredMessage read_message(const Query& row) {
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

  static std::vector<PresenceRecord> read_presence(Query& rows) {
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

  static std::vector<Broadcast> read_broadcasts(Query& rows) {
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

  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
  // Messages per multi-row INSERT: 8 parameters each, far under SQLite's
  // limit of 32766 parameters per statement.
  static constexpr std::size_t kInsertRows = 64;
  std::array<std::string, 7> insert_sql_;  // by log2(rows): 1, 2, 4, ... 64 rows
};

bool Query::step() {
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  store_.fail(rc, sqlite3_sql(statement_));
}

void Query::check(int rc) {
  if (rc != SQLITE_OK) store_.fail(rc, sqlite3_sql(statement_));
}

}  // namespace

int sqlite_synchronous_level(Store& store) {
  auto* sqlite = dynamic_cast<SqliteStore*>(&store);
  if (sqlite == nullptr) throw StoreError("not a SQLite store");
  auto row = sqlite->query("PRAGMA realtime.synchronous");
  return row.step() ? static_cast<int>(row.integer(0)) : -1;
}

std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& path,
                                         std::chrono::milliseconds busy_timeout,
                                         SqliteSynchronous synchronous) {
  return std::make_unique<SqliteStore>(path, busy_timeout, synchronous);
}

}  // namespace nself::store
