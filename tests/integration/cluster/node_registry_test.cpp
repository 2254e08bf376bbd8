// NodeRegistry: heartbeats with a TTL, listing, reaping dead nodes exactly
// once with their presence, rejoining after Redis lost the node, leaving.

#include "cluster/node_registry.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "cluster/cluster_presence.hpp"
#include "cluster_test_support.hpp"

namespace nself::cluster {
namespace {

using namespace std::chrono_literals;
using test::await;
using test::eventually;

NodeRegistryOptions fast_registry(const std::string& prefix) {
  NodeRegistryOptions options;
  options.prefix = prefix;
  options.heartbeat_interval = 100ms;
  options.ttl = 1000ms;
  options.reap_interval = 100ms;
  return options;
}

NodeInfo node(const std::string& id, int port) {
  NodeInfo info;
  info.id = id;
  info.address = "10.0.0." + std::to_string(port % 200);
  info.port = port;
  info.started_at =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
  return info;
}

// One node: its client, registry and what the registry reported.
struct Member {
  Member(const core::RedisUrl& url, const std::string& prefix, const std::string& id, int port)
      : client(url),
        registry(
            client, node(id, port), fast_registry(prefix),
            [this](DeadNode dead) {
              std::lock_guard lock(mutex);
              dead_nodes.push_back(std::move(dead));
            },
            [this] { ++rejoined; }),
        presence(client, id, prefix) {
    test::start_and_wait(client);  // a test that needs it fails later
  }
  // The registry's callbacks use it: no callback may run once it is gone.
  ~Member() { client.stop(); }
  std::vector<DeadNode> dead() {
    std::lock_guard lock(mutex);
    return dead_nodes;
  }

  RedisClient client;
  NodeRegistry registry;
  ClusterPresence presence;
  std::mutex mutex;
  std::vector<DeadNode> dead_nodes;
  std::atomic<int> rejoined{0};
};

bool registry_list_empty(RedisClient& client, const std::string& prefix) {
  const auto members = await<RedisReply>([&](auto done) {
    client.submit({"SCARD", prefix + "nodes"}, done);
  });
  return !members.ok() || members->integer == 0;
}

struct NodeRegistryTest : ::testing::Test {
  void SetUp() override { NSELF_TEST_USE_SHARED_REDIS(url); }
  std::vector<NodeInfo> list(NodeRegistry& registry) {
    auto nodes = await<std::vector<NodeInfo>>([&](auto done) { registry.list(done); });
    EXPECT_TRUE(nodes.ok()) << nodes.error().message;
    return nodes.ok() ? *nodes : std::vector<NodeInfo>{};
  }
  core::RedisUrl url;
  std::string prefix = test::unique_prefix();
};

TEST_F(NodeRegistryTest, EveryNodeIsListedWithWhatItReported) {
  Member a(url, prefix, "node-a", 3101);
  Member b(url, prefix, "node-b", 3102);
  a.registry.set_connections(17);
  const auto before = std::chrono::system_clock::now();
  a.registry.start();
  b.registry.start();
  ASSERT_TRUE(eventually([&] {
    const auto nodes = list(a.registry);
    return nodes.size() == 2 && nodes[0].connections == 17;
  }));
  const auto nodes = list(b.registry);
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].id, "node-a");
  EXPECT_EQ(nodes[0].address, "10.0.0.101");
  EXPECT_EQ(nodes[0].port, 3101);
  EXPECT_EQ(nodes[0].started_at, node("x", 0).started_at);
  EXPECT_GE(nodes[0].last_heartbeat, before - 1s);
  EXPECT_EQ(nodes[1].id, "node-b");
  EXPECT_EQ(nodes[1].connections, 0);
  EXPECT_EQ(a.rejoined.load(), 0) << "the first registration is not a rejoin";
}

TEST_F(NodeRegistryTest, ADeadNodeIsReapedOnceWithItsPresence) {
  Member a(url, prefix, "node-a", 1);
  Member c(url, prefix, "node-c", 3);
  auto b = std::make_unique<Member>(url, prefix, "node-b", 2);
  b->registry.start();
  ASSERT_TRUE(await<PresenceJoin>([&](auto done) {
                b->presence.join("room", "uma", "online", "null", done);
              }).ok());
  ASSERT_TRUE(await<PresenceJoin>([&](auto done) {
                a.presence.join("room", "vic", "online", "null", done);
              }).ok());
  ASSERT_TRUE(await<PresenceJoin>([&](auto done) {
                b->presence.join("room", "vic", "online", "null", done);
              }).ok());
  ASSERT_TRUE(eventually([&] { return list(a.registry).size() == 1; }));
  a.registry.start();
  c.registry.start();
  ASSERT_TRUE(eventually([&] { return list(a.registry).size() == 3; }));

  // node-b dies without a word (its threads stop, its key stays until the TTL).
  b->client.stop();
  ASSERT_TRUE(eventually([&] { return a.dead().size() + c.dead().size() == 1; }, 5s));
  std::this_thread::sleep_for(500ms);  // more reaping passes: no second report
  auto reports = a.dead();
  const auto from_c = c.dead();
  reports.insert(reports.end(), from_c.begin(), from_c.end());
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].id, "node-b");
  EXPECT_EQ(reports[0].left, (std::vector<PresenceLeft>{{"room", "uma"}}))
      << "vic is still connected through node-a";
  const auto members =
      await<std::vector<ClusterMember>>([&](auto done) { a.presence.members("room", done); });
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].user_id, "vic");
  EXPECT_EQ((*members)[0].connections_by_node, (std::map<std::string, int>{{"node-a", 1}}));
  const auto nodes = list(a.registry);
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].id, "node-a");
  EXPECT_EQ(nodes[1].id, "node-c");
}

TEST_F(NodeRegistryTest, ANodeMissingFromRedisRejoinsAndSaysSo) {
  Member a(url, prefix, "node-a", 1);
  a.registry.start();
  ASSERT_TRUE(eventually([&] { return list(a.registry).size() == 1; }));
  // Redis forgot the node (restarted empty), or a survivor reaped it.
  ASSERT_TRUE(await<RedisReply>([&](auto done) {
                a.client.submit({"DEL", prefix + "nodes", prefix + "node:node-a"}, done);
              }).ok());
  ASSERT_TRUE(eventually([&] { return a.rejoined.load() == 1; }));
  EXPECT_EQ(list(a.registry).size(), 1u);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(a.rejoined.load(), 1);
}

TEST(NodeRegistryRestart, ANodeIsRegisteredAgainBeforeAnythingElseItSendsAfterARestart) {
  // Without this, a presence entry written on the new connection before the
  // next heartbeat belongs to a node no reaper knows: if the node then dies,
  // its members never leave.
  nself::test::RedisServer server;
  const auto url = *core::parse_redis_url(server.url());
  const auto prefix = test::unique_prefix();
  RedisClient client(url);
  auto options = fast_registry(prefix);
  options.heartbeat_interval = 30s;  // no periodic heartbeat within the test
  options.ttl = 60s;
  NodeRegistry registry(client, node("node-a", 1), options, {}, {});
  ClusterPresence presence(client, "node-a", prefix);
  registry.start();
  test::start_and_wait(client);
  ASSERT_TRUE(eventually([&] { return !registry_list_empty(client, prefix); }));

  server.kill();
  ASSERT_TRUE(eventually([&] { return !client.state().connected(); }, 5s));
  server.start();  // empty: no node, no presence
  // The first command queued after the restart: a presence join.
  Result<PresenceJoin> joined = Error{"unavailable", ""};
  ASSERT_TRUE(eventually(
      [&] {
        joined = await<PresenceJoin>(
            [&](auto done) { presence.join("room", "uma", "online", "null", done); });
        return joined.ok();
      },
      5s));
  EXPECT_TRUE(joined->joined);
  const auto member = await<RedisReply>([&](auto done) {
    client.submit({"SISMEMBER", prefix + "nodes", "node-a"}, done);
  });
  ASSERT_TRUE(member.ok());
  EXPECT_EQ(member->integer, 1) << "the node is registered on the new connection first";
  client.stop();
}

TEST_F(NodeRegistryTest, ANodeNeverReapsItself) {
  Member a(url, prefix, "node-a", 1);
  ASSERT_TRUE(await<bool>([&](auto done) { a.registry.heartbeat(done); }).ok());
  ASSERT_TRUE(await<PresenceJoin>([&](auto done) {
                a.presence.join("room", "xia", "online", "null", done);
              }).ok());
  // Its key expired (its heartbeats were late), its entry in the set is there.
  ASSERT_TRUE(await<RedisReply>([&](auto done) {
                a.client.submit({"DEL", prefix + "node:node-a"}, done);
              }).ok());
  const auto reaped = await<std::vector<DeadNode>>([&](auto done) { a.registry.reap(done); });
  ASSERT_TRUE(reaped.ok()) << reaped.error().message;
  EXPECT_TRUE(reaped->empty());
  const auto members =
      await<std::vector<ClusterMember>>([&](auto done) { a.presence.members("room", done); });
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(members->size(), 1u);
  // Another node does reap it.
  Member b(url, prefix, "node-b", 2);
  const auto by_b = await<std::vector<DeadNode>>([&](auto done) { b.registry.reap(done); });
  ASSERT_TRUE(by_b.ok());
  ASSERT_EQ(by_b->size(), 1u);
  EXPECT_EQ((*by_b)[0].id, "node-a");
}

TEST_F(NodeRegistryTest, LeaveRemovesTheNodeAndReportsItsMembers) {
  Member a(url, prefix, "node-a", 1);
  Member b(url, prefix, "node-b", 2);
  a.registry.start();
  b.registry.start();
  ASSERT_TRUE(await<PresenceJoin>([&](auto done) {
                b.presence.join("room", "wes", "online", "null", done);
              }).ok());
  ASSERT_TRUE(eventually([&] { return list(a.registry).size() == 2; }));
  b.client.stop();  // no more heartbeats from b ...
  RedisClient last_words(url);
  ASSERT_TRUE(test::start_and_wait(last_words));
  NodeRegistry leaving(last_words, node("node-b", 2), fast_registry(prefix), {});
  const auto left = await<std::vector<PresenceLeft>>([&](auto done) { leaving.leave(done); });
  ASSERT_TRUE(left.ok()) << left.error().message;
  EXPECT_EQ(*left, (std::vector<PresenceLeft>{{"room", "wes"}}));
  const auto nodes = list(a.registry);
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].id, "node-a");
  std::this_thread::sleep_for(1300ms);  // past the TTL
  EXPECT_TRUE(a.dead().empty()) << "a node that left is not reported dead";
}

TEST(NodeInfoJson, RoundTripsAndRefusesMalformed) {
  NodeInfo info = node("n1", 3100);
  info.connections = 42;
  info.last_heartbeat = info.started_at + 5s;
  const auto back = decode_node_info(encode_node_info(info));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->id, "n1");
  EXPECT_EQ(back->port, 3100);
  EXPECT_EQ(back->connections, 42);
  EXPECT_EQ(back->started_at, info.started_at);
  EXPECT_EQ(back->last_heartbeat, info.last_heartbeat);
  for (
      const char* bad :
      {"", "null", "[]", "{", R"({"id":"n"})",
       R"({"id":1,"address":"a","port":1,"connections":0,"started_at":0,"last_heartbeat":0})",
       R"({"id":"n","address":"a","port":"1","connections":0,"started_at":0,"last_heartbeat":0})"}) {
    EXPECT_FALSE(decode_node_info(bad)) << bad;
  }
}

}  // namespace
}  // namespace nself::cluster
