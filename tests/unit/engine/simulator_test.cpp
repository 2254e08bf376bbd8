// The simulator's own machinery (simulator.hpp), independent of the roles:
// setup rows, tokens, connection ids, and the actions it carries out.

#include "simulator.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace nself::test::engine {
namespace {

using namespace std::chrono_literals;

Simulator::Options options(ce::ShardIndex shards) {
  Simulator::Options o;
  o.shards = shards;
  return o;
}

TEST(Simulator, SetupRowsAreInTheStore) {
  Simulator sim(options(1));
  const std::string id = sim.create_channel("team", core::ChannelType::kPrivate);
  sim.add_member("team", "alice", false);
  EXPECT_EQ(sim.store_message("team", "alice", R"({"t":1})").seq, 1);
  EXPECT_EQ(sim.store_message("team", "bob", "2").seq, 2);
  sim.archive_channel("team");
  const auto info = sim.channel_info("team");
  EXPECT_EQ(info.id, id);
  EXPECT_TRUE(info.archived);
  EXPECT_EQ(info.last_seq, 2);
  EXPECT_FALSE(sim.store().find_member(id, "alice")->can_send);
}

TEST(Simulator, TokensVerifyAtTheFakeClock) {
  Simulator sim(options(1));
  const std::string token = sim.token("alice", 2s);
  auto claims = sim.verifier().verify(token, sim.now().wall);
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ(claims.value().user_id, "alice");
  sim.advance(2s);
  auto expired = sim.verifier().verify(token, sim.now().wall);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, "token_expired");
}

TEST(Simulator, AdvanceMovesBothClocks) {
  Simulator sim(options(2));
  const auto before = sim.now();
  sim.advance(2500ms);
  EXPECT_EQ(sim.now().steady - before.steady, 2500ms);
  EXPECT_EQ(sim.now().wall - before.wall, 2500ms);
}

TEST(Simulator, ConnectionsBelongToTheirShard) {
  Simulator sim(options(2));
  const auto a = sim.connect(0);
  const auto b = sim.connect(1);
  EXPECT_EQ(ce::shard_of_connection(a), 0u);
  EXPECT_EQ(ce::shard_of_connection(b), 1u);
  EXPECT_NE(sim.public_id(a), sim.public_id(b));
  EXPECT_EQ(sim.public_id(a).size(), 36u);
  EXPECT_FALSE(sim.closed(a));
  sim.close(a);
  EXPECT_TRUE(sim.closed(a));
  EXPECT_THROW(sim.send_frame(a, R"({"type":"ping"})"), std::logic_error);
}

TEST(Simulator, SendIsEncodedWithTheNativeAdapter) {
  Simulator sim(options(1));
  const auto a = sim.connect(0);
  ce::Actions actions;
  actions.push_back(ce::Send{a, ce::Pong{ce::Ref{std::int64_t{3}}}});
  sim.perform(0, std::move(actions));
  auto got = sim.take(a);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, Received::Kind::kEvent);
  EXPECT_EQ(got->text, R"({"type":"pong","ref":3})");
  EXPECT_FALSE(sim.take(a));
}

TEST(Simulator, CloseIsRecordedAndLaterEventsDropped) {
  Simulator sim(options(1));
  const auto a = sim.connect(0);
  ce::Actions actions;
  actions.push_back(ce::Close{a, 4008, "too many"});
  actions.push_back(ce::Send{a, ce::Pong{}});
  sim.perform(0, std::move(actions));
  ASSERT_EQ(sim.received(a).size(), 1u);
  EXPECT_EQ(sim.received(a).front().kind, Received::Kind::kClose);
  EXPECT_EQ(sim.received(a).front().code, 4008);
  EXPECT_EQ(sim.received(a).front().text, "too many");
  EXPECT_TRUE(sim.closed(a));
}

TEST(Simulator, QueuedAppendsAreOneGroupCommit) {
  Simulator sim(options(2));
  const std::string id = sim.create_channel("general", core::ChannelType::kPublic);
  ce::Actions actions;
  for (int i = 0; i < 3; ++i) {
    actions.push_back(ce::Store{ce::StoreJob{1, 0, ce::AppendMessage{id, "u", std::to_string(i)}}});
  }
  actions.push_back(ce::Store{ce::StoreJob{0, 0, ce::ResolveChannel{"general"}}});
  sim.perform(1, std::move(actions));
  EXPECT_EQ(sim.append_batches, 1u);
  EXPECT_EQ(sim.store_jobs_run, 4u);
  const auto stored = sim.store().history(id, std::nullopt, 10);
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored[2].content, "2");
}

TEST(Simulator, AStoreFaultAnswersWithoutRunningTheJob) {
  Simulator sim(options(1));
  const std::string id = sim.create_channel("general", core::ChannelType::kPublic);
  sim.store_fault = [](const ce::StoreJob&) { return std::optional<std::string>("unavailable"); };
  ce::Actions actions;
  actions.push_back(ce::Store{ce::StoreJob{0, 0, ce::AppendMessage{id, "u", "1"}}});
  sim.perform(0, std::move(actions));
  EXPECT_EQ(sim.store_jobs_run, 0u);
  EXPECT_TRUE(sim.store().history(id, std::nullopt, 10).empty());
}

TEST(Simulator, AdminDoneIsKept) {
  Simulator sim(options(1));
  ce::Actions actions;
  actions.push_back(ce::AdminDone{7, std::string("forbidden"), std::nullopt});
  sim.perform(0, std::move(actions));
  ASSERT_EQ(sim.admin_done.size(), 1u);
  EXPECT_EQ(sim.admin_done[0].request_id, 7u);
}

}  // namespace
}  // namespace nself::test::engine
