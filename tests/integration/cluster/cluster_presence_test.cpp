// ClusterPresence and ClusterLimits: decisions made cluster-wide by scripts,
// per-node counts, node removal and re-sync.

#include "cluster/cluster_presence.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>

#include "cluster/cluster_limits.hpp"
#include "cluster_test_support.hpp"

namespace nself::cluster {
namespace {

using namespace std::chrono_literals;
using test::await;

struct PresenceTest : ::testing::Test {
  void SetUp() override {
    NSELF_TEST_USE_SHARED_REDIS(url);
    client_a = std::make_unique<RedisClient>(url);
    client_b = std::make_unique<RedisClient>(url);
    ASSERT_TRUE(test::start_and_wait(*client_a));
    ASSERT_TRUE(test::start_and_wait(*client_b));
    a = std::make_unique<ClusterPresence>(*client_a, "node-a", prefix);
    b = std::make_unique<ClusterPresence>(*client_b, "node-b", prefix);
    limits_a = std::make_unique<ClusterLimits>(*client_a, "node-a", prefix);
    limits_b = std::make_unique<ClusterLimits>(*client_b, "node-b", prefix);
  }

  PresenceJoin join(ClusterPresence& node, const std::string& channel, const std::string& user,
                    const std::string& status = "online", const std::string& meta = "null") {
    auto result = await<PresenceJoin>(
        [&](Callback<PresenceJoin> done) { node.join(channel, user, status, meta, done); });
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() ? *result : PresenceJoin{};
  }
  bool leave(ClusterPresence& node, const std::string& channel, const std::string& user) {
    auto result = await<bool>([&](Callback<bool> done) { node.leave(channel, user, done); });
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() && *result;
  }
  std::vector<ClusterMember> members(ClusterPresence& node, const std::string& channel) {
    auto result = await<std::vector<ClusterMember>>(
        [&](Callback<std::vector<ClusterMember>> done) { node.members(channel, done); });
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() ? *result : std::vector<ClusterMember>{};
  }

  core::RedisUrl url;
  std::string prefix = test::unique_prefix();
  std::unique_ptr<RedisClient> client_a, client_b;
  std::unique_ptr<ClusterPresence> a, b;
  std::unique_ptr<ClusterLimits> limits_a, limits_b;
};

TEST_F(PresenceTest, AUserOnTwoNodesIsOneMember) {
  const auto first = join(*a, "room", "alice", "online", R"({"device":"web"})");
  EXPECT_TRUE(first.joined);
  EXPECT_EQ(first.member.user_id, "alice");
  EXPECT_EQ(first.member.status, "online");
  EXPECT_EQ(first.member.meta_json, R"({"device":"web"})");
  EXPECT_EQ(first.member.connections, 1);

  // A second connection through another node is no join, and keeps the
  // member's status and metadata.
  const auto second = join(*b, "room", "alice", "away", R"({"device":"phone"})");
  EXPECT_FALSE(second.joined);
  EXPECT_EQ(second.member.status, "online");
  EXPECT_EQ(second.member.meta_json, R"({"device":"web"})");
  EXPECT_EQ(second.member.connections, 2);
  EXPECT_FALSE(join(*b, "room", "alice").joined);

  const auto list = members(*a, "room");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].connections, 3);
  EXPECT_EQ(list[0].connections_by_node,
            (std::map<std::string, int>{{"node-a", 1}, {"node-b", 2}}));

  // Leaves: only the last connection anywhere is a leave.
  EXPECT_FALSE(leave(*a, "room", "alice"));
  EXPECT_FALSE(leave(*b, "room", "alice"));
  EXPECT_TRUE(leave(*b, "room", "alice"));
  EXPECT_TRUE(members(*a, "room").empty());
}

TEST_F(PresenceTest, LeavingWithoutAConnectionOnThisNodeChangesNothing) {
  join(*a, "room", "bob");
  EXPECT_FALSE(leave(*b, "room", "bob")) << "node-b counted no connection of bob";
  EXPECT_FALSE(leave(*a, "other-room", "bob"));
  const auto list = members(*a, "room");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].connections, 1);
  EXPECT_TRUE(leave(*a, "room", "bob"));
  EXPECT_FALSE(leave(*a, "room", "bob"));
}

TEST_F(PresenceTest, ConcurrentJoinsFromTwoNodesGiveExactlyOneJoin) {
  for (int round = 0; round < 50; ++round) {
    const std::string user = "u" + std::to_string(round);
    std::atomic<int> joins{0};
    std::atomic<int> done{0};
    for (auto* node : {a.get(), b.get()}) {
      node->join("race", user, "online", "null", [&](Result<PresenceJoin> result) {
        if (result && result->joined) ++joins;
        ++done;
      });
    }
    ASSERT_TRUE(test::eventually([&] { return done.load() == 2; }));
    EXPECT_EQ(joins.load(), 1) << user;
  }
  EXPECT_EQ(members(*a, "race").size(), 50u);
}

TEST_F(PresenceTest, UpdateChangesStatusAndMetadataForEveryNode) {
  join(*a, "room", "carol", "online", R"({"v":1})");
  auto updated = await<std::optional<ClusterMember>>(
      [&](auto done) { b->update("room", "carol", "away", std::nullopt, done); });
  ASSERT_TRUE(updated.ok());
  ASSERT_TRUE(updated->has_value());
  EXPECT_EQ((*updated)->status, "away");
  EXPECT_EQ((*updated)->meta_json, R"({"v":1})") << "absent metadata is kept";
  EXPECT_EQ((*updated)->connections, 1);
  updated = await<std::optional<ClusterMember>>([&](auto done) {
    b->update("room", "carol", "busy", std::string(R"({"v":"line\nbreak"})"), done);
  });
  ASSERT_TRUE(updated.ok() && updated->has_value());
  const auto list = members(*a, "room");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].status, "busy");
  EXPECT_EQ(list[0].meta_json, R"({"v":"line\nbreak"})");
  // Not a member: none.
  const auto missing = await<std::optional<ClusterMember>>(
      [&](auto done) { a->update("room", "nobody", "away", std::nullopt, done); });
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(PresenceTest, UserIdsWithAnyCharacters) {
  const std::string user = "weird\nuser \xe2\x9c\x93:@/";
  EXPECT_TRUE(join(*a, "room", user).joined);
  EXPECT_FALSE(join(*b, "room", user).joined);
  const auto list = members(*a, "room");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].user_id, user);
  EXPECT_EQ(list[0].connections_by_node.size(), 2u);
  EXPECT_FALSE(leave(*a, "room", user));
  EXPECT_TRUE(leave(*b, "room", user));
}

TEST_F(PresenceTest, RemovingANodeRemovesItsEntriesAndReportsWhoLeft) {
  join(*a, "r1", "dave");
  join(*b, "r1", "dave");  // dave stays through node-a
  join(*b, "r1", "erin");
  join(*b, "r2", "erin");
  join(*b, "r2", "frank");
  join(*b, "r2", "frank");
  auto left = await<std::vector<PresenceLeft>>([&](auto done) { a->remove_node("node-b", done); });
  ASSERT_TRUE(left.ok()) << left.error().message;
  auto pairs = *left;
  std::sort(pairs.begin(), pairs.end(), [](const PresenceLeft& x, const PresenceLeft& y) {
    return std::tie(x.channel_id, x.user_id) < std::tie(y.channel_id, y.user_id);
  });
  EXPECT_EQ(pairs, (std::vector<PresenceLeft>{{"r1", "erin"}, {"r2", "erin"}, {"r2", "frank"}}));
  const auto r1 = members(*a, "r1");
  ASSERT_EQ(r1.size(), 1u);
  EXPECT_EQ(r1[0].user_id, "dave");
  EXPECT_EQ(r1[0].connections_by_node, (std::map<std::string, int>{{"node-a", 1}}));
  EXPECT_TRUE(members(*a, "r2").empty());
  // Idempotent.
  left = await<std::vector<PresenceLeft>>([&](auto done) { a->remove_node("node-b", done); });
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
}

TEST_F(PresenceTest, SyncNodeRestoresEntriesAndReportsTheDifference) {
  join(*b, "r1", "gina");  // another node's member, untouched by a's sync
  join(*a, "r1", "hank");
  join(*a, "r1", "gina");
  join(*a, "r2", "ivan");
  // Node a's real state now: hank (2 connections) in r1, judy in r3; ivan gone.
  auto sync = await<PresenceSync>([&](auto done) {
    a->sync_node({{"r1", "hank", 2, "online", "null"},
                  {"r3", "judy", 1, "away", R"({"x":1})"},
                  {"r9", "zero", 0, "online", "null"}},
                 done);
  });
  ASSERT_TRUE(sync.ok()) << sync.error().message;
  ASSERT_EQ(sync->joined.size(), 1u);
  EXPECT_EQ(sync->joined[0].first, "r3");
  EXPECT_EQ(sync->joined[0].second.user_id, "judy");
  EXPECT_EQ(sync->joined[0].second.status, "away");
  EXPECT_EQ(sync->joined[0].second.meta_json, R"({"x":1})");
  EXPECT_EQ(sync->left, (std::vector<PresenceLeft>{{"r2", "ivan"}}));

  const auto r1 = members(*a, "r1");
  ASSERT_EQ(r1.size(), 2u);
  EXPECT_EQ(r1[0].user_id, "gina");
  EXPECT_EQ(r1[0].connections_by_node, (std::map<std::string, int>{{"node-b", 1}}));
  EXPECT_EQ(r1[1].user_id, "hank");
  EXPECT_EQ(r1[1].connections_by_node, (std::map<std::string, int>{{"node-a", 2}}));
  EXPECT_TRUE(members(*a, "r2").empty());
  EXPECT_TRUE(members(*a, "r9").empty());
  // The same snapshot again changes nothing.
  sync = await<PresenceSync>([&](auto done) {
    a->sync_node({{"r1", "hank", 2, "online", "null"}, {"r3", "judy", 1, "away", R"({"x":1})"}},
                 done);
  });
  ASSERT_TRUE(sync.ok());
  EXPECT_TRUE(sync->joined.empty());
  EXPECT_TRUE(sync->left.empty());
  // The index follows the sync: removing node-a removes hank and judy only.
  auto left = await<std::vector<PresenceLeft>>([&](auto done) { b->remove_node("node-a", done); });
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->size(), 2u);
}

TEST_F(PresenceTest, SyncAfterRedisLostEverythingRejoinsAll) {
  join(*a, "r1", "kim");
  // Simulate the data loss of a restart for this prefix.
  ASSERT_TRUE(await<RedisReply>([&](auto done) {
                client_a->submit({"EVAL",
                                  "for _, k in ipairs(redis.call('KEYS', ARGV[1] .. '*')) do "
                                  "redis.call('DEL', k) end return 1",
                                  "0", prefix},
                                 done);
              }).ok());
  EXPECT_TRUE(members(*a, "r1").empty());
  const auto sync = await<PresenceSync>([&](auto done) {
    a->sync_node({{"r1", "kim", 1, "online", "null"}}, done);
  });
  ASSERT_TRUE(sync.ok());
  ASSERT_EQ(sync->joined.size(), 1u);
  EXPECT_EQ(sync->joined[0].second.user_id, "kim");
  EXPECT_EQ(members(*a, "r1").size(), 1u);
}

// ---- limits

Result<ConnectionAdmission> acquire(ClusterLimits& limits, const std::string& user, int max) {
  return await<ConnectionAdmission>([&](auto done) { limits.acquire_connection(user, max, done); });
}

TEST_F(PresenceTest, ConnectionsPerUserAreCountedAcrossNodes) {
  EXPECT_TRUE(acquire(*limits_a, "lee", 3)->admitted);
  EXPECT_TRUE(acquire(*limits_b, "lee", 3)->admitted);
  const auto third = acquire(*limits_a, "lee", 3);
  EXPECT_TRUE(third->admitted);
  EXPECT_EQ(third->total, 3);
  const auto fourth = acquire(*limits_b, "lee", 3);
  EXPECT_FALSE(fourth->admitted);
  EXPECT_EQ(fourth->total, 3);
  EXPECT_TRUE(acquire(*limits_a, "other", 3)->admitted) << "per user";
  // Releasing on node-b frees a slot for either node.
  EXPECT_TRUE(*await<bool>([&](auto done) { limits_b->release_connection("lee", done); }));
  EXPECT_FALSE(*await<bool>([&](auto done) { limits_b->release_connection("lee", done); }))
      << "node-b holds no more connections of lee";
  EXPECT_TRUE(acquire(*limits_a, "lee", 3)->admitted);
}

TEST_F(PresenceTest, ConcurrentAdmissionsNeverExceedTheLimit) {
  std::atomic<int> admitted{0};
  std::atomic<int> done{0};
  for (int index = 0; index < 40; ++index) {
    auto* limits = index % 2 == 0 ? limits_a.get() : limits_b.get();
    limits->acquire_connection("mia", 5, [&](Result<ConnectionAdmission> result) {
      if (result && result->admitted) ++admitted;
      ++done;
    });
  }
  ASSERT_TRUE(test::eventually([&] { return done.load() == 40; }));
  EXPECT_EQ(admitted.load(), 5);
}

TEST_F(PresenceTest, ADeadNodesConnectionCountsVanish) {
  EXPECT_TRUE(acquire(*limits_b, "ned", 2)->admitted);
  EXPECT_TRUE(acquire(*limits_b, "ned", 2)->admitted);
  EXPECT_FALSE(acquire(*limits_a, "ned", 2)->admitted);
  ASSERT_TRUE(
      await<std::vector<PresenceLeft>>([&](auto done) { a->remove_node("node-b", done); }).ok());
  EXPECT_TRUE(acquire(*limits_a, "ned", 2)->admitted);
}

TEST_F(PresenceTest, LimitsSyncReplacesThisNodesCounts) {
  EXPECT_TRUE(acquire(*limits_a, "olga", 2)->admitted);
  EXPECT_TRUE(acquire(*limits_a, "pete", 2)->admitted);
  // Node a really has olga twice and no pete.
  ASSERT_TRUE(await<bool>([&](auto done) {
                limits_a->sync_node({{"olga", 2}, {"pete", 0}}, done);
              }).ok());
  EXPECT_FALSE(acquire(*limits_b, "olga", 2)->admitted);
  const auto pete = acquire(*limits_b, "pete", 2);
  EXPECT_TRUE(pete->admitted);
  EXPECT_EQ(pete->total, 1);
}

TEST_F(PresenceTest, MessagesPerSecondShareOneBucketAcrossNodes) {
  // Ten requests from two nodes at once (queued together, so they reach
  // Redis within a few milliseconds): the burst of 5 passes, the rest not
  // (one more may have been refilled on a slow machine).
  std::atomic<int> allowed{0};
  std::atomic<int> answered{0};
  std::atomic<int> failed{0};
  for (int index = 0; index < 10; ++index) {
    auto* limits = index % 2 == 0 ? limits_a.get() : limits_b.get();
    limits->take_message_token("quin", 5, [&](Result<bool> result) {
      if (!result) ++failed;
      if (result && *result) ++allowed;
      ++answered;
    });
  }
  ASSERT_TRUE(test::eventually([&] { return answered.load() == 10; }));
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GE(allowed.load(), 5);
  EXPECT_LE(allowed.load(), 6);
  // Another user has a bucket of its own.
  EXPECT_TRUE(*await<bool>([&](auto done) { limits_a->take_message_token("rita", 5, done); }));
  // Refilled at the rate: after 1 s, tokens again.
  std::this_thread::sleep_for(1100ms);
  EXPECT_TRUE(*await<bool>([&](auto done) { limits_b->take_message_token("quin", 5, done); }));
}

TEST_F(PresenceTest, DegradedCallsFailWithUnavailable) {
  RedisClient down(test::parse("redis://127.0.0.1:1"));
  down.start();
  ClusterPresence presence(down, "node-x", prefix);
  ClusterLimits limits(down, "node-x", prefix);
  const auto joined =
      await<PresenceJoin>([&](auto done) { presence.join("c", "u", "online", "null", done); });
  ASSERT_FALSE(joined.ok());
  EXPECT_EQ(joined.error().code, "unavailable");
  const auto admission = acquire(limits, "u", 5);
  ASSERT_FALSE(admission.ok());
  EXPECT_EQ(admission.error().code, "unavailable");
  const auto token = await<bool>([&](auto done) { limits.take_message_token("u", 5, done); });
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, "unavailable");
}

}  // namespace
}  // namespace nself::cluster
