// Presence end to end (docs/PROTOCOL.md "presence"): presence_state on
// subscribe, join/leave per user (two tabs are one member), updates with
// metadata, automatic away and back, leave on disconnect and on a dropped
// socket, and the rows written through Store::update_presence.

#include <algorithm>
#include <boost/json.hpp>
#include <set>
#include <thread>

#include "protocol_fixture.hpp"

namespace nself::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class PresenceTest : public ProtocolTest {
 protected:
  // Subscribes to a presence channel: the `subscribed` reply, then the state.
  static json::array join(RawClient& client, const std::string& channel) {
    subscribe(client, channel);
    auto state = receive(client);
    EXPECT_EQ(type_of(state), "presence_state") << json::serialize(state);
    EXPECT_EQ(std::string(state["channel"].as_string()), channel);
    return state["members"].as_array();
  }
  static std::vector<std::string> users_of(const json::array& members) {
    std::vector<std::string> users;
    for (const auto& member : members) {
      users.emplace_back(member.as_object().at("user_id").as_string());
    }
    return users;
  }
  // Waits until `check` holds for the store's presence rows of `channel_id`.
  template <typename Check>
  bool wait_rows(const std::string& channel_id, Check check) {
    auto store = open_store();
    for (int i = 0; i < 100; ++i) {
      if (check(store->list_presence(channel_id))) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
};

TEST_P(PresenceTest, TwoTabsOfOneUserAreOneMember) {
  start();
  auto tab1 = login("alice");
  auto members = join(*tab1, "room");
  EXPECT_EQ(users_of(members), std::vector<std::string>{"alice"});

  auto bob = login("bob");
  members = join(*bob, "room");
  EXPECT_EQ(users_of(members), (std::vector<std::string>{"alice", "bob"}));
  auto joined = receive(*tab1);
  EXPECT_EQ(type_of(joined), "presence_join");
  EXPECT_EQ(joined["user_id"], "bob");
  EXPECT_EQ(joined["channel"], "room");
  EXPECT_EQ(joined["status"], "online");
  EXPECT_FALSE(joined.contains("ref"));

  // alice's second tab: no join for bob, and the state still has two members.
  auto tab2 = login("alice");
  members = join(*tab2, "room");
  EXPECT_EQ(users_of(members), (std::vector<std::string>{"alice", "bob"}));
  // Control: carol joining after is the next event bob gets.
  auto carol = login("carol");
  join(*carol, "room");
  auto control = receive(*bob);
  EXPECT_EQ(type_of(control), "presence_join") << json::serialize(control);
  EXPECT_EQ(control["user_id"], "carol");
  EXPECT_EQ(type_of(receive(*tab2)), "presence_join");  // carol's, for alice's tab too

  // One tab leaving is not alice leaving. Control: carol's update after it is
  // the next event bob gets.
  send(*tab2, {{"type", "unsubscribe"}, {"channel", "room"}});
  EXPECT_EQ(type_of(receive(*tab2)), "unsubscribed");
  send(*carol, {{"type", "presence"}, {"status", "away"}, {"channel", "room"}});
  control = receive(*bob);
  EXPECT_EQ(type_of(control), "presence_update") << json::serialize(control);
  EXPECT_EQ(control["user_id"], "carol");
  tab1->send_close(1000);
  auto left = receive(*bob);
  EXPECT_EQ(type_of(left), "presence_leave");
  EXPECT_EQ(left["user_id"], "alice");
  EXPECT_EQ(left["channel"], "room");
  EXPECT_EQ(left.size(), 3u);
}

TEST_P(PresenceTest, StateCarriesStatusMetaAndLastActive) {
  start();
  auto alice = login("alice");
  join(*alice, "room");
  send(*alice, {{"type", "presence"},
                {"status", "away"},
                {"meta", {{"custom_status", "In a meeting"}, {"device", "desktop"}}}});
  EXPECT_EQ(type_of(receive(*alice)), "presence_update");

  auto bob = login("bob");
  send(*bob, {{"type", "subscribe"}, {"channel", "room"}, {"ref", "s1"}});
  EXPECT_EQ(type_of(receive(*bob)), "subscribed");
  auto state = receive(*bob);
  ASSERT_EQ(type_of(state), "presence_state");
  EXPECT_EQ(state["ref"], "s1");
  const auto& members = state["members"].as_array();
  ASSERT_EQ(members.size(), 2u);
  const auto& first = members[0].as_object();
  EXPECT_EQ(first.at("user_id"), "alice");
  EXPECT_EQ(first.at("status"), "away");
  EXPECT_EQ(first.at("meta"),
            json::parse(R"({"custom_status":"In a meeting","device":"desktop"})"));
  const std::string last_active(first.at("last_active").as_string());
  EXPECT_EQ(last_active.size(), 24u) << last_active;  // 2026-01-30T10:00:00.000Z
  EXPECT_EQ(last_active.back(), 'Z');
  const auto& second = members[1].as_object();
  EXPECT_EQ(second.at("user_id"), "bob");
  EXPECT_EQ(second.at("status"), "online");
  EXPECT_TRUE(second.at("meta").is_null());
}

TEST_P(PresenceTest, UpdateReachesEveryMemberAndIsStored) {
  start();
  auto alice = login("alice");
  auto alice_tab2 = login("alice");
  auto bob = login("bob");
  join(*alice, "room");
  join(*alice_tab2, "room");
  join(*bob, "room");
  EXPECT_EQ(type_of(receive(*alice)), "presence_join");
  EXPECT_EQ(type_of(receive(*alice_tab2)), "presence_join");

  send(*alice, {{"type", "presence"}, {"status", "away"}, {"meta", {{"device", "phone"}}}});
  for (RawClient* client : {alice.get(), alice_tab2.get(), bob.get()}) {
    auto update = receive(*client);
    EXPECT_EQ(type_of(update), "presence_update");
    EXPECT_EQ(update["channel"], "room");
    EXPECT_EQ(update["user_id"], "alice");
    EXPECT_EQ(update["status"], "away");
    EXPECT_EQ(update["meta"], json::parse(R"({"device":"phone"})"));
  }
  EXPECT_TRUE(wait_rows(room_id_, [](const std::vector<store::PresenceRecord>& rows) {
    for (const auto& row : rows) {
      if (row.user_id == "alice" && row.status == store::PresenceStatus::kAway &&
          json::parse(row.metadata) == json::parse(R"({"device":"phone"})")) {
        return true;
      }
    }
    return false;
  }));

  // Without meta: the status changes, the metadata stays.
  send(*bob, {{"type", "presence"}, {"status", "online"}, {"channel", "room"}});
  auto update = receive(*alice);
  EXPECT_EQ(update["user_id"], "bob");
  EXPECT_EQ(update["status"], "online");
  EXPECT_TRUE(update["meta"].is_null());
  EXPECT_EQ(receive(*bob)["user_id"], "bob");  // its own update reaches it too
  send(*alice, {{"type", "presence"}, {"status", "online"}});
  update = receive(*bob);
  EXPECT_EQ(update["user_id"], "alice");
  EXPECT_EQ(update["status"], "online");
  EXPECT_EQ(update["meta"], json::parse(R"({"device":"phone"})"));
}

TEST_P(PresenceTest, UpdateAppliesToPresenceChannelsOnlyAndNeedsASubscription) {
  start();
  auto alice = login("alice");
  auto bob = login("bob");
  join(*alice, "room");
  join(*alice, "lounge");
  subscribe(*alice, "general");
  join(*bob, "lounge");
  EXPECT_EQ(type_of(receive(*alice)), "presence_join");

  // Naming a channel: only that one.
  send(*alice, {{"type", "presence"}, {"status", "away"}, {"channel", "room"}});
  auto update = receive(*alice);
  EXPECT_EQ(update["channel"], "room");
  // No channel: every presence channel of the connection. This is also the
  // control for the update above: bob's first update of alice is this one
  // (online, in lounge), not the away meant for room only.
  send(*alice, {{"type", "presence"}, {"status", "online"}});
  std::vector<std::string> channels;
  for (int i = 0; i < 2; ++i) channels.emplace_back(receive(*alice)["channel"].as_string());
  std::sort(channels.begin(), channels.end());
  EXPECT_EQ(channels, (std::vector<std::string>{"lounge", "room"}));
  auto seen = receive(*bob);
  EXPECT_EQ(seen["user_id"], "alice");
  EXPECT_EQ(seen["channel"], "lounge");
  EXPECT_EQ(seen["status"], "online") << json::serialize(seen);

  send(*alice, {{"type", "presence"}, {"status", "away"}, {"channel", "general"}, {"ref", 1}});
  auto error = receive(*alice);
  EXPECT_EQ(code_of(error), "bad_request");
  EXPECT_EQ(error["ref"], 1);
  send(*bob, {{"type", "presence"}, {"status", "away"}, {"channel", "room"}, {"ref", 2}});
  EXPECT_EQ(code_of(receive(*bob)), "forbidden");
  send(*bob, {{"type", "presence"}, {"status", "busy"}});
  EXPECT_EQ(code_of(receive(*bob)), "bad_request");
  send(*bob, {{"type", "presence"}, {"status", "online"}, {"meta", "desktop"}});
  EXPECT_EQ(code_of(receive(*bob)), "bad_request");
  // Control: bob's valid update after the refused ones is the next event alice
  // gets.
  send(*bob, {{"type", "presence"}, {"status", "away"}, {"channel", "lounge"}});
  auto control = receive(*alice);
  EXPECT_EQ(type_of(control), "presence_update") << json::serialize(control);
  EXPECT_EQ(control["user_id"], "bob");
  EXPECT_EQ(control["channel"], "lounge");
  EXPECT_EQ(control["status"], "away");
  EXPECT_TRUE(control["meta"].is_null()) << json::serialize(control);
}

TEST_P(PresenceTest, MetaIsBoundedTo4096Bytes) {
  start();
  auto alice = login("alice");
  auto bob = login("bob");
  join(*alice, "room");
  join(*bob, "room");
  EXPECT_EQ(type_of(receive(*alice)), "presence_join");
  // {"k":"..."} is 8 bytes plus the string.
  const std::string at_limit =
      R"({"type":"presence","status":"online","meta":{"k":")" + std::string(4088, 'x') + R"("}})";
  alice->send_text(at_limit);
  auto update = receive(*bob);
  EXPECT_EQ(type_of(update), "presence_update");
  EXPECT_EQ(update["meta"].as_object().at("k").as_string().size(), 4088u);
  EXPECT_EQ(type_of(receive(*alice)), "presence_update");

  const std::string over = R"({"type":"presence","status":"away","ref":"p","meta":{"k":")" +
                           std::string(4089, 'x') + R"("}})";
  alice->send_text(over);
  auto error = receive(*alice);
  EXPECT_EQ(code_of(error), "payload_too_large");
  EXPECT_EQ(error["ref"], "p");
  // Control: a valid update after the refused one is the next event bob gets.
  send(*alice, {{"type", "presence"}, {"status", "away"}, {"meta", {{"k", "small"}}}});
  auto control = receive(*bob);
  EXPECT_EQ(type_of(control), "presence_update") << json::serialize(control);
  EXPECT_EQ(control["meta"].as_object().at("k"), "small");
}

TEST_P(PresenceTest, IdleMembersBecomeAwayAndActivityBringsThemBack) {
  server::RealtimeOptions options;
  options.away_after = 600ms;
  start(options);
  auto alice = login("alice");
  auto bob = login("bob");
  join(*alice, "room");
  join(*bob, "room");
  EXPECT_EQ(type_of(receive(*alice)), "presence_join");

  // Both idle: each sees the other go away (and itself).
  std::set<std::string> away;
  for (int i = 0; i < 2; ++i) {
    auto update = receive(*bob, 3s);
    ASSERT_EQ(type_of(update), "presence_update") << json::serialize(update);
    EXPECT_EQ(update["status"], "away");
    away.insert(std::string(update["user_id"].as_string()));
  }
  EXPECT_EQ(away, (std::set<std::string>{"alice", "bob"}));
  for (int i = 0; i < 2; ++i) EXPECT_EQ(receive(*alice)["status"], "away");

  // Any frame is activity: a ping brings alice back.
  send(*alice, {{"type", "ping"}});
  auto update = receive(*bob);
  EXPECT_EQ(type_of(update), "presence_update");
  EXPECT_EQ(update["user_id"], "alice");
  EXPECT_EQ(update["status"], "online");
  // bob is still away, as a new subscriber sees it.
  auto carol = login("carol");
  auto members = join(*carol, "room");
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[0].as_object().at("status"), "online");  // alice
  EXPECT_EQ(members[1].as_object().at("status"), "away");    // bob
}

TEST_P(PresenceTest, AnAwayTheUserAskedForIsKeptWhileActive) {
  server::RealtimeOptions options;
  options.away_after = 400ms;
  start(options);
  auto alice = login("alice");
  auto bob = login("bob");
  join(*bob, "room");
  join(*alice, "room");
  EXPECT_EQ(type_of(receive(*bob)), "presence_join");
  send(*alice, {{"type", "presence"}, {"status", "away"}});
  EXPECT_EQ(receive(*bob)["status"], "away");
  send(*alice, {{"type", "ping"}});
  EXPECT_EQ(type_of(receive(*alice)), "presence_update");  // its own away
  EXPECT_EQ(type_of(receive(*alice)), "pong");
  // No "online" for alice follows the ping; bob only sees itself go idle.
  auto update = receive(*bob, 3s);
  EXPECT_EQ(update["user_id"], "bob");
  EXPECT_EQ(update["status"], "away");
}

TEST_P(PresenceTest, DisconnectIsALeaveAndIsStoredAsOffline) {
  start();
  auto alice = login("alice");
  auto bob = login("bob");
  join(*alice, "room");
  join(*bob, "room");
  EXPECT_EQ(type_of(receive(*alice)), "presence_join");
  EXPECT_TRUE(wait_rows(
      room_id_, [](const std::vector<store::PresenceRecord>& rows) { return rows.size() == 2u; }));
  bob->send_close(1000);
  auto left = receive(*alice);
  EXPECT_EQ(type_of(left), "presence_leave");
  EXPECT_EQ(left["user_id"], "bob");
  EXPECT_TRUE(wait_rows(room_id_, [](const std::vector<store::PresenceRecord>& rows) {
    for (const auto& row : rows) {
      if (row.user_id == "bob") return row.status == store::PresenceStatus::kOffline;
    }
    return false;
  }));
}

TEST_P(PresenceTest, ADroppedSocketIsALeave) {
  start();
  auto alice = login("alice");
  auto bob = login("bob");
  join(*alice, "room");
  join(*bob, "room");
  EXPECT_EQ(type_of(receive(*alice)), "presence_join");
  // As when the client process is killed: the socket closes, no close frame.
  bob.reset();
  auto left = receive(*alice);
  EXPECT_EQ(type_of(left), "presence_leave");
  EXPECT_EQ(left["user_id"], "bob");
  // bob can come back and joins again.
  auto again = login("bob");
  join(*again, "room");
  EXPECT_EQ(type_of(receive(*alice)), "presence_join");
}

TEST_P(PresenceTest, ADeadPeerIsClosedAtItsIdleTimeoutAndLeaves) {
  // Pings every 100 ms: alice answers them while she waits (receive), bob, a
  // dead peer whose socket stays open, never reads nor answers: nothing comes
  // from him, and the idle timeout closes him.
  auto options = test_server_options();
  options.ping_interval = 100ms;
  options.idle_timeout = 1s;
  options.close_timeout = 200ms;  // bob will not answer the close frame either
  start({}, options);
  auto alice = login("alice");
  auto bob = login("bob");
  join(*alice, "room");
  join(*bob, "room");
  EXPECT_EQ(type_of(receive(*alice)), "presence_join");
  auto left = receive(*alice, 10s);
  EXPECT_EQ(type_of(left), "presence_leave") << json::serialize(left);
  EXPECT_EQ(left["user_id"], "bob");
  EXPECT_EQ(left["channel"], "room");
  // It was the idle timeout (1001), and alice, who answered, is still here.
  auto close = bob->next_non_ping(5s, false);
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->kind, core::ws::Event::Kind::kClose);
  EXPECT_EQ(close->close_code, core::ws::close_code::kGoingAway) << close->payload;
  expect_pong_next(*alice);
}

TEST_P(PresenceTest, HeartbeatKeepsLiveRowsAndRemovesStaleOnes) {
  const auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  {
    // Left behind by a server that died an hour ago.
    store::PresenceRecord ghost;
    ghost.user_id = "ghost";
    ghost.channel_id = room_id_;
    ghost.updated_at = now - 1h;
    open_store()->update_presence(ghost);
  }
  server::RealtimeOptions options;
  options.heartbeat_interval = 200ms;
  options.stale_presence_after = 1s;
  start(options);
  auto alice = login("alice");
  auto members = join(*alice, "room");
  EXPECT_EQ(users_of(members), std::vector<std::string>{"alice"});  // rows are not the state
  auto only_alice = [](const std::vector<store::PresenceRecord>& rows) {
    return rows.size() == 1u && rows[0].user_id == "alice";
  };
  EXPECT_TRUE(wait_rows(room_id_, only_alice));
  // Well past stale_presence_after, alice's row is still there, kept fresh.
  std::this_thread::sleep_for(2s);
  auto rows = open_store()->list_presence(room_id_);
  ASSERT_TRUE(only_alice(rows));
  EXPECT_GT(rows[0].updated_at, std::chrono::time_point_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now()) -
                                    1s);
}

TEST_P(PresenceTest, NonPresenceChannelsHaveNoPresenceEvents) {
  start();
  auto alice = login("alice");
  auto bob = login("bob");
  subscribe(*alice, "general");
  subscribe(*bob, "general");
  // Control: both also in a presence channel, where bob's close is a leave
  // (the same event that must not make one in general).
  join(*alice, "room");
  join(*bob, "room");
  EXPECT_EQ(type_of(receive(*alice)), "presence_join");
  bob->send_close(1000);
  auto left = receive(*alice);
  EXPECT_EQ(type_of(left), "presence_leave") << json::serialize(left);
  EXPECT_EQ(left["channel"], "room");
  // The close is handled in one go under the handler's lock (its events are
  // queued for alice's loop from bob's, one channel after the other): once
  // general counts alice alone it is done, and a ping barrier then shows
  // nothing more was queued for her.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (handler_->subscriber_count(general_id_) != 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(handler_->subscriber_count(general_id_), 1u);
  expect_pong_next(*alice);
}

INSTANTIATE_TEST_SUITE_P(Backends, PresenceTest, kBackends,
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace nself::test
