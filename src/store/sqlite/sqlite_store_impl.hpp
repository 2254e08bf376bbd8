#pragma once

// The SQLite backend's class, private to store/sqlite/ (the public entry is
// sqlite_store.hpp). Its methods are defined by job: sqlite_store.cpp (open,
// statements, migrate), sqlite_channels.cpp, sqlite_messages.cpp,
// sqlite_connections.cpp, sqlite_broadcasts.cpp, sqlite_maintenance.cpp.

#include <sqlite3.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/sqlite/sqlite_query.hpp"
#include "store/store.hpp"

namespace nself::store::sqlite {

class SqliteStore final : public Store {
 public:
  SqliteStore(std::filesystem::path path, std::chrono::milliseconds busy_timeout,
              SqliteSynchronous synchronous);
  ~SqliteStore() override;

  // Throws the exception matching `rc` (which is not OK/ROW/DONE).
  [[noreturn]] void fail(int rc, std::string_view context) const;

  // The statement for `sql`, prepared on first use and cached by its text.
  Query query(const char* sql);
  Query query(const std::string& sql);

  std::int64_t changes() const;

  // A write transaction: BEGIN IMMEDIATE takes the write lock up front (waiting
  // up to busy_timeout), so two writers never deadlock on a lock upgrade.
  // Inside another one (run_in_one_transaction) it joins it: commit() and
  // the rollback are the outer one's.
  class Transaction {
   public:
    explicit Transaction(SqliteStore& store);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

   private:
    SqliteStore& store_;
    bool outermost_;  // false: inside another one, which it joins
    bool done_ = false;
  };

  std::vector<std::size_t> run_in_one_transaction(
      std::span<const std::function<void()>> steps) override;

  std::string_view backend() const override;
  bool connection_lost() const override;
  std::string describe() const override;

  // ---- schema (sqlite_store.cpp)
  MigrationReport migrate() override;
  int schema_version() override;

  // ---- channels and members (sqlite_channels.cpp)
  Result<Channel> create_channel(const NewChannel& channel, Timestamp now) override;
  std::vector<Channel> list_channels(bool include_archived) override;
  std::optional<Channel> find_channel(std::string_view id_or_slug) override;
  bool delete_channel(std::string_view channel_id) override;
  bool archive_channel(std::string_view channel_id, Timestamp now) override;
  void upsert_member(const ChannelMember& member) override;
  bool remove_member(std::string_view channel_id, std::string_view user_id) override;
  std::vector<ChannelMember> get_channel_members(std::string_view channel_id) override;
  std::optional<ChannelMember> find_member(std::string_view channel_id,
                                           std::string_view user_id) override;

  // ---- messages and read markers (sqlite_messages.cpp)
  std::vector<StoredMessage> append_messages(std::span<const NewMessage> messages,
                                             Timestamp now) override;
  std::vector<StoredMessage> history(std::string_view channel_id,
                                     std::optional<std::int64_t> before_seq, int limit) override;
  std::vector<StoredMessage> messages_since(std::string_view channel_id, std::int64_t after_seq,
                                            int limit) override;
  void mark_read(std::string_view channel_id, std::string_view user_id, std::int64_t seq,
                 Timestamp now) override;

  // ---- connections, subscriptions and presence (sqlite_connections.cpp)
  void record_connection(const ConnectionRecord& connection) override;
  void record_disconnect(std::string_view connection_id, Timestamp now) override;
  void touch_connections(std::span<const std::string> connection_ids, Timestamp now) override;
  std::vector<ConnectionRecord> list_connections(bool include_disconnected) override;
  void add_subscription(std::string_view connection_id, std::string_view channel_id,
                        std::string_view user_id, Timestamp now) override;
  void remove_subscription(std::string_view connection_id, std::string_view channel_id) override;
  std::int64_t count_subscriptions(std::string_view connection_id) override;
  void update_presence(const PresenceRecord& presence) override;
  std::vector<PresenceRecord> list_presence(std::string_view channel_id) override;

  // ---- broadcasts (sqlite_broadcasts.cpp)
  Broadcast create_broadcast(const Broadcast& broadcast, Timestamp now) override;
  std::vector<Broadcast> due_broadcasts(Timestamp now) override;
  void mark_broadcast_sent(std::string_view broadcast_id, Timestamp now) override;
  void release_broadcast(std::string_view broadcast_id) override;
  std::vector<Broadcast> claim_due_broadcasts(Timestamp now, int limit) override;
  std::vector<Broadcast> active_announcements(Timestamp now) override;
  std::vector<Broadcast> list_broadcasts() override;
  bool delete_broadcast(std::string_view broadcast_id) override;

  // ---- cleanup, prune, statistics, server state, audit log (sqlite_maintenance.cpp)
  std::int64_t cleanup_stale_connections(Timestamp last_seen_before) override;
  std::int64_t cleanup_expired_broadcasts(Timestamp now) override;
  std::int64_t cleanup_stale_presence(Timestamp updated_before) override;
  std::int64_t prune_before(PruneTable table, Timestamp cutoff, std::int64_t limit) override;
  StoreStats stats(Timestamp now) override;
  std::optional<std::string> get_state(std::string_view key) override;
  void set_state(std::string_view key, std::string_view value) override;
  void append_audit(const AuditEntry& entry) override;
  std::vector<AuditEntry> list_audit(int limit) override;

 private:
  void open(std::chrono::milliseconds busy_timeout, SqliteSynchronous synchronous);
  void close();
  bool is_applied(int version);

  // The INSERT of `rows` messages (a power of two up to kInsertRows), made once.
  const std::string& insert_messages_sql(std::size_t rows);

  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  int transaction_depth_ = 0;    // open Transactions (the outermost and those inside it)
  bool inner_rollback_ = false;  // one inside the outermost ended without commit()
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
  // Messages per multi-row INSERT: 8 parameters each, far under SQLite's
  // limit of 32766 parameters per statement.
  static constexpr std::size_t kInsertRows = 64;
  std::array<std::string, 7> insert_sql_;  // by log2(rows): 1, 2, 4, ... 64 rows
};

}  // namespace nself::store::sqlite
