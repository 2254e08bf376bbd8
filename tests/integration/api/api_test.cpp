// The server's HTTP API (docs/API.md) end to end: an in-process server with
// the RealtimeHandler, the AdminApi and a real SQLite store in a temp dir;
// HTTP through the CLI's client, WebSocket subscribers through nself_client.

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <map>
#include <sstream>
#include <thread>

#include "cli/http_client.hpp"
#include "core/auth/jwt_verifier.hpp"
#include "core/time_format.hpp"
#include "cpp/realtime_client.hpp"
#include "server/admin_api.hpp"
#include "server/broadcast_scheduler.hpp"
#include "server/metrics.hpp"
#include "server/realtime_handler.hpp"
#include "store/store.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/test_backend.hpp"

namespace nself::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const core::auth::JwtKey kKey{core::auth::JwtAlgorithm::kHS256, "test-secret-test-secret-32-bytes"};
const std::string kSecret = "admin-secret-for-tests";

std::string token_for(const std::string& user, const std::string& role) {
  auto token =
      core::auth::sign_jwt(kKey, json::serialize(json::object{{"sub", user}, {"role", role}}));
  EXPECT_TRUE(token.ok());
  return token.value();
}

store::Timestamp now_ms() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

struct Reply {
  int status = 0;
  json::value body;
  std::string text;
};

// A small parser of the Prometheus text format: "name{labels} value" lines,
// keyed by the text before the value; checks every line is well formed.
std::map<std::string, double> parse_prometheus(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    EXPECT_NE(line[0], '#') << line;
    const auto space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    if (space == std::string::npos) continue;
    const std::string key = line.substr(0, space);
    const std::string name = key.substr(0, key.find('{'));
    for (char c : name) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':') << line;
    }
    if (key.find('{') != std::string::npos) {
      EXPECT_EQ(key.back(), '}') << line;
    }
    std::size_t used = 0;
    const double value = std::stod(line.substr(space + 1), &used);
    EXPECT_EQ(used, line.size() - space - 1) << line;
    EXPECT_FALSE(samples.contains(key)) << "duplicate sample " << key;
    samples[key] = value;
  }
  return samples;
}

class ApiTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    NSELF_TEST_USE_BACKEND(GetParam(), dir_, database_, store_options_);
    store_ = store::open_store(store_options_);
    store_->migrate();
    store::NewChannel general;
    general.name = "General";
    general.slug = "general";
    general_id_ = store_->create_channel(general, now_ms())->id;
    store::NewChannel live;
    live.name = "Live";
    live.slug = "live";
    live.is_persistent = false;
    (void)store_->create_channel(live, now_ms());

    worker_ = std::make_unique<server::StoreWorker>(
        [options = store_options_] { return store::open_store(options); });
    worker_->observe(&metrics_, 100ms);
    handler_ = std::make_unique<server::RealtimeHandler>(verifier_, *worker_);
    handler_->set_metrics(&metrics_);
    server_ = std::make_unique<RunningServer>(
        test_server_options(), *handler_, [this](server::Server& server) {
          server::AdminApiOptions options;
          options.admin_secret = kSecret;
          options.max_connections = 500;
          options.message_retention_days = 30;
          options.cleanup_batch_rows = 3;  // REALTIME_CLEANUP_BATCH_ROWS
          options.max_message_bytes = 1000;
          // The matrix below refuses many calls from one address; the limit
          // of failed authentications has its own node test (hostile_http).
          options.auth_failures_per_minute = 0;
          api_ = std::make_unique<server::AdminApi>(server, *handler_, *worker_, metrics_,
                                                    verifier_, options);
          server::BroadcastSchedulerOptions broadcast_options;
          broadcast_options.poll_interval = 50ms;
          broadcasts_ = std::make_unique<server::BroadcastScheduler>(
              server.io_context().get_executor(), *worker_, *handler_, broadcast_options);
          api_->set_broadcast_scheduler(broadcasts_.get());
        });
  }

  void TearDown() override {
    if (!server_) return;  // skipped
    server_->stop_and_join();
    api_->set_broadcast_scheduler(nullptr);
    broadcasts_.reset();
    api_.reset();
  }

  Reply call(const std::string& method, const std::string& target, const std::string& body = {},
             std::vector<std::pair<std::string, std::string>> headers = {
                 {"X-Realtime-Admin-Secret", kSecret}}) {
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    auto response =
        cli::http_request("127.0.0.1", server_->port(), method, target, body, headers, 5s);
    Reply reply;
    if (!response) {
      ADD_FAILURE() << method << " " << target << ": no answer";
      return reply;
    }
    reply.status = response->status;
    reply.text = response->body;
    json::error_code error;
    reply.body = json::parse(response->body, error);
    return reply;
  }
  Reply call_json(const std::string& method, const std::string& target, const json::value& body) {
    return call(method, target, json::serialize(body));
  }
  static std::string error_code(const Reply& reply) {
    if (!reply.body.is_object()) return "";
    const auto* error = reply.body.as_object().if_contains("error");
    if (error == nullptr || !error->is_object()) return "";
    EXPECT_TRUE(error->as_object().at("message").is_string());
    return std::string(error->as_object().at("code").as_string());
  }

  // Audit entries written asynchronously (after the response): polls for the
  // newest one to have `action`.
  bool newest_audit_is(const std::string& action) {
    for (int i = 0; i < 100; ++i) {
      auto entries = store_->list_audit(1);
      if (!entries.empty() && entries.front().action == action) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  client::RealtimeClient connect(const std::string& user, const std::string& role = "user") {
    client::ConnectOptions options;
    options.token = token_for(user, role);
    auto client = client::RealtimeClient::connect("127.0.0.1", server_->port(), options);
    client.next_event_of_type("auth_ok", 5s);
    return client;
  }

  TempDir dir_;
  std::optional<TestDatabase> database_;
  store::StoreOptions store_options_;
  std::unique_ptr<store::Store> store_;  // the test's own connection
  std::string general_id_;
  core::auth::JwtVerifier verifier_{{kKey}};
  server::Metrics metrics_;
  std::unique_ptr<server::StoreWorker> worker_;
  std::unique_ptr<server::RealtimeHandler> handler_;
  std::unique_ptr<server::AdminApi> api_;
  std::unique_ptr<server::BroadcastScheduler> broadcasts_;
  std::unique_ptr<RunningServer> server_;
};

const std::vector<std::pair<std::string, std::string>> kRoutes = {
    {"GET", "/api/stats"},
    {"GET", "/api/connections"},
    {"DELETE", "/api/connections/x"},
    {"GET", "/api/channels"},
    {"POST", "/api/channels"},
    {"GET", "/api/channels/general"},
    {"DELETE", "/api/channels/general"},
    {"POST", "/api/channels/general/archive"},
    {"GET", "/api/channels/general/members"},
    {"POST", "/api/channels/general/members"},
    {"DELETE", "/api/channels/general/members?user_id=u"},
    {"DELETE", "/api/channels/general/members/u"},
    {"POST", "/api/channels/general/messages"},
    {"GET", "/api/channels/general/messages"},
    {"GET", "/api/channels/general/presence"},
    {"POST", "/api/cleanup"},
    {"POST", "/api/broadcasts"},
    {"GET", "/api/broadcasts"},
    {"DELETE", "/api/broadcasts/x"},
};

// The credential checks and routing come before any store work: on SQLite
// only. (node.security checks the same matrix against the real binary, with
// more kinds of bad credentials.)
class ApiAnyStoreTest : public ApiTest {};

TEST_P(ApiAnyStoreTest, EveryRouteNeedsAdminCredentials) {
  for (const auto& [method, target] : kRoutes) {
    SCOPED_TRACE(method + " " + target);
    Reply none = call(method, target, {}, {});
    EXPECT_EQ(none.status, 401);
    EXPECT_EQ(error_code(none), "unauthorized");
    Reply wrong = call(method, target, {}, {{"X-Realtime-Admin-Secret", kSecret + "x"}});
    EXPECT_EQ(wrong.status, 403);
    EXPECT_EQ(error_code(wrong), "forbidden");
    Reply prefix = call(method, target, {}, {{"X-Realtime-Admin-Secret", kSecret.substr(0, 5)}});
    EXPECT_EQ(prefix.status, 403);
    Reply user =
        call(method, target, {}, {{"Authorization", "Bearer " + token_for("bob", "user")}});
    EXPECT_EQ(user.status, 403);
    EXPECT_EQ(error_code(user), "forbidden");
    Reply garbage = call(method, target, {}, {{"Authorization", "Bearer not.a.token"}});
    EXPECT_EQ(garbage.status, 401);
    EXPECT_EQ(error_code(garbage), "invalid_token");
  }
  // Nothing was changed by the refused calls.
  EXPECT_TRUE(store_->find_channel("general").has_value());
  EXPECT_FALSE(store_->find_channel("general")->archived_at.has_value());
  // Refusals are audited and counted.
  EXPECT_TRUE(newest_audit_is("auth.failed"));
  EXPECT_GE(metrics_.counter_value("errors", "forbidden"), kRoutes.size() * 3);
}

TEST_P(ApiAnyStoreTest, AdminTokenAndSecretAreAccepted) {
  Reply by_token =
      call("GET", "/api/stats", {}, {{"Authorization", "Bearer " + token_for("root", "admin")}});
  EXPECT_EQ(by_token.status, 200) << by_token.text;
  Reply by_secret = call("GET", "/api/stats");
  EXPECT_EQ(by_secret.status, 200) << by_secret.text;
}

TEST_P(ApiAnyStoreTest, UnknownApiPathIs404WithTheErrorShape) {
  Reply reply = call("GET", "/api/nope");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(error_code(reply), "not_found");
}

TEST_P(ApiTest, StatsCountLiveConnectionsAndPeak) {
  auto alice = connect("alice");
  auto alice2 = connect("alice");
  auto bob = connect("bob");
  Reply reply = call("GET", "/api/stats");
  ASSERT_EQ(reply.status, 200) << reply.text;
  const auto& stats = reply.body.as_object();
  EXPECT_EQ(stats.at("running"), true);
  EXPECT_EQ(stats.at("active_connections").to_number<std::int64_t>(), 3);
  EXPECT_EQ(stats.at("online_users").to_number<std::int64_t>(), 2);
  EXPECT_EQ(stats.at("total_channels").to_number<std::int64_t>(), 2);
  EXPECT_EQ(stats.at("peak_connections").to_number<std::int64_t>(), 3);
  EXPECT_TRUE(stats.contains("messages_24h"));
  EXPECT_TRUE(stats.contains("average_connection_seconds"));
  // The peak is written to the database for restarts.
  EXPECT_EQ(store_->get_state(server::kPeakConnectionsKey), "3");
  bob.close();
  alice2.close();
  Reply later = call("GET", "/api/stats");
  EXPECT_EQ(later.body.at("active_connections").to_number<std::int64_t>(), 1);
  EXPECT_EQ(later.body.at("peak_connections").to_number<std::int64_t>(), 3);
}

TEST_P(ApiTest, ConnectionsListAndDisconnect) {
  auto alice = connect("alice");
  alice.subscribe("general");
  Reply list = call("GET", "/api/connections");
  ASSERT_EQ(list.status, 200) << list.text;
  const auto& items = list.body.at("connections").as_array();
  ASSERT_EQ(items.size(), 1u);
  const auto& item = items[0].as_object();
  EXPECT_EQ(item.at("user_id"), "alice");
  EXPECT_EQ(item.at("remote_address"), "127.0.0.1");
  EXPECT_EQ(item.at("subscriptions"), json::array({"general"}));
  EXPECT_TRUE(item.at("connected_at").is_string());
  EXPECT_TRUE(item.at("last_activity").is_string());
  const std::string id(item.at("id").as_string());

  EXPECT_EQ(call("DELETE", "/api/connections/no-such-id").status, 404);
  Reply gone = call("DELETE", "/api/connections/" + id);
  EXPECT_EQ(gone.status, 200) << gone.text;
  EXPECT_EQ(gone.body.at("disconnected"), json::value(id));
  auto closed = alice.wait_closed(5s);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, 4000);
  EXPECT_TRUE(newest_audit_is("connection.disconnect"));
}

TEST_P(ApiTest, CreateListArchiveAndDeleteChannels) {
  Reply created = call_json("POST", "/api/channels",
                            json::object{{"name", "Team Room"},
                                         {"type", "private"},
                                         {"max_members", 10},
                                         {"metadata", {{"k", 1}}}});
  ASSERT_EQ(created.status, 201) << created.text;
  EXPECT_EQ(created.body.at("channel").at("slug"), "team-room");
  EXPECT_EQ(created.body.at("channel").at("type"), "private");
  EXPECT_EQ(created.body.at("channel").at("created_by"), "admin");
  EXPECT_EQ(call_json("POST", "/api/channels", json::object{{"name", "Team Room"}}).status, 409);

  // Bad bodies.
  EXPECT_EQ(call("POST", "/api/channels", "not json").status, 400);
  EXPECT_EQ(call("POST", "/api/channels", "[1]").status, 400);
  EXPECT_EQ(call_json("POST", "/api/channels", json::object{}).status, 400);
  EXPECT_EQ(call_json("POST", "/api/channels", json::object{{"name", 5}}).status, 400);
  EXPECT_EQ(
      call_json("POST", "/api/channels", json::object{{"name", "x"}, {"slug", "Bad Slug"}}).status,
      400);
  EXPECT_EQ(
      call_json("POST", "/api/channels", json::object{{"name", "x"}, {"type", "secret"}}).status,
      400);
  EXPECT_EQ(
      call_json("POST", "/api/channels", json::object{{"name", "x"}, {"max_members", 0}}).status,
      400);
  EXPECT_EQ(
      call_json("POST", "/api/channels", json::object{{"name", "x"}, {"metadata", "text"}}).status,
      400);

  Reply list = call("GET", "/api/channels");
  EXPECT_EQ(list.body.at("channels").as_array().size(), 3u);

  Reply archived = call("POST", "/api/channels/team-room/archive");
  ASSERT_EQ(archived.status, 200) << archived.text;
  EXPECT_TRUE(archived.body.at("channel").at("archived_at").is_string());
  EXPECT_EQ(call("GET", "/api/channels").body.at("channels").as_array().size(), 2u);
  EXPECT_EQ(call("GET", "/api/channels?all=true").body.at("channels").as_array().size(), 3u);

  Reply deleted = call("DELETE", "/api/channels/team-room");
  EXPECT_EQ(deleted.status, 200) << deleted.text;
  EXPECT_EQ(call("DELETE", "/api/channels/team-room").status, 404);
  EXPECT_EQ(call("GET", "/api/channels/team-room").status, 404);

  std::vector<std::string> actions;
  for (const auto& entry : store_->list_audit(10)) actions.push_back(entry.action);
  EXPECT_EQ(actions,
            (std::vector<std::string>{"channel.delete", "channel.archive", "channel.create"}));
}

TEST_P(ApiTest, DeletingAChannelTellsItsSubscribers) {
  auto alice = connect("alice");
  auto bob = connect("bob");
  alice.subscribe("general");
  bob.subscribe("general");
  Reply deleted = call("DELETE", "/api/channels/" + general_id_);
  ASSERT_EQ(deleted.status, 200) << deleted.text;
  EXPECT_EQ(deleted.body.at("subscribers_notified"), 2);
  for (auto* client : {&alice, &bob}) {
    auto event = client->next_event_of_type("channel_deleted", 5s);
    EXPECT_EQ(event.at("channel"), "general");
  }
  // The subscription is gone: sending there is an error, not a stored message.
  alice.send_json(json::object{{"type", "message"}, {"channel", "general"}, {"content", 1}});
  auto error = alice.next_event_of_type("error", 5s);
  EXPECT_EQ(error.at("code"), "not_found");
  EXPECT_FALSE(store_->find_channel("general").has_value());
}

TEST_P(ApiTest, ArchivedChannelIsReadOnlyForSubscribers) {
  auto alice = connect("alice");
  alice.subscribe("general");
  ASSERT_EQ(call("POST", "/api/channels/general/archive").status, 200);
  alice.send_json(
      json::object{{"type", "message"}, {"channel", "general"}, {"content", 1}, {"ref", "r"}});
  auto error = alice.next_event_of_type("error", 5s);
  EXPECT_EQ(error.at("code"), "forbidden");
  Reply publish = call_json("POST", "/api/channels/general/messages", json::object{{"content", 1}});
  EXPECT_EQ(publish.status, 403);
  EXPECT_EQ(error_code(publish), "forbidden");
}

TEST_P(ApiTest, Members) {
  Reply added = call_json("POST", "/api/channels/general/members",
                          json::object{{"user_id", "carol"}, {"role", "admin"}});
  ASSERT_EQ(added.status, 201) << added.text;
  EXPECT_EQ(added.body.at("member").at("role"), "admin");
  Reply again =
      call_json("POST", "/api/channels/general/members",
                json::object{{"user_id", "carol"}, {"role", "member"}, {"can_send", false}});
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body.at("member").at("role"), "member");
  EXPECT_EQ(again.body.at("member").at("can_send"), false);
  EXPECT_EQ(
      call_json("POST", "/api/channels/general/members", json::object{{"user_id", "dave"}}).status,
      201);
  EXPECT_EQ(call_json("POST", "/api/channels/general/members",
                      json::object{{"user_id", "x"}, {"role", "king"}})
                .status,
            400);
  EXPECT_EQ(
      call_json("POST", "/api/channels/general/members", json::object{{"role", "admin"}}).status,
      400);
  EXPECT_EQ(call_json("POST", "/api/channels/general/members",
                      json::object{{"user_id", std::string(256, 'u')}})
                .status,
            400);
  EXPECT_EQ(call_json("POST", "/api/channels/nope/members", json::object{{"user_id", "x"}}).status,
            404);

  Reply list = call("GET", "/api/channels/general/members");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body.at("members").as_array().size(), 2u);
  EXPECT_EQ(list.body.at("members").as_array()[0].at("user_id"), "carol");

  EXPECT_EQ(call("DELETE", "/api/channels/general/members?user_id=carol").status, 200);
  EXPECT_EQ(call("DELETE", "/api/channels/general/members?user_id=carol").status, 404);
  EXPECT_EQ(call("DELETE", "/api/channels/general/members").status, 400);
  EXPECT_EQ(call("DELETE", "/api/channels/general/members/dave").status, 200);
  EXPECT_TRUE(call("GET", "/api/channels/general/members").body.at("members").as_array().empty());
}

TEST_P(ApiTest, PublishFromABackendReachesSubscribersAndHistory) {
  auto alice = connect("alice");
  alice.subscribe("general");
  Reply published =
      call_json("POST", "/api/channels/general/messages",
                json::object{{"content", {{"text", "deploy done"}}}, {"user_id", "ci"}});
  ASSERT_EQ(published.status, 201) << published.text;
  EXPECT_EQ(published.body.at("message").at("seq"), 1);
  auto event = alice.next_event_of_type("message", 5s);
  EXPECT_EQ(event.at("user_id"), "ci");
  EXPECT_EQ(event.at("content").at("text"), "deploy done");
  EXPECT_EQ(event.at("seq"), 1);

  for (int i = 2; i <= 5; ++i) {
    ASSERT_EQ(
        call_json("POST", "/api/channels/general/messages", json::object{{"content", i}}).status,
        201);
  }
  Reply history = call("GET", "/api/channels/general/messages?limit=2&before=5");
  ASSERT_EQ(history.status, 200) << history.text;
  const auto& messages = history.body.at("messages").as_array();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].at("seq"), 3);
  EXPECT_EQ(messages[1].at("seq"), 4);
  EXPECT_EQ(messages[1].at("user_id"), "admin");  // the actor when no user_id is given
  EXPECT_EQ(history.body.at("has_more"), true);
  EXPECT_EQ(call("GET", "/api/channels/general/messages").body.at("messages").as_array().size(),
            5u);
  EXPECT_EQ(call("GET", "/api/channels/general/messages?limit=0").status, 400);
  EXPECT_EQ(call("GET", "/api/channels/general/messages?limit=1001").status, 400);
  EXPECT_EQ(call("GET", "/api/channels/general/messages?limit=abc").status, 400);
  EXPECT_EQ(call("GET", "/api/channels/general/messages?before=-1").status, 400);
  EXPECT_EQ(call("GET", "/api/channels/nope/messages").status, 404);

  EXPECT_EQ(call("POST", "/api/channels/general/messages", "{}").status, 400);  // no content
  EXPECT_EQ(call("POST", "/api/channels/general/messages", "{\"content\":").status, 400);
  EXPECT_EQ(call_json("POST", "/api/channels/general/messages",
                      json::object{{"content", 1}, {"user_id", 7}})
                .status,
            400);
  EXPECT_EQ(call_json("POST", "/api/channels/nope/messages", json::object{{"content", 1}}).status,
            404);
  Reply too_large = call_json("POST", "/api/channels/general/messages",
                              json::object{{"content", std::string(1000, 'x')}});
  EXPECT_EQ(too_large.status, 413);
  EXPECT_EQ(error_code(too_large), "payload_too_large");
  EXPECT_EQ(call_json("POST", "/api/channels/general/messages",
                      json::object{{"content", std::string(990, 'x')}})
                .status,
            201);  // 992 bytes with the quotes

  // Ephemeral channels fan out without storing.
  alice.subscribe("live");
  Reply live = call_json("POST", "/api/channels/live/messages", json::object{{"content", "x"}});
  EXPECT_EQ(live.status, 201) << live.text;
  for (int seq = 2; seq <= 6; ++seq) {  // the general messages published above come first
    EXPECT_EQ(alice.next_event_of_type("message", 5s).at("seq"), seq);
  }
  EXPECT_EQ(alice.next_event_of_type("message", 5s).at("channel"), "live");
  EXPECT_TRUE(call("GET", "/api/channels/live/messages").body.at("messages").as_array().empty());
}

TEST_P(ApiTest, BroadcastsCreateListDeleteAndDeliver) {
  auto alice = connect("alice");
  alice.subscribe("general");
  auto bob = connect("bob");  // subscribed to nothing

  Reply news = call_json(
      "POST", "/api/broadcasts",
      json::object{
          {"channel", "general"}, {"event", "news"}, {"payload", {{"headline", "v2 shipped"}}}});
  ASSERT_EQ(news.status, 201) << news.text;
  const std::string news_id(news.body.at("broadcast").at("id").as_string());
  auto event = alice.next_event_of_type("broadcast", 5s);
  EXPECT_EQ(event.at("id").as_string(), news_id);
  EXPECT_EQ(event.at("channel"), "general");
  EXPECT_EQ(event.at("event"), "news");
  EXPECT_EQ(event.at("payload").at("headline"), "v2 shipped");
  EXPECT_TRUE(newest_audit_is("broadcast.create"));

  Reply all = call_json(
      "POST", "/api/broadcasts",
      json::object{{"channel", nullptr}, {"event", "maintenance"}, {"payload", "at 22:00"}});
  ASSERT_EQ(all.status, 201) << all.text;
  auto announcement = bob.next_event_of_type("broadcast", 5s);
  EXPECT_TRUE(announcement.at("channel").is_null());
  EXPECT_EQ(announcement.at("payload"), "at 22:00");
  EXPECT_EQ(alice.next_event_of_type("broadcast", 5s).at("event"), "maintenance");  // to all

  // Scheduled 1.5 s ahead: not before, but soon after.
  const auto at = core::format_iso8601(now_ms() + 1500ms);
  Reply later = call_json(
      "POST", "/api/broadcasts",
      json::object{
          {"channel", "general"}, {"event", "later"}, {"payload", 1}, {"scheduled_at", at}});
  ASSERT_EQ(later.status, 201) << later.text;
  EXPECT_THROW(alice.next_event_of_type("broadcast", 800ms), client::ClientError);
  EXPECT_EQ(alice.next_event_of_type("broadcast", 5s).at("event"), "later");

  Reply list = call("GET", "/api/broadcasts");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.at("broadcasts").as_array().size(), 3u);
  EXPECT_EQ(call("DELETE", "/api/broadcasts/" + news_id).status, 200);
  EXPECT_EQ(call("DELETE", "/api/broadcasts/" + news_id).status, 404);
  EXPECT_EQ(call("GET", "/api/broadcasts").body.at("broadcasts").as_array().size(), 2u);

  // Bad requests change nothing.
  const auto past = core::format_iso8601(now_ms() - 1000ms);
  for (const auto& body : std::vector<json::object>{
           {{"payload", 1}},                                            // no event
           {{"event", ""}, {"payload", 1}},                             // empty event
           {{"event", "e"}},                                            // no payload
           {{"event", "e"}, {"payload", 1}, {"channel", 5}},            // channel not a string
           {{"event", "e"}, {"payload", 1}, {"scheduled_at", "soon"}},  // not a time
           {{"event", "e"}, {"payload", 1}, {"expires_at", past}},      // would never be delivered
       }) {
    Reply bad = call_json("POST", "/api/broadcasts", body);
    EXPECT_EQ(bad.status, 400) << json::serialize(body);
    EXPECT_EQ(error_code(bad), "bad_request");
  }
  EXPECT_EQ(call_json("POST", "/api/broadcasts",
                      json::object{{"channel", "nope"}, {"event", "e"}, {"payload", 1}})
                .status,
            404);
  EXPECT_EQ(call("GET", "/api/broadcasts").body.at("broadcasts").as_array().size(), 2u);
}

TEST_P(ApiTest, PresenceListsTheStoredRows) {
  store::PresenceRecord row;
  row.user_id = "alice";
  row.channel_id = general_id_;
  row.status = store::PresenceStatus::kAway;
  row.metadata = R"({"device":"desktop"})";
  row.updated_at = now_ms();
  store_->update_presence(row);
  Reply reply = call("GET", "/api/channels/general/presence");
  ASSERT_EQ(reply.status, 200) << reply.text;
  const auto& members = reply.body.at("members").as_array();
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].at("user_id"), "alice");
  EXPECT_EQ(members[0].at("status"), "away");
  EXPECT_EQ(members[0].at("meta").at("device"), "desktop");
  EXPECT_EQ(call("GET", "/api/channels/nope/presence").status, 404);
}

TEST_P(ApiTest, CleanupRemovesStaleRowsAndReportsCounts) {
  const auto now = now_ms();
  store::ConnectionRecord stale;
  stale.connection_id = "dead-1";
  stale.user_id = "ghost";
  stale.node_id = "local";
  stale.connected_at = now - std::chrono::hours(2);
  stale.last_seen_at = now - std::chrono::hours(1);
  store_->record_connection(stale);
  store::Broadcast expired;
  expired.event_type = "notice";
  expired.expires_at = now - std::chrono::minutes(1);
  store_->create_broadcast(expired, now - std::chrono::minutes(5));
  store::NewMessage old;
  old.channel_id = general_id_;
  old.user_id = "u";
  old.content = "1";
  for (int i = 0; i < 7; ++i) {
    store_->append_messages(std::span(&old, 1),
                            now - std::chrono::days(40) + std::chrono::hours(i));
  }
  store_->append_messages(std::span(&old, 1), now);
  // REALTIME_AUDIT_RETENTION_DAYS (90 by default): two rows past it, one inside.
  store_->append_audit({0, now - std::chrono::days(91), "cli", "old.one", std::nullopt, "{}"});
  store_->append_audit({0, now - std::chrono::days(91), "cli", "old.two", std::nullopt, "{}"});
  store_->append_audit({0, now - std::chrono::days(89), "cli", "recent", std::nullopt, "{}"});

  auto live = connect("alice");  // a live connection is not stale
  Reply reply = call("POST", "/api/cleanup");
  ASSERT_EQ(reply.status, 200) << reply.text;
  const auto& removed = reply.body.at("removed");
  EXPECT_EQ(removed.at("stale_connections"), 1);
  EXPECT_EQ(removed.at("expired_broadcasts"), 1);
  EXPECT_EQ(removed.at("old_messages"), 7);
  EXPECT_EQ(removed.at("old_audit_entries"), 2);
  // Three rows per transaction: messages 3 + 3 + 1, audit rows 2.
  EXPECT_EQ(reply.body.at("batches"), 4);
  EXPECT_EQ(store_->history(general_id_, std::nullopt, 10).size(), 1u);
  bool recent_kept = false;
  for (const auto& entry : store_->list_audit(1000)) {
    EXPECT_NE(entry.action.rfind("old.", 0), 0u) << entry.action;
    recent_kept = recent_kept || entry.action == "recent";
  }
  EXPECT_TRUE(recent_kept);
  EXPECT_EQ(call("POST", "/api/cleanup").body.at("removed").at("stale_connections"), 0);
  EXPECT_TRUE(newest_audit_is("cleanup"));
}

TEST_P(ApiTest, FailedWebSocketAuthenticationIsAuditedAndCounted) {
  client::ConnectOptions options;
  options.token = "garbage";
  EXPECT_THROW(client::RealtimeClient::connect("127.0.0.1", server_->port(), options),
               client::ClientError);
  auto socket = client::RealtimeClient::connect("127.0.0.1", server_->port());
  socket.send_json(json::object{{"type", "auth"}, {"token", "also.bad"}});
  EXPECT_EQ(socket.next_event_of_type("error", 5s).at("code"), "invalid_token");
  ASSERT_TRUE(newest_audit_is("auth.failed"));
  std::vector<store::AuditEntry> entries;
  for (int i = 0; i < 100 && entries.size() < 2; ++i) {
    entries = store_->list_audit(10);
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].actor, "127.0.0.1");  // the auth message: the peer's address
  EXPECT_EQ(entries[1].actor, "websocket");  // the upgrade
  EXPECT_EQ(json::parse(entries[0].details).at("code"), "invalid_token");
  EXPECT_EQ(metrics_.counter_value("errors", "invalid_token"), 1u);
}

TEST(StoreWorkerObservability, SlowBatchesAreLoggedAndTimed) {
  TempDir dir;
  store::StoreOptions options;
  options.sqlite_path = (dir.path() / "realtime.db").string();
  std::string channel_id;
  {
    auto store = store::open_store(options);
    store->migrate();
    store::NewChannel channel;
    channel.name = "general";
    channel.slug = "general";
    channel_id = store->create_channel(channel, now_ms())->id;
  }
  auto captured = std::make_shared<std::ostringstream>();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*captured);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  server::Metrics metrics;
  {
    // Declared before the worker, so destroyed after its thread joined: the
    // worker may still be inside post() when the completion has already run.
    boost::asio::io_context io;
    server::StoreWorker worker([options] { return store::open_store(options); });
    worker.observe(&metrics, 0ms);  // every batch takes longer than 0 ms
    store::NewMessage message;
    message.channel_id = channel_id;
    message.user_id = "u";
    message.content = "1";
    bool stored = false;
    worker.append(message, io.get_executor(),
                  [&](Result<store::StoredMessage> result) { stored = result.ok(); });
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!stored && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(20ms);
    }
    EXPECT_TRUE(stored);
  }
  spdlog::set_default_logger(previous);
  EXPECT_NE(captured->str().find("slow store batch: 1 messages in"), std::string::npos)
      << captured->str();
  EXPECT_NE(captured->str().find("(threshold 0 ms)"), std::string::npos);
  const std::string text = metrics.render(10);
  EXPECT_NE(text.find("nself_realtime_store_batch_seconds_count 1\n"), std::string::npos) << text;
}

TEST_P(ApiTest, MetricsInPrometheusFormat) {
  store::NewChannel lobby;
  lobby.name = "Lobby";
  lobby.slug = "lobby";
  lobby.type = core::ChannelType::kPresence;
  ASSERT_TRUE(store_->create_channel(lobby, now_ms()).ok());
  {
    auto alice = connect("alice");
    alice.subscribe("general");
    auto bob = connect("bob");
    bob.subscribe("general");
    alice.send_message("general", "hi");
    bob.next_event_of_type("message", 5s);
    alice.subscribe("live");
    alice.send_message("live", "x");
    alice.subscribe("lobby");  // presence join of alice
    bob.subscribe("lobby");    // presence join of bob, seen by alice
    alice.next_event_of_type("presence_join", 5s);
    alice.send_json(json::object{{"type", "subscribe"}, {"channel", "Not A Slug"}, {"ref", 9}});
    EXPECT_EQ(alice.next_event_of_type("error", 5s).at("code"), "bad_request");
  }
  (void)call("GET", "/api/stats", {}, {});  // one auth failure
  auto response = cli::http_request("127.0.0.1", server_->port(), "GET", "/metrics", {}, {}, 5s);
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->status, 200);
  auto samples = parse_prometheus(response->body);
  EXPECT_EQ(samples["nself_realtime_connections_peak"], 2);
  EXPECT_EQ(samples["nself_realtime_connections_max"], 500);
  EXPECT_EQ(samples["nself_realtime_connections_total"], 2);
  EXPECT_EQ(samples["nself_realtime_messages_in_total{channel_type=\"public\"}"], 2);
  EXPECT_EQ(samples["nself_realtime_messages_out_total{channel_type=\"public\"}"], 2);
  EXPECT_EQ(samples["nself_realtime_messages_in_total{channel_type=\"private\"}"], 0);
  // "hi" to two subscribers, "x" to one, bob's join to alice; then, as the
  // clients close, maybe the first leaver's presence_leave to the other.
  EXPECT_GE(samples["nself_realtime_fanout_deliveries_total"], 4);
  EXPECT_LE(samples["nself_realtime_fanout_deliveries_total"], 5);
  EXPECT_EQ(samples["nself_realtime_auth_failures_total"], 1);
  EXPECT_EQ(samples["nself_realtime_errors_total{code=\"unauthorized\"}"], 1);
  // Two joins, then up to two leaves as the clients close.
  EXPECT_GE(samples["nself_realtime_presence_updates_total"], 2);
  EXPECT_LE(samples["nself_realtime_presence_updates_total"], 4);
  EXPECT_EQ(samples["nself_realtime_errors_total{code=\"bad_request\"}"], 1);
  // Histograms: cumulative buckets ending in +Inf == _count.
  for (std::string name :
       {"nself_realtime_delivery_latency_seconds", "nself_realtime_store_batch_seconds"}) {
    double previous = 0;
    for (double bound : server::Histogram::kBounds) {
      std::ostringstream key;
      key << name << "_bucket{le=\"" << bound << "\"}";
      ASSERT_TRUE(samples.contains(key.str())) << key.str();
      EXPECT_GE(samples[key.str()], previous);
      previous = samples[key.str()];
    }
    EXPECT_EQ(samples[name + "_bucket{le=\"+Inf\"}"], samples[name + "_count"]);
    EXPECT_GE(samples[name + "_sum"], 0);
  }
  EXPECT_EQ(samples["nself_realtime_delivery_latency_seconds_count"], 2);
  EXPECT_EQ(samples["nself_realtime_store_batch_seconds_count"], 1);
  // The closed clients are gone from the gauge once the server saw the closes.
  EXPECT_LE(samples["nself_realtime_connections"], 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiTest, kStoreBackends,
                         [](const auto& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Backends, ApiAnyStoreTest, kAnyStoreBackend,
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace nself::test
