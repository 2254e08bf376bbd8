#include "store/postgres/postgres_store.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/time_format.hpp"
#include "store/migrations.hpp"
#include "store/prune_sql.hpp"
#include "store/uuid.hpp"

namespace nself::store {
namespace {

// Serialises migrate() across every process using the database.
constexpr std::int64_t kMigrationLockKey = 0x6e73656c66727400;  // "nselfrt\0"

// Timestamps are read as epoch milliseconds: exact, and independent of the
// session's TimeZone and DateStyle.
#define NSELF_MS(column) "(extract(epoch from " column ") * 1000)::bigint"

constexpr const char* kChannelColumns =
    "id::text, name, slug, description, type, max_members, is_persistent, "
    "metadata::text, " NSELF_MS("created_at") ", created_by, " NSELF_MS("archived_at") ", last_seq";
constexpr const char* kMemberColumns =
    "channel_id::text, user_id, role, can_send, can_invite, " NSELF_MS(
        "subscribed_at") ", " NSELF_MS("last_read_at") ", last_read_seq";
constexpr const char* kMessageColumns =
    "id::text, channel_id::text, seq, user_id, content::text, message_type, "
    "metadata::text, " NSELF_MS("sent_at");
constexpr const char* kConnectionColumns =
    "connection_id, user_id, client_ip, user_agent, node_id, " NSELF_MS(
        "connected_at") ", " NSELF_MS("last_seen_at") ", status";
constexpr const char* kPresenceColumns =
    "user_id, channel_id::text, status, metadata::text, " NSELF_MS("updated_at");
constexpr const char* kBroadcastColumns =
    "id::text, channel_id::text, user_id, event_type, payload::text, " NSELF_MS(
        "created_at") ", " NSELF_MS("scheduled_at") ", " NSELF_MS("expires_at") ", " NSELF_MS("sent_at");

// Parameters, all sent as text; none is SQL NULL.
class Params {
 public:
  template <class... Args>
  explicit Params(const Args&... args) {
    (add(args), ...);
  }

  int size() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> pointers() const {
    std::vector<const char*> result;
    result.reserve(values_.size());
    for (const auto& value : values_) result.push_back(value ? value->c_str() : nullptr);
    return result;
  }

 private:
  void add(std::string_view value) { values_.emplace_back(std::string(value)); }
  void add(const std::string& value) { values_.emplace_back(value); }
  void add(const char* value) { values_.emplace_back(std::string(value)); }
  void add(std::nullopt_t) { values_.emplace_back(std::nullopt); }
  void add(const std::optional<std::string>& value) { values_.push_back(value); }
  void add(std::int64_t value) { values_.emplace_back(std::to_string(value)); }
  void add(int value) { values_.emplace_back(std::to_string(value)); }
  void add(bool value) { values_.emplace_back(value ? "true" : "false"); }
  void add(Timestamp value) { values_.emplace_back(core::format_iso8601(value)); }
  void add(const std::optional<Timestamp>& value) {
    if (value) {
      add(*value);
    } else {
      add(std::nullopt);
    }
  }

  std::vector<std::optional<std::string>> values_;
};

// Appends `value` to `out` as a quoted element of an array literal.
void append_array_element(std::string& out, std::string_view value) {
  out.push_back('"');
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '"' || value[i] == '\\') {
      out.append(value, start, i - start);
      out.push_back('\\');
      start = i;
    }
  }
  out.append(value, start, value.size() - start);
  out.push_back('"');
}

// Text form of a PostgreSQL array literal, every element quoted.
template <class Range>
std::string array_literal(const Range& values) {
  std::string out = "{";
  bool first = true;
  for (const auto& value : values) {
    if (!first) out.push_back(',');
    first = false;
    append_array_element(out, std::string_view(value));
  }
  out.push_back('}');
  return out;
}

// The array literal of one string field of every row.
template <class Row>
std::string array_literal(const std::vector<Row>& rows, std::string Row::*field) {
  std::size_t size = 2;
  for (const Row& row : rows) size += (row.*field).size() + 3;
  std::string out;
  out.reserve(size + size / 16);
  out.push_back('{');
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_array_element(out, rows[i].*field);
  }
  out.push_back('}');
  return out;
}

class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result) {}
  ~PgResult() { PQclear(result_); }
  PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  PgResult& operator=(PgResult&&) = delete;

  const PGresult* raw() const { return result_; }
  int rows() const { return PQntuples(result_); }
  std::int64_t affected() const {
    const char* text = PQcmdTuples(result_);
    return text[0] == '\0' ? 0 : std::stoll(text);
  }
  bool is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
  std::string text(int row, int column) const {
    return std::string(PQgetvalue(result_, row, column),
                       static_cast<std::size_t>(PQgetlength(result_, row, column)));
  }
  std::optional<std::string> optional_text(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return text(row, column);
  }
  std::int64_t integer(int row, int column) const {
    return is_null(row, column) ? 0 : std::stoll(PQgetvalue(result_, row, column));
  }
  bool boolean(int row, int column) const { return PQgetvalue(result_, row, column)[0] == 't'; }
  Timestamp time(int row, int column) const {
    return Timestamp{std::chrono::milliseconds{integer(row, column)}};
  }
  std::optional<Timestamp> optional_time(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return time(row, column);
  }

 private:
  PGresult* result_;
};

std::string first_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (auto& c : text) {
    if (c == '\n') c = ' ';
  }
  return text;
}

// The password part of a postgres:// URL as written (possibly percent-encoded).
std::string raw_password(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?"));
  const auto at = rest.rfind('@');
  if (at == std::string_view::npos) return {};
  const std::string_view userinfo = rest.substr(0, at);
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return {};
  return std::string(userinfo.substr(colon + 1));
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3)) {
      text.replace(pos, secret.size(), "***");
    }
  }
  return text;
}

template <class T>
T parse_or_throw(std::optional<T> value, std::string_view what) {
  if (!value) throw StoreError("PostgreSQL: unexpected " + std::string(what) + " in the database");
  return *value;
}

std::string require_channel_id(std::string_view channel_id) {
  auto id = canonical_uuid(channel_id);
  if (!id) throw StoreError("no channel with id '" + std::string(channel_id) + "'");
  return std::move(*id);
}

class PostgresStore final : public Store {
 public:
  PostgresStore(const std::string& url, std::chrono::milliseconds connect_timeout) {
    secrets_.push_back(raw_password(url));
    char* parse_error = nullptr;
    PQconninfoOption* options = PQconninfoParse(url.c_str(), &parse_error);
    if (options == nullptr) {
      std::string detail = parse_error != nullptr ? first_line(parse_error) : "out of memory";
      PQfreemem(parse_error);
      throw StoreError("invalid PostgreSQL URL: " + redact(detail, secrets_) +
                       "; expected postgres://user:password@host:port/database");
    }
    std::map<std::string, std::string> settings;
    for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
      if (option->val != nullptr) settings[option->keyword] = option->val;
    }
    PQconninfoFree(options);
    if (auto found = settings.find("password"); found != settings.end()) {
      secrets_.push_back(found->second);
    }
    const auto seconds =
        std::max<std::int64_t>(2, std::chrono::ceil<std::chrono::seconds>(connect_timeout).count());
    settings["connect_timeout"] = std::to_string(seconds);
    settings["client_encoding"] = "UTF8";
    settings.try_emplace("application_name", "nself-realtime");

    host_ = settings.count("host") ? settings["host"]
                                   : (settings.count("hostaddr") ? settings["hostaddr"] : "");
    if (host_.empty()) host_ = "localhost";
    port_ = settings.count("port") && !settings["port"].empty() ? settings["port"] : "5432";
    user_ = settings.count("user") ? settings["user"] : "";
    database_ = settings.count("dbname") ? settings["dbname"] : user_;

    std::vector<const char*> keywords;
    std::vector<const char*> values;
    for (const auto& [keyword, value] : settings) {
      keywords.push_back(keyword.c_str());
      values.push_back(value.c_str());
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);
    conn_ = PQconnectdbParams(keywords.data(), values.data(), 0);
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
      const std::string detail =
          conn_ != nullptr ? first_line(PQerrorMessage(conn_)) : "out of memory";
      PQfinish(conn_);
      conn_ = nullptr;
      throw StoreUnavailable(fmt::format(
          "cannot connect to PostgreSQL at {}:{} (database \"{}\", user \"{}\"): {}. Check that "
          "the server is running and reachable at that host and port, that the database exists, "
          "and the user name and password in the database URL",
          host_, port_, database_, user_, redact(detail, secrets_)));
    }
  }

  ~PostgresStore() override { PQfinish(conn_); }

  std::string_view backend() const override { return "postgres"; }
  bool connection_lost() const override { return PQstatus(conn_) == CONNECTION_BAD; }
  std::string describe() const override { return fmt::format("{}:{}/{}", host_, port_, database_); }

  // ---- schema

  MigrationReport migrate() override {
    MigrationReport report;
    for (const Migration& migration : migrations_for("postgres")) {
      if (is_applied(migration.version)) continue;
      Transaction transaction(*this);
      exec("SELECT pg_advisory_xact_lock($1)", Params(kMigrationLockKey));
      // Created only when missing, so a role without CREATE rights can run an
      // up-to-date schema.
      if (exec("SELECT to_regnamespace('realtime') IS NULL").boolean(0, 0)) {
        exec("CREATE SCHEMA realtime");
      }
      if (exec("SELECT to_regclass('realtime.schema_migrations') IS NULL").boolean(0, 0)) {
        exec(
            "CREATE TABLE realtime.schema_migrations (version integer PRIMARY KEY, name text NOT "
            "NULL, applied_at timestamptz NOT NULL DEFAULT now())");
      }
      if (is_applied(migration.version)) continue;  // another process was first
      const std::string sql(migration.sql);
      PgResult result(PQexec(conn_, sql.c_str()));
      check(result, fmt::format("migration {:04}_{}", migration.version, migration.name));
      exec("INSERT INTO realtime.schema_migrations (version, name) VALUES ($1, $2)",
           Params(migration.version, migration.name));
      transaction.commit();
      report.applied.push_back(fmt::format("{:04}_{}", migration.version, migration.name));
    }
    report.version = schema_version();
    return report;
  }

  int schema_version() override {
    if (exec("SELECT to_regclass('realtime.schema_migrations') IS NULL").boolean(0, 0)) return 0;
    return static_cast<int>(
        exec("SELECT COALESCE(MAX(version), 0) FROM realtime.schema_migrations").integer(0, 0));
  }

  // ---- channels

  Result<Channel> create_channel(const NewChannel& channel, Timestamp now) override {
    Channel created = channel_row(channel, now);
    const auto result = exec(
        "INSERT INTO realtime.channels (id, name, slug, description, type, max_members, "
        "is_persistent, metadata, created_at, created_by) VALUES ($1::uuid, $2, $3, $4, $5, "
        "$6::integer, $7::boolean, $8::jsonb, $9::timestamptz, $10) ON CONFLICT (slug) DO NOTHING",
        Params(created.id, created.name, created.slug, created.description,
               core::to_string(created.type), created.max_members, created.is_persistent,
               created.metadata, now, created.created_by));
    if (result.affected() == 0) {
      return Error{"conflict", "a channel with the slug '" + channel.slug + "' already exists"};
    }
    return created;
  }

  std::vector<Channel> list_channels(bool include_archived) override {
    const auto rows = exec(fmt::format("SELECT {} FROM realtime.channels WHERE $1::boolean OR "
                                       "archived_at IS NULL ORDER BY created_at, slug",
                                       kChannelColumns),
                           Params(include_archived));
    std::vector<Channel> result;
    for (int i = 0; i < rows.rows(); ++i) result.push_back(read_channel(rows, i));
    return result;
  }

  std::optional<Channel> find_channel(std::string_view id_or_slug) override {
    const auto id = canonical_uuid(id_or_slug);
    const auto rows =
        id ? exec(fmt::format("SELECT {} FROM realtime.channels WHERE id = $1::uuid",
                              kChannelColumns),
                  Params(*id))
           : exec(fmt::format("SELECT {} FROM realtime.channels WHERE slug = $1", kChannelColumns),
                  Params(id_or_slug));
    if (rows.rows() == 0) return std::nullopt;
    return read_channel(rows, 0);
  }

  bool delete_channel(std::string_view channel_id) override {
    const auto id = canonical_uuid(channel_id);
    if (!id) return false;
    return exec("DELETE FROM realtime.channels WHERE id = $1::uuid", Params(*id)).affected() > 0;
  }

  bool archive_channel(std::string_view channel_id, Timestamp now) override {
    const auto id = canonical_uuid(channel_id);
    if (!id) return false;
    return exec(
               "UPDATE realtime.channels SET archived_at = COALESCE(archived_at, "
               "$1::timestamptz) WHERE id = $2::uuid",
               Params(now, *id))
               .affected() > 0;
  }

  // ---- members

  void upsert_member(const ChannelMember& member) override {
    exec(
        "INSERT INTO realtime.channel_members (id, channel_id, user_id, role, can_send, "
        "can_invite, subscribed_at, last_read_at, last_read_seq) VALUES ($1::uuid, $2::uuid, $3, "
        "$4, $5::boolean, $6::boolean, $7::timestamptz, $8::timestamptz, $9::bigint) "
        "ON CONFLICT (channel_id, user_id) DO UPDATE SET role = EXCLUDED.role, "
        "can_send = EXCLUDED.can_send, can_invite = EXCLUDED.can_invite",
        Params(new_uuid(), require_channel_id(member.channel_id), member.user_id,
               to_string(member.role), member.can_send, member.can_invite, member.subscribed_at,
               member.last_read_at, member.last_read_seq));
  }

  bool remove_member(std::string_view channel_id, std::string_view user_id) override {
    const auto id = canonical_uuid(channel_id);
    if (!id) return false;
    return exec("DELETE FROM realtime.channel_members WHERE channel_id = $1::uuid AND user_id = $2",
                Params(*id, user_id))
               .affected() > 0;
  }

  std::vector<ChannelMember> get_channel_members(std::string_view channel_id) override {
    const auto id = canonical_uuid(channel_id);
    if (!id) return {};
    const auto rows = exec(fmt::format("SELECT {} FROM realtime.get_channel_members($1::uuid) "
                                       "ORDER BY subscribed_at, user_id",
                                       kMemberColumns),
                           Params(*id));
    std::vector<ChannelMember> result;
    for (int i = 0; i < rows.rows(); ++i) result.push_back(read_member(rows, i));
    return result;
  }

  std::optional<ChannelMember> find_member(std::string_view channel_id,
                                           std::string_view user_id) override {
    const auto id = canonical_uuid(channel_id);
    if (!id) return std::nullopt;
    const auto rows = exec(fmt::format("SELECT {} FROM realtime.channel_members WHERE channel_id "
                                       "= $1::uuid AND user_id = $2",
                                       kMemberColumns),
                           Params(*id, user_id));
    if (rows.rows() == 0) return std::nullopt;
    return read_member(rows, 0);
  }

  void mark_read(std::string_view channel_id, std::string_view user_id, std::int64_t seq,
                 Timestamp now) override {
    const auto id = canonical_uuid(channel_id);
    if (!id) return;
    exec(
        "UPDATE realtime.channel_members SET last_read_seq = GREATEST(last_read_seq, $1::bigint), "
        "last_read_at = $2::timestamptz WHERE channel_id = $3::uuid AND user_id = $4",
        Params(seq, now, *id, user_id));
  }

  // ---- messages

  std::vector<StoredMessage> append_messages(std::span<const NewMessage> messages,
                                             Timestamp now) override {
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
        if (exec("SELECT 1 FROM realtime.channels WHERE id = $1::uuid", Params(channel_id))
                .rows() == 0) {
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

  std::vector<StoredMessage> history(std::string_view channel_id,
                                     std::optional<std::int64_t> before_seq, int limit) override {
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

  std::vector<StoredMessage> messages_since(std::string_view channel_id, std::int64_t after_seq,
                                            int limit) override {
    const auto id = canonical_uuid(channel_id);
    if (!id || limit <= 0) return {};
    const auto rows =
        exec(fmt::format("SELECT {} FROM realtime.messages WHERE channel_id = $1::uuid AND seq > "
                         "$2::bigint ORDER BY seq LIMIT $3::integer",
                         kMessageColumns),
             Params(*id, after_seq, limit));
    return read_messages(rows);
  }

  std::int64_t prune_before(PruneTable table, Timestamp cutoff, std::int64_t limit) override {
    if (limit <= 0) return 0;
    return exec(postgres_prune_sql(table), Params(cutoff, limit)).affected();
  }

  // ---- connections and subscriptions

  void record_connection(const ConnectionRecord& connection) override {
    exec(
        "INSERT INTO realtime.connections (id, user_id, connection_id, client_ip, user_agent, "
        "node_id, status, connected_at, last_seen_at) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, "
        "$8::timestamptz, $9::timestamptz) ON CONFLICT (connection_id) DO UPDATE SET "
        "user_id = EXCLUDED.user_id, client_ip = EXCLUDED.client_ip, "
        "user_agent = EXCLUDED.user_agent, node_id = EXCLUDED.node_id, "
        "status = EXCLUDED.status, connected_at = EXCLUDED.connected_at, "
        "last_seen_at = EXCLUDED.last_seen_at, disconnected_at = NULL",
        Params(new_uuid(), connection.user_id, connection.connection_id, connection.client_ip,
               connection.user_agent, connection.node_id, connection.status,
               connection.connected_at, connection.last_seen_at));
  }

  void record_disconnect(std::string_view connection_id, Timestamp now) override {
    Transaction transaction(*this);
    exec(
        "UPDATE realtime.connections SET status = 'disconnected', disconnected_at = "
        "$1::timestamptz WHERE connection_id = $2 AND status <> 'disconnected'",
        Params(now, connection_id));
    exec("DELETE FROM realtime.subscriptions WHERE connection_id = $1", Params(connection_id));
    transaction.commit();
  }

  void touch_connections(std::span<const std::string> connection_ids, Timestamp now) override {
    if (connection_ids.empty()) return;
    exec(
        "UPDATE realtime.connections SET last_seen_at = $1::timestamptz "
        "WHERE connection_id = ANY ($2::text[])",
        Params(now, array_literal(connection_ids)));
  }

  std::vector<ConnectionRecord> list_connections(bool include_disconnected) override {
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

  void add_subscription(std::string_view connection_id, std::string_view channel_id,
                        std::string_view user_id, Timestamp now) override {
    exec(
        "INSERT INTO realtime.subscriptions (id, connection_id, channel_id, user_id, "
        "subscribed_at) VALUES ($1::uuid, $2, $3::uuid, $4, $5::timestamptz) "
        "ON CONFLICT (connection_id, channel_id) DO NOTHING",
        Params(new_uuid(), connection_id, require_channel_id(channel_id), user_id, now));
  }

  void remove_subscription(std::string_view connection_id, std::string_view channel_id) override {
    const auto id = canonical_uuid(channel_id);
    if (!id) return;
    exec("DELETE FROM realtime.subscriptions WHERE connection_id = $1 AND channel_id = $2::uuid",
         Params(connection_id, *id));
  }

  std::int64_t count_subscriptions(std::string_view connection_id) override {
    return exec("SELECT count(*) FROM realtime.subscriptions WHERE connection_id = $1",
                Params(connection_id))
        .integer(0, 0);
  }

  // ---- presence

  void update_presence(const PresenceRecord& presence) override {
    std::optional<std::string> channel_id;
    if (presence.channel_id) channel_id = require_channel_id(*presence.channel_id);
    exec("SELECT realtime.update_presence($1, $2::uuid, $3, $4::jsonb, $5::timestamptz)",
         Params(presence.user_id, channel_id, to_string(presence.status), presence.metadata,
                presence.updated_at));
  }

  std::vector<PresenceRecord> list_presence(std::string_view channel_id) override {
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

  // ---- broadcasts

  Broadcast create_broadcast(const Broadcast& broadcast, Timestamp now) override {
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

  std::vector<Broadcast> due_broadcasts(Timestamp now) override {
    return read_broadcasts(exec(
        fmt::format("SELECT {} FROM realtime.broadcasts WHERE sent_at IS NULL AND (scheduled_at "
                    "IS NULL OR scheduled_at <= $1::timestamptz) AND (expires_at IS NULL OR "
                    "expires_at > $1::timestamptz) ORDER BY COALESCE(scheduled_at, created_at), "
                    "created_at, id",
                    kBroadcastColumns),
        Params(now)));
  }

  void mark_broadcast_sent(std::string_view broadcast_id, Timestamp now) override {
    const auto id = canonical_uuid(broadcast_id);
    if (!id) return;
    exec(
        "UPDATE realtime.broadcasts SET sent_at = $1::timestamptz WHERE id = $2::uuid AND "
        "sent_at IS NULL",
        Params(now, *id));
  }

  void release_broadcast(std::string_view broadcast_id) override {
    const auto id = canonical_uuid(broadcast_id);
    if (!id) return;
    exec("UPDATE realtime.broadcasts SET sent_at = NULL WHERE id = $1::uuid", Params(*id));
  }

  std::vector<Broadcast> claim_due_broadcasts(Timestamp now, int limit) override {
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

  std::vector<Broadcast> active_announcements(Timestamp now) override {
    return read_broadcasts(exec(
        fmt::format("SELECT {} FROM realtime.broadcasts WHERE sent_at IS NOT NULL AND channel_id "
                    "IS NULL AND (expires_at IS NULL OR expires_at > $1::timestamptz) ORDER BY "
                    "sent_at, id",
                    kBroadcastColumns),
        Params(now)));
  }

  std::vector<Broadcast> list_broadcasts() override {
    return read_broadcasts(exec(fmt::format(
        "SELECT {} FROM realtime.broadcasts ORDER BY created_at, id", kBroadcastColumns)));
  }

  bool delete_broadcast(std::string_view broadcast_id) override {
    const auto id = canonical_uuid(broadcast_id);
    if (!id) return false;
    return exec("DELETE FROM realtime.broadcasts WHERE id = $1::uuid", Params(*id)).affected() > 0;
  }

  // ---- maintenance

  std::int64_t cleanup_stale_connections(Timestamp last_seen_before) override {
    return exec("SELECT realtime.cleanup_stale_connections($1::timestamptz)",
                Params(last_seen_before))
        .integer(0, 0);
  }

  std::int64_t cleanup_expired_broadcasts(Timestamp now) override {
    return exec("SELECT realtime.cleanup_expired_broadcasts($1::timestamptz)", Params(now))
        .integer(0, 0);
  }

  std::int64_t cleanup_stale_presence(Timestamp updated_before) override {
    return exec("DELETE FROM realtime.presence WHERE updated_at < $1::timestamptz",
                Params(updated_before))
        .affected();
  }

  // ---- statistics and server state

  StoreStats stats(Timestamp now) override {
    const auto row = exec(
        "SELECT (SELECT count(*) FROM realtime.channels WHERE archived_at IS NULL), "
        "(SELECT count(*) FROM realtime.messages WHERE sent_at > $1::timestamptz AND "
        "sent_at <= $2::timestamptz), "
        "(SELECT count(*) FROM realtime.connections WHERE status = 'connected'), "
        "(SELECT count(DISTINCT user_id) FROM realtime.connections WHERE status = 'connected'), "
        "(SELECT count(*) FROM realtime.connections), "
        "(SELECT COALESCE(SUM(" NSELF_MS("(COALESCE(disconnected_at, $2::timestamptz) - "
                                         "connected_at)") "), 0)::bigint "
        "FROM realtime.connections)",
        Params(now - std::chrono::hours(24), now));
    StoreStats stats;
    stats.channels = row.integer(0, 0);
    stats.messages_24h = row.integer(0, 1);
    stats.active_connections = row.integer(0, 2);
    stats.online_users = row.integer(0, 3);
    const std::int64_t connections = row.integer(0, 4);
    const std::int64_t total_ms = row.integer(0, 5);
    stats.average_connection_seconds = connections == 0 ? 0 : total_ms / connections / 1000;
    return stats;
  }

  std::optional<std::string> get_state(std::string_view key) override {
    const auto rows = exec("SELECT value FROM realtime.server_state WHERE key = $1", Params(key));
    if (rows.rows() == 0) return std::nullopt;
    return rows.text(0, 0);
  }

  void set_state(std::string_view key, std::string_view value) override {
    exec(
        "INSERT INTO realtime.server_state (key, value) VALUES ($1, $2) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        Params(key, value));
  }

  void append_audit(const AuditEntry& entry) override {
    exec(
        "INSERT INTO realtime.audit_log (at, actor, action, target, details) "
        "VALUES ($1::timestamptz, $2, $3, $4, $5::jsonb)",
        Params(entry.at, entry.actor, entry.action, entry.target, entry.details));
  }

  std::vector<AuditEntry> list_audit(int limit) override {
    if (limit <= 0) return {};
    const auto rows = exec(
        "SELECT id, " NSELF_MS("at") ", actor, action, target, details::text "
        "FROM realtime.audit_log ORDER BY id DESC LIMIT $1",
        Params(limit));
    std::vector<AuditEntry> result;
    for (int i = 0; i < rows.rows(); ++i) {
      AuditEntry entry;
      entry.id = rows.integer(i, 0);
      entry.at = rows.time(i, 1);
      entry.actor = rows.text(i, 2);
      entry.action = rows.text(i, 3);
      entry.target = rows.optional_text(i, 4);
      entry.details = rows.text(i, 5);
      result.push_back(std::move(entry));
    }
    return result;
  }

 private:
  class Transaction {
   public:
    explicit Transaction(PostgresStore& store) : store_(store) { store_.exec("BEGIN"); }
    ~Transaction() {
      if (!done_ && PQstatus(store_.conn_) == CONNECTION_OK) {
        PQclear(PQexec(store_.conn_, "ROLLBACK"));
      }
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
      store_.exec("COMMIT");
      done_ = true;
    }

   private:
    PostgresStore& store_;
    bool done_ = false;
  };

  // Runs one statement; throws unless it succeeded. A statement with
  // parameters is prepared once per connection (parsed and planned once,
  // then only executed: one round trip either way).
  PgResult exec(const std::string& sql, const Params& params = Params()) {
    ensure_connected();
    const auto values = params.pointers();
    if (params.size() == 0) {
      PgResult result(PQexecParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0));
      check(result, sql);
      return result;
    }
    auto found = prepared_.find(sql);
    if (found == prepared_.end()) {
      std::string name = "nself_" + std::to_string(prepared_.size() + 1);
      PgResult prepared(PQprepare(conn_, name.c_str(), sql.c_str(), params.size(), nullptr));
      check(prepared, sql);
      found = prepared_.emplace(sql, std::move(name)).first;
    }
    PgResult result(PQexecPrepared(conn_, found->second.c_str(), params.size(), values.data(),
                                   nullptr, nullptr, 0));
    check(result, sql);
    return result;
  }

  void check(const PgResult& result, std::string_view context) {
    const PGresult* raw = result.raw();
    const ExecStatusType status = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
    const std::string message =
        first_line(raw != nullptr ? PQresultErrorMessage(raw) : PQerrorMessage(conn_));
    const char* sqlstate = raw != nullptr ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
    const std::string_view code = sqlstate != nullptr ? sqlstate : "";
    // Class 08 (connection exception) and 57P01-57P03 (the server shutting
    // down, crashed, or not accepting connections yet) are outages too, also
    // before libpq has seen the connection close.
    if (PQstatus(conn_) == CONNECTION_BAD || code.starts_with("08") || code == "57P01" ||
        code == "57P02" || code == "57P03") {
      throw StoreUnavailable(fmt::format(
          "lost the connection to PostgreSQL at {}:{} (database \"{}\"): {}. Check that the "
          "server is running",
          host_, port_, database_, redact(message, secrets_)));
    }
    std::string where(context.substr(0, 120));
    throw StoreError(fmt::format("PostgreSQL: {} [SQLSTATE {}] in: {}", redact(message, secrets_),
                                 code.empty() ? "?" : code, where));
  }

  // A connection lost since the last call is re-established once.
  void ensure_connected() {
    if (PQstatus(conn_) == CONNECTION_OK) return;
    prepared_.clear();  // a new session has none of them
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK) {
      throw StoreUnavailable(fmt::format(
          "cannot reconnect to PostgreSQL at {}:{} (database \"{}\"): {}. Check that the server "
          "is running and reachable",
          host_, port_, database_, redact(first_line(PQerrorMessage(conn_)), secrets_)));
    }
  }

  bool is_applied(int version) {
    if (exec("SELECT to_regclass('realtime.schema_migrations') IS NULL").boolean(0, 0)) {
      return false;
    }
    return exec("SELECT count(*) FROM realtime.schema_migrations WHERE version = $1::integer",
                Params(version))
               .integer(0, 0) > 0;
  }

  static Channel read_channel(const PgResult& rows, int i) {
    Channel channel;
    channel.id = rows.text(i, 0);
    channel.name = rows.text(i, 1);
    channel.slug = rows.text(i, 2);
    channel.description = rows.text(i, 3);
    channel.type = parse_or_throw(core::parse_channel_type(rows.text(i, 4)), "channel type");
    channel.max_members = static_cast<int>(rows.integer(i, 5));
    channel.is_persistent = rows.boolean(i, 6);
    channel.metadata = rows.text(i, 7);
    channel.created_at = rows.time(i, 8);
    channel.created_by = rows.optional_text(i, 9);
    channel.archived_at = rows.optional_time(i, 10);
    channel.last_seq = rows.integer(i, 11);
    return channel;
  }

  static ChannelMember read_member(const PgResult& rows, int i) {
    ChannelMember member;
    member.channel_id = rows.text(i, 0);
    member.user_id = rows.text(i, 1);
    member.role = parse_or_throw(parse_member_role(rows.text(i, 2)), "member role");
    member.can_send = rows.boolean(i, 3);
    member.can_invite = rows.boolean(i, 4);
    member.subscribed_at = rows.time(i, 5);
    member.last_read_at = rows.optional_time(i, 6);
    member.last_read_seq = rows.integer(i, 7);
    return member;
  }

  static std::vector<StoredMessage> read_messages(const PgResult& rows) {
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

  static std::vector<Broadcast> read_broadcasts(const PgResult& rows) {
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

  PGconn* conn_ = nullptr;
  // SQL text -> name of the statement prepared for it on this connection.
  std::unordered_map<std::string, std::string> prepared_;
  std::string host_;
  std::string port_;
  std::string user_;
  std::string database_;
  std::vector<std::string> secrets_;  // never written into a message
};

}  // namespace

std::unique_ptr<Store> open_postgres_store(const std::string& url,
                                           std::chrono::milliseconds connect_timeout) {
  return std::make_unique<PostgresStore>(url, connect_timeout);
}

}  // namespace nself::store
