// The engine's store jobs (src/store/engine_jobs.hpp) against a real SQLite
// store in a temporary directory: each request does what today's
// RealtimeHandler store job does, and answers with the engine's values.

#include "store/engine_jobs.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "failing_store.hpp"
#include "support/temp_dir.hpp"

namespace nself::store {
namespace {

namespace engine = core::engine;
using namespace std::chrono_literals;

const Timestamp kNow = std::chrono::sys_days{std::chrono::year{2026} / 3 / 1} + 9h;

class EngineJobs : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.sqlite_path = (dir_.path() / "realtime.db").string();
    store_ = open_store(options);
    store_->migrate();
  }

  Channel channel(const std::string& slug, core::ChannelType type = core::ChannelType::kPublic,
                  bool persistent = true) {
    NewChannel row;
    row.name = row.slug = slug;
    row.type = type;
    row.is_persistent = persistent;
    row.max_members = 7;
    return store_->create_channel(row, kNow).value();
  }

  void member(const Channel& c, const std::string& user, bool can_send = true) {
    ChannelMember row;
    row.channel_id = c.id;
    row.user_id = user;
    row.can_send = can_send;
    row.subscribed_at = kNow;
    store_->upsert_member(row);
  }

  void store_messages(const Channel& c, int count) {
    for (int i = 1; i <= count; ++i) {
      NewMessage message{c.id, "u1", std::to_string(i)};
      (void)store_->append_messages(std::span(&message, 1), kNow);
    }
  }

  engine::StoreReply run(engine::StoreRequest request, std::uint64_t token = 42) {
    return run_engine_job(*store_, engine::StoreJob{0, token, std::move(request)}, kNow);
  }

  // A copy: the reply is often a temporary.
  template <typename T>
  static T answer(const engine::StoreReply& reply) {
    EXPECT_FALSE(reply.failure) << *reply.failure;
    if (!std::holds_alternative<T>(reply.answer)) {
      ADD_FAILURE() << "the reply holds another answer (index " << reply.answer.index() << ")";
      return T{};
    }
    return std::get<T>(reply.answer);
  }

  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(EngineJobs, ResolveChannelBySlugOrIdWithArchiveAndLastSeq) {
  const Channel general = channel("general", core::ChannelType::kPresence, false);
  store_messages(general, 2);
  ASSERT_TRUE(store_->archive_channel(general.id, kNow));
  for (const std::string& name : {std::string("general"), general.id}) {
    const auto reply = run(engine::ResolveChannel{name});
    EXPECT_EQ(reply.token, 42u);
    const auto found = answer<engine::ChannelAnswer>(reply);
    ASSERT_TRUE(found.channel) << name;
    EXPECT_EQ(found.channel->id, general.id);
    EXPECT_EQ(found.channel->slug, "general");
    EXPECT_EQ(found.channel->type, core::ChannelType::kPresence);
    EXPECT_FALSE(found.channel->persistent);
    EXPECT_EQ(found.channel->max_members, 7);
    EXPECT_TRUE(found.channel->archived);
    EXPECT_EQ(found.channel->last_seq, 2);
    EXPECT_FALSE(found.membership);
  }
  EXPECT_FALSE(answer<engine::ChannelAnswer>(run(engine::ResolveChannel{"nowhere"})).channel);
}

TEST_F(EngineJobs, ReadForSubscribeWithHistoryAndTheSubscriptionRow) {
  const Channel team = channel("team", core::ChannelType::kPrivate);
  member(team, "u1", false);
  store_messages(team, 5);
  store_->mark_read(team.id, "u1", 3, kNow);
  const auto reply = run(engine::ReadForSubscribe{team.id, "u1", 2, std::nullopt, "conn-1"});
  const auto read = answer<engine::SubscribeAnswer>(reply);
  ASSERT_TRUE(read.channel);
  EXPECT_EQ(read.channel->last_seq, 5);
  ASSERT_TRUE(read.membership);
  EXPECT_FALSE(read.membership->can_send);
  EXPECT_EQ(read.membership->last_read_seq, 3);
  EXPECT_TRUE(read.replay);
  EXPECT_TRUE(read.has_more);
  ASSERT_EQ(read.messages.size(), 2u);
  EXPECT_EQ(read.messages[0].seq, 4);
  EXPECT_EQ(read.messages[1].seq, 5);
  EXPECT_EQ(read.messages[1].content_json, "5");
  EXPECT_EQ(read.messages[1].channel_id, team.id);
  EXPECT_EQ(store_->count_subscriptions("conn-1"), 1);
}

TEST_F(EngineJobs, ReadForSubscribeSinceAndWithoutReplay) {
  const Channel general = channel("general");
  store_messages(general, 4);
  const auto since =
      answer<engine::SubscribeAnswer>(run(engine::ReadForSubscribe{general.id, "u9", {}, 2, ""}));
  EXPECT_TRUE(since.replay);
  EXPECT_FALSE(since.has_more);
  ASSERT_EQ(since.messages.size(), 2u);
  EXPECT_EQ(since.messages[0].seq, 3);
  EXPECT_FALSE(since.membership);
  const auto all = answer<engine::SubscribeAnswer>(
      run(engine::ReadForSubscribe{general.id, "u9", 4, std::nullopt, "c"}));
  EXPECT_FALSE(all.has_more);  // exactly the 4 there are
  EXPECT_EQ(all.messages.size(), 4u);
  const auto plain = answer<engine::SubscribeAnswer>(
      run(engine::ReadForSubscribe{general.id, "u9", std::nullopt, std::nullopt, "c"}));
  EXPECT_FALSE(plain.replay);
  EXPECT_TRUE(plain.messages.empty());
}

TEST_F(EngineJobs, ReadForSubscribeOfAPrivateChannelByANonMemberWritesNoRow) {
  const Channel team = channel("team", core::ChannelType::kPrivate);
  const auto read =
      answer<engine::SubscribeAnswer>(run(engine::ReadForSubscribe{team.id, "u2", {}, {}, "c2"}));
  ASSERT_TRUE(read.channel);
  EXPECT_FALSE(read.membership);
  EXPECT_EQ(store_->count_subscriptions("c2"), 0);
  EXPECT_FALSE(
      answer<engine::SubscribeAnswer>(run(engine::ReadForSubscribe{"nope", "u2", {}, {}, "c2"}))
          .channel);
}

TEST_F(EngineJobs, ReadAccessGivesChannelAndMembership) {
  const Channel team = channel("team", core::ChannelType::kPrivate);
  member(team, "u1");
  const auto in = answer<engine::ChannelAnswer>(run(engine::ReadAccess{team.id, "u1"}));
  ASSERT_TRUE(in.channel && in.membership);
  EXPECT_TRUE(in.membership->can_send);
  EXPECT_FALSE(answer<engine::ChannelAnswer>(run(engine::ReadAccess{team.id, "u2"})).membership);
}

TEST_F(EngineJobs, AppendMessageAndHistory) {
  const Channel general = channel("general");
  const auto appended =
      answer<engine::AppendAnswer>(run(engine::AppendMessage{general.id, "u1", R"({"t":"x"})"}));
  EXPECT_EQ(appended.message.seq, 1);
  EXPECT_EQ(appended.message.content_json, R"({"t":"x"})");
  EXPECT_EQ(appended.message.created_at, kNow);
  EXPECT_EQ(appended.message.id.size(), 36u);
  store_messages(general, 3);
  const auto page = answer<engine::HistoryAnswer>(
      run(engine::ReadHistory{general.id, 2, std::int64_t{4}, std::nullopt}));
  EXPECT_TRUE(page.has_more);
  ASSERT_EQ(page.messages.size(), 2u);
  EXPECT_EQ(page.messages[0].seq, 2);
  EXPECT_EQ(page.messages[1].seq, 3);
  const auto rest = answer<engine::HistoryAnswer>(run(engine::ReadHistory{general.id, 50, {}, {}}));
  EXPECT_FALSE(rest.has_more);
  EXPECT_EQ(rest.messages.size(), 4u);
  // `after`: the oldest above the seq, has_more when newer remain.
  const auto forward =
      answer<engine::HistoryAnswer>(run(engine::ReadHistory{general.id, 2, {}, std::int64_t{1}}));
  EXPECT_TRUE(forward.has_more);
  ASSERT_EQ(forward.messages.size(), 2u);
  EXPECT_EQ(forward.messages[0].seq, 2);
  EXPECT_EQ(forward.messages[1].seq, 3);
  const auto tail =
      answer<engine::HistoryAnswer>(run(engine::ReadHistory{general.id, 50, {}, std::int64_t{2}}));
  EXPECT_FALSE(tail.has_more);
  ASSERT_EQ(tail.messages.size(), 2u);
  EXPECT_EQ(tail.messages[0].seq, 3);
}

TEST_F(EngineJobs, AppendToAMissingChannelIsInternal) {
  const auto reply = run(engine::AppendMessage{"no-such-channel", "u1", "1"});
  ASSERT_TRUE(reply.failure);
  EXPECT_EQ(*reply.failure, "internal");
}

TEST_F(EngineJobs, MarkReadIsClampedToTheNewestMessage) {
  const Channel team = channel("team", core::ChannelType::kPrivate);
  member(team, "u1");
  store_messages(team, 3);
  (void)answer<engine::Done>(run(engine::MarkRead{team.id, "u1", 99}));
  EXPECT_EQ(store_->find_member(team.id, "u1")->last_read_seq, 3);
}

TEST_F(EngineJobs, Bookkeeping) {
  const Channel lobby = channel("lobby", core::ChannelType::kPresence);
  (void)answer<engine::Done>(
      run(engine::RecordConnection{"c1", "u1", "10.0.0.1", "agent", kNow - 1s}, 0));
  auto connections = store_->list_connections(false);
  ASSERT_EQ(connections.size(), 1u);
  EXPECT_EQ(connections[0].user_id, "u1");
  EXPECT_EQ(connections[0].client_ip, "10.0.0.1");
  EXPECT_EQ(connections[0].connected_at, kNow - 1s);

  (void)answer<engine::Done>(run(engine::Heartbeat{{"c1"}, kNow + 5s}, 0));
  EXPECT_EQ(store_->list_connections(false)[0].last_seen_at, kNow + 5s);

  (void)answer<engine::SubscribeAnswer>(
      run(engine::ReadForSubscribe{lobby.id, "u1", {}, {}, "c1"}));
  EXPECT_EQ(store_->count_subscriptions("c1"), 1);
  (void)answer<engine::Done>(run(engine::RemoveSubscription{"c1", lobby.id}, 0));
  EXPECT_EQ(store_->count_subscriptions("c1"), 0);

  engine::PresenceRow away{"u1", lobby.id, true, false, R"({"d":1})"};
  engine::PresenceRow missing{"u2", "no-such-channel", false, false, "{}"};
  (void)answer<engine::Done>(run(engine::WritePresence{{missing, away}, kNow, std::nullopt}, 0));
  auto presence = store_->list_presence(lobby.id);
  ASSERT_EQ(presence.size(), 1u);
  EXPECT_EQ(presence[0].status, PresenceStatus::kAway);
  EXPECT_EQ(presence[0].metadata, R"({"d":1})");
  away.offline = true;
  (void)answer<engine::Done>(run(engine::WritePresence{{away}, kNow, std::nullopt}, 0));
  EXPECT_EQ(store_->list_presence(lobby.id)[0].status, PresenceStatus::kOffline);

  (void)answer<engine::Done>(run(engine::RecordDisconnect{"c1", kNow + 9s}, 0));
  EXPECT_TRUE(store_->list_connections(false).empty());

  (void)answer<engine::Done>(run(engine::AuditAuthFailure{"10.0.0.1", "invalid_token", kNow}, 0));
  auto audit = store_->list_audit(1);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "auth.failed");
  EXPECT_EQ(audit[0].actor, "10.0.0.1");
  EXPECT_EQ(audit[0].details, R"({"code":"invalid_token","via":"websocket"})");
}

TEST_F(EngineJobs, AppendBatchCommitsInOrderBesideOtherJobs) {
  const Channel a = channel("a");
  const Channel b = channel("b");
  std::vector<engine::StoreJob> jobs{
      {1, 11, engine::AppendMessage{a.id, "u1", "1"}},
      {0, 12, engine::ResolveChannel{"b"}},
      {0, 13, engine::AppendMessage{b.id, "u2", "2"}},
      {1, 14, engine::AppendMessage{a.id, "u1", "3"}},
  };
  const auto replies = run_append_batch(*store_, jobs, kNow);
  ASSERT_EQ(replies.size(), 4u);
  for (std::size_t i = 0; i < jobs.size(); ++i) EXPECT_EQ(replies[i].token, jobs[i].token);
  EXPECT_EQ(answer<engine::AppendAnswer>(replies[0]).message.seq, 1);
  EXPECT_EQ(answer<engine::ChannelAnswer>(replies[1]).channel->id, b.id);
  EXPECT_EQ(answer<engine::AppendAnswer>(replies[2]).message.seq, 1);
  EXPECT_EQ(answer<engine::AppendAnswer>(replies[3]).message.seq, 2);
  EXPECT_EQ(answer<engine::AppendAnswer>(replies[3]).message.content_json, "3");
}

TEST_F(EngineJobs, AppendBatchWithABadMessageFailsItAlone) {
  const Channel a = channel("a");
  std::vector<engine::StoreJob> jobs{
      {0, 1, engine::AppendMessage{a.id, "u1", "1"}},
      {0, 2, engine::AppendMessage{"deleted-meanwhile", "u1", "2"}},
      {0, 3, engine::AppendMessage{a.id, "u1", "3"}},
  };
  const auto replies = run_append_batch(*store_, jobs, kNow);
  EXPECT_EQ(answer<engine::AppendAnswer>(replies[0]).message.seq, 1);
  ASSERT_TRUE(replies[1].failure);
  EXPECT_EQ(*replies[1].failure, "internal");
  EXPECT_EQ(answer<engine::AppendAnswer>(replies[2]).message.seq, 2);
}

TEST_F(EngineJobs, ABookkeepingBatchWritesEveryRowAndAnswersInOrder) {
  const Channel lobby = channel("lobby", core::ChannelType::kPresence);
  engine::PresenceRow online{"u1", lobby.id, false, false, "{}"};
  engine::PresenceRow missing{"u2", "no-such-channel", false, false, "{}"};
  const std::vector<engine::StoreJob> jobs{
      {0, 0, engine::RecordConnection{"c1", "u1", "10.0.0.1", "agent", kNow}},
      {1, 7, engine::RecordConnection{"c2", "u2", "10.0.0.2", "agent", kNow}},
      {0, 0, engine::WritePresence{{missing, online}, kNow, std::nullopt}},
      {1, 0, engine::RecordDisconnect{"c2", kNow + 1s}},
      {0, 0, engine::AuditAuthFailure{"10.0.0.3", "invalid_token", kNow}},
  };
  const auto replies = run_bookkeeping_batch(*store_, jobs, kNow);
  ASSERT_EQ(replies.size(), jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_EQ(replies[i].token, jobs[i].token);
    EXPECT_FALSE(replies[i].failure) << i;
    (void)answer<engine::Done>(replies[i]);
  }
  const auto connections = store_->list_connections(false);
  ASSERT_EQ(connections.size(), 1u);
  EXPECT_EQ(connections[0].connection_id, "c1");
  ASSERT_EQ(store_->list_presence(lobby.id).size(), 1u);
  EXPECT_EQ(store_->list_audit(1).at(0).actor, "10.0.0.3");
}

TEST_F(EngineJobs, ABookkeepingBatchOnAStoreThatIsDownIsUnavailableAndWritesNothing) {
  bool failing = true;
  test::engine::FailingStore down(*store_, failing);
  const std::vector<engine::StoreJob> jobs{
      {0, 0, engine::AuditAuthFailure{"10.0.0.3", "invalid_token", kNow}},
      {0, 4, engine::RecordConnection{"c1", "u1", "", "", kNow}},  // fails: the store is down
      {0, 0, engine::AuditAuthFailure{"10.0.0.4", "invalid_token", kNow}},
  };
  const auto replies = run_bookkeeping_batch(down, jobs, kNow);
  ASSERT_EQ(replies.size(), jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    EXPECT_EQ(replies[i].token, jobs[i].token);
    ASSERT_TRUE(replies[i].failure) << i;
    EXPECT_EQ(*replies[i].failure, "unavailable");
  }
  failing = false;
  EXPECT_TRUE(store_->list_audit(10).empty()) << "the audit row before the outage was kept";
}

TEST_F(EngineJobs, AStoreThatIsDownAnswersUnavailable) {
  const Channel general = channel("general");
  bool failing = true;
  test::engine::FailingStore down(*store_, failing);
  for (engine::StoreRequest request :
       {engine::StoreRequest{engine::ResolveChannel{"general"}},
        engine::StoreRequest{engine::ReadForSubscribe{general.id, "u1", {}, {}, "c"}},
        engine::StoreRequest{engine::ReadAccess{general.id, "u1"}},
        engine::StoreRequest{engine::AppendMessage{general.id, "u1", "1"}},
        engine::StoreRequest{engine::MarkRead{general.id, "u1", 1}},
        engine::StoreRequest{engine::RecordConnection{"c", "u1", "", "", kNow}}}) {
    const auto reply = run_engine_job(down, engine::StoreJob{0, 5, request}, kNow);
    EXPECT_EQ(reply.token, 5u);
    ASSERT_TRUE(reply.failure) << "request " << request.index();
    EXPECT_EQ(*reply.failure, "unavailable");
  }
  const std::vector<engine::StoreJob> jobs{{0, 1, engine::AppendMessage{general.id, "u1", "1"}},
                                           {0, 2, engine::AppendMessage{general.id, "u1", "2"}}};
  for (const auto& reply : run_append_batch(down, jobs, kNow)) {
    ASSERT_TRUE(reply.failure);
    EXPECT_EQ(*reply.failure, "unavailable");
  }
  failing = false;
  EXPECT_TRUE(store_->history(general.id, std::nullopt, 10).empty());  // nothing was stored
  EXPECT_FALSE(run_engine_job(down, engine::StoreJob{0, 5, jobs[0].request}, kNow).failure);
}

}  // namespace
}  // namespace nself::store
