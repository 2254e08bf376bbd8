#pragma once

// The storage interface. Two backends implement it with identical behaviour:
// SQLite (embedded default, store/sqlite/) and PostgreSQL (store/postgres/).
// One shared test suite (tests/integration/store/) runs against both.
//
// Errors: expected failures (a duplicate slug, an unknown channel) are values
// (Result / std::optional / bool); a database that cannot be reached or fails
// throws StoreUnavailable; anything else the backend reports throws StoreError.
//
// Thread safety: a Store is used by one thread at a time. Open one per thread.
//
// Time is passed in (`now`) rather than read from a clock, so behaviour is
// testable; all timestamps are UTC with millisecond precision.
//
// Ids: every id is a UUID made by the store (store/uuid.hpp): version 7
// (time-ordered, so the message id index grows at its end) for messages,
// version 4 (random) for everything else. An id passed
// in is matched case-insensitively; text that is not a UUID names nothing (a
// read finds nothing, a delete returns false, a write that needs the channel
// throws StoreError).
//
// JSON columns (metadata, content, payload) must hold valid JSON text, else
// the write throws StoreError. SQLite returns the text exactly as written;
// PostgreSQL stores jsonb and returns its rendering of the same value
// (whitespace and key order may differ): compare JSON values, not text.
//
// Schema, types per backend and the migration mechanism: docs/SCHEMA.md.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/channel.hpp"
#include "core/result.hpp"

namespace nself::store {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

// Any failure the backend reports that is not an expected outcome.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The database cannot be reached (down, wrong password, timed out). The message
// names the host and port (or file) and what to check; it never has a password.
class StoreUnavailable : public StoreError {
 public:
  using StoreError::StoreError;
};

struct Channel {
  std::string id;  // UUID
  std::string name;
  std::string slug;
  std::string description;
  core::ChannelType type = core::ChannelType::kPublic;
  int max_members = 100;
  bool is_persistent = true;
  std::string metadata = "{}";  // JSON object text
  Timestamp created_at{};
  std::optional<std::string> created_by;
  std::optional<Timestamp> archived_at;
  std::int64_t last_seq = 0;  // seq of the newest message stored in it
};

struct NewChannel {
  std::string name;
  std::string slug;  // already validated (core::is_valid_slug)
  std::string description;
  core::ChannelType type = core::ChannelType::kPublic;
  int max_members = 100;
  bool is_persistent = true;
  std::string metadata = "{}";
  std::optional<std::string> created_by;
};

// The row a backend inserts for `channel`: its fields, a new UUID, created at `now`.
Channel channel_row(const NewChannel& channel, Timestamp now);

// The canonical id of a channel a write refers to (for backends): a non-UUID
// cannot name a channel, so it throws StoreError.
std::string require_channel_id(std::string_view channel_id);

enum class MemberRole { kOwner, kAdmin, kMember };
std::string_view to_string(MemberRole role);
std::optional<MemberRole> parse_member_role(std::string_view text);

struct ChannelMember {
  std::string channel_id;
  std::string user_id;
  MemberRole role = MemberRole::kMember;
  bool can_send = true;
  bool can_invite = false;
  Timestamp subscribed_at{};
  std::optional<Timestamp> last_read_at;
  std::int64_t last_read_seq = 0;
};

struct NewMessage {
  std::string channel_id;
  std::string user_id;
  std::string content;                // JSON value text, stored as given
  std::string message_type = "text";  // text|system|file|event
  std::string metadata = "{}";
};

struct StoredMessage {
  std::string id;  // UUID
  std::string channel_id;
  std::int64_t seq = 0;
  std::string user_id;
  std::string content;
  std::string message_type;
  std::string metadata;
  Timestamp sent_at{};
};

struct ConnectionRecord {
  std::string connection_id;
  std::string user_id;
  std::string client_ip;
  std::string user_agent;
  std::string node_id;
  Timestamp connected_at{};
  Timestamp last_seen_at{};
  std::string status = "connected";  // connected|disconnected|idle
};

enum class PresenceStatus { kOnline, kAway, kBusy, kOffline };
std::string_view to_string(PresenceStatus status);
std::optional<PresenceStatus> parse_presence_status(std::string_view text);

struct PresenceRecord {
  std::string user_id;
  std::optional<std::string> channel_id;  // none: the user's global presence
  PresenceStatus status = PresenceStatus::kOnline;
  std::string metadata = "{}";
  Timestamp updated_at{};
};

struct Broadcast {
  std::string id;                         // UUID (assigned by the store)
  std::optional<std::string> channel_id;  // none: every connection
  std::optional<std::string> user_id;     // who sent it
  std::string event_type;
  std::string payload = "null";  // JSON value text
  Timestamp created_at{};
  std::optional<Timestamp> scheduled_at;
  std::optional<Timestamp> expires_at;
  std::optional<Timestamp> sent_at;
};

// One row of realtime.audit_log: admin operations, failed authentications
// and channel changes.
struct AuditEntry {
  std::int64_t id = 0;  // assigned by the store, increasing
  Timestamp at{};
  std::string actor;                  // "admin", "cli", a user id, or a remote address
  std::string action;                 // e.g. "channel.delete", "auth.failed"
  std::optional<std::string> target;  // what it acted on (a channel id, a connection id)
  std::string details = "{}";         // JSON object text
};

// The tables `cleanup` prunes by age (Store::prune_before).
enum class PruneTable { kMessages, kAuditLog };

struct MigrationReport {
  std::vector<std::string> applied;  // names of the migrations applied by this call
  int version = 0;                   // schema version after the call
};

struct StoreStats {
  std::int64_t channels = 0;            // not archived
  std::int64_t messages_24h = 0;        // now - 24 h < sent_at <= now
  std::int64_t active_connections = 0;  // rows with status connected
  std::int64_t online_users = 0;        // distinct users with a connected row
  // Mean of (disconnected_at, or now when open) - connected_at over every
  // connection row, in whole seconds (rounded down); 0 without connections.
  std::int64_t average_connection_seconds = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // "sqlite" or "postgres".
  virtual std::string_view backend() const = 0;
  // True when the last operation found the database unreachable and nothing
  // has reconnected since (PostgreSQL: the connection is broken), also when
  // the caller caught the StoreUnavailable: lets the owner notice an outage
  // that a caller swallowed. An embedded store is never disconnected. Pure,
  // so that a decorating store cannot forget to forward it.
  virtual bool connection_lost() const = 0;
  // Where the data lives, for messages: a file path, or host:port/dbname (never a password).
  virtual std::string describe() const = 0;

  // ---- schema
  // Applies every migration not applied yet, each in its own transaction.
  // Idempotent: on an up-to-date database it applies nothing and changes nothing.
  virtual MigrationReport migrate() = 0;
  // The highest applied migration version; 0 when the schema does not exist.
  virtual int schema_version() = 0;

  // ---- batches
  // Runs `steps` in order in ONE transaction: one commit (one fsync under
  // SQLite's synchronous=FULL) for all of them, instead of one each. A step
  // that throws a StoreError is undone alone and the others still commit
  // (the batch is undone and run again one step per transaction); the
  // indexes of those that failed are returned. A StoreUnavailable (the
  // database is gone) rolls the whole batch back and is rethrown. A step
  // calls this store's methods; the transactions they open join this one.
  virtual std::vector<std::size_t> run_in_one_transaction(
      std::span<const std::function<void()>> steps) = 0;

  // ---- channels
  // Error code "conflict" when the slug exists.
  virtual Result<Channel> create_channel(const NewChannel& channel, Timestamp now) = 0;
  virtual std::vector<Channel> list_channels(bool include_archived) = 0;
  // Finds by UUID or by slug.
  virtual std::optional<Channel> find_channel(std::string_view id_or_slug) = 0;
  // Deletes the channel with its messages, subscriptions, members and presence.
  // Returns false when there was no such channel.
  virtual bool delete_channel(std::string_view channel_id) = 0;
  virtual bool archive_channel(std::string_view channel_id, Timestamp now) = 0;

  // ---- members (realtime.channel_members)
  // Inserts or updates (role, can_send, can_invite) the member; an update keeps
  // subscribed_at and the read position. Throws StoreError for an unknown channel.
  virtual void upsert_member(const ChannelMember& member) = 0;
  virtual bool remove_member(std::string_view channel_id, std::string_view user_id) = 0;
  // realtime.get_channel_members(): members ordered by subscribed_at, then user_id.
  virtual std::vector<ChannelMember> get_channel_members(std::string_view channel_id) = 0;
  virtual std::optional<ChannelMember> find_member(std::string_view channel_id,
                                                   std::string_view user_id) = 0;
  // Sets last_read_at = now and last_read_seq = max(last_read_seq, seq) (the read
  // position never moves back). Does nothing when the user is not a member.
  virtual void mark_read(std::string_view channel_id, std::string_view user_id, std::int64_t seq,
                         Timestamp now) = 0;

  // ---- messages
  // Stores every message in one transaction (group commit), giving each the
  // next seq of its channel (gap-free, strictly increasing, never reused) and a
  // new UUID. Returns them in input order. Throws when the batch cannot be stored,
  // in which case none of it is.
  // A message for a channel that does not exist throws StoreError and fails
  // the whole batch (rather than skipping it), which keeps a batch atomic and
  // seqs gap-free; the caller validates channels before queueing messages.
  virtual std::vector<StoredMessage> append_messages(std::span<const NewMessage> messages,
                                                     Timestamp now) = 0;
  // The newest `limit` messages with seq < before_seq (any seq when none),
  // returned oldest first. limit <= 0 gives none.
  virtual std::vector<StoredMessage> history(std::string_view channel_id,
                                             std::optional<std::int64_t> before_seq, int limit) = 0;
  // The oldest `limit` messages with seq > after_seq, oldest first.
  virtual std::vector<StoredMessage> messages_since(std::string_view channel_id,
                                                    std::int64_t after_seq, int limit) = 0;
  // Retention (`cleanup`, store/maintenance.hpp): deletes at most `limit` rows
  // of `table` older than `cutoff` (messages: sent_at, audit log: at; a row at
  // the cutoff itself is kept), oldest first, in one transaction of its own, so
  // a long cleanup runs as many short transactions that other writes (message
  // commits) interleave with. Returns how many; fewer than `limit` means none
  // is left. limit <= 0 deletes none. Seqs are never reused.
  virtual std::int64_t prune_before(PruneTable table, Timestamp cutoff, std::int64_t limit) = 0;

  // ---- connections and subscriptions (live state, written by the server)
  // Inserts the connection, or replaces every field of the row with the same
  // connection_id (clearing disconnected_at). An invalid status throws StoreError.
  virtual void record_connection(const ConnectionRecord& connection) = 0;
  // Marks it disconnected and removes its subscriptions.
  virtual void record_disconnect(std::string_view connection_id, Timestamp now) = 0;
  // Heartbeat: sets last_seen_at for every listed connection.
  virtual void touch_connections(std::span<const std::string> connection_ids, Timestamp now) = 0;
  virtual std::vector<ConnectionRecord> list_connections(bool include_disconnected) = 0;
  // Idempotent. Throws StoreError for an unknown channel.
  virtual void add_subscription(std::string_view connection_id, std::string_view channel_id,
                                std::string_view user_id, Timestamp now) = 0;
  virtual void remove_subscription(std::string_view connection_id, std::string_view channel_id) = 0;
  virtual std::int64_t count_subscriptions(std::string_view connection_id) = 0;

  // ---- presence (realtime.presence via realtime.update_presence())
  // Upsert: one row per (user_id, channel_id), the global row (no channel)
  // included; status, metadata and updated_at are replaced. Throws StoreError
  // for an unknown channel.
  virtual void update_presence(const PresenceRecord& presence) = 0;
  // The presence rows of a channel, by user_id; an empty channel_id lists the
  // global rows (channel_id none).
  virtual std::vector<PresenceRecord> list_presence(std::string_view channel_id) = 0;

  // ---- broadcasts
  // Stores it (assigning id and created_at = now) and returns it.
  virtual Broadcast create_broadcast(const Broadcast& broadcast, Timestamp now) = 0;
  // Unsent broadcasts whose scheduled_at is none or <= now and that have not
  // expired (expires_at none or > now), by scheduled time (created_at when none).
  virtual std::vector<Broadcast> due_broadcasts(Timestamp now) = 0;
  virtual void mark_broadcast_sent(std::string_view broadcast_id, Timestamp now) = 0;
  // Claims up to `limit` due broadcasts (as due_broadcasts(now) selects them,
  // oldest first) by setting sent_at = now, atomically: when several servers
  // share the database, each broadcast is claimed by exactly one caller.
  // Returns the claimed rows (sent_at set), in due order. limit <= 0 claims none.
  // PostgreSQL: one UPDATE over a FOR UPDATE SKIP LOCKED selection (concurrent
  // claimers skip each other's rows instead of waiting); SQLite: a BEGIN
  // IMMEDIATE transaction (claimers take turns).
  virtual std::vector<Broadcast> claim_due_broadcasts(Timestamp now, int limit) = 0;
  // Undoes a claim whose broadcast could not be delivered (the server stopped
  // in between): clears sent_at, so the next claim takes it again.
  virtual void release_broadcast(std::string_view broadcast_id) = 0;
  // Sent, unexpired broadcasts to every connection (replayed to new connections),
  // by sent_at.
  virtual std::vector<Broadcast> active_announcements(Timestamp now) = 0;
  virtual std::vector<Broadcast> list_broadcasts() = 0;
  virtual bool delete_broadcast(std::string_view broadcast_id) = 0;

  // ---- maintenance: the manual's functions
  // realtime.cleanup_stale_connections(): connections whose last_seen_at is
  // before `last_seen_before` and still marked connected/idle become
  // disconnected, their subscriptions and presence rows are removed. Returns how many.
  // disconnected_at is set to the connection's last_seen_at (when it was last
  // known alive). Presence rows (global and per channel) are removed only for
  // users left with no connected/idle connection.
  virtual std::int64_t cleanup_stale_connections(Timestamp last_seen_before) = 0;
  // realtime.cleanup_expired_broadcasts(): deletes broadcasts with expires_at <= now.
  // Returns how many.
  virtual std::int64_t cleanup_expired_broadcasts(Timestamp now) = 0;
  // Deletes presence rows not updated since `updated_before`. Returns how many.
  virtual std::int64_t cleanup_stale_presence(Timestamp updated_before) = 0;

  // ---- statistics and server state
  virtual StoreStats stats(Timestamp now) = 0;
  // A small key/value table (realtime.server_state) for figures kept across
  // restarts, such as the peak connection count.
  virtual std::optional<std::string> get_state(std::string_view key) = 0;
  virtual void set_state(std::string_view key, std::string_view value) = 0;

  // ---- audit log (realtime.audit_log)
  // Appends the entry (its id is ignored and assigned). Invalid details JSON
  // throws StoreError.
  virtual void append_audit(const AuditEntry& entry) = 0;
  // The newest `limit` entries, newest first (by id). limit <= 0 gives none.
  virtual std::vector<AuditEntry> list_audit(int limit) = 0;
};

// PRAGMA synchronous of the SQLite file (WAL mode).
enum class SqliteSynchronous { kFull, kNormal };

struct StoreOptions {
  // postgres://user:pass@host:port/db (or postgresql://). Empty: SQLite.
  std::string database_url;
  // The SQLite file used when database_url is empty.
  std::string sqlite_path = ".nself/realtime/realtime.db";
  // How long to wait for the database before giving up (connect, busy locks).
  std::chrono::milliseconds connect_timeout{5000};
  // SQLite only (REALTIME_SQLITE_SYNCHRONOUS): full, the default, makes every
  // commit (so every ack) durable against power loss; normal against a crash
  // of the process only (docs/PROTOCOL.md, "Durability").
  SqliteSynchronous sqlite_synchronous = SqliteSynchronous::kFull;
};

// Opens the backend selected by `options`: SQLite at sqlite_path when
// database_url is empty (store/sqlite/sqlite_store.hpp), PostgreSQL for
// postgres:// and postgresql:// (store/postgres/postgres_store.hpp). Throws
// StoreUnavailable when it cannot be reached, StoreError for another scheme or
// a malformed URL (messages never include the password). Does not migrate.
std::unique_ptr<Store> open_store(const StoreOptions& options);

}  // namespace nself::store
