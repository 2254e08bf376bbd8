// The Cluster facade with Redis stopped and started again mid-use: degraded
// state reported with the error, calls failing fast, reconnection,
// resubscription, re-sync of presence, and the bus working again.

#include "cluster/cluster.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "cluster_test_support.hpp"

namespace nself::cluster {
namespace {

using namespace std::chrono_literals;
using test::await;
using test::eventually;
using test::parse;

// One node of the test cluster and what its callbacks saw.
struct TestNode {
  TestNode(const core::RedisUrl& url, const std::string& prefix, const std::string& id) {
    ClusterOptions options;
    options.redis = url;
    options.self.id = id;
    options.self.address = "127.0.0.1";
    options.self.port = 3100;
    options.self.started_at = std::chrono::system_clock::now();
    options.prefix = prefix;
    options.client.connect.connect_timeout = 2000ms;
    options.client.connect.command_timeout = 3000ms;
    options.client.backoff_initial = 20ms;
    options.client.backoff_max = 200ms;
    options.subscriber.connect = options.client.connect;
    options.subscriber.backoff_initial = 20ms;
    options.subscriber.backoff_max = 200ms;
    options.subscriber.ping_interval = 200ms;
    options.registry.heartbeat_interval = 100ms;
    options.registry.ttl = 1000ms;
    options.registry.reap_interval = 100ms;
    ClusterCallbacks callbacks;
    callbacks.on_event = [this](core::ClusterEnvelope envelope) {
      std::lock_guard lock(mutex);
      events.push_back(std::move(envelope));
    };
    callbacks.on_health = [this](const ClusterHealth& health) {
      std::lock_guard lock(mutex);
      healths.push_back(health);
    };
    callbacks.on_resync = [this] { ++resyncs; };
    callbacks.on_node_dead = [this](DeadNode node) {
      std::lock_guard lock(mutex);
      dead.push_back(std::move(node));
    };
    cluster = std::make_unique<Cluster>(std::move(options), std::move(callbacks));
    cluster->start();
    // Tests that need the link fail later without it.
    test::eventually([this] { return cluster->health().healthy(); });
  }
  std::size_t event_count() {
    std::lock_guard lock(mutex);
    return events.size();
  }
  bool saw_degraded_with_error() {
    std::lock_guard lock(mutex);
    for (const auto& health : healths) {
      if (!health.healthy() && !health.last_error().empty()) return true;
    }
    return false;
  }

  std::mutex mutex;
  std::vector<core::ClusterEnvelope> events;
  std::vector<ClusterHealth> healths;
  std::vector<DeadNode> dead;
  std::atomic<int> resyncs{0};
  std::unique_ptr<Cluster> cluster;
};

TEST(Cluster, RedisRestartedMidUseDegradesThenRecoversByItself) {
  nself::test::RedisServer server;
  const auto url = parse(server.url());
  const auto prefix = test::unique_prefix();
  TestNode a(url, prefix, "node-a");
  TestNode b(url, prefix, "node-b");
  ASSERT_TRUE(
      eventually([&] { return a.cluster->health().healthy() && b.cluster->health().healthy(); }));
  ASSERT_TRUE(await<PresenceJoin>([&](auto done) {
                a.cluster->presence().join("room", "amy", "online", "null", done);
              })->joined);
  ASSERT_TRUE(a.cluster->bus().publish({"message", "", "room", 1, "{}"}).ok());
  ASSERT_TRUE(eventually([&] { return b.event_count() == 1; }));
  const int resyncs_before = b.resyncs.load();

  server.kill();
  ASSERT_TRUE(
      eventually([&] { return !a.cluster->health().healthy() && !b.cluster->health().healthy(); }));
  ASSERT_TRUE(eventually([&] { return b.saw_degraded_with_error(); }));
  EXPECT_FALSE(b.cluster->health().last_error().empty());
  // Calls fail fast: the server serves locally meanwhile.
  const auto admission = await<ConnectionAdmission>(
      [&](auto done) { a.cluster->limits().acquire_connection("amy", 5, done); });
  ASSERT_FALSE(admission.ok());
  EXPECT_EQ(admission.error().code, "unavailable");
  const auto nodes =
      await<std::vector<NodeInfo>>([&](auto done) { a.cluster->nodes().list(done); });
  EXPECT_FALSE(nodes.ok());

  server.start();  // empty: presence, nodes and counters are gone
  ASSERT_TRUE(
      eventually([&] { return a.cluster->health().healthy() && b.cluster->health().healthy(); }));
  // Both are told to re-sync (resubscribed, and missing from the node set).
  ASSERT_TRUE(eventually([&] { return b.resyncs.load() > resyncs_before; }));
  ASSERT_TRUE(eventually([&] { return a.resyncs.load() >= 2; }));
  // The node set is rebuilt by the heartbeats.
  ASSERT_TRUE(eventually([&] {
    const auto listed =
        await<std::vector<NodeInfo>>([&](auto done) { a.cluster->nodes().list(done); });
    return listed.ok() && listed->size() == 2;
  }));
  // Node a re-registers its local presence; b sees the member again.
  const auto sync = await<PresenceSync>([&](auto done) {
    a.cluster->presence().sync_node({{"room", "amy", 1, "online", "null"}}, done);
  });
  ASSERT_TRUE(sync.ok()) << sync.error().message;
  EXPECT_EQ(sync->joined.size(), 1u);
  const auto members = await<std::vector<ClusterMember>>(
      [&](auto done) { b.cluster->presence().members("room", done); });
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].user_id, "amy");
  // The bus carries events again.
  ASSERT_TRUE(eventually([&] {
    return await<std::int64_t>([&](Callback<std::int64_t> done) {
             ASSERT_TRUE(a.cluster->bus().publish({"message", "", "room", 2, "{}"}, done).ok());
           })
        .ok();
  }));
  ASSERT_TRUE(eventually([&] { return b.event_count() >= 2; }));
  EXPECT_EQ(a.cluster->health().commands.reconnects, 1u);
}

TEST(Cluster, ANodeThatStopsWithoutLeavingIsReportedDeadByASurvivor) {
  core::RedisUrl url;
  NSELF_TEST_USE_SHARED_REDIS(url);
  const auto prefix = test::unique_prefix();
  TestNode a(url, prefix, "node-a");
  auto b = std::make_unique<TestNode>(url, prefix, "node-b");
  ASSERT_TRUE(await<PresenceJoin>([&](auto done) {
                b->cluster->presence().join("room", "bea", "online", "null", done);
              }).ok());
  ASSERT_TRUE(eventually([&] {
    const auto listed =
        await<std::vector<NodeInfo>>([&](auto done) { a.cluster->nodes().list(done); });
    return listed.ok() && listed->size() == 2;
  }));
  b->cluster->stop();  // like kill -9: no leave, the key expires
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(a.mutex);
    return a.dead.size() == 1;
  }));
  std::lock_guard lock(a.mutex);
  EXPECT_EQ(a.dead[0].id, "node-b");
  EXPECT_EQ(a.dead[0].left, (std::vector<PresenceLeft>{{"room", "bea"}}));
}

}  // namespace
}  // namespace nself::cluster
