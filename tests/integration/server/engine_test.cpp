// The multi-loop engine seen from clients: batch mode, the slow-consumer
// bounds, and one channel's order across loops (test_server_options() runs
// two loops, so consecutive connections land on different loops).

#include <atomic>
#include <boost/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "protocol_fixture.hpp"

namespace nself::test {
namespace {

namespace json = boost::json;
namespace ws = core::ws;
using namespace std::chrono_literals;

class EngineTest : public ProtocolTest {
 protected:
  void create_channels(store::Store& store) override {
    ProtocolTest::create_channels(store);
    store::NewChannel live;
    live.name = live.slug = "live";
    live.is_persistent = false;
    (void)store.create_channel(live, std::chrono::time_point_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now()));
  }

  // Limits out of the way: these tests publish as fast as they can.
  static server::RealtimeOptions unlimited() {
    server::RealtimeOptions options;
    options.max_messages_per_second = 1'000'000;
    return options;
  }

  // A client authenticated as `user` that asks for batch mode in its auth message.
  std::unique_ptr<RawClient> login_batching(const std::string& user) {
    auto client = std::make_unique<RawClient>(server_->port());
    EXPECT_EQ(client->handshake().status, 101);
    send(*client, {{"type", "auth"}, {"token", token_for(user)}, {"batch", true}});
    auto ok = receive(*client);
    EXPECT_EQ(type_of(ok), "auth_ok") << json::serialize(ok);
    return client;
  }

  // One frame with `count` message requests for `channel` (contents 0..count-1 after `first`).
  static std::string message_array(const std::string& channel, int first, int count,
                                   std::size_t padding = 0) {
    json::array requests;
    for (int i = first; i < first + count; ++i) {
      requests.push_back(
          json::object{{"type", "message"},
                       {"channel", channel},
                       {"content", json::object{{"n", i}, {"pad", std::string(padding, 'x')}}}});
    }
    return json::serialize(requests);
  }

  // Reads `count` acks (other events are a failure).
  static void read_acks(RawClient& client, int count) {
    for (int i = 0; i < count; ++i) {
      auto ack = receive(client);
      ASSERT_EQ(type_of(ack), "ack") << json::serialize(ack);
    }
  }

  // Splits a batch frame into its events (one JSON object per line).
  static std::vector<json::object> events_of(const std::string& frame) {
    std::vector<json::object> events;
    std::size_t start = 0;
    while (start <= frame.size()) {
      const std::size_t end = std::min(frame.find('\n', start), frame.size());
      events.push_back(json::parse(frame.substr(start, end - start)).as_object());
      start = end + 1;
    }
    return events;
  }
};

TEST_P(EngineTest, BatchModeJoinsQueuedEventsIntoOneFrameInOrder) {
  auto options = test_server_options();
  options.batch_delay = 200ms;  // long enough to gather the whole burst
  start(unlimited(), options);
  auto batching = login_batching("bob");
  auto plain = login("carol");
  subscribe(*batching, "live");
  subscribe(*plain, "live");
  auto sender = login("alice");
  sender->send_text(message_array("live", 0, 10));
  read_acks(*sender, 10);

  // The batching client: ten message events in fewer frames, in order.
  std::vector<json::object> events;
  int frames = 0;
  while (events.size() < 10) {
    auto frame = batching->next_non_ping(5s);
    ASSERT_TRUE(frame.has_value()) << "only " << events.size() << " events";
    ASSERT_EQ(frame->kind, ws::Event::Kind::kText);
    ++frames;
    for (auto& event : events_of(frame->payload)) events.push_back(std::move(event));
  }
  EXPECT_LT(frames, 10) << "no frame carried more than one event";
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(type_of(events[i]), "message");
    EXPECT_EQ(events[i]["content"].as_object()["n"].as_int64(), i);
    EXPECT_EQ(events[i]["seq"].as_int64(), i + 1);
  }
  // The plain client: one event per frame, each a whole JSON object.
  for (int i = 0; i < 10; ++i) {
    auto event = receive(*plain);
    EXPECT_EQ(event["content"].as_object()["n"].as_int64(), i);
  }
}

TEST_P(EngineTest, BatchSizeCapsEventsPerFrame) {
  auto options = test_server_options();
  options.batch_delay = 200ms;
  options.batch_size = 3;
  start(unlimited(), options);
  // ?batch=1 on the upgrade URL asks for batch mode too.
  auto batching = std::make_unique<RawClient>(server_->port());
  ASSERT_EQ(batching->handshake("/?batch=1").status, 101);
  send(*batching, {{"type", "auth"}, {"token", token_for("bob")}});
  ASSERT_EQ(type_of(receive(*batching)), "auth_ok");
  subscribe(*batching, "live");
  auto sender = login("alice");
  sender->send_text(message_array("live", 0, 10));
  read_acks(*sender, 10);
  std::size_t received = 0;
  std::size_t largest = 0;
  while (received < 10) {
    auto frame = batching->next_non_ping(5s);
    ASSERT_TRUE(frame.has_value()) << "only " << received << " events";
    const auto events = events_of(frame->payload);
    for (const auto& event : events) {
      EXPECT_EQ(event.at("content").as_object().at("n").as_int64(),
                static_cast<std::int64_t>(received));
      ++received;
    }
    largest = std::max(largest, events.size());
  }
  EXPECT_EQ(largest, 3u);  // full batches, never more than the cap
}

TEST_P(EngineTest, EverySubscriberOnEveryLoopSeesOneOrderWithoutGaps) {
  start(unlimited());
  std::vector<std::unique_ptr<RawClient>> subscribers;
  for (int i = 0; i < 6; ++i) {
    subscribers.push_back(login("reader" + std::to_string(i)));
    subscribe(*subscribers.back(), "general");
  }
  // Two senders, on different loops, publishing at the same time.
  auto first = login("alice");
  auto second = login("bob");
  std::thread other([&] {
    for (int round = 0; round < 5; ++round) {
      second->send_text(message_array("general", 1000 + round * 20, 20));
      read_acks(*second, 20);
    }
  });
  for (int round = 0; round < 5; ++round) {
    first->send_text(message_array("general", round * 20, 20));
    read_acks(*first, 20);
  }
  other.join();
  for (auto& subscriber : subscribers) {
    std::int64_t previous = 0;
    for (int i = 0; i < 200; ++i) {
      auto event = receive(*subscriber);
      ASSERT_EQ(type_of(event), "message") << json::serialize(event);
      const std::int64_t seq = event["seq"].as_int64();
      if (previous != 0) {
        ASSERT_EQ(seq, previous + 1) << "after " << i << " messages";
      }
      previous = seq;
    }
  }
}

// A subscribe's store read and the commits around it complete on different
// threads. Subscribers on both loops leave and come back with `since` while
// a sender commits without pause: every message must reach them either in
// the replay or live (a message committed just after the read and fanned out
// before the subscriber joined the hub was lost here once).
TEST_P(EngineTest, ResubscribingWithSinceUnderTrafficMissesNoMessage) {
  start(unlimited());
  // Two connections in a row land on different loops.
  std::vector<std::unique_ptr<RawClient>> readers;
  readers.push_back(login("reader0"));
  readers.push_back(login("reader1"));
  auto sender = login("alice");
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::thread publisher([&] {
    while (!stop) {
      sender->send_text(message_array("general", sent, 5));
      read_acks(*sender, 5);
      sent += 5;
    }
  });

  // One reader's cycles: subscribe with since = the last seq seen, read the
  // reply, the replay and some live messages, unsubscribe. Live messages
  // already queued when the unsubscribe lands may still arrive afterwards;
  // they are in order too, and a replay may repeat them: seq <= last is a
  // repeat, seq > last + 1 a lost message.
  constexpr int kCycles = 200;
  auto cycle_through = [&](RawClient& reader, std::int64_t& last, int& gaps) {
    auto take = [&](std::int64_t seq) {
      if (seq > last + 1) {
        ADD_FAILURE() << "seq " << last + 1 << " to " << seq - 1 << " never arrived";
        ++gaps;
      }
      last = std::max(last, seq);
    };
    for (int cycle = 0; cycle < kCycles && gaps == 0; ++cycle) {
      send(reader, {{"type", "subscribe"}, {"channel", "general"}, {"since", last}});
      bool subscribed = false, replayed = false;
      int live = 0;
      while (!(subscribed && replayed && live >= 3)) {
        auto event = receive(reader);
        const std::string type = type_of(event);
        if (type == "subscribed") {
          subscribed = true;
        } else if (type == "history") {
          ASSERT_TRUE(subscribed) << "history before subscribed";
          ASSERT_FALSE(event["has_more"].as_bool()) << "the gap grew past one page";
          for (const auto& message : event["messages"].as_array()) {
            take(message.as_object().at("seq").as_int64());
          }
          replayed = true;
        } else if (type == "message") {
          take(event["seq"].as_int64());
          if (replayed) ++live;
        } else {
          FAIL() << "unexpected " << json::serialize(event);
        }
      }
      send(reader, {{"type", "unsubscribe"}, {"channel", "general"}});
      for (;;) {
        auto event = receive(reader);
        if (type_of(event) == "unsubscribed") break;
        ASSERT_EQ(type_of(event), "message") << json::serialize(event);
        take(event["seq"].as_int64());
      }
    }
  };
  std::int64_t last_other = 0;
  int gaps_other = 0;
  std::thread other([&] { cycle_through(*readers[1], last_other, gaps_other); });
  std::int64_t last = 0;
  int gaps = 0;
  cycle_through(*readers[0], last, gaps);
  other.join();
  stop = true;
  publisher.join();
  EXPECT_EQ(gaps, 0);
  EXPECT_EQ(gaps_other, 0);
  EXPECT_GT(last, kCycles * 3);  // the readers did see live traffic
}

TEST_P(EngineTest, LaggardsAreClosedWhenTheServerWideQueueBoundIsReached) {
  auto options = test_server_options();
  options.max_queued_bytes = 256 * 1024 * 1024;      // never reached here
  options.max_queued_bytes_total = 2 * 1024 * 1024;  // 1 MiB per loop
  options.slow_consumer_floor = 256 * 1024;
  options.close_timeout = 10s;
  start(unlimited(), options);
  // Two clients that never read, with tiny receive buffers; one that keeps up.
  auto slow_a = std::make_unique<RawClient>(server_->port(), 4096);
  auto slow_b = std::make_unique<RawClient>(server_->port(), 4096);
  for (auto* slow : {slow_a.get(), slow_b.get()}) {
    ASSERT_EQ(slow->handshake().status, 101);
    send(*slow, {{"type", "auth"}, {"token", token_for("slow")}});
    ASSERT_EQ(type_of(receive(*slow)), "auth_ok");
    subscribe(*slow, "live");
  }
  auto fast = login("fast");
  subscribe(*fast, "live");
  constexpr int kMessages = 1200;  // 8 KiB each: ~10 MiB to each subscriber
  std::atomic<int> fast_received{0};
  std::thread reader([&] {
    while (fast_received < kMessages) {
      auto event = fast->next_non_ping(10s);
      if (!event || event->kind != ws::Event::Kind::kText) return;
      auto parsed = json::parse(event->payload).as_object();
      if (type_of(parsed) != "message") continue;
      EXPECT_EQ(parsed["content"].as_object()["n"].as_int64(), fast_received.load());
      ++fast_received;
    }
  });
  auto sender = login("alice");
  for (int first = 0; first < kMessages; first += 6) {  // 6 x 8 KiB: under the frame limit
    sender->send_text(message_array("live", first, 6, 8 * 1024));
    read_acks(*sender, 6);
  }
  reader.join();
  EXPECT_EQ(fast_received.load(), kMessages) << "the client that keeps up lost messages";
  for (auto* slow : {slow_a.get(), slow_b.get()}) {
    std::optional<ws::Event> event;
    int messages = 0;
    while ((event = slow->next(10s)) && event->kind != ws::Event::Kind::kClose) ++messages;
    ASSERT_TRUE(event.has_value()) << "no close after " << messages << " messages";
    EXPECT_EQ(event->close_code, ws::close_code::kPolicyViolation);
    EXPECT_EQ(event->payload, "slow consumer");
    EXPECT_LT(messages, kMessages);
  }
  EXPECT_EQ(metrics_.slow_consumers(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Backends, EngineTest, kBackends,
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace nself::test
