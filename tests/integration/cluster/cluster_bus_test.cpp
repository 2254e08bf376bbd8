// ClusterBus and EphemeralSeq between "nodes" (separate clients and buses in
// one process) over a real Redis.

#include "cluster/cluster_bus.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <vector>

#include "cluster_test_support.hpp"

namespace nself::cluster {
namespace {

using namespace std::chrono_literals;
using test::await;
using test::eventually;
using test::parse;

RedisSubscriberOptions fast_subscriber() {
  RedisSubscriberOptions options;
  options.connect.connect_timeout = 2000ms;
  options.connect.command_timeout = 3000ms;
  options.backoff_initial = 20ms;
  options.backoff_max = 200ms;
  options.ping_interval = 200ms;
  return options;
}

RedisClientOptions fast_client() {
  RedisClientOptions options;
  options.connect.connect_timeout = 2000ms;
  options.connect.command_timeout = 3000ms;
  options.backoff_initial = 20ms;
  options.backoff_max = 200ms;
  return options;
}

// One node's view: its client, its bus, and what it received.
struct Node {
  Node(const core::RedisUrl& url, const std::string& id, const std::string& prefix)
      : client(url, fast_client()),
        bus(
            client, ClusterBusOptions{id, prefix, fast_subscriber()},
            [this](core::ClusterEnvelope envelope) {
              std::lock_guard lock(mutex);
              received.push_back(std::move(envelope));
            },
            [this](const RedisState& state, bool resubscribed) {
              std::lock_guard lock(mutex);
              if (resubscribed) ++subscriptions;
              links.push_back(state.link);
            }) {
    client.start();
    bus.start();
    // Tests that need both fail later without them.
    test::eventually([this] { return client.state().connected() && bus.state().connected(); });
  }
  // The callbacks use the members below: stop the threads first.
  ~Node() {
    bus.stop();
    client.stop();
  }
  std::vector<core::ClusterEnvelope> snapshot() {
    std::lock_guard lock(mutex);
    return received;
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return received.size();
  }
  int subscription_count() {
    std::lock_guard lock(mutex);
    return subscriptions;
  }

  RedisClient client;
  ClusterBus bus;
  std::mutex mutex;
  std::vector<core::ClusterEnvelope> received;
  std::vector<RedisState::Link> links;
  int subscriptions = 0;
};

core::ClusterEnvelope message(const std::string& channel, std::int64_t seq) {
  return core::ClusterEnvelope{"message", "", channel, seq,
                               R"({"type":"message","seq":)" + std::to_string(seq) + "}"};
}

struct ClusterBusTest : ::testing::Test {
  void SetUp() override { NSELF_TEST_USE_SHARED_REDIS(url); }
  core::RedisUrl url;
  std::string prefix = test::unique_prefix();
};

TEST_F(ClusterBusTest, OtherNodesGetTheEventAndThePublisherDoesNot) {
  Node a(url, "node-a", prefix);
  Node b(url, "node-b", prefix);
  Node c(url, "node-c", prefix);
  ASSERT_TRUE(eventually([&] {
    return a.bus.state().connected() && b.bus.state().connected() && c.bus.state().connected();
  }));
  const auto receivers = await<std::int64_t>([&](Callback<std::int64_t> done) {
    ASSERT_TRUE(a.bus.publish(message("chan-1", 7), done).ok());
  });
  ASSERT_TRUE(receivers.ok()) << receivers.error().message;
  EXPECT_EQ(*receivers, 3) << "three subscriber connections, the publisher's included";
  ASSERT_TRUE(eventually([&] { return b.count() == 1 && c.count() == 1; }));
  const auto got = b.snapshot()[0];
  EXPECT_EQ(got.kind, "message");
  EXPECT_EQ(got.node_id, "node-a");
  EXPECT_EQ(got.channel_id, "chan-1");
  EXPECT_EQ(got.seq, 7);
  EXPECT_EQ(got.payload, R"({"type":"message","seq":7})");
  EXPECT_EQ(b.bus.received(), 1u);
  // The publisher does not get its own event. Control: b publishes after; a's
  // subscriber connection gets Redis' messages in publish order, so its own
  // would have come before b's.
  ASSERT_TRUE(await<std::int64_t>([&](Callback<std::int64_t> done) {
                ASSERT_TRUE(b.bus.publish(message("chan-1", 8), done).ok());
              }).ok());
  ASSERT_TRUE(eventually([&] { return a.count() >= 1; }));
  const auto first = a.snapshot();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].node_id, "node-b");
  EXPECT_EQ(first[0].seq, 8);
}

TEST_F(ClusterBusTest, PrefixesSeparateClusters) {
  Node a(url, "node-a", prefix);
  const auto other_prefix = test::unique_prefix();
  Node other(url, "node-b", other_prefix);
  Node other_publisher(url, "node-c", other_prefix);
  ASSERT_TRUE(eventually([&] { return other.bus.state().connected(); }));
  ASSERT_TRUE(await<std::int64_t>([&](Callback<std::int64_t> done) {
                ASSERT_TRUE(a.bus.publish(message("c", 1), done).ok());
              }).ok());
  // Control: an event of other's own cluster, published after, is the first
  // it gets (Redis delivers in publish order).
  ASSERT_TRUE(await<std::int64_t>([&](Callback<std::int64_t> done) {
                ASSERT_TRUE(other_publisher.bus.publish(message("c", 2), done).ok());
              }).ok());
  ASSERT_TRUE(eventually([&] { return other.count() >= 1; }));
  const auto got = other.snapshot();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].node_id, "node-c");
  EXPECT_EQ(got[0].seq, 2);
}

TEST_F(ClusterBusTest, OnePublishersEventsArriveInPublishOrder) {
  Node a(url, "node-a", prefix);
  Node b(url, "node-b", prefix);
  ASSERT_TRUE(eventually([&] { return b.bus.state().connected(); }));
  constexpr int kCount = 3000;
  for (int seq = 1; seq <= kCount; ++seq) ASSERT_TRUE(a.bus.publish(message("c", seq)).ok());
  ASSERT_TRUE(eventually([&] { return b.count() == kCount; }, 30s)) << b.count();
  const auto got = b.snapshot();
  for (int index = 0; index < kCount; ++index) ASSERT_EQ(got[index].seq, index + 1);
}

TEST_F(ClusterBusTest, LargeAndBinaryPayloadsArriveIntact) {
  Node a(url, "node-a", prefix);
  Node b(url, "node-b", prefix);
  ASSERT_TRUE(eventually([&] { return b.bus.state().connected(); }));
  std::string payload(4 * 1024 * 1024, 'x');  // far above REALTIME_MAX_MESSAGE_BYTES
  for (std::size_t index = 0; index < payload.size(); index += 997) {
    payload[index] = static_cast<char>(index % 256);  // NUL, newlines, invalid UTF-8
  }
  ASSERT_TRUE(a.bus.publish({"message", "", "c", 1, payload}).ok());
  ASSERT_TRUE(eventually([&] { return b.count() == 1; }));
  EXPECT_TRUE(b.snapshot()[0].payload == payload);
}

TEST_F(ClusterBusTest, InvalidEnvelopesAreRefusedAtOnce) {
  Node a(url, "node-a", prefix);
  auto bad = message("chan with spaces", 1);
  const auto status = a.bus.publish(bad);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "invalid_envelope");
  EXPECT_FALSE(a.bus.publish(message("c", -3)).ok());
}

TEST_F(ClusterBusTest, MalformedMessagesOnTheChannelAreCountedAndDropped) {
  Node b(url, "node-b", prefix);
  ASSERT_TRUE(eventually([&] { return b.bus.state().connected(); }));
  RedisClient raw(url, fast_client());
  ASSERT_TRUE(test::start_and_wait(raw));
  for (const char* junk : {"", "hello", "nself1\nmessage\nn\nc\nNaN\n{}", "nself1\n\n\n\n\n"}) {
    ASSERT_TRUE(await<RedisReply>([&](Callback<RedisReply> done) {
                  raw.submit({"PUBLISH", b.bus.channel(), junk}, done);
                }).ok());
  }
  ASSERT_TRUE(eventually([&] { return b.bus.malformed() == 4; })) << b.bus.malformed();
  EXPECT_EQ(b.count(), 0u);
}

TEST_F(ClusterBusTest, EphemeralSeqIsGapFreeAcrossNodes) {
  RedisClient first(url, fast_client());
  RedisClient second(url, fast_client());
  ASSERT_TRUE(test::start_and_wait(first));
  ASSERT_TRUE(test::start_and_wait(second));
  EphemeralSeq seq_a(first, prefix);
  EphemeralSeq seq_b(second, prefix);
  std::mutex mutex;
  std::vector<std::int64_t> seqs;
  constexpr int kEach = 500;
  for (int index = 0; index < kEach; ++index) {
    for (auto* seq : {&seq_a, &seq_b}) {
      seq->next("eph", 0, [&](Result<std::int64_t> value) {
        std::lock_guard lock(mutex);
        seqs.push_back(value ? *value : -1);
      });
    }
  }
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return seqs.size() == 2 * kEach;
  }));
  std::sort(seqs.begin(), seqs.end());
  for (int index = 0; index < 2 * kEach; ++index) ASSERT_EQ(seqs[index], index + 1);
  // Channels count separately.
  EXPECT_EQ(*await<std::int64_t>([&](auto done) { seq_a.next("other", 0, done); }), 1);
}

TEST_F(ClusterBusTest, EphemeralSeqNeverGoesBelowTheFloor) {
  RedisClient client(url, fast_client());
  ASSERT_TRUE(test::start_and_wait(client));
  EphemeralSeq seq(client, prefix);
  EXPECT_EQ(*await<std::int64_t>([&](auto done) { seq.next("c", 0, done); }), 1);
  // This node had numbered up to 40 alone (Redis was down, or restarted empty).
  EXPECT_EQ(*await<std::int64_t>([&](auto done) { seq.next("c", 40, done); }), 41);
  EXPECT_EQ(*await<std::int64_t>([&](auto done) { seq.next("c", 0, done); }), 42);
}

TEST(ClusterBusRestart, ResubscribesAfterRedisRestartsAndReportsIt) {
  nself::test::RedisServer server;
  const auto url = parse(server.url());
  const auto prefix = test::unique_prefix();
  Node a(url, "node-a", prefix);
  Node b(url, "node-b", prefix);
  ASSERT_TRUE(eventually([&] { return b.subscription_count() == 1; }));
  ASSERT_TRUE(await<std::int64_t>([&](Callback<std::int64_t> done) {
                ASSERT_TRUE(a.bus.publish(message("c", 1), done).ok());
              }).ok());
  ASSERT_TRUE(eventually([&] { return b.count() == 1; }));

  server.kill();
  ASSERT_TRUE(eventually([&] { return !b.bus.state().connected(); }));
  // Publishing while Redis is down fails: the caller serves locally.
  const auto down = await<std::int64_t>(
      [&](Callback<std::int64_t> done) { ASSERT_TRUE(a.bus.publish(message("c", 2), done).ok()); });
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, "unavailable");
  EXPECT_FALSE(b.bus.state().last_error.empty());

  server.start();
  ASSERT_TRUE(eventually([&] { return b.subscription_count() == 2; }))
      << "a resubscription is reported";
  ASSERT_TRUE(eventually([&] { return a.client.state().connected(); }));
  ASSERT_TRUE(await<std::int64_t>([&](Callback<std::int64_t> done) {
                ASSERT_TRUE(a.bus.publish(message("c", 3), done).ok());
              }).ok());
  ASSERT_TRUE(eventually([&] { return b.count() == 2; }));
  EXPECT_EQ(b.snapshot()[1].seq, 3);
  EXPECT_EQ(b.bus.state().reconnects, 1u);
}

}  // namespace
}  // namespace nself::cluster
