// Encryption at rest (store/encrypting_store.hpp) on both backends: content is
// sealed in the database, transparent to history and since, a wrong or missing
// key fails at open, and rows written before the key was set still read back.

#include "store/encrypting_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/json/parse.hpp>
#include <chrono>

#include "support/test_backend.hpp"

namespace nself::store {
namespace {

using namespace std::chrono_literals;
using Rows = std::vector<std::vector<std::optional<std::string>>>;

const Timestamp kT0 = std::chrono::sys_days{std::chrono::year{2024} / 6 / 1} + 12h;
const std::string kKey = "8f1c2e3d4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const std::string kOtherKey(64, 'e');

NewMessage message(const std::string& channel_id, const std::string& content) {
  NewMessage m;
  m.channel_id = channel_id;
  m.user_id = "user-1";
  m.content = content;
  return m;
}

NewChannel new_channel(const std::string& slug) {
  NewChannel channel;
  channel.name = slug;
  channel.slug = slug;
  return channel;
}

boost::json::value json(const std::string& text) {
  return boost::json::parse(text);
}

class EncryptingStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    NSELF_TEST_USE_BACKEND(GetParam(), dir_, database_, options_);
    auto plain = open_store(options_);
    plain->migrate();
    auto created = plain->create_channel(new_channel("general"), kT0);
    ASSERT_TRUE(created.ok());
    channel_ = created->id;
  }

  std::unique_ptr<Store> open(const std::string& key) {
    return apply_encryption(open_store(options_), key);
  }

  // Runs `sql` on a connection of its own, bypassing every store.
  Rows raw(const std::string& sql) {
    if (database_) return database_->query(sql);
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
    const std::string attach = "ATTACH DATABASE '" + options_.sqlite_path + "' AS realtime";
    EXPECT_EQ(sqlite3_exec(db, attach.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    Rows rows;
    sqlite3_stmt* statement = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr), SQLITE_OK) << sql;
    while (statement != nullptr && sqlite3_step(statement) == SQLITE_ROW) {
      auto& row = rows.emplace_back();
      for (int c = 0; c < sqlite3_column_count(statement); ++c) {
        const auto* text = sqlite3_column_text(statement, c);
        row.emplace_back(text ? std::optional<std::string>(reinterpret_cast<const char*>(text))
                              : std::nullopt);
      }
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return rows;
  }

  std::vector<std::string> raw_contents() {
    std::vector<std::string> contents;
    for (const auto& row : raw("SELECT content FROM realtime.messages ORDER BY seq")) {
      contents.push_back(row.at(0).value_or("NULL"));
    }
    return contents;
  }

  test::TempDir dir_;
  std::optional<test::TestDatabase> database_;
  StoreOptions options_;
  std::string channel_;
};

TEST_P(EncryptingStoreTest, StoresCiphertextAndReadsBackPlaintext) {
  auto store = open(kKey);
  const std::vector<NewMessage> batch = {message(channel_, R"({"text":"top secret plan"})"),
                                         message(channel_, R"("second secret")")};
  const auto stored = store->append_messages(batch, kT0);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].content, batch[0].content);  // the caller gets plaintext for fan-out
  EXPECT_EQ(stored[1].seq, 2);

  const auto raw = raw_contents();
  ASSERT_EQ(raw.size(), 2u);
  for (const auto& content : raw) {
    EXPECT_EQ(content.find("secret"), std::string::npos) << content;
    EXPECT_TRUE(core::MessageCipher::is_sealed(content)) << content;
  }
  EXPECT_NE(raw[0], raw[1]);

  const auto history = store->history(channel_, std::nullopt, 10);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(json(history[0].content), json(batch[0].content));
  EXPECT_EQ(json(history[1].content), json(batch[1].content));
  const auto since = store->messages_since(channel_, 1, 10);
  ASSERT_EQ(since.size(), 1u);
  EXPECT_EQ(json(since[0].content), json(batch[1].content));

  // Another process with the same key reads the same.
  const auto again = open(kKey)->history(channel_, std::nullopt, 10);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(json(again[0].content), json(batch[0].content));
}

TEST_P(EncryptingStoreTest, PlaintextRowsWrittenBeforeTheKeyStillReadBack) {
  auto plain = open("");
  const std::vector<NewMessage> old = {message(channel_, R"({"text":"old"})")};
  plain->append_messages(old, kT0);
  plain.reset();

  auto store = open(kKey);
  const std::vector<NewMessage> fresh = {message(channel_, R"({"text":"new"})")};
  store->append_messages(fresh, kT0 + 1s);
  const auto history = store->history(channel_, std::nullopt, 10);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(json(history[0].content), json(R"({"text":"old"})"));
  EXPECT_EQ(json(history[1].content), json(R"({"text":"new"})"));
  const auto raw = raw_contents();
  EXPECT_EQ(json(raw.at(0)), json(R"({"text":"old"})"));
  EXPECT_TRUE(core::MessageCipher::is_sealed(raw.at(1)));
}

TEST_P(EncryptingStoreTest, AWrongKeyIsAnErrorAtOpen) {
  open(kKey)->append_messages(std::vector{message(channel_, R"({"text":"x"})")}, kT0);
  try {
    open(kOtherKey);
    FAIL() << "a wrong key was accepted";
  } catch (const EncryptionKeyError& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("REALTIME_ENCRYPTION_KEY does not match"), std::string::npos) << what;
    EXPECT_EQ(what.find(kKey), std::string::npos);
    EXPECT_EQ(what.find(kOtherKey), std::string::npos);
  }
}

TEST_P(EncryptingStoreTest, NoKeyForAnEncryptedDatabaseIsAnErrorAtOpen) {
  open(kKey);  // stores the key check
  EXPECT_THROW(open(""), EncryptionKeyError);
}

TEST_P(EncryptingStoreTest, TheKeyCheckIsStoredInServerState) {
  open(kKey);
  const auto check = open_store(options_)->get_state(kEncryptionKeyCheckState);
  ASSERT_TRUE(check.has_value());
  EXPECT_TRUE(core::MessageCipher::from_hex_key(kKey)->matches_key_check(*check));
  EXPECT_EQ(check->find(kKey), std::string::npos);
}

TEST_P(EncryptingStoreTest, AKeyOnAFreshDatabaseIsCheckedAfterMigrate) {
  // A database without the schema: the check waits for migrate().
  database_.reset();
  StoreOptions fresh = options_;
  std::optional<test::TestDatabase> other;
  if (GetParam() == "postgres") {
    other.emplace(*test::postgres_test_url());
    fresh.database_url = other->url();
  } else {
    fresh.sqlite_path = (dir_.path() / "fresh.db").string();
  }
  auto store = apply_encryption(open_store(fresh), kKey);
  store->migrate();
  EXPECT_TRUE(open_store(fresh)->get_state(kEncryptionKeyCheckState).has_value());
  EXPECT_THROW(apply_encryption(open_store(fresh), kOtherKey), EncryptionKeyError);
}

TEST_P(EncryptingStoreTest, ARowMovedToAnotherChannelDoesNotOpen) {
  auto store = open(kKey);
  auto other = store->create_channel(new_channel("other"), kT0);
  ASSERT_TRUE(other.ok());
  store->append_messages(std::vector{message(channel_, R"({"text":"for general"})")}, kT0);
  // Copy the sealed row into the other channel behind the store's back.
  const std::string sealed = raw_contents().at(0);
  store->append_messages(std::vector{message(other->id, R"({"text":"placeholder"})")}, kT0);
  if (database_) {
    database_->query("UPDATE realtime.messages SET content = to_jsonb('" +
                     sealed.substr(1, sealed.size() - 2) + "'::text) WHERE channel_id = '" +
                     other->id + "'");
  } else {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(options_.sqlite_path.c_str(), &db), SQLITE_OK);
    const std::string sql =
        "UPDATE messages SET content = '" + sealed + "' WHERE channel_id = '" + other->id + "'";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  const auto moved = store->history(other->id, std::nullopt, 10);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].content.find("for general"), std::string::npos);  // never decrypted
  EXPECT_TRUE(core::MessageCipher::is_sealed(moved[0].content));
}

TEST(ApplyEncryption, RejectsAMalformedKey) {
  test::TempDir dir;
  StoreOptions options;
  options.sqlite_path = (dir.path() / "x.db").string();
  EXPECT_THROW(apply_encryption(open_store(options), "not-hex"), EncryptionKeyError);
}

INSTANTIATE_TEST_SUITE_P(Backends, EncryptingStoreTest, test::kStoreBackends,
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace nself::store
