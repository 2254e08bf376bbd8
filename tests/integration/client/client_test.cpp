// The C++ client library (clients/cpp) against the real server: an in-process
// Server + RealtimeHandler on a SQLite store in a temp dir.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/auth/jwt_verifier.hpp"
#include "cpp/realtime_client.hpp"
#include "server/realtime_handler.hpp"
#include "store/store.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"

namespace nself::test {
namespace {

namespace json = boost::json;
using client::ClientError;
using client::ConnectOptions;
using client::RealtimeClient;
using namespace std::chrono_literals;

const core::auth::JwtKey kKey{core::auth::JwtAlgorithm::kHS256, "test-secret-test-secret-32-bytes"};
const core::auth::JwtKey kOtherKey{core::auth::JwtAlgorithm::kHS256,
                                   "another-secret-another-secret-32"};

std::string token_for(const std::string& user, const core::auth::JwtKey& key = kKey) {
  json::object claims{{"sub", user}, {"role", "user"}};
  auto token = core::auth::sign_jwt(key, json::serialize(claims));
  EXPECT_TRUE(token.ok());
  return token.value();
}

ConnectOptions with_token(std::string token) {
  ConnectOptions options;
  options.token = std::move(token);
  return options;
}
ConnectOptions with_query(std::string query) {
  ConnectOptions options;
  options.query = std::move(query);
  return options;
}

// The error code a call throws, or "" when it does not throw ClientError.
template <class Call>
std::string error_code_of(Call call) {
  try {
    call();
  } catch (const ClientError& error) {
    return error.code();
  }
  return "";
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::StoreOptions store_options;
    store_options.sqlite_path = (dir_.path() / "client.db").string();
    {
      auto store = store::open_store(store_options);
      store->migrate();
      auto now =
          std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
      store::NewChannel general;
      general.name = "General";
      general.slug = "general";
      (void)store->create_channel(general, now);
      store::NewChannel team;
      team.name = "Team";
      team.slug = "team";
      team.type = core::ChannelType::kPrivate;
      (void)store->create_channel(team, now);
    }
    worker_ = std::make_unique<server::StoreWorker>(
        [store_options] { return store::open_store(store_options); });
    handler_ = std::make_unique<server::RealtimeHandler>(verifier_, *worker_);
    server_ = std::make_unique<RunningServer>(test_server_options(), *handler_);
  }

  RealtimeClient connect(ConnectOptions options = {}) {
    return RealtimeClient::connect("127.0.0.1", server_->port(), std::move(options));
  }
  // A client authenticated as `user` through the Authorization header.
  RealtimeClient login(const std::string& user) {
    auto client = connect(with_token(token_for(user)));
    EXPECT_EQ(client.next_event_of_type("auth_ok", 5s).at("user_id").as_string(), user);
    return client;
  }

  TempDir dir_;
  core::auth::JwtVerifier verifier_{{kKey}};
  std::unique_ptr<server::StoreWorker> worker_;
  std::unique_ptr<server::RealtimeHandler> handler_;
  std::unique_ptr<RunningServer> server_;
};

TEST_F(ClientTest, BearerHeaderGetsAuthOkFirst) {
  auto client = connect(with_token(token_for("alice")));
  auto first = client.next_event(5s);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->at("type").as_string(), "auth_ok");
  EXPECT_EQ(first->at("user_id").as_string(), "alice");
}

TEST_F(ClientTest, QueryTokenGetsAuthOk) {
  auto client = connect(with_query("token=" + token_for("bob")));
  EXPECT_EQ(client.next_event_of_type("auth_ok", 5s).at("user_id").as_string(), "bob");
}

TEST_F(ClientTest, AuthMessageAfterConnect) {
  auto client = connect();
  EXPECT_EQ(error_code_of([&] { client.subscribe("general"); }), "unauthenticated");
  auto ok = client.auth(token_for("alice"));
  EXPECT_EQ(ok.at("type").as_string(), "auth_ok");
  EXPECT_EQ(ok.at("user_id").as_string(), "alice");
  EXPECT_EQ(ok.at("ref").as_string(), "c2");  // generated refs count up per client
}

TEST_F(ClientTest, BadTokenInAuthMessageThrowsInvalidTokenThenCloses4001) {
  auto client = connect();
  EXPECT_EQ(error_code_of([&] { client.auth(token_for("alice", kOtherKey)); }), "invalid_token");
  auto closed = client.wait_closed(5s);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, 4001);
  EXPECT_FALSE(client.is_open());
  EXPECT_EQ(error_code_of([&] { client.send_json({{"type", "ping"}}); }), "closed");

  auto malformed = connect();
  EXPECT_EQ(error_code_of([&] { malformed.auth("not-a-jwt"); }), "invalid_token");
  EXPECT_EQ(error_code_of([&] { malformed.auth(""); }), "closed");
}

TEST_F(ClientTest, BadTokenOnUpgradeThrowsHttp401) {
  EXPECT_EQ(error_code_of([&] { connect(with_token(token_for("alice", kOtherKey))); }), "http_401");
  EXPECT_EQ(error_code_of([&] { connect(with_token("garbage")); }), "http_401");
  EXPECT_EQ(error_code_of([&] { connect(with_query("token=garbage")); }), "http_401");
}

TEST_F(ClientTest, ConnectToAClosedPortThrowsConnect) {
  auto port = server_->port();
  server_->stop_and_join();
  ConnectOptions options;
  options.timeout = 2s;
  EXPECT_EQ(error_code_of([&] { RealtimeClient::connect("127.0.0.1", port, options); }), "connect");
}

TEST_F(ClientTest, MessageIsAckedAndDeliveredToAnotherClient) {
  auto alice = login("alice");
  auto bob = login("bob");
  auto subscribed = alice.subscribe("general");
  EXPECT_EQ(subscribed.at("type").as_string(), "subscribed");
  EXPECT_EQ(subscribed.at("seq").as_int64(), 0);
  bob.subscribe("general");

  json::value content = json::parse(R"({"text":"hi","n":[1,0.1]})");
  auto ack = alice.send_message("general", content, "m-1");
  EXPECT_EQ(ack.at("type").as_string(), "ack");
  EXPECT_EQ(ack.at("ref").as_string(), "m-1");
  EXPECT_EQ(ack.at("seq").as_int64(), 1);
  EXPECT_EQ(ack.at("channel").as_string(), "general");

  auto received = bob.next_event_of_type("message", 5s);
  EXPECT_EQ(received.at("id"), ack.at("id"));
  EXPECT_EQ(received.at("seq"), ack.at("seq"));
  EXPECT_EQ(received.at("user_id").as_string(), "alice");
  EXPECT_EQ(received.at("content"), content);
  EXPECT_EQ(received.find("ref"), received.end());

  // The sender's own copy stayed queued while send_message waited for the ack.
  auto own = alice.next_event_of_type("message", 5s);
  EXPECT_EQ(own.at("id"), ack.at("id"));

  auto second = alice.send_message("general", "again");
  EXPECT_EQ(second.at("seq").as_int64(), 2);
  EXPECT_EQ(bob.next_event_of_type("message", 5s).at("content").as_string(), "again");
}

TEST_F(ClientTest, NextEventOfTypeKeepsOtherEventsQueuedInOrder) {
  auto alice = login("alice");
  alice.subscribe("general");
  alice.send_json({{"type", "ping"}, {"ref", "p"}});
  alice.send_message("general", "one");
  // The pong and the message event are queued; take the message first.
  EXPECT_EQ(alice.next_event_of_type("message", 5s).at("content").as_string(), "one");
  auto next = alice.next_event(5s);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->at("type").as_string(), "pong");
  EXPECT_EQ(next->at("ref").as_string(), "p");
}

TEST_F(ClientTest, HistoryAndSinceOnSubscribe) {
  auto alice = login("alice");
  alice.subscribe("general");
  for (int i = 1; i <= 3; ++i) alice.send_message("general", i);

  auto bob = login("bob");
  auto subscribed = bob.subscribe("general", 2);
  EXPECT_EQ(subscribed.at("seq").as_int64(), 3);
  auto history = bob.next_event_of_type("history", 5s);
  EXPECT_EQ(history.at("ref"), subscribed.at("ref"));
  auto& messages = history.at("messages").as_array();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].at("seq").as_int64(), 2);
  EXPECT_EQ(messages[1].at("seq").as_int64(), 3);
  EXPECT_EQ(messages[1].at("content").as_int64(), 3);

  auto carol = login("carol");
  carol.subscribe("general", std::nullopt, 1);
  auto caught_up = carol.next_event_of_type("history", 5s).at("messages").as_array();
  ASSERT_EQ(caught_up.size(), 2u);
  EXPECT_EQ(caught_up[0].at("seq").as_int64(), 2);
}

TEST_F(ClientTest, ErrorRepliesThrowTheirCode) {
  auto bob = login("bob");
  EXPECT_EQ(error_code_of([&] { bob.subscribe("no-such-channel"); }), "not_found");
  EXPECT_EQ(error_code_of([&] { bob.subscribe("team"); }), "forbidden");
  EXPECT_EQ(error_code_of([&] { bob.subscribe("Not A Slug"); }), "bad_request");
  EXPECT_EQ(error_code_of([&] { bob.subscribe("general", 5, 1); }), "bad_request");
  EXPECT_EQ(error_code_of([&] { bob.subscribe("general", 1001); }), "bad_request");
  EXPECT_EQ(error_code_of([&] { bob.send_message("team", "x"); }), "forbidden");
  EXPECT_EQ(error_code_of([&] { bob.send_message("general", nullptr); }), "bad_request");
  // The connection survives errors.
  EXPECT_EQ(bob.subscribe("general").at("type").as_string(), "subscribed");
}

TEST_F(ClientTest, TimeoutsWhenNothingArrives) {
  auto alice = login("alice");
  EXPECT_FALSE(alice.next_event(100ms).has_value());
  EXPECT_EQ(error_code_of([&] { alice.next_event_of_type("message", 100ms); }), "timeout");
  EXPECT_FALSE(alice.wait_closed(100ms).has_value());
  EXPECT_TRUE(alice.is_open());
}

TEST_F(ClientTest, ServerStopClosesWith1001) {
  auto alice = login("alice");
  server_->server().stop();
  auto closed = alice.wait_closed(10s);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, 1001);
  EXPECT_EQ(error_code_of([&] { alice.next_event(100ms); }), "closed");
  EXPECT_EQ(error_code_of([&] { alice.subscribe("general"); }), "closed");
}

TEST_F(ClientTest, ClientCloseCompletesTheHandshake) {
  auto alice = login("alice");
  alice.close(1000);
  EXPECT_FALSE(alice.is_open());
  auto closed = alice.wait_closed(0ms);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, 1000);
  alice.close();  // a second close does nothing
}

TEST_F(ClientTest, MovedClientKeepsItsConnectionAndQueue) {
  auto alice = login("alice");
  alice.subscribe("general");
  alice.send_message("general", "queued");
  RealtimeClient moved = std::move(alice);
  EXPECT_EQ(moved.next_event_of_type("message", 5s).at("content").as_string(), "queued");
  EXPECT_EQ(moved.send_message("general", "after move").at("seq").as_int64(), 2);
}

TEST_F(ClientTest, RawRequestsThroughSendJson) {
  auto alice = login("alice");
  alice.subscribe("general");
  alice.send_message("general", "first");
  alice.send_json({{"type", "history"}, {"channel", "general"}, {"limit", 10}, {"ref", 7}});
  auto history = alice.next_event_of_type("history", 5s);
  EXPECT_EQ(history.at("ref").as_int64(), 7);
  ASSERT_EQ(history.at("messages").as_array().size(), 1u);
  EXPECT_EQ(history.at("messages").as_array()[0].at("content").as_string(), "first");
  // A malformed request is answered with an error event, not an exception.
  alice.send_json({{"type", "no-such-type"}});
  EXPECT_EQ(alice.next_event_of_type("error", 5s).at("code").as_string(), "bad_request");
}

}  // namespace
}  // namespace nself::test
