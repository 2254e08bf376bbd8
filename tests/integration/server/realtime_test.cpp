// The real-time protocol end to end: an in-process server with the
// RealtimeHandler, talked to with the byte-level client. Every request type and
// error code the handler implements, on both stores: SQLite in a temp dir and
// a fresh database in the PostgreSQL server of scripts/test-env.sh.

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "core/auth/base64url.hpp"
#include "core/auth/jwt_verifier.hpp"
#include "protocol_fixture.hpp"
#include "server/realtime_handler.hpp"
#include "store/store.hpp"
#include "support/raw_client.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_backend.hpp"

namespace nself::test {
namespace {

namespace json = boost::json;
namespace ws = core::ws;
using namespace std::chrono_literals;

store::NewChannel new_channel(const std::string& name, const std::string& slug) {
  store::NewChannel channel;
  channel.name = name;
  channel.slug = slug;
  return channel;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The shared protocol fixture (protocol_fixture.hpp) with this suite's
// channels: general (public), team (private, alice a member), live (ephemeral).
class RealtimeTest : public ProtocolTest {
 protected:
  void create_channels(store::Store& store) override {
    const auto now =
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    general_id_ = store.create_channel(new_channel("General", "general"), now)->id;
    store::NewChannel team = new_channel("Team", "team");
    team.type = core::ChannelType::kPrivate;
    auto team_channel = store.create_channel(team, now);
    store::ChannelMember member;
    member.channel_id = team_channel->id;
    member.user_id = "alice";
    store.upsert_member(member);
    store::NewChannel live = new_channel("Live", "live");
    live.is_persistent = false;
    (void)store.create_channel(live, now);
  }
};

// The tests of what the store does not take part in (authentication, typing,
// request parsing): on SQLite only (kAnyStoreBackend).
class RealtimeAnyStoreTest : public RealtimeTest {};

TEST_P(RealtimeAnyStoreTest, AuthByFirstMessage) {
  start();
  RawClient client(server_->port());
  ASSERT_EQ(client.handshake().status, 101);
  send(client, {{"type", "ping"}, {"ref", 1}});
  auto refused = receive(client);
  EXPECT_EQ(code_of(refused), "unauthenticated");
  EXPECT_EQ(refused.at("ref").as_int64(), 1);
  send(client, {{"type", "auth"}, {"token", token_for("alice")}, {"ref", "a"}});
  auto ok = receive(client);
  EXPECT_EQ(type_of(ok), "auth_ok");
  EXPECT_EQ(ok.at("user_id").as_string(), "alice");
  EXPECT_EQ(ok.at("ref").as_string(), "a");
  EXPECT_EQ(ok.at("connection_id").as_string().size(), 36u);
}

TEST_P(RealtimeAnyStoreTest, BadFirstTokenIsAnErrorThenClose4001) {
  start();
  RawClient client(server_->port());
  ASSERT_EQ(client.handshake().status, 101);
  send(client, {{"type", "auth"}, {"token", "not.a.jwt"}});
  EXPECT_EQ(code_of(receive(client)), "invalid_token");
  expect_close(client, ws::close_code::kAuthFailed);
}

TEST_P(RealtimeAnyStoreTest, ForgedAndAlgNoneTokensAreRefused) {
  start();
  // Signed with another secret.
  const core::auth::JwtKey other{core::auth::JwtAlgorithm::kHS256,
                                 "another-secret-another-secret-32b"};
  const auto forged = core::auth::sign_jwt(other, R"({"sub":"alice"})");
  ASSERT_TRUE(forged.ok());
  // {"alg":"none"} with an empty signature.
  const std::string none = core::auth::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                           core::auth::base64url_encode(R"({"sub":"alice","role":"admin"})") + ".";
  // A valid token with its payload swapped for another user's.
  const auto valid = token_for("bob");
  const auto first_dot = valid.find('.');
  const auto second_dot = valid.find('.', first_dot + 1);
  const std::string tampered = valid.substr(0, first_dot + 1) +
                               core::auth::base64url_encode(R"({"sub":"alice"})") +
                               valid.substr(second_dot);
  for (const auto& token : {forged.value(), none, tampered}) {
    RawClient client(server_->port());
    ASSERT_EQ(client.handshake().status, 101);
    send(client, {{"type", "auth"}, {"token", token}});
    EXPECT_EQ(code_of(receive(client)), "invalid_token") << token;
    expect_close(client, ws::close_code::kAuthFailed);
  }
}

TEST_P(RealtimeAnyStoreTest, ExpiredTokenIsRefused) {
  start();
  RawClient client(server_->port());
  ASSERT_EQ(client.handshake().status, 101);
  send(client, {{"type", "auth"}, {"token", token_for("alice", unix_now() - 10)}});
  EXPECT_EQ(code_of(receive(client)), "token_expired");
  expect_close(client, ws::close_code::kAuthFailed);
}

TEST_P(RealtimeAnyStoreTest, BearerHeaderAndQueryTokenAuthenticateAtUpgrade) {
  start();
  RawClient header(server_->port());
  ASSERT_EQ(header.handshake("/", "Authorization: Bearer " + token_for("alice") + "\r\n").status,
            101);
  EXPECT_EQ(type_of(receive(header)), "auth_ok");
  RawClient query(server_->port());
  ASSERT_EQ(query.handshake("/ws?token=" + token_for("bob")).status, 101);
  auto ok = receive(query);
  EXPECT_EQ(type_of(ok), "auth_ok");
  EXPECT_EQ(ok.at("user_id").as_string(), "bob");
}

TEST_P(RealtimeAnyStoreTest, BadUpgradeTokenIs401) {
  start();
  RawClient client(server_->port());
  HttpReply reply = client.handshake("/", "Authorization: Bearer garbage\r\n");
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(json::parse(reply.body).at("error").at("code").as_string(), "invalid_token");
}

TEST_P(RealtimeAnyStoreTest, NoAuthWithinTheDeadlineCloses4001) {
  server::RealtimeOptions options;
  options.auth_timeout = 300ms;
  start(options);
  RawClient client(server_->port());
  ASSERT_EQ(client.handshake().status, 101);
  EXPECT_EQ(type_of(receive(client)), "error");
  expect_close(client, ws::close_code::kAuthFailed);
}

TEST_P(RealtimeAnyStoreTest, TokenExpiryWhileConnectedCloses4001) {
  start();
  RawClient client(server_->port());
  ASSERT_EQ(client.handshake().status, 101);
  send(client, {{"type", "auth"}, {"token", token_for("alice", unix_now() + 2)}});
  EXPECT_EQ(type_of(receive(client)), "auth_ok");
  auto expired = receive(client, 5s);
  EXPECT_EQ(code_of(expired), "token_expired");
  expect_close(client, ws::close_code::kAuthFailed);
}

TEST_P(RealtimeAnyStoreTest, RefreshNeedsTheSameUser) {
  start();
  auto client = login("alice");
  send(*client, {{"type", "auth"}, {"token", token_for("bob")}, {"ref", 2}});
  EXPECT_EQ(code_of(receive(*client)), "invalid_token");
  send(*client, {{"type", "auth"}, {"token", token_for("alice", unix_now() + 3600)}, {"ref", 3}});
  auto ok = receive(*client);
  EXPECT_EQ(type_of(ok), "auth_ok");
  EXPECT_FALSE(ok.at("expires_at").is_null());
}

TEST_P(RealtimeTest, MessageIsStoredFannedOutAndAcked) {
  start();
  auto alice = login("alice");
  auto bob = login("bob");
  subscribe(*alice, "general");
  subscribe(*bob, "general");
  send(*alice, {{"type", "message"}, {"channel", "general"}, {"content", "hi"}, {"ref", "m1"}});
  auto delivered = receive(*bob);
  EXPECT_EQ(type_of(delivered), "message");
  EXPECT_EQ(delivered.at("content").as_string(), "hi");
  EXPECT_EQ(delivered.at("seq").as_int64(), 1);
  EXPECT_EQ(delivered.at("user_id").as_string(), "alice");
  EXPECT_EQ(delivered.at("channel").as_string(), "general");
  auto own = receive(*alice);
  EXPECT_EQ(type_of(own), "message");
  auto ack = receive(*alice);
  EXPECT_EQ(type_of(ack), "ack");
  EXPECT_EQ(ack.at("ref").as_string(), "m1");
  EXPECT_EQ(ack.at("seq").as_int64(), 1);
  EXPECT_EQ(ack.at("id").as_string(), delivered.at("id").as_string());
  // Stored: history has it, and a new subscriber sees seq 1.
  send(*bob, {{"type", "history"}, {"channel", "general"}, {"ref", 9}});
  auto history = receive(*bob);
  EXPECT_EQ(type_of(history), "history");
  ASSERT_EQ(history.at("messages").as_array().size(), 1u);
  EXPECT_FALSE(history.at("has_more").as_bool());
  EXPECT_GE(worker_->messages(), 1u);
}

TEST_P(RealtimeTest, ManyMessagesAreCommittedInOrderWithGapFreeSeq) {
  server::RealtimeOptions options;
  options.max_messages_per_second = 1000;  // a burst of 200 is the point here
  start(options);
  auto alice = login("alice");
  subscribe(*alice, "general");
  std::string burst;
  for (int i = 0; i < 200; ++i) {
    burst += RawClient::frame(
        ws::Opcode::kText,
        json::serialize(json::object{{"type", "message"}, {"channel", "general"}, {"content", i}}));
  }
  alice->send_raw(burst);
  std::int64_t expected_seq = 1;
  int acks = 0;
  while (acks < 200) {
    auto event = receive(*alice);
    if (type_of(event) == "message") {
      EXPECT_EQ(event.at("seq").as_int64(), expected_seq);
      EXPECT_EQ(event.at("content").as_int64(), expected_seq - 1);
      ++expected_seq;
    } else {
      ASSERT_EQ(type_of(event), "ack") << json::serialize(event);
      ++acks;
    }
  }
  // Group commit: fewer batches than messages.
  EXPECT_LT(worker_->batches(), 200u);
}

TEST_P(RealtimeTest, SubscribeWithHistoryAndSince) {
  start();
  auto alice = login("alice");
  for (int i = 0; i < 5; ++i) {
    send(*alice, {{"type", "message"}, {"channel", "general"}, {"content", i}});
    EXPECT_EQ(type_of(receive(*alice)), "ack");  // not subscribed: only the ack
  }
  auto bob = login("bob");
  send(*bob, {{"type", "subscribe"}, {"channel", "general"}, {"history", 2}, {"ref", "h"}});
  auto subscribed = receive(*bob);
  EXPECT_EQ(subscribed.at("seq").as_int64(), 5);
  auto history = receive(*bob);
  ASSERT_EQ(type_of(history), "history");
  EXPECT_EQ(history.at("ref").as_string(), "h");
  auto messages = history.at("messages").as_array();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].at("seq").as_int64(), 4);
  EXPECT_EQ(messages[1].at("seq").as_int64(), 5);
  EXPECT_TRUE(history.at("has_more").as_bool());
  auto carol = login("carol");
  send(*carol, {{"type", "subscribe"}, {"channel", general_id_}, {"since", 3}});
  EXPECT_EQ(type_of(receive(*carol)), "subscribed");
  auto since = receive(*carol);
  ASSERT_EQ(since.at("messages").as_array().size(), 2u);
  EXPECT_FALSE(since.at("has_more").as_bool());
}

// Stores `count` messages in `channel_id` (contents 1..count) straight into
// the store, before the server starts: faster than sending them.
void store_messages(store::Store& store, const std::string& channel_id, int count) {
  std::vector<store::NewMessage> messages(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    messages[static_cast<std::size_t>(i)].channel_id = channel_id;
    messages[static_cast<std::size_t>(i)].user_id = "alice";
    messages[static_cast<std::size_t>(i)].content = std::to_string(i + 1);
  }
  store.append_messages(messages, std::chrono::time_point_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now()));
}

// The seqs of a history event's messages, oldest first.
std::vector<std::int64_t> seqs_of(const json::object& history) {
  std::vector<std::int64_t> seqs;
  for (const auto& message : history.at("messages").as_array()) {
    seqs.push_back(message.as_object().at("seq").as_int64());
  }
  return seqs;
}

std::vector<std::int64_t> seq_range(std::int64_t first, std::int64_t last) {
  std::vector<std::int64_t> seqs;
  for (std::int64_t seq = first; seq <= last; ++seq) seqs.push_back(seq);
  return seqs;
}

TEST_P(RealtimeTest, SinceWithMoreThanAThousandMissedSaysHasMoreAndHistoryFetchesTheRest) {
  store_messages(*open_store(), general_id_, 1005);
  start();
  auto bob = login("bob");
  // 1003 missed: the oldest 1000 of them, and has_more.
  send(*bob, {{"type", "subscribe"}, {"channel", "general"}, {"since", 2}, {"ref", "s"}});
  auto subscribed = receive(*bob);
  ASSERT_EQ(type_of(subscribed), "subscribed") << json::serialize(subscribed);
  EXPECT_EQ(subscribed.at("seq").as_int64(), 1005);
  auto replay = receive(*bob);
  ASSERT_EQ(type_of(replay), "history");
  EXPECT_EQ(replay.at("ref").as_string(), "s");
  EXPECT_EQ(seqs_of(replay), seq_range(3, 1002));
  EXPECT_EQ(replay.at("messages").as_array().front().as_object().at("content"), 3);
  EXPECT_TRUE(replay.at("has_more").as_bool());
  // The rest, by history up to the seq of `subscribed`.
  send(*bob, {{"type", "history"}, {"channel", "general"}, {"before", 1006}, {"limit", 3}});
  auto rest = receive(*bob);
  EXPECT_EQ(seqs_of(rest), seq_range(1003, 1005));
  // Exactly 1000 missed: all of them, no has_more; none missed: none.
  auto carol = login("carol");
  send(*carol, {{"type", "subscribe"}, {"channel", "general"}, {"since", 5}});
  EXPECT_EQ(type_of(receive(*carol)), "subscribed");
  auto all = receive(*carol);
  EXPECT_EQ(seqs_of(all), seq_range(6, 1005));
  EXPECT_FALSE(all.at("has_more").as_bool());
  send(*carol, {{"type", "subscribe"}, {"channel", "general"}, {"since", 1005}});
  EXPECT_EQ(type_of(receive(*carol)), "subscribed");
  auto none = receive(*carol);
  ASSERT_EQ(type_of(none), "history");
  EXPECT_TRUE(none.at("messages").as_array().empty());
  EXPECT_FALSE(none.at("has_more").as_bool());
}

TEST_P(RealtimeTest, SinceOnAnEphemeralChannelReplaysNothingAndDeliversWhatFollows) {
  start();
  auto alice = login("alice");
  for (int i = 1; i <= 3; ++i) {
    send(*alice, {{"type", "message"}, {"channel", "live"}, {"content", i}});
    EXPECT_EQ(type_of(receive(*alice)), "ack");  // not subscribed: only the ack
  }
  auto bob = login("bob");
  send(*bob, {{"type", "subscribe"}, {"channel", "live"}, {"since", 0}, {"ref", "e"}});
  auto subscribed = receive(*bob);
  ASSERT_EQ(type_of(subscribed), "subscribed") << json::serialize(subscribed);
  EXPECT_EQ(subscribed.at("seq").as_int64(), 3);
  auto replay = receive(*bob);
  ASSERT_EQ(type_of(replay), "history") << json::serialize(replay);
  EXPECT_EQ(replay.at("ref").as_string(), "e");
  EXPECT_TRUE(replay.at("messages").as_array().empty()) << json::serialize(replay);
  EXPECT_FALSE(replay.at("has_more").as_bool());
  send(*alice, {{"type", "message"}, {"channel", "live"}, {"content", 4}});
  auto live = receive(*bob);
  EXPECT_EQ(type_of(live), "message");
  EXPECT_EQ(live.at("seq").as_int64(), 4);
  EXPECT_EQ(live.at("content"), 4);
}

TEST_P(RealtimeTest, HistoryBeforeBoundaries) {
  store_messages(*open_store(), general_id_, 5);
  start();
  auto bob = login("bob");
  const auto history = [&](json::object request) {
    request["type"] = "history";
    request["channel"] = "general";
    send(*bob, request);
    auto reply = receive(*bob);
    EXPECT_EQ(type_of(reply), "history") << json::serialize(reply);
    return reply;
  };
  // `before` is exclusive; has_more says whether older ones exist.
  auto newest = history({{"limit", 2}});
  EXPECT_EQ(seqs_of(newest), seq_range(4, 5));
  EXPECT_TRUE(newest.at("has_more").as_bool());
  auto page = history({{"limit", 2}, {"before", 4}});
  EXPECT_EQ(seqs_of(page), seq_range(2, 3));
  EXPECT_TRUE(page.at("has_more").as_bool());
  auto last_page = history({{"limit", 2}, {"before", 2}});
  EXPECT_EQ(seqs_of(last_page), seq_range(1, 1));
  EXPECT_FALSE(last_page.at("has_more").as_bool());
  for (const std::int64_t before : {1, 0}) {
    auto empty = history({{"before", before}});
    EXPECT_TRUE(empty.at("messages").as_array().empty()) << before;
    EXPECT_FALSE(empty.at("has_more").as_bool()) << before;
  }
  auto exact = history({{"limit", 5}, {"before", 6}});
  EXPECT_EQ(seqs_of(exact), seq_range(1, 5));
  EXPECT_FALSE(exact.at("has_more").as_bool());
  auto past_the_end = history({{"before", 1000000}});
  EXPECT_EQ(seqs_of(past_the_end), seq_range(1, 5));
  EXPECT_FALSE(past_the_end.at("has_more").as_bool());
  // Out of range: bad_request.
  for (const auto& bad :
       {json::object{{"before", -1}}, json::object{{"limit", 0}}, json::object{{"limit", 1001}}}) {
    json::object request = bad;
    request["type"] = "history";
    request["channel"] = "general";
    send(*bob, request);
    auto error = receive(*bob);
    EXPECT_EQ(code_of(error), "bad_request") << json::serialize(request);
  }
  EXPECT_EQ(seqs_of(history({{"limit", 1000}})), seq_range(1, 5));
}

TEST_P(RealtimeTest, PrivateChannelsAreForMembersAndAdmins) {
  start();
  auto bob = login("bob");
  send(*bob, {{"type", "subscribe"}, {"channel", "team"}, {"ref", 1}});
  EXPECT_EQ(code_of(receive(*bob)), "forbidden");
  send(*bob, {{"type", "message"}, {"channel", "team"}, {"content", "x"}});
  EXPECT_EQ(code_of(receive(*bob)), "forbidden");
  send(*bob, {{"type", "history"}, {"channel", "team"}});
  EXPECT_EQ(code_of(receive(*bob)), "forbidden");
  auto alice = login("alice");
  subscribe(*alice, "team");
  auto admin = login("root", "admin");
  subscribe(*admin, "team");
}

TEST_P(RealtimeTest, UnknownChannelIsNotFound) {
  start();
  auto alice = login("alice");
  send(*alice, {{"type", "subscribe"}, {"channel", "nope"}, {"ref", 4}});
  auto error = receive(*alice);
  EXPECT_EQ(code_of(error), "not_found");
  EXPECT_EQ(error.at("ref").as_int64(), 4);
  send(*alice, {{"type", "message"}, {"channel", "nope"}, {"content", 1}});
  EXPECT_EQ(code_of(receive(*alice)), "not_found");
}

TEST_P(RealtimeTest, UnsubscribeStopsDelivery) {
  start();
  auto alice = login("alice");
  auto bob = login("bob");
  subscribe(*alice, "general");
  subscribe(*bob, "general");
  send(*bob, {{"type", "unsubscribe"}, {"channel", "general"}, {"ref", 5}});
  auto reply = receive(*bob);
  EXPECT_EQ(type_of(reply), "unsubscribed");
  EXPECT_EQ(reply.at("ref").as_int64(), 5);
  send(*alice, {{"type", "message"}, {"channel", "general"}, {"content", "after"}});
  EXPECT_EQ(type_of(receive(*alice)), "message");
  send(*bob, {{"type", "ping"}, {"ref", 6}});
  EXPECT_EQ(type_of(receive(*bob)), "pong");  // and no message before it
}

TEST_P(RealtimeTest, EphemeralChannelDeliversWithoutStoring) {
  start();
  auto alice = login("alice");
  auto bob = login("bob");
  subscribe(*alice, "live");
  subscribe(*bob, "live");
  send(*alice, {{"type", "message"}, {"channel", "live"}, {"content", {{"x", 1}}}});
  auto delivered = receive(*bob);
  EXPECT_EQ(type_of(delivered), "message");
  EXPECT_EQ(delivered.at("seq").as_int64(), 1);
  send(*bob, {{"type", "history"}, {"channel", "live"}});
  EXPECT_TRUE(receive(*bob).at("messages").as_array().empty());
}

TEST_P(RealtimeAnyStoreTest, TypingReachesOthersAndTurnsOffByItself) {
  server::RealtimeOptions options;
  options.typing_timeout = 300ms;
  start(options);
  auto alice = login("alice");
  auto bob = login("bob");
  subscribe(*alice, "general");
  subscribe(*bob, "general");
  send(*alice, {{"type", "typing"}, {"channel", "general"}, {"typing", true}});
  auto on = receive(*bob);
  EXPECT_EQ(type_of(on), "typing");
  EXPECT_TRUE(on.at("typing").as_bool());
  auto off = receive(*bob, 3s);
  EXPECT_EQ(type_of(off), "typing");
  EXPECT_FALSE(off.at("typing").as_bool());
  // The typist gets neither.
  send(*alice, {{"type", "ping"}});
  EXPECT_EQ(type_of(receive(*alice)), "pong");
}

TEST_P(RealtimeAnyStoreTest, MalformedRequestsAreBadRequest) {
  start();
  auto alice = login("alice");
  alice->send_text("{not json");
  EXPECT_EQ(code_of(receive(*alice)), "bad_request");
  send(*alice, {{"type", "subscribe"}});
  EXPECT_EQ(code_of(receive(*alice)), "bad_request");
  send(*alice, {{"type", "launch"}});
  EXPECT_EQ(code_of(receive(*alice)), "bad_request");
}

TEST_P(RealtimeTest, ConnectionAndSubscriptionRowsAreKeptLive) {
  start();
  const auto store_options = store_options_;
  {
    auto alice = login("alice");
    subscribe(*alice, "general");
    send(*alice, {{"type", "ping"}});
    (void)receive(*alice);
    auto store = store::open_store(store_options);
    auto connections = store->list_connections(false);
    ASSERT_EQ(connections.size(), 1u);
    EXPECT_EQ(connections[0].user_id, "alice");
    EXPECT_EQ(store->count_subscriptions(connections[0].connection_id), 1);
    alice->send_close(ws::close_code::kNormal);
    EXPECT_TRUE(alice->wait_eof(5s));
  }
  auto store = store::open_store(store_options);
  for (int attempt = 0; attempt < 50 && !store->list_connections(false).empty(); ++attempt) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(store->list_connections(false).empty());
}

TEST_P(RealtimeTest, HeartbeatRefreshesLastSeen) {
  server::RealtimeOptions options;
  options.heartbeat_interval = 100ms;
  start(options);
  const auto store_options = store_options_;
  auto alice = login("alice");
  auto store = store::open_store(store_options);
  std::vector<store::ConnectionRecord> connections;
  for (int attempt = 0; attempt < 50 && connections.empty(); ++attempt) {
    connections = store->list_connections(false);
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(connections.size(), 1u);
  const auto first_seen = connections[0].last_seen_at;
  // The test sweep ticks every few ms; within a few seconds a heartbeat must
  // have moved last_seen_at forward while the client stays silent.
  bool advanced = false;
  for (int attempt = 0; attempt < 100 && !advanced; ++attempt) {
    std::this_thread::sleep_for(50ms);
    const auto now = store->list_connections(false);
    advanced = now.size() == 1 && now[0].last_seen_at > first_seen;
  }
  EXPECT_TRUE(advanced) << "last_seen_at did not move";
}

TEST_P(RealtimeTest, SlowFanOutIsLoggedWithItsDuration) {
  auto captured = std::make_shared<std::ostringstream>();
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(*captured)));
  server::RealtimeOptions options;
  options.slow_fan_out = 0ms;  // every fan-out is "slow"
  start(options);
  auto alice = login("alice");
  subscribe(*alice, "general");
  send(*alice, {{"type", "message"}, {"channel", "general"}, {"content", "x"}, {"ref", 1}});
  EXPECT_EQ(type_of(receive(*alice)), "message");
  // alice leaves first: a stop with her still open would wait out her close
  // timeout (5 s), since this client does not answer the server's close frame.
  alice->send_close(1000);
  ASSERT_TRUE(alice->wait_eof());
  server_.reset();  // the loop is done logging
  spdlog::set_default_logger(previous);
  EXPECT_NE(captured->str().find("slow fan-out: 1 subscribers of channel " + general_id_),
            std::string::npos)
      << captured->str();
  EXPECT_NE(captured->str().find("(threshold 0 ms)"), std::string::npos);
}

TEST_P(RealtimeTest, DatabaseDownIsUnavailableAndNothingIsDelivered) {
  // A worker whose store cannot be opened.
  worker_ = std::make_unique<server::StoreWorker>([]() -> std::unique_ptr<store::Store> {
    throw store::StoreUnavailable("down for the test");
  });
  start();
  auto alice = login("alice");
  send(*alice, {{"type", "message"}, {"channel", "general"}, {"content", 1}, {"ref", 1}});
  auto error = receive(*alice);
  EXPECT_EQ(code_of(error), "unavailable");
  EXPECT_EQ(error.at("ref").as_int64(), 1);
  send(*alice, {{"type", "subscribe"}, {"channel", "general"}});
  EXPECT_EQ(code_of(receive(*alice)), "unavailable");
}

INSTANTIATE_TEST_SUITE_P(Backends, RealtimeTest, kStoreBackends,
                         [](const auto& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Backends, RealtimeAnyStoreTest, kAnyStoreBackend,
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace nself::test
