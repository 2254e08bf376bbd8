// One suite, run against both backends (SQLite and PostgreSQL): the store's
// behaviour must be the same on each.

#include "store/store.hpp"

#include <functional>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "core/channel.hpp"
#include "support/postgres_database.hpp"
#include "support/temp_dir.hpp"

namespace nself::store {
namespace {

using namespace std::chrono_literals;
using Rows = std::vector<std::vector<std::optional<std::string>>>;

enum class Backend { kSqlite, kPostgres };

const Timestamp kT0 = std::chrono::sys_days{std::chrono::year{2024} / 6 / 1} + 12h;

NewChannel new_channel(const std::string& slug) {
  NewChannel channel;
  channel.name = "Channel " + slug;
  channel.slug = slug;
  return channel;
}

NewMessage new_message(const std::string& channel_id, const std::string& content) {
  NewMessage message;
  message.channel_id = channel_id;
  message.user_id = "user-1";
  message.content = content;
  return message;
}

ConnectionRecord connection(const std::string& id, const std::string& user, Timestamp at) {
  ConnectionRecord record;
  record.connection_id = id;
  record.user_id = user;
  record.client_ip = "10.0.0.1";
  record.user_agent = "test-agent";
  record.node_id = "node-a";
  record.connected_at = at;
  record.last_seen_at = at;
  return record;
}

boost::json::value json(const std::string& text) {
  return boost::json::parse(text);
}

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      server_url_ = test::postgres_test_url();
      if (!server_url_) {
        if (test::services_required()) FAIL() << "NSELF_TEST_POSTGRES_URL is not set";
        GTEST_SKIP() << "NSELF_TEST_POSTGRES_URL is not set (run through scripts/test-env.sh)";
      }
      database_.emplace(*server_url_);
      options_.database_url = database_->url();
    } else {
      // A nested path: opening creates the missing folders.
      options_.sqlite_path = (dir_.path() / "nested" / "data" / "realtime.db").string();
    }
    store_ = open_store(options_);
    first_migration_ = store_->migrate();
  }

  // Runs `sql` through a connection of its own, not the store's.
  Rows raw(const std::string& sql) {
    if (GetParam() == Backend::kPostgres) return database_->query(sql);
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
    const std::string attach = "ATTACH DATABASE '" + options_.sqlite_path + "' AS realtime";
    EXPECT_EQ(sqlite3_exec(db, attach.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    Rows rows;
    sqlite3_stmt* statement = nullptr;
    const int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr);
    if (rc != SQLITE_OK) {
      const std::string error = sqlite3_errmsg(db);
      sqlite3_close(db);
      throw std::runtime_error(sql + ": " + error);
    }
    while (sqlite3_step(statement) == SQLITE_ROW) {
      auto& row = rows.emplace_back();
      for (int c = 0; c < sqlite3_column_count(statement); ++c) {
        if (sqlite3_column_type(statement, c) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(statement, c)));
        }
      }
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return rows;
  }

  std::int64_t raw_count(const std::string& sql) { return std::stoll(*raw(sql).at(0).at(0)); }

  // A second, empty database of the same backend (not migrated).
  std::unique_ptr<Store> open_fresh() {
    StoreOptions options;
    if (GetParam() == Backend::kPostgres) {
      extra_database_.emplace(*server_url_);
      options.database_url = extra_database_->url();
    } else {
      options.sqlite_path = (dir_.path() / "fresh.db").string();
    }
    return open_store(options);
  }

  Channel make_channel(const std::string& slug) {
    auto created = store_->create_channel(new_channel(slug), kT0);
    EXPECT_TRUE(created.ok());
    return created.value();
  }

  test::TempDir dir_;
  std::optional<std::string> server_url_;
  std::optional<test::TestDatabase> database_;
  std::optional<test::TestDatabase> extra_database_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
  MigrationReport first_migration_;
};

// ---- schema

TEST_P(StoreTest, FirstMigrateAppliesTheInitialSchema) {
  EXPECT_EQ(first_migration_.applied, std::vector<std::string>{"0001_initial"});
  EXPECT_EQ(first_migration_.version, 1);
  EXPECT_EQ(store_->schema_version(), 1);
  EXPECT_EQ(store_->backend(), GetParam() == Backend::kSqlite ? "sqlite" : "postgres");
}

TEST_P(StoreTest, SchemaVersionIsZeroBeforeMigrate) {
  auto fresh = open_fresh();
  EXPECT_EQ(fresh->schema_version(), 0);
}

TEST_P(StoreTest, MigrateTwiceAppliesNothingAndKeepsData) {
  const Channel channel = make_channel("general");
  store_->append_messages(std::vector{new_message(channel.id, "1")}, kT0);
  const auto second = store_->migrate();
  EXPECT_TRUE(second.applied.empty());
  EXPECT_EQ(second.version, 1);
  EXPECT_EQ(store_->schema_version(), 1);
  EXPECT_EQ(raw_count("SELECT count(*) FROM realtime.schema_migrations"), 1);
  ASSERT_TRUE(store_->find_channel("general").has_value());
  EXPECT_EQ(store_->history(channel.id, std::nullopt, 10).size(), 1u);
  // A new store object on the same data sees the same version and migrates nothing.
  auto again = open_store(options_);
  EXPECT_TRUE(again->migrate().applied.empty());
}

TEST_P(StoreTest, ConcurrentMigrationsApplyEachMigrationOnce) {
  auto fresh = open_fresh();
  StoreOptions options;
  if (GetParam() == Backend::kPostgres) {
    options.database_url = extra_database_->url();
  } else {
    options.sqlite_path = (dir_.path() / "fresh.db").string();
  }
  std::vector<MigrationReport> reports(4);
  std::vector<std::thread> threads;
  for (auto& report : reports) {
    threads.emplace_back([&options, &report] { report = open_store(options)->migrate(); });
  }
  for (auto& thread : threads) thread.join();
  std::size_t applied = 0;
  for (const auto& report : reports) {
    applied += report.applied.size();
    EXPECT_EQ(report.version, 1);
  }
  EXPECT_EQ(applied, 1u);
  EXPECT_EQ(fresh->schema_version(), 1);
}

TEST_P(StoreTest, EveryTableExistsUnderTheRealtimeSchema) {
  for (const char* table :
       {"connections", "channels", "channel_members", "messages", "subscriptions", "presence",
        "broadcasts", "audit_log", "server_state", "schema_migrations"}) {
    EXPECT_NO_THROW(raw(std::string("SELECT count(*) FROM realtime.") + table)) << table;
  }
  EXPECT_ANY_THROW(raw("SELECT count(*) FROM realtime.no_such_table"));
  if (GetParam() == Backend::kPostgres) {
    EXPECT_EQ(raw_count("SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = "
                        "p.pronamespace WHERE n.nspname = 'realtime' AND p.proname IN "
                        "('cleanup_stale_connections', 'cleanup_expired_broadcasts', "
                        "'get_channel_members', 'update_presence')"),
              4);
  }
}

// ---- channels

TEST_P(StoreTest, CreateFindAndListChannels) {
  NewChannel input = new_channel("team-42");
  input.description = "the team";
  input.type = core::ChannelType::kPresence;
  input.max_members = 7;
  input.is_persistent = false;
  input.metadata = R"({"topic":"x","n":[1,2]})";
  input.created_by = "admin";
  const auto created = store_->create_channel(input, kT0);
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(core::looks_like_uuid(created->id));

  const auto by_slug = store_->find_channel("team-42");
  ASSERT_TRUE(by_slug.has_value());
  EXPECT_EQ(by_slug->id, created->id);
  EXPECT_EQ(by_slug->name, "Channel team-42");
  EXPECT_EQ(by_slug->description, "the team");
  EXPECT_EQ(by_slug->type, core::ChannelType::kPresence);
  EXPECT_EQ(by_slug->max_members, 7);
  EXPECT_FALSE(by_slug->is_persistent);
  EXPECT_EQ(json(by_slug->metadata), json(input.metadata));
  EXPECT_EQ(by_slug->created_at, kT0);
  EXPECT_EQ(by_slug->created_by, "admin");
  EXPECT_FALSE(by_slug->archived_at.has_value());
  EXPECT_EQ(by_slug->last_seq, 0);

  const auto by_id = store_->find_channel(created->id);
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(by_id->slug, "team-42");
  std::string upper = created->id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_TRUE(store_->find_channel(upper).has_value());

  EXPECT_FALSE(store_->find_channel("nope").has_value());
  EXPECT_FALSE(store_->find_channel("00000000-0000-4000-8000-000000000000").has_value());
  EXPECT_FALSE(store_->find_channel("").has_value());
  EXPECT_FALSE(store_->find_channel("x' OR '1'='1").has_value());

  make_channel("another");
  const auto all = store_->list_channels(false);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].slug, "another");  // same created_at: ordered by slug
  EXPECT_EQ(all[1].slug, "team-42");
}

TEST_P(StoreTest, ChannelDefaultsRoundTrip) {
  const Channel channel = make_channel("plain");
  const auto found = store_->find_channel(channel.id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->type, core::ChannelType::kPublic);
  EXPECT_EQ(found->max_members, 100);
  EXPECT_TRUE(found->is_persistent);
  EXPECT_EQ(json(found->metadata), json("{}"));
  EXPECT_FALSE(found->created_by.has_value());
  EXPECT_EQ(found->description, "");
}

TEST_P(StoreTest, DuplicateSlugIsAConflict) {
  make_channel("general");
  const auto again = store_->create_channel(new_channel("general"), kT0 + 1s);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "conflict");
  EXPECT_NE(again.error().message.find("general"), std::string::npos);
  EXPECT_EQ(store_->list_channels(true).size(), 1u);
}

TEST_P(StoreTest, InvalidMetadataJsonIsAStoreError) {
  NewChannel input = new_channel("bad-json");
  input.metadata = "{not json";
  EXPECT_THROW((void)store_->create_channel(input, kT0), StoreError);
  EXPECT_FALSE(store_->find_channel("bad-json").has_value());
}

TEST_P(StoreTest, DeleteChannelCascades) {
  const Channel channel = make_channel("doomed");
  const Channel other = make_channel("kept");
  store_->append_messages(std::vector{new_message(channel.id, "1"), new_message(other.id, "2")},
                          kT0);
  store_->upsert_member({channel.id, "alice", MemberRole::kOwner, true, true, kT0, {}, 0});
  store_->record_connection(connection("c1", "alice", kT0));
  store_->add_subscription("c1", channel.id, "alice", kT0);
  store_->add_subscription("c1", other.id, "alice", kT0);
  store_->update_presence({"alice", channel.id, PresenceStatus::kOnline, "{}", kT0});
  Broadcast broadcast;
  broadcast.channel_id = channel.id;
  broadcast.event_type = "notice";
  store_->create_broadcast(broadcast, kT0);

  EXPECT_TRUE(store_->delete_channel(channel.id));
  EXPECT_FALSE(store_->find_channel(channel.id).has_value());
  const std::string where = " WHERE channel_id = '" + channel.id + "'";
  for (const char* table :
       {"messages", "channel_members", "subscriptions", "presence", "broadcasts"}) {
    EXPECT_EQ(raw_count(std::string("SELECT count(*) FROM realtime.") + table + where), 0) << table;
  }
  EXPECT_EQ(store_->history(other.id, std::nullopt, 10).size(), 1u);
  EXPECT_EQ(store_->count_subscriptions("c1"), 1);
  EXPECT_FALSE(store_->delete_channel(channel.id));
  EXPECT_FALSE(store_->delete_channel("not-a-uuid"));
}

TEST_P(StoreTest, ArchiveHidesFromTheList) {
  const Channel channel = make_channel("old");
  make_channel("current");
  EXPECT_TRUE(store_->archive_channel(channel.id, kT0 + 1h));
  EXPECT_TRUE(store_->archive_channel(channel.id, kT0 + 2h));  // keeps the first time
  const auto visible = store_->list_channels(false);
  ASSERT_EQ(visible.size(), 1u);
  EXPECT_EQ(visible[0].slug, "current");
  const auto all = store_->list_channels(true);
  ASSERT_EQ(all.size(), 2u);
  const auto archived = store_->find_channel("old");
  ASSERT_TRUE(archived.has_value());
  EXPECT_EQ(archived->archived_at, kT0 + 1h);
  EXPECT_FALSE(store_->archive_channel("00000000-0000-4000-8000-000000000000", kT0));
  EXPECT_EQ(store_->stats(kT0 + 3h).channels, 1);
}

// ---- members

TEST_P(StoreTest, MembersUpsertOrderFindAndRemove) {
  const Channel channel = make_channel("room");
  store_->upsert_member({channel.id, "carol", MemberRole::kMember, true, false, kT0 + 2s, {}, 0});
  store_->upsert_member({channel.id, "bob", MemberRole::kMember, true, false, kT0 + 1s, {}, 0});
  store_->upsert_member({channel.id, "alice", MemberRole::kOwner, true, true, kT0 + 1s, {}, 0});

  auto members = store_->get_channel_members(channel.id);
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[0].user_id, "alice");  // same subscribed_at: by user_id
  EXPECT_EQ(members[1].user_id, "bob");
  EXPECT_EQ(members[2].user_id, "carol");
  EXPECT_EQ(members[0].role, MemberRole::kOwner);
  EXPECT_TRUE(members[0].can_invite);
  EXPECT_EQ(members[0].subscribed_at, kT0 + 1s);
  EXPECT_EQ(members[0].channel_id, channel.id);

  // An update changes role and rights, not subscribed_at.
  store_->upsert_member({channel.id, "bob", MemberRole::kAdmin, false, true, kT0 + 9s, {}, 0});
  const auto bob = store_->find_member(channel.id, "bob");
  ASSERT_TRUE(bob.has_value());
  EXPECT_EQ(bob->role, MemberRole::kAdmin);
  EXPECT_FALSE(bob->can_send);
  EXPECT_TRUE(bob->can_invite);
  EXPECT_EQ(bob->subscribed_at, kT0 + 1s);
  EXPECT_EQ(store_->get_channel_members(channel.id).size(), 3u);

  EXPECT_TRUE(store_->remove_member(channel.id, "bob"));
  EXPECT_FALSE(store_->remove_member(channel.id, "bob"));
  EXPECT_FALSE(store_->find_member(channel.id, "bob").has_value());
  EXPECT_EQ(store_->get_channel_members(channel.id).size(), 2u);
  EXPECT_TRUE(store_->get_channel_members("not-a-uuid").empty());
}

TEST_P(StoreTest, MarkReadOnlyMovesForward) {
  const Channel channel = make_channel("room");
  store_->upsert_member({channel.id, "alice", MemberRole::kMember, true, false, kT0, {}, 0});
  store_->mark_read(channel.id, "alice", 5, kT0 + 1s);
  auto member = store_->find_member(channel.id, "alice");
  ASSERT_TRUE(member.has_value());
  EXPECT_EQ(member->last_read_seq, 5);
  EXPECT_EQ(member->last_read_at, kT0 + 1s);
  store_->mark_read(channel.id, "alice", 3, kT0 + 2s);
  member = store_->find_member(channel.id, "alice");
  EXPECT_EQ(member->last_read_seq, 5);
  // Not a member: nothing is created.
  store_->mark_read(channel.id, "stranger", 3, kT0);
  EXPECT_FALSE(store_->find_member(channel.id, "stranger").has_value());
}

TEST_P(StoreTest, MemberOfAnUnknownChannelIsAStoreError) {
  EXPECT_THROW(store_->upsert_member({"00000000-0000-4000-8000-000000000000",
                                      "a",
                                      MemberRole::kMember,
                                      true,
                                      false,
                                      kT0,
                                      {},
                                      0}),
               StoreError);
  EXPECT_THROW(
      store_->upsert_member({"general", "a", MemberRole::kMember, true, false, kT0, {}, 0}),
      StoreError);
}

// ---- messages

TEST_P(StoreTest, SequencesAreGapFreePerChannelAcrossBatches) {
  const Channel a = make_channel("a");
  const Channel b = make_channel("b");
  std::set<std::string> ids;
  std::vector<std::int64_t> seq_a;
  std::vector<std::int64_t> seq_b;
  for (int batch = 0; batch < 4; ++batch) {
    std::vector<NewMessage> messages;
    for (int i = 0; i < 5; ++i) {
      messages.push_back(new_message(i % 2 == 0 ? a.id : b.id, std::to_string(batch * 10 + i)));
    }
    const auto stored = store_->append_messages(messages, kT0 + std::chrono::seconds(batch));
    ASSERT_EQ(stored.size(), messages.size());
    for (std::size_t i = 0; i < stored.size(); ++i) {
      EXPECT_EQ(stored[i].channel_id, messages[i].channel_id);  // input order kept
      EXPECT_EQ(stored[i].content, messages[i].content);
      EXPECT_EQ(stored[i].sent_at, kT0 + std::chrono::seconds(batch));
      EXPECT_TRUE(core::looks_like_uuid(stored[i].id));
      EXPECT_EQ(stored[i].id[14], '7');  // version 7: time-ordered (store/uuid.hpp)
      ids.insert(stored[i].id);
      (stored[i].channel_id == a.id ? seq_a : seq_b).push_back(stored[i].seq);
    }
  }
  EXPECT_EQ(ids.size(), 20u);
  ASSERT_EQ(seq_a.size(), 12u);
  ASSERT_EQ(seq_b.size(), 8u);
  for (std::size_t i = 0; i < seq_a.size(); ++i) EXPECT_EQ(seq_a[i], static_cast<int>(i) + 1);
  for (std::size_t i = 0; i < seq_b.size(); ++i) EXPECT_EQ(seq_b[i], static_cast<int>(i) + 1);
  EXPECT_EQ(store_->find_channel(a.id)->last_seq, 12);
  EXPECT_EQ(store_->find_channel(b.id)->last_seq, 8);
  EXPECT_TRUE(store_->append_messages({}, kT0).empty());
}

TEST_P(StoreTest, BatchesOfEverySizeGetGapFreeSeqsInInputOrder) {
  // Sizes around the backends' chunking (SQLite inserts 64, 32, ... rows per statement).
  const Channel a = make_channel("sizes-a");
  const Channel b = make_channel("sizes-b");
  const Channel c = make_channel("sizes-c");
  std::map<std::string, std::int64_t> expected{{a.id, 0}, {b.id, 0}, {c.id, 0}};
  std::set<std::string> ids;
  int n = 0;
  for (const int size : {1, 2, 63, 64, 65, 127, 200}) {
    std::vector<NewMessage> messages;
    for (int i = 0; i < size; ++i, ++n) {
      const Channel& channel = n % 5 == 0 ? a : (n % 5 < 3 ? b : c);
      messages.push_back(new_message(channel.id, "{\"n\":" + std::to_string(n) + "}"));
    }
    const auto stored = store_->append_messages(messages, kT0 + std::chrono::milliseconds(n));
    ASSERT_EQ(stored.size(), messages.size());
    for (std::size_t i = 0; i < stored.size(); ++i) {
      EXPECT_EQ(stored[i].channel_id, messages[i].channel_id);
      EXPECT_EQ(json(stored[i].content), json(messages[i].content));
      EXPECT_EQ(stored[i].seq, ++expected[stored[i].channel_id]);
      ids.insert(stored[i].id);
    }
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(n));
  for (const auto& [channel_id, last] : expected) {
    EXPECT_EQ(store_->find_channel(channel_id)->last_seq, last);
    // What was returned is what is stored: the same seq for the same content.
    const auto history = store_->history(channel_id, std::nullopt, 1000);
    ASSERT_EQ(static_cast<std::int64_t>(history.size()), last);
    for (std::size_t i = 0; i < history.size(); ++i) {
      EXPECT_EQ(history[i].seq, static_cast<std::int64_t>(i) + 1);
    }
  }
}

TEST_P(StoreTest, MessageIdsAreTimeOrdered) {
  const Channel channel = make_channel("ordered");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    const auto stored = store_->append_messages(std::vector{new_message(channel.id, "1")},
                                                kT0 + std::chrono::milliseconds(i));
    ids.push_back(stored.at(0).id);
    // The first 48 bits are the send time in Unix milliseconds.
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        (kT0 + std::chrono::milliseconds(i)).time_since_epoch())
                        .count();
    const std::string hex = ids.back().substr(0, 8) + ids.back().substr(9, 4);
    EXPECT_EQ(std::stoll(hex, nullptr, 16), ms);
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
}

TEST_P(StoreTest, HistoryAndMessagesSince) {
  const Channel channel = make_channel("log");
  std::vector<NewMessage> messages;
  for (int i = 1; i <= 10; ++i) messages.push_back(new_message(channel.id, std::to_string(i)));
  store_->append_messages(messages, kT0);

  auto newest = store_->history(channel.id, std::nullopt, 3);
  ASSERT_EQ(newest.size(), 3u);
  EXPECT_EQ(newest[0].seq, 8);
  EXPECT_EQ(newest[2].seq, 10);
  EXPECT_EQ(newest[2].content, "10");
  EXPECT_EQ(newest[0].user_id, "user-1");
  EXPECT_EQ(newest[0].message_type, "text");

  auto before = store_->history(channel.id, 5, 3);
  ASSERT_EQ(before.size(), 3u);
  EXPECT_EQ(before[0].seq, 2);
  EXPECT_EQ(before[2].seq, 4);
  EXPECT_EQ(store_->history(channel.id, 2, 10).size(), 1u);
  EXPECT_TRUE(store_->history(channel.id, 1, 10).empty());
  EXPECT_TRUE(store_->history(channel.id, std::nullopt, 0).empty());

  auto since = store_->messages_since(channel.id, 7, 10);
  ASSERT_EQ(since.size(), 3u);
  EXPECT_EQ(since[0].seq, 8);
  EXPECT_EQ(since[2].seq, 10);
  auto limited = store_->messages_since(channel.id, 0, 2);
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited[1].seq, 2);
  EXPECT_TRUE(store_->messages_since(channel.id, 10, 10).empty());
  EXPECT_TRUE(store_->messages_since("not-a-uuid", 0, 10).empty());
}

TEST_P(StoreTest, BatchWithAnUnknownChannelStoresNothing) {
  const Channel channel = make_channel("real");
  const std::vector<NewMessage> batch{new_message(channel.id, "1"),
                                      new_message("00000000-0000-4000-8000-000000000000", "2")};
  EXPECT_THROW(store_->append_messages(batch, kT0), StoreError);
  EXPECT_EQ(store_->find_channel(channel.id)->last_seq, 0);
  EXPECT_TRUE(store_->history(channel.id, std::nullopt, 10).empty());
  EXPECT_THROW(store_->append_messages(std::vector{new_message("general", "1")}, kT0), StoreError);
  // The store is still usable after the failed transaction.
  const auto stored = store_->append_messages(std::vector{new_message(channel.id, "3")}, kT0);
  EXPECT_EQ(stored.at(0).seq, 1);
}

TEST_P(StoreTest, InvalidJsonContentFailsTheWholeBatch) {
  const Channel channel = make_channel("strict");
  const std::vector<NewMessage> batch{new_message(channel.id, "1"),
                                      new_message(channel.id, "{broken")};
  EXPECT_THROW(store_->append_messages(batch, kT0), StoreError);
  EXPECT_EQ(store_->find_channel(channel.id)->last_seq, 0);
}

TEST_P(StoreTest, UnicodeAndQuotesRoundTrip) {
  const Channel channel = make_channel("intl");
  const std::string text =
      R"("héllo \"wörld\" 'single' ; DROP TABLE x; -- 😀 日本語 \\ back \n {\"not\": \"json\"}")";
  const std::string object = R"({"ключ":"значение","q":"it's \"quoted\"","e":"😀","a":[1,{}]})";
  NewMessage message = new_message(channel.id, text);
  message.user_id = "usér'\"";
  message.metadata = R"({"note":"ü"})";
  store_->append_messages(std::vector{message, new_message(channel.id, object)}, kT0);
  const auto history = store_->history(channel.id, std::nullopt, 10);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(json(history[0].content), json(text));
  EXPECT_EQ(history[0].user_id, "usér'\"");
  EXPECT_EQ(json(history[0].metadata), json(message.metadata));
  EXPECT_EQ(json(history[1].content), json(object));
}

TEST_P(StoreTest, OneMegabyteContentRoundTrips) {
  const Channel channel = make_channel("big");
  std::string body(1 << 20, 'x');
  for (std::size_t i = 0; i < body.size(); i += 97) body[i] = 'a' + static_cast<char>(i % 26);
  const std::string content = "\"" + body + "\"";
  store_->append_messages(std::vector{new_message(channel.id, content)}, kT0);
  const auto history = store_->history(channel.id, std::nullopt, 1);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].content.size(), content.size());
  EXPECT_EQ(history[0].content, content);
}

TEST_P(StoreTest, PruneMessagesBeforeACutoffInBoundedBatches) {
  const Channel channel = make_channel("retention");
  for (int i = 0; i < 5; ++i) {
    store_->append_messages(std::vector{new_message(channel.id, std::to_string(i))},
                            kT0 - 5h + std::chrono::hours(i));
  }
  store_->append_messages(std::vector{new_message(channel.id, "5")}, kT0);
  // kT0 - 1h is the fifth message's time: the cutoff itself is kept, four go,
  // oldest first, at most two per call.
  EXPECT_EQ(store_->prune_before(PruneTable::kMessages, kT0 - 1h, 0), 0);
  EXPECT_EQ(store_->prune_before(PruneTable::kMessages, kT0 - 1h, 2), 2);
  EXPECT_EQ(store_->history(channel.id, std::nullopt, 10).front().seq, 3);
  EXPECT_EQ(store_->prune_before(PruneTable::kMessages, kT0 - 1h, 2), 2);
  EXPECT_EQ(store_->prune_before(PruneTable::kMessages, kT0 - 1h, 2), 0);
  const auto left = store_->history(channel.id, std::nullopt, 10);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].seq, 5);
  EXPECT_EQ(left[1].seq, 6);
  // Seqs are never reused after deletion.
  EXPECT_EQ(store_->append_messages(std::vector{new_message(channel.id, "6")}, kT0).at(0).seq, 7);
}

TEST_P(StoreTest, PruneAuditLogBeforeACutoff) {
  for (int i = 0; i < 5; ++i) {
    store_->append_audit(
        AuditEntry{0, kT0 - 5h + std::chrono::hours(i), "cli", "test", std::to_string(i), "{}"});
  }
  EXPECT_EQ(store_->prune_before(PruneTable::kAuditLog, kT0 - 2h, 2), 2);
  EXPECT_EQ(store_->prune_before(PruneTable::kAuditLog, kT0 - 2h, 2), 1);
  EXPECT_EQ(store_->prune_before(PruneTable::kAuditLog, kT0 - 2h, 2), 0);
  const auto left = store_->list_audit(10);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].target, "4");
  EXPECT_EQ(left[1].target, "3");
}

// ---- connections and subscriptions

TEST_P(StoreTest, ConnectionsRecordTouchDisconnect) {
  const Channel channel = make_channel("live");
  store_->record_connection(connection("c1", "alice", kT0));
  store_->record_connection(connection("c2", "bob", kT0 + 1s));
  store_->add_subscription("c1", channel.id, "alice", kT0);
  store_->add_subscription("c1", channel.id, "alice", kT0);  // idempotent
  EXPECT_EQ(store_->count_subscriptions("c1"), 1);

  const std::vector<std::string> touched{"c1", "c2", "unknown"};
  store_->touch_connections(touched, kT0 + 30s);
  auto list = store_->list_connections(false);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].connection_id, "c1");
  EXPECT_EQ(list[0].user_id, "alice");
  EXPECT_EQ(list[0].client_ip, "10.0.0.1");
  EXPECT_EQ(list[0].user_agent, "test-agent");
  EXPECT_EQ(list[0].node_id, "node-a");
  EXPECT_EQ(list[0].status, "connected");
  EXPECT_EQ(list[0].connected_at, kT0);
  EXPECT_EQ(list[0].last_seen_at, kT0 + 30s);

  store_->record_disconnect("c1", kT0 + 60s);
  EXPECT_EQ(store_->count_subscriptions("c1"), 0);
  list = store_->list_connections(false);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].connection_id, "c2");
  list = store_->list_connections(true);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].status, "disconnected");

  store_->add_subscription("c2", channel.id, "bob", kT0);
  store_->remove_subscription("c2", channel.id);
  EXPECT_EQ(store_->count_subscriptions("c2"), 0);
  EXPECT_THROW(store_->add_subscription("c2", "not-a-uuid", "bob", kT0), StoreError);
}

TEST_P(StoreTest, CleanupStaleConnections) {
  const Channel channel = make_channel("live");
  store_->record_connection(connection("stale-a", "alice", kT0 - 10min));
  ConnectionRecord idle = connection("stale-b", "bob", kT0 - 10min);
  idle.status = "idle";
  store_->record_connection(idle);
  store_->record_connection(connection("fresh-a", "alice", kT0));
  store_->add_subscription("stale-a", channel.id, "alice", kT0);
  store_->add_subscription("stale-b", channel.id, "bob", kT0);
  store_->add_subscription("fresh-a", channel.id, "alice", kT0);
  store_->update_presence({"alice", std::nullopt, PresenceStatus::kOnline, "{}", kT0});
  store_->update_presence({"bob", std::nullopt, PresenceStatus::kAway, "{}", kT0});
  store_->update_presence({"bob", channel.id, PresenceStatus::kOnline, "{}", kT0});

  EXPECT_EQ(store_->cleanup_stale_connections(kT0 - 5min), 2);
  const auto live = store_->list_connections(false);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].connection_id, "fresh-a");
  EXPECT_EQ(store_->count_subscriptions("stale-a"), 0);
  EXPECT_EQ(store_->count_subscriptions("stale-b"), 0);
  EXPECT_EQ(store_->count_subscriptions("fresh-a"), 1);
  // Bob has no live connection left: his presence goes; Alice's stays.
  const auto global = store_->list_presence("");
  ASSERT_EQ(global.size(), 1u);
  EXPECT_EQ(global[0].user_id, "alice");
  EXPECT_TRUE(store_->list_presence(channel.id).empty());
  // Stale connections are closed at the time they were last seen.
  EXPECT_EQ(raw_count("SELECT count(*) FROM realtime.connections WHERE status = 'disconnected' "
                      "AND disconnected_at = last_seen_at"),
            2);

  EXPECT_EQ(store_->cleanup_stale_connections(kT0 - 5min), 0);  // idempotent
}

// ---- batches (run_in_one_transaction)

TEST_P(StoreTest, OneTransactionCommitsEveryStepAtOnce) {
  const auto channel = make_channel("general");
  std::int64_t seen_by_others_during_the_batch = -1;
  const std::vector<std::function<void()>> steps{
      [&] { store_->record_connection(connection("c1", "alice", kT0)); },
      [&] { store_->add_subscription("c1", channel.id, "alice", kT0); },
      // A method that opens its own transaction: it joins the batch's.
      [&] { store_->append_messages(std::vector{new_message(channel.id, "1")}, kT0); },
      [&] {
        seen_by_others_during_the_batch = raw_count("SELECT count(*) FROM realtime.connections");
      },
  };
  EXPECT_TRUE(store_->run_in_one_transaction(steps).empty());
  EXPECT_EQ(seen_by_others_during_the_batch, 0) << "the batch was committed before its end";
  EXPECT_EQ(raw_count("SELECT count(*) FROM realtime.connections"), 1);
  EXPECT_EQ(raw_count("SELECT count(*) FROM realtime.subscriptions"), 1);
  EXPECT_EQ(store_->history(channel.id, std::nullopt, 10).size(), 1u);
}

TEST_P(StoreTest, AFailingStepIsUndoneAloneAndTheOthersCommit) {
  const auto channel = make_channel("general");
  const std::vector<std::function<void()>> steps{
      [&] { store_->record_connection(connection("c1", "alice", kT0)); },
      [&] {
        // Writes, then fails: its write goes too.
        store_->record_connection(connection("c2", "bob", kT0));
        store_->upsert_member({"00000000-0000-4000-8000-000000000000", "bob",
                               MemberRole::kMember, true, false, kT0, {}, 0});
      },
      [&] { store_->append_messages(std::vector{new_message(channel.id, "1")}, kT0); },
      [&] { store_->append_messages(std::vector{new_message("no-such-channel", "x")}, kT0); },
      [&] { store_->record_connection(connection("c3", "carol", kT0)); },
  };
  EXPECT_EQ(store_->run_in_one_transaction(steps), (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(raw_count("SELECT count(*) FROM realtime.connections"), 2);
  EXPECT_EQ(raw_count("SELECT count(*) FROM realtime.connections WHERE user_id = 'bob'"), 0);
  const auto history = store_->history(channel.id, std::nullopt, 10);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].seq, 1);
  // The store is usable afterwards: no transaction is left open.
  store_->append_messages(std::vector{new_message(channel.id, "2")}, kT0);
  EXPECT_EQ(raw_count("SELECT count(*) FROM realtime.messages"), 2);
}

TEST_P(StoreTest, AnExceptionThatIsNotAStoreErrorRollsTheBatchBack) {
  const auto channel = make_channel("general");
  const std::vector<std::function<void()>> steps{
      [&] { store_->record_connection(connection("c1", "alice", kT0)); },
      [&] { throw std::logic_error("a bug in a step"); },
  };
  EXPECT_THROW((void)store_->run_in_one_transaction(steps), std::logic_error);
  EXPECT_EQ(raw_count("SELECT count(*) FROM realtime.connections"), 0);
  store_->append_messages(std::vector{new_message(channel.id, "1")}, kT0);
  EXPECT_EQ(raw_count("SELECT count(*) FROM realtime.messages"), 1);
  EXPECT_TRUE(store_->run_in_one_transaction({}).empty());
}

// ---- presence

TEST_P(StoreTest, UpdatePresenceUpserts) {
  const Channel channel = make_channel("room");
  store_->update_presence({"alice", channel.id, PresenceStatus::kOnline, R"({"a":1})", kT0});
  store_->update_presence({"alice", channel.id, PresenceStatus::kBusy, R"({"b":2})", kT0 + 1s});
  store_->update_presence({"bob", channel.id, PresenceStatus::kAway, "{}", kT0});
  auto in_channel = store_->list_presence(channel.id);
  ASSERT_EQ(in_channel.size(), 2u);
  EXPECT_EQ(in_channel[0].user_id, "alice");
  EXPECT_EQ(in_channel[0].status, PresenceStatus::kBusy);
  EXPECT_EQ(json(in_channel[0].metadata), json(R"({"b":2})"));
  EXPECT_EQ(in_channel[0].updated_at, kT0 + 1s);
  EXPECT_EQ(in_channel[0].channel_id, channel.id);
  EXPECT_EQ(in_channel[1].status, PresenceStatus::kAway);

  // The global presence (no channel) is one row per user too.
  store_->update_presence({"alice", std::nullopt, PresenceStatus::kOnline, "{}", kT0});
  store_->update_presence({"alice", std::nullopt, PresenceStatus::kOffline, "{}", kT0 + 2s});
  const auto global = store_->list_presence("");
  ASSERT_EQ(global.size(), 1u);
  EXPECT_EQ(global[0].status, PresenceStatus::kOffline);
  EXPECT_FALSE(global[0].channel_id.has_value());
  EXPECT_EQ(raw_count("SELECT count(*) FROM realtime.presence WHERE user_id = 'alice'"), 2);

  EXPECT_THROW(
      store_->update_presence({"alice", std::string("00000000-0000-4000-8000-000000000000"),
                               PresenceStatus::kOnline, "{}", kT0}),
      StoreError);
}

TEST_P(StoreTest, CleanupStalePresence) {
  const Channel channel = make_channel("room");
  store_->update_presence({"old", channel.id, PresenceStatus::kOnline, "{}", kT0 - 1h});
  store_->update_presence({"old", std::nullopt, PresenceStatus::kOnline, "{}", kT0 - 1h});
  store_->update_presence({"new", channel.id, PresenceStatus::kOnline, "{}", kT0});
  EXPECT_EQ(store_->cleanup_stale_presence(kT0 - 1min), 2);
  const auto left = store_->list_presence(channel.id);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].user_id, "new");
  EXPECT_EQ(store_->cleanup_stale_presence(kT0 - 1min), 0);
}

// ---- broadcasts

Broadcast broadcast(std::optional<Timestamp> scheduled, std::optional<Timestamp> expires) {
  Broadcast b;
  b.event_type = "announcement";
  b.payload = R"({"text":"hi"})";
  b.user_id = "admin";
  b.scheduled_at = scheduled;
  b.expires_at = expires;
  return b;
}

TEST_P(StoreTest, DueBroadcasts) {
  const auto now_ = store_->create_broadcast(broadcast(std::nullopt, std::nullopt), kT0 - 1s);
  const auto past = store_->create_broadcast(broadcast(kT0 - 1min, kT0 + 1h), kT0 - 2min);
  store_->create_broadcast(broadcast(kT0 + 1min, std::nullopt), kT0 - 2min);  // future
  store_->create_broadcast(broadcast(std::nullopt, kT0), kT0 - 2min);         // expired
  Broadcast sent = broadcast(std::nullopt, std::nullopt);
  sent.sent_at = kT0 - 1s;
  store_->create_broadcast(sent, kT0 - 2min);

  EXPECT_TRUE(core::looks_like_uuid(now_.id));
  EXPECT_EQ(now_.created_at, kT0 - 1s);
  const auto due = store_->due_broadcasts(kT0);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].id, past.id);  // ordered by scheduled time
  EXPECT_EQ(due[1].id, now_.id);
  EXPECT_EQ(due[1].event_type, "announcement");
  EXPECT_EQ(json(due[1].payload), json(R"({"text":"hi"})"));
  EXPECT_EQ(due[1].user_id, "admin");
  EXPECT_EQ(due[0].expires_at, kT0 + 1h);

  store_->mark_broadcast_sent(past.id, kT0);
  EXPECT_EQ(store_->due_broadcasts(kT0).size(), 1u);
  EXPECT_EQ(store_->due_broadcasts(kT0 + 1min).size(), 2u);  // the future one is now due
  EXPECT_EQ(store_->list_broadcasts().size(), 5u);
  EXPECT_TRUE(store_->delete_broadcast(now_.id));
  EXPECT_FALSE(store_->delete_broadcast(now_.id));
  EXPECT_EQ(store_->list_broadcasts().size(), 4u);
}

TEST_P(StoreTest, ClaimDueBroadcasts) {
  const auto first = store_->create_broadcast(broadcast(kT0 - 2min, std::nullopt), kT0 - 3min);
  const auto second = store_->create_broadcast(broadcast(std::nullopt, kT0 + 1h), kT0 - 1min);
  const auto third = store_->create_broadcast(broadcast(std::nullopt, std::nullopt), kT0 - 30s);
  const auto future = store_->create_broadcast(broadcast(kT0 + 1min, std::nullopt), kT0 - 1h);
  store_->create_broadcast(broadcast(std::nullopt, kT0), kT0 - 1h);  // expired: never claimed

  EXPECT_TRUE(store_->claim_due_broadcasts(kT0, 0).empty());
  auto claimed = store_->claim_due_broadcasts(kT0, 2);
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].id, first.id);  // due order
  EXPECT_EQ(claimed[1].id, second.id);
  EXPECT_EQ(claimed[0].sent_at, kT0);
  EXPECT_EQ(claimed[1].expires_at, kT0 + 1h);
  EXPECT_EQ(json(claimed[0].payload), json(R"({"text":"hi"})"));

  claimed = store_->claim_due_broadcasts(kT0, 10);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, third.id);
  EXPECT_TRUE(store_->claim_due_broadcasts(kT0, 10).empty());  // claimed once only
  EXPECT_TRUE(store_->due_broadcasts(kT0).empty());

  claimed = store_->claim_due_broadcasts(kT0 + 1min, 10);  // the scheduled one is now due
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, future.id);
  EXPECT_TRUE(store_->claim_due_broadcasts(kT0 + 1h, 10).empty());  // expired never is
  // The claim is stored: sent_at on every claimed row.
  int sent = 0;
  for (const auto& row : store_->list_broadcasts()) sent += row.sent_at ? 1 : 0;
  EXPECT_EQ(sent, 4);
}

TEST_P(StoreTest, ReleasedBroadcastIsClaimedAgain) {
  const auto row = store_->create_broadcast(broadcast(std::nullopt, std::nullopt), kT0 - 1min);
  ASSERT_EQ(store_->claim_due_broadcasts(kT0, 10).size(), 1u);
  EXPECT_TRUE(store_->claim_due_broadcasts(kT0, 10).empty());
  store_->release_broadcast(row.id);
  store_->release_broadcast("not-a-uuid");  // ignored
  const auto again = store_->claim_due_broadcasts(kT0 + 1s, 10);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, row.id);
  EXPECT_EQ(again[0].sent_at, kT0 + 1s);
}

// Two stores (two server nodes) claiming the same rows concurrently: every
// broadcast is claimed by exactly one of them.
TEST_P(StoreTest, ClaimDueBroadcastsIsAtomicAcrossStores) {
  constexpr int kCount = 200;
  std::set<std::string> created;
  for (int i = 0; i < kCount; ++i) {
    created.insert(store_->create_broadcast(broadcast(std::nullopt, std::nullopt), kT0 - 1s).id);
  }
  std::vector<std::string> claimed_by[2];
  std::vector<std::thread> threads;
  for (int node = 0; node < 2; ++node) {
    threads.emplace_back([this, node, &claimed_by] {
      auto store = open_store(options_);
      for (;;) {
        auto claimed = store->claim_due_broadcasts(kT0, 7);
        if (claimed.empty()) break;
        for (auto& row : claimed) claimed_by[node].push_back(row.id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::multiset<std::string> all(claimed_by[0].begin(), claimed_by[0].end());
  all.insert(claimed_by[1].begin(), claimed_by[1].end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kCount));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()), created);
}

TEST_P(StoreTest, ActiveAnnouncements) {
  const Channel channel = make_channel("room");
  const auto global = store_->create_broadcast(broadcast(std::nullopt, kT0 + 1h), kT0);
  const auto forever = store_->create_broadcast(broadcast(std::nullopt, std::nullopt), kT0);
  const auto expiring = store_->create_broadcast(broadcast(std::nullopt, kT0 + 1min), kT0);
  Broadcast to_channel = broadcast(std::nullopt, std::nullopt);
  to_channel.channel_id = channel.id;
  const auto scoped = store_->create_broadcast(to_channel, kT0);
  store_->create_broadcast(broadcast(std::nullopt, std::nullopt), kT0);  // never sent

  store_->mark_broadcast_sent(global.id, kT0 + 1s);
  store_->mark_broadcast_sent(forever.id, kT0 + 2s);
  store_->mark_broadcast_sent(expiring.id, kT0 + 3s);
  store_->mark_broadcast_sent(scoped.id, kT0 + 4s);
  auto active = store_->active_announcements(kT0 + 5s);
  ASSERT_EQ(active.size(), 3u);
  EXPECT_EQ(active[0].id, global.id);
  EXPECT_EQ(active[0].sent_at, kT0 + 1s);
  active = store_->active_announcements(kT0 + 2min);
  ASSERT_EQ(active.size(), 2u);
  EXPECT_EQ(active[1].id, forever.id);
  EXPECT_EQ(store_->active_announcements(kT0 + 2h).size(), 1u);
}

TEST_P(StoreTest, CleanupExpiredBroadcasts) {
  store_->create_broadcast(broadcast(std::nullopt, kT0 - 1s), kT0 - 1h);
  store_->create_broadcast(broadcast(std::nullopt, kT0), kT0 - 1h);  // expires exactly now
  store_->create_broadcast(broadcast(std::nullopt, kT0 + 1s), kT0 - 1h);
  store_->create_broadcast(broadcast(std::nullopt, std::nullopt), kT0 - 1h);
  EXPECT_EQ(store_->cleanup_expired_broadcasts(kT0), 2);
  EXPECT_EQ(store_->list_broadcasts().size(), 2u);
  EXPECT_EQ(store_->cleanup_expired_broadcasts(kT0), 0);
}

// ---- statistics and state

TEST_P(StoreTest, Stats) {
  const Channel channel = make_channel("room");
  make_channel("other");
  const Channel archived = make_channel("archived");
  store_->archive_channel(archived.id, kT0);
  store_->append_messages(std::vector{new_message(channel.id, "1")}, kT0 - 24h);  // excluded
  store_->append_messages(std::vector{new_message(channel.id, "2")}, kT0 - 24h + 1ms);
  store_->append_messages(std::vector{new_message(channel.id, "3"), new_message(channel.id, "4")},
                          kT0);
  store_->append_messages(std::vector{new_message(channel.id, "5")}, kT0 + 1ms);  // future

  store_->record_connection(connection("c1", "alice", kT0 - 100s));  // open: 100 s
  store_->record_connection(connection("c2", "alice", kT0 - 50s));   // open: 50 s
  store_->record_connection(connection("c3", "bob", kT0 - 30s));
  store_->record_disconnect("c3", kT0 - 15s);  // closed after 15 s

  const StoreStats stats = store_->stats(kT0);
  EXPECT_EQ(stats.channels, 2);
  EXPECT_EQ(stats.messages_24h, 3);
  EXPECT_EQ(stats.active_connections, 2);
  EXPECT_EQ(stats.online_users, 1);
  EXPECT_EQ(stats.average_connection_seconds, (100 + 50 + 15) / 3);

  auto fresh = open_fresh();
  fresh->migrate();
  const StoreStats empty = fresh->stats(kT0);
  EXPECT_EQ(empty.channels, 0);
  EXPECT_EQ(empty.online_users, 0);
  EXPECT_EQ(empty.average_connection_seconds, 0);
}

TEST_P(StoreTest, ServerState) {
  EXPECT_FALSE(store_->get_state("peak_connections").has_value());
  store_->set_state("peak_connections", "10");
  store_->set_state("peak_connections", "12");
  store_->set_state("quote'key", "va\"lue");
  EXPECT_EQ(store_->get_state("peak_connections"), "12");
  EXPECT_EQ(store_->get_state("quote'key"), "va\"lue");
}

TEST_P(StoreTest, AuditLogKeepsEntriesNewestFirst) {
  EXPECT_TRUE(store_->list_audit(10).empty());
  AuditEntry first;
  first.at = kT0;
  first.actor = "admin";
  first.action = "channel.delete";
  first.target = "general";
  first.details = R"({"slug":"general","messages":3})";
  store_->append_audit(first);
  AuditEntry second;
  second.at = kT0 + 1500ms;
  second.actor = "127.0.0.1";
  second.action = "auth.failed";
  store_->append_audit(second);

  auto entries = store_->list_audit(10);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].action, "auth.failed");
  EXPECT_EQ(entries[0].actor, "127.0.0.1");
  EXPECT_FALSE(entries[0].target.has_value());
  EXPECT_EQ(json(entries[0].details), json("{}"));
  EXPECT_EQ(entries[0].at, kT0 + 1500ms);
  EXPECT_EQ(entries[1].action, "channel.delete");
  EXPECT_EQ(entries[1].target, "general");
  EXPECT_EQ(json(entries[1].details), json(R"({"slug":"general","messages":3})"));
  EXPECT_EQ(entries[1].at, kT0);
  EXPECT_GT(entries[0].id, entries[1].id);

  ASSERT_EQ(store_->list_audit(1).size(), 1u);
  EXPECT_EQ(store_->list_audit(1)[0].action, "auth.failed");
  EXPECT_TRUE(store_->list_audit(0).empty());
  EXPECT_TRUE(store_->list_audit(-5).empty());
}

TEST_P(StoreTest, AuditLogRejectsInvalidDetails) {
  AuditEntry entry;
  entry.at = kT0;
  entry.actor = "admin";
  entry.action = "x";
  entry.details = "{not json";
  EXPECT_THROW(store_->append_audit(entry), StoreError);
  EXPECT_TRUE(store_->list_audit(10).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) {
                           return info.param == Backend::kSqlite ? "sqlite" : "postgres";
                         });

}  // namespace
}  // namespace nself::store
