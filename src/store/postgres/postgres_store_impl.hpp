#pragma once

// The PostgreSQL backend's class, private to store/postgres/ (the public entry
// is postgres_store.hpp). Its methods are defined by job: postgres_store.cpp
// (connect, exec, migrate), postgres_channels.cpp, postgres_messages.cpp,
// postgres_connections.cpp, postgres_broadcasts.cpp, postgres_maintenance.cpp.

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/postgres/postgres_params.hpp"
#include "store/postgres/postgres_result.hpp"
#include "store/store.hpp"

namespace nself::store::postgres {

class PostgresStore final : public Store {
 public:
  PostgresStore(const std::string& url, std::chrono::milliseconds connect_timeout);
  ~PostgresStore() override;

  std::string_view backend() const override;
  bool connection_lost() const override;
  std::string describe() const override;

  // ---- schema (postgres_store.cpp)
  MigrationReport migrate() override;
  int schema_version() override;

  // ---- channels and members (postgres_channels.cpp)
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

  // ---- messages and read markers (postgres_messages.cpp)
  std::vector<StoredMessage> append_messages(std::span<const NewMessage> messages,
                                             Timestamp now) override;
  std::vector<StoredMessage> history(std::string_view channel_id,
                                     std::optional<std::int64_t> before_seq, int limit) override;
  std::vector<StoredMessage> messages_since(std::string_view channel_id, std::int64_t after_seq,
                                            int limit) override;
  void mark_read(std::string_view channel_id, std::string_view user_id, std::int64_t seq,
                 Timestamp now) override;

  // ---- connections, subscriptions and presence (postgres_connections.cpp)
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

  // ---- broadcasts (postgres_broadcasts.cpp)
  Broadcast create_broadcast(const Broadcast& broadcast, Timestamp now) override;
  std::vector<Broadcast> due_broadcasts(Timestamp now) override;
  void mark_broadcast_sent(std::string_view broadcast_id, Timestamp now) override;
  void release_broadcast(std::string_view broadcast_id) override;
  std::vector<Broadcast> claim_due_broadcasts(Timestamp now, int limit) override;
  std::vector<Broadcast> active_announcements(Timestamp now) override;
  std::vector<Broadcast> list_broadcasts() override;
  bool delete_broadcast(std::string_view broadcast_id) override;

  // ---- cleanup, prune, statistics, server state, audit log (postgres_maintenance.cpp)
  std::int64_t cleanup_stale_connections(Timestamp last_seen_before) override;
  std::int64_t cleanup_expired_broadcasts(Timestamp now) override;
  std::vector<std::size_t> run_in_one_transaction(
      std::span<const std::function<void()>> steps) override;
  std::int64_t cleanup_stale_presence(Timestamp updated_before) override;
  std::int64_t prune_before(PruneTable table, Timestamp cutoff, std::int64_t limit) override;
  StoreStats stats(Timestamp now) override;
  std::optional<std::string> get_state(std::string_view key) override;
  void set_state(std::string_view key, std::string_view value) override;
  void append_audit(const AuditEntry& entry) override;
  std::vector<AuditEntry> list_audit(int limit) override;

 private:
  // BEGIN ... COMMIT; inside another one (run_in_one_transaction) it joins
  // it: commit() and the rollback are the outer one's.
  class Transaction {
   public:
    explicit Transaction(PostgresStore& store);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

   private:
    PostgresStore& store_;
    bool outermost_;  // false: inside another one, which it joins
    bool done_ = false;
  };
  int transaction_depth_ = 0;    // open Transactions (the outermost and those inside it)
  bool inner_rollback_ = false;  // one inside the outermost ended without commit()

  // Runs one statement; throws unless it succeeded. A statement with
  // parameters is prepared once per connection (parsed and planned once,
  // then only executed: one round trip either way).
  PgResult exec(const std::string& sql, const Params& params = Params());
  // Throws StoreUnavailable (an outage) or StoreError unless `result` succeeded.
  void check(const PgResult& result, std::string_view context);
  // A connection lost since the last call is re-established once.
  void ensure_connected();
  bool is_applied(int version);

  PGconn* conn_ = nullptr;
  // SQL text -> name of the statement prepared for it on this connection.
  std::unordered_map<std::string, std::string> prepared_;
  std::string host_;
  std::string port_;
  std::string user_;
  std::string database_;
  std::vector<std::string> secrets_;  // never written into a message
};

}  // namespace nself::store::postgres
