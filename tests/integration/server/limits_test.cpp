// The limits end to end (docs/PROTOCOL.md "Limits"): connections per user,
// messages per second (token bucket, then close 4008 for a flood),
// subscriptions per connection, channel max_members; and the send rules of
// section 6: member can_send, archived channels read-only; read markers and
// `unread` in `subscribed`.

#include <boost/json.hpp>
#include <set>
#include <thread>

#include "protocol_fixture.hpp"

namespace nself::test {
namespace {

namespace json = boost::json;
namespace ws = core::ws;
using namespace std::chrono_literals;

class LimitsTest : public ProtocolTest {
 protected:
  static std::string message_frame(const std::string& channel, int content) {
    return RawClient::frame(ws::Opcode::kText,
                            json::serialize(json::object{
                                {"type", "message"}, {"channel", channel}, {"content", content}}));
  }
  // Sends one message and waits for its ack (reading the copy delivered first).
  static void post(RawClient& client, const std::string& channel, int content) {
    client.send_raw(message_frame(channel, content));
    for (int i = 0; i < 2; ++i) {
      auto event = receive(client);
      if (type_of(event) == "ack") return;
      ASSERT_EQ(type_of(event), "message") << json::serialize(event);
    }
    ADD_FAILURE() << "no ack";
  }
};

TEST_P(LimitsTest, ConnectionsPerUserAtAndPastTheLimit) {
  server::RealtimeOptions options;
  options.max_connections_per_user = 2;
  start(options);
  auto first = login("alice");
  auto second = login("alice");
  // The third, by auth message: refused and closed with 4008.
  RawClient third(server_->port());
  ASSERT_EQ(third.handshake().status, 101);
  send(third, {{"type", "auth"}, {"token", token_for("alice")}, {"ref", "a"}});
  auto error = receive(third);
  EXPECT_EQ(code_of(error), "too_many_connections");
  EXPECT_EQ(error["ref"], "a");
  expect_close(third, ws::close_code::kLimitExceeded);
  // By upgrade header: the same.
  RawClient fourth(server_->port());
  ASSERT_EQ(fourth.handshake("/", "Authorization: Bearer " + token_for("alice") + "\r\n").status,
            101);
  EXPECT_EQ(code_of(receive(fourth)), "too_many_connections");
  expect_close(fourth, ws::close_code::kLimitExceeded);
  // Other users are not affected, and the refused ones did not count.
  auto bob = login("bob");
  send(*first, {{"type", "ping"}});
  EXPECT_EQ(type_of(receive(*first)), "pong");
  // Once one of alice's connections is gone, she may connect again.
  second->send_close(1000);
  ASSERT_TRUE(second->wait_eof());
  bool accepted = false;
  for (int attempt = 0; attempt < 50 && !accepted; ++attempt) {
    RawClient again(server_->port());
    ASSERT_EQ(again.handshake().status, 101);
    send(again, {{"type", "auth"}, {"token", token_for("alice")}});
    accepted = type_of(receive(again)) == "auth_ok";
    if (!accepted) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(accepted);
}

TEST_P(LimitsTest, MessagesPerSecondExcessIsRateLimitedAndNotDelivered) {
  server::RealtimeOptions options;
  options.max_messages_per_second = 5;
  start(options);
  auto alice = login("alice");
  auto bob = login("bob");
  subscribe(*alice, "general");
  subscribe(*bob, "general");
  std::string burst;
  for (int i = 0; i < 8; ++i) burst += message_frame("general", i);
  alice->send_raw(burst);
  int acks = 0, limited = 0, copies = 0;
  while (acks + limited < 8) {
    auto event = receive(*alice);
    if (type_of(event) == "ack")
      ++acks;
    else if (code_of(event) == "rate_limited")
      ++limited;
    else if (type_of(event) == "message")
      ++copies;
    else
      ADD_FAILURE() << json::serialize(event);
    if (event.empty()) break;
  }
  EXPECT_EQ(acks, 5);
  EXPECT_EQ(limited, 3);
  // bob got exactly the five accepted ones.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(receive(*bob)["content"], i);
  // The connection stays open, and the bucket refills. The next message is
  // also the control: none of the three refused ones reached bob before it.
  std::this_thread::sleep_for(1100ms);
  post(*alice, "general", 100);
  EXPECT_EQ(receive(*bob)["content"], 100);
}

TEST_P(LimitsTest, TheBucketIsPerUserAcrossConnections) {
  server::RealtimeOptions options;
  options.max_messages_per_second = 4;
  start(options);
  auto tab1 = login("alice");
  auto tab2 = login("alice");
  auto bob = login("bob");
  std::string burst;
  for (int i = 0; i < 3; ++i) burst += message_frame("general", i);
  tab1->send_raw(burst);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(type_of(receive(*tab1)), "ack");
  tab2->send_raw(burst);
  // Refusals are immediate; the ack follows the store's round trip.
  std::multiset<std::string> replies;
  for (int i = 0; i < 3; ++i) {
    auto event = receive(*tab2);
    replies.insert(type_of(event) == "ack" ? "ack" : code_of(event));
  }
  EXPECT_EQ(replies, (std::multiset<std::string>{"ack", "rate_limited", "rate_limited"}));
  // Another user has its own bucket; typing counts too.
  send(*bob, {{"type", "subscribe"}, {"channel", "general"}});
  EXPECT_EQ(type_of(receive(*bob)), "subscribed");
  for (int i = 0; i < 4; ++i)
    send(*bob, {{"type", "typing"}, {"channel", "general"}, {"typing", true}});
  send(*bob, {{"type", "typing"}, {"channel", "general"}, {"typing", true}, {"ref", 9}});
  auto error = receive(*bob);
  EXPECT_EQ(code_of(error), "rate_limited");
  EXPECT_EQ(error["ref"], 9);
  // ping is not counted.
  send(*bob, {{"type", "ping"}});
  EXPECT_EQ(type_of(receive(*bob)), "pong");
}

TEST_P(LimitsTest, AFloodIsThrottledThenDisconnectedWith4008) {
  server::RealtimeOptions options;
  options.max_messages_per_second = 3;
  options.flood = core::FloodPolicy{5, 10s};
  start(options);
  auto alice = login("alice");
  auto bob = login("bob");
  // Subscribed, so that accepted messages go out before the disconnect (a
  // message to a channel not subscribed to is still being resolved then, and
  // is dropped with the connection).
  subscribe(*alice, "general");
  subscribe(*bob, "general");
  std::string burst;
  for (int i = 0; i < 50; ++i) burst += message_frame("general", i);
  alice->send_raw(burst);
  int acks = 0, limited = 0;
  for (;;) {
    auto event = alice->next_non_ping(5s);
    ASSERT_TRUE(event.has_value());
    if (event->kind == ws::Event::Kind::kClose) {
      EXPECT_EQ(event->close_code, ws::close_code::kLimitExceeded);
      break;
    }
    auto parsed = json::parse(event->payload).as_object();
    if (type_of(parsed) == "ack")
      ++acks;
    else if (code_of(parsed) == "rate_limited")
      ++limited;
  }
  // The three accepted ones are stored and delivered; their acks may not
  // reach alice, closed before the commit came back.
  EXPECT_LE(acks, 3);
  EXPECT_EQ(limited, 5);  // the fifth rejection in a row disconnects
  EXPECT_TRUE(alice->wait_eof());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(receive(*bob)["content"], i);
  // Control: a message sent after alice's burst is the next one bob gets.
  auto carol = login("carol");
  post(*carol, "general", 99);
  EXPECT_EQ(receive(*bob)["content"], 99);
}

// The rate limiter's arithmetic (refill, capacity, streaks) is
// tests/unit/rate_limit with a fake clock; here only its wiring, in real
// time, on one store.
class LimitsAnyStoreTest : public LimitsTest {};

TEST_P(LimitsAnyStoreTest, AClientAtTheRateIsNeverDisconnected) {
  server::RealtimeOptions options;
  options.max_messages_per_second = 10;
  options.flood = core::FloodPolicy{3, 10s};
  start(options);
  auto alice = login("alice");
  // 15 messages at about 8 per second: past the bucket's 10, so the refill
  // is what lets the last ones through.
  for (int i = 0; i < 15; ++i) {
    alice->send_raw(message_frame("general", i));
    EXPECT_EQ(type_of(receive(*alice)), "ack") << i;
    std::this_thread::sleep_for(125ms);
  }
}

TEST_P(LimitsTest, SubscriptionsPerConnectionAtAndPastTheLimit) {
  server::RealtimeOptions options;
  options.max_subscriptions = 2;
  start(options);
  auto alice = login("alice");
  subscribe(*alice, "general");
  subscribe(*alice, "small");
  send(*alice, {{"type", "subscribe"}, {"channel", "old"}, {"ref", 3}});
  auto error = receive(*alice);
  EXPECT_EQ(code_of(error), "too_many_subscriptions");
  EXPECT_EQ(error["ref"], 3);
  // Subscribing again to a channel one has is not a new subscription.
  subscribe(*alice, "general");
  send(*alice, {{"type", "unsubscribe"}, {"channel", "small"}});
  EXPECT_EQ(type_of(receive(*alice)), "unsubscribed");
  subscribe(*alice, "old");
  // The limit is per connection, and counts subscribes still in flight.
  auto tab2 = login("alice");
  tab2->send_text(
      R"([{"type":"subscribe","channel":"general"},{"type":"subscribe","channel":"small"},)"
      R"({"type":"subscribe","channel":"old"}])");
  EXPECT_EQ(code_of(receive(*tab2)), "too_many_subscriptions");
  EXPECT_EQ(type_of(receive(*tab2)), "subscribed");
  EXPECT_EQ(type_of(receive(*tab2)), "subscribed");
}

TEST_P(LimitsTest, ChannelMaxMembersCountsDistinctUsers) {
  start();
  auto alice = login("alice");
  auto alice_tab2 = login("alice");
  auto bob = login("bob");
  auto carol = login("carol");
  subscribe(*alice, "small");
  subscribe(*bob, "small");
  subscribe(*alice_tab2, "small");  // alice again: still two members
  send(*carol, {{"type", "subscribe"}, {"channel", "small"}, {"ref", "c"}});
  auto error = receive(*carol);
  EXPECT_EQ(code_of(error), "forbidden");
  EXPECT_NE(std::string(error["message"].as_string()).find("full"), std::string::npos);
  EXPECT_EQ(error["ref"], "c");
  // carol was not subscribed: messages do not reach her. Control: bob's next
  // message, on a channel carol is in, is the first she gets.
  subscribe(*carol, "general");
  post(*bob, "small", 1);
  post(*bob, "general", 2);
  auto first = receive(*carol);
  EXPECT_EQ(first["channel"], "general") << json::serialize(first);
  EXPECT_EQ(first["content"], 2);
  // When a member leaves, there is room again.
  send(*bob, {{"type", "unsubscribe"}, {"channel", "small"}});
  EXPECT_EQ(type_of(receive(*bob)), "unsubscribed");
  subscribe(*carol, "small");
}

TEST_P(LimitsTest, ReadMarkersGiveUnreadInSubscribed) {
  start();
  auto alice = login("alice");
  for (int i = 1; i <= 3; ++i) post(*alice, "team", i);
  // A member: unread counts what is past the read position.
  auto reply = subscribe(*alice, "team");
  EXPECT_EQ(reply["seq"], 3);
  EXPECT_EQ(reply["unread"], 3);
  send(*alice, {{"type", "read"}, {"channel", "team"}, {"seq", 2}});
  EXPECT_EQ(subscribe(*alice, "team")["unread"], 1);
  // Never backwards; never past the newest message.
  send(*alice, {{"type", "read"}, {"channel", "team"}, {"seq", 1}});
  EXPECT_EQ(subscribe(*alice, "team")["unread"], 1);
  send(*alice, {{"type", "read"}, {"channel", team_id_}, {"seq", 1000}});
  EXPECT_EQ(subscribe(*alice, "team")["unread"], 0);
  post(*alice, "team", 4);
  auto fresh = login("alice");
  EXPECT_EQ(subscribe(*fresh, "team")["unread"], 1);
  // Stored as the member's position.
  auto store = open_store();
  auto member = store->find_member(team_id_, "alice");
  ASSERT_TRUE(member.has_value());
  EXPECT_EQ(member->last_read_seq, 3);
  EXPECT_TRUE(member->last_read_at.has_value());
  // Not a member: no unread, and read is refused.
  auto bob = login("bob");
  EXPECT_FALSE(subscribe(*bob, "general").contains("unread"));
  send(*bob, {{"type", "read"}, {"channel", "general"}, {"seq", 1}, {"ref", "r"}});
  auto error = receive(*bob);
  EXPECT_EQ(code_of(error), "forbidden");
  EXPECT_EQ(error["ref"], "r");
  send(*bob, {{"type", "read"}, {"channel", "nowhere"}, {"seq", 1}});
  EXPECT_EQ(code_of(receive(*bob)), "not_found");
  send(*bob, {{"type", "read"}, {"channel", "team"}, {"seq", -1}});
  EXPECT_EQ(code_of(receive(*bob)), "bad_request");
  send(*bob, {{"type", "read"}, {"channel", "team"}, {"seq", "2"}});
  EXPECT_EQ(code_of(receive(*bob)), "bad_request");
  send(*bob, {{"type", "read"}, {"channel", "team"}});
  EXPECT_EQ(code_of(receive(*bob)), "bad_request");
}

TEST_P(LimitsTest, AMemberWithoutCanSendIsForbiddenToSend) {
  start();
  auto bob = login("bob");
  // Without subscribing, and subscribed (reading is allowed).
  send(*bob, {{"type", "message"}, {"channel", "team"}, {"content", "hi"}, {"ref", 1}});
  auto error = receive(*bob);
  EXPECT_EQ(code_of(error), "forbidden");
  EXPECT_EQ(error["ref"], 1);
  subscribe(*bob, "team");
  send(*bob, {{"type", "message"}, {"channel", "team"}, {"content", "hi"}, {"ref", 2}});
  EXPECT_EQ(code_of(receive(*bob)), "forbidden");
  // Control: alice's message is the next event bob gets (no ack or copy of
  // his refused one came before it).
  auto alice = login("alice");
  post(*alice, "team", 1);
  auto next = receive(*bob);
  EXPECT_EQ(type_of(next), "message") << json::serialize(next);
  EXPECT_EQ(next["content"], 1);
  EXPECT_TRUE(open_store()->history(team_id_, std::nullopt, 10).size() == 1u);
}

TEST_P(LimitsTest, AnArchivedChannelIsReadOnly) {
  start();
  auto alice = login("alice");
  send(*alice, {{"type", "message"}, {"channel", "old"}, {"content", "late"}, {"ref", 1}});
  auto error = receive(*alice);
  EXPECT_EQ(code_of(error), "forbidden");
  EXPECT_NE(std::string(error["message"].as_string()).find("archived"), std::string::npos);
  // Its history is kept and can be read.
  auto reply = subscribe(*alice, "old");
  EXPECT_EQ(reply["seq"], 1);
  send(*alice, {{"type", "history"}, {"channel", "old"}});
  auto history = receive(*alice);
  ASSERT_EQ(type_of(history), "history");
  ASSERT_EQ(history["messages"].as_array().size(), 1u);
  send(*alice, {{"type", "message"}, {"channel", "old"}, {"content", "late"}, {"ref", 2}});
  EXPECT_EQ(code_of(receive(*alice)), "forbidden");
  // Control: a message sent after, on an open channel, is acknowledged (its
  // copy first) with nothing of the refused one before it.
  subscribe(*alice, "general");
  send(*alice, {{"type", "message"}, {"channel", "general"}, {"content", "control"}, {"ref", 3}});
  auto copy = receive(*alice);
  EXPECT_EQ(type_of(copy), "message") << json::serialize(copy);
  EXPECT_EQ(copy["channel"], "general");
  auto ack = receive(*alice);
  EXPECT_EQ(type_of(ack), "ack") << json::serialize(ack);
  EXPECT_EQ(ack["ref"], 3);
}

TEST_P(LimitsTest, AfterConnectionChurnEveryCounterIsBackToZero) {
  server::RealtimeOptions options;
  options.max_connections_per_user = 2;
  options.max_messages_per_second = 1000;
  start(options);
  // Two threads, each opening and ending connections of its own user: joined
  // to a presence channel, subscribed, one message; then ended by a close
  // handshake or by dropping the socket (a killed client), in turn.
  constexpr int kCycles = 20;
  // Reads events (the other user's messages and presence among them) until
  // one has type `type` and ref `ref`.
  const auto reply_to = [](RawClient& client, const std::string& type, const std::string& ref) {
    for (int seen = 0; seen < 200; ++seen) {
      auto event = receive(client);
      if (event.empty()) break;
      const auto found = event.find("ref");
      if (type_of(event) == type && found != event.end() && found->value().is_string() &&
          found->value().as_string() == ref) {
        return true;
      }
    }
    ADD_FAILURE() << "no " << type << " for ref " << ref;
    return false;
  };
  const auto churn = [&](const std::string& user) {
    for (int cycle = 0; cycle < kCycles; ++cycle) {
      auto client = login(user);
      send(*client, {{"type", "subscribe"}, {"channel", "general"}, {"ref", "g"}});
      if (!reply_to(*client, "subscribed", "g")) return;
      send(*client, {{"type", "subscribe"}, {"channel", "room"}, {"ref", "r"}});
      if (!reply_to(*client, "presence_state", "r")) return;
      send(*client,
           {{"type", "message"}, {"channel", "general"}, {"content", cycle}, {"ref", "m"}});
      if (!reply_to(*client, "ack", "m")) return;
      if (cycle % 2 == 0) {
        client->send_close(1000);
        EXPECT_TRUE(client->wait_eof());
      }  // else dropped: the socket closes without a close frame
    }
  };
  std::thread other([&] { churn("bob"); });
  churn("alice");
  other.join();
  // Every count goes back to zero (dropped sockets are noticed a little
  // later, the store rows written after): polled until then, 10 s at most.
  const auto store = open_store();
  const auto settled = [&] {
    return metrics_.current_connections() == 0 && handler_->connections().empty() &&
           handler_->subscriber_count(general_id_) == 0 &&
           handler_->subscriber_count(room_id_) == 0 && store->list_connections(false).empty();
  };
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!settled() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(metrics_.current_connections(), 0u);
  EXPECT_TRUE(handler_->connections().empty());
  EXPECT_EQ(handler_->subscriber_count(general_id_), 0u);
  EXPECT_EQ(handler_->subscriber_count(room_id_), 0u);
  EXPECT_TRUE(store->list_connections(false).empty()) << "connection rows left connected";
  // Presence: a newcomer sees nobody else in the room.
  auto carol = login("carol");
  subscribe(*carol, "room");
  auto state = receive(*carol);
  ASSERT_EQ(type_of(state), "presence_state");
  EXPECT_EQ(state["members"].as_array().size(), 1u) << json::serialize(state);
  // The per-user connection counts: each user has both slots again, and only both.
  for (const std::string user : {"alice", "bob"}) {
    auto first = login(user);
    auto second = login(user);
    RawClient third(server_->port());
    ASSERT_EQ(third.handshake().status, 101);
    send(third, {{"type", "auth"}, {"token", token_for(user)}});
    EXPECT_EQ(code_of(receive(third)), "too_many_connections") << user;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, LimitsTest, kBackends,
                         [](const auto& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Backends, LimitsAnyStoreTest, kAnyStoreBackend,
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace nself::test
