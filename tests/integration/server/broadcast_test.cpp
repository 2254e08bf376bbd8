// Broadcasts end to end: an in-process server with the RealtimeHandler and a
// BroadcastScheduler on a real SQLite store in a temp dir; rows are written
// through a store of their own (as the CLI does) or with schedule() (as the
// HTTP API does), and received with the byte-level client.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <set>
#include <thread>

#include "core/auth/jwt_verifier.hpp"
#include "core/time_format.hpp"
#include "server/broadcast_scheduler.hpp"
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
using store::Timestamp;

const core::auth::JwtKey kKey{core::auth::JwtAlgorithm::kHS256, "test-secret-test-secret-32-bytes"};

std::string token_for(const std::string& user) {
  auto token = core::auth::sign_jwt(kKey, json::serialize(json::object{{"sub", user}}));
  EXPECT_TRUE(token.ok());
  return token.value();
}

Timestamp now_ms() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

class BroadcastTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    NSELF_TEST_USE_BACKEND(GetParam(), dir_, database_, store_options_);
    writer_ = store::open_store(store_options_);
    writer_->migrate();
    for (const char* slug : {"general", "random"}) {
      store::NewChannel channel;
      channel.name = slug;
      channel.slug = slug;
      channel_ids_[slug] = writer_->create_channel(channel, now_ms())->id;
    }
    worker_ = std::make_unique<server::StoreWorker>(
        [options = store_options_] { return store::open_store(options); });
  }

  void TearDown() override {
    // Schedulers before the server (they post to its loop), the server before the handler.
    schedulers_.clear();
    server_.reset();
  }

  void start() {
    handler_ = std::make_unique<server::RealtimeHandler>(verifier_, *worker_);
    server_ = std::make_unique<RunningServer>(test_server_options(), *handler_);
    add_scheduler(*worker_);
  }
  server::BroadcastScheduler& add_scheduler(server::StoreWorker& worker) {
    server::BroadcastSchedulerOptions options;
    options.poll_interval = 20ms;
    options.batch_limit = 7;  // several polls for a burst
    schedulers_.push_back(std::make_unique<server::BroadcastScheduler>(
        server_->server().io_context().get_executor(), worker, *handler_, options));
    return *schedulers_.back();
  }

  // Writes a broadcast row directly, as `nself realtime broadcast` does.
  store::Broadcast write(std::optional<std::string> channel, const std::string& event,
                         const std::string& payload,
                         std::optional<Timestamp> scheduled_at = std::nullopt,
                         std::optional<Timestamp> expires_at = std::nullopt) {
    store::Broadcast broadcast;
    if (channel) broadcast.channel_id = channel_ids_.at(*channel);
    broadcast.event_type = event;
    broadcast.payload = payload;
    broadcast.user_id = "admin";
    broadcast.scheduled_at = scheduled_at;
    broadcast.expires_at = expires_at;
    return writer_->create_broadcast(broadcast, now_ms());
  }

  std::unique_ptr<RawClient> connect() {
    auto client = std::make_unique<RawClient>(server_->port());
    EXPECT_EQ(client->handshake().status, 101);
    return client;
  }
  std::unique_ptr<RawClient> login(const std::string& user) {
    auto client = connect();
    send(*client, {{"type", "auth"}, {"token", token_for(user)}});
    EXPECT_EQ(type_of(receive(*client)), "auth_ok");
    return client;
  }
  void subscribe(RawClient& client, const std::string& channel) {
    send(client, {{"type", "subscribe"}, {"channel", channel}});
    EXPECT_EQ(type_of(receive(client)), "subscribed");
  }

  static void send(RawClient& client, const json::object& request) {
    client.send_text(json::serialize(request));
  }
  static json::object receive(RawClient& client, std::chrono::milliseconds timeout = 5s) {
    auto event = client.next_non_ping(timeout);
    if (!event || event->kind != ws::Event::Kind::kText) {
      ADD_FAILURE() << "no text event";
      return {};
    }
    return json::parse(event->payload).as_object();
  }
  static std::string type_of(const json::object& event) {
    auto found = event.find("type");
    return found == event.end() ? "" : std::string(found->value().as_string());
  }
  // A ping answered with nothing before its pong: no event was queued for
  // `client` before the ping was handled.
  static void expect_nothing_queued(RawClient& client) {
    send(client, {{"type", "ping"}, {"ref", "barrier"}});
    auto event = receive(client);
    EXPECT_EQ(type_of(event), "pong") << json::serialize(event);
  }

  TempDir dir_;
  std::optional<TestDatabase> database_;
  store::StoreOptions store_options_;
  std::unique_ptr<store::Store> writer_;
  std::map<std::string, std::string> channel_ids_;
  core::auth::JwtVerifier verifier_{{kKey}};
  std::unique_ptr<server::StoreWorker> worker_;
  std::unique_ptr<server::RealtimeHandler> handler_;
  std::unique_ptr<RunningServer> server_;
  std::vector<std::unique_ptr<server::BroadcastScheduler>> schedulers_;
};

TEST_P(BroadcastTest, ChannelBroadcastReachesSubscribersOnly) {
  start();
  auto alice = login("alice");
  auto carol = login("carol");
  auto bob = login("bob");
  subscribe(*alice, "general");
  subscribe(*carol, "general");
  subscribe(*bob, "random");
  const auto written = write("general", "news", R"({"a":1,"list":[true,null,"x"]})");

  for (RawClient* client : {alice.get(), carol.get()}) {
    auto event = receive(*client);
    EXPECT_EQ(type_of(event), "broadcast") << json::serialize(event);
    EXPECT_EQ(event.at("id").as_string(), written.id);
    EXPECT_EQ(event.at("channel").as_string(), "general");
    EXPECT_EQ(event.at("event").as_string(), "news");
    EXPECT_EQ(event.at("payload"), json::parse(R"({"a":1,"list":[true,null,"x"]})"));
    EXPECT_EQ(event.at("created_at").as_string(), core::format_iso8601(written.created_at));
    EXPECT_TRUE(event.at("expires_at").is_null());
    // Exactly the documented keys, in order.
    std::vector<std::string> keys;
    for (const auto& field : event) keys.emplace_back(field.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"type", "id", "channel", "event", "payload",
                                              "created_at", "expires_at"}));
    expect_nothing_queued(*client);  // once
  }
  expect_nothing_queued(*bob);
  // Sent: it is not delivered again by later polls.
  std::this_thread::sleep_for(100ms);
  expect_nothing_queued(*alice);
  ASSERT_TRUE(writer_->list_broadcasts().at(0).sent_at.has_value());
}

TEST_P(BroadcastTest, AllReachesEveryAuthenticatedConnection) {
  start();
  auto alice = login("alice");
  auto bob = login("bob");
  subscribe(*alice, "general");
  auto anonymous = connect();  // not authenticated: gets nothing
  write(std::nullopt, "maintenance", R"("down at 22:00")", std::nullopt, now_ms() + 1h);
  for (RawClient* client : {alice.get(), bob.get()}) {
    auto event = receive(*client);
    EXPECT_EQ(type_of(event), "broadcast");
    EXPECT_TRUE(event.at("channel").is_null());
    EXPECT_EQ(event.at("event").as_string(), "maintenance");
    EXPECT_EQ(event.at("payload").as_string(), "down at 22:00");
    EXPECT_TRUE(event.at("expires_at").is_string());
    expect_nothing_queued(*client);
  }
  EXPECT_FALSE(anonymous->next(300ms).has_value());
}

TEST_P(BroadcastTest, ScheduledIsDeliveredWhenDueNotBefore) {
  start();
  auto alice = login("alice");
  subscribe(*alice, "general");
  const Timestamp due = now_ms() + 1500ms;
  write("general", "reminder", "42", due);
  EXPECT_FALSE(alice->next_non_ping(1000ms).has_value());  // not yet
  auto event = receive(*alice, 3s);
  EXPECT_EQ(type_of(event), "broadcast");
  EXPECT_EQ(event.at("payload").as_int64(), 42);
  EXPECT_GE(now_ms(), due);
}

TEST_P(BroadcastTest, ScheduledWhileTheServerWasDownIsDeliveredAfterStart) {
  // Written before any server runs; due shortly after it starts.
  write(std::nullopt, "welcome-back", "{}", now_ms() + 800ms);
  start();
  auto alice = login("alice");
  auto event = receive(*alice, 3s);
  EXPECT_EQ(type_of(event), "broadcast");
  EXPECT_EQ(event.at("event").as_string(), "welcome-back");
}

TEST_P(BroadcastTest, ExpiredIsNeverDelivered) {
  start();
  auto alice = login("alice");
  subscribe(*alice, "general");
  write("general", "stale", "1", std::nullopt, now_ms() - 1s);            // expired already
  write("general", "too-late", "2", now_ms() + 200ms, now_ms() + 100ms);  // expires before due
  std::this_thread::sleep_for(400ms);
  write("general", "fresh", "3");
  auto event = receive(*alice);
  EXPECT_EQ(event.at("event").as_string(), "fresh");
  expect_nothing_queued(*alice);
  // Never claimed, and cleanup removes them.
  EXPECT_EQ(writer_->cleanup_expired_broadcasts(now_ms()), 2);
}

TEST_P(BroadcastTest, AnnouncementIsReplayedToLaterConnectionsUntilItExpires) {
  start();
  auto alice = login("alice");
  const auto announcement =
      write(std::nullopt, "maintenance", R"({"at":"22:00"})", std::nullopt, now_ms() + 1500ms);
  write("general", "channel-only", "0");  // sent, but never replayed: it has a channel
  EXPECT_EQ(receive(*alice).at("id").as_string(), announcement.id);
  // Wait until both are sent and the scheduler's announcement cache is refreshed.
  for (int i = 0; i < 100; ++i) {
    auto rows = writer_->list_broadcasts();
    if (rows.size() == 2 && rows[0].sent_at && rows[1].sent_at) break;
    std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(100ms);

  auto bob = login("bob");  // arrives later: gets it on connect, once
  auto replayed = receive(*bob);
  EXPECT_EQ(type_of(replayed), "broadcast");
  EXPECT_EQ(replayed.at("id").as_string(), announcement.id);
  EXPECT_TRUE(replayed.at("channel").is_null());
  EXPECT_EQ(replayed.at("payload"), json::parse(R"({"at":"22:00"})"));
  expect_nothing_queued(*bob);
  expect_nothing_queued(*alice);  // the first receiver does not get it again

  std::this_thread::sleep_for(1600ms);  // expired now
  auto carol = login("carol");
  expect_nothing_queued(*carol);
}

TEST_P(BroadcastTest, DeliveredOnceWithTwoSchedulersOnOneDatabase) {
  start();
  // A second "node": its own worker (own database connection) and scheduler.
  server::StoreWorker other_worker(
      [options = store_options_] { return store::open_store(options); });
  auto& other = add_scheduler(other_worker);
  auto alice = login("alice");
  constexpr int kCount = 60;
  std::set<std::string> written;
  for (int i = 0; i < kCount; ++i) {
    written.insert(write(std::nullopt, "burst", std::to_string(i)).id);
  }
  std::multiset<std::string> received;
  for (int i = 0; i < kCount; ++i) {
    auto event = receive(*alice);
    ASSERT_EQ(type_of(event), "broadcast");
    received.insert(std::string(event.at("id").as_string()));
  }
  std::this_thread::sleep_for(200ms);  // both keep polling: nothing more may arrive
  expect_nothing_queued(*alice);
  EXPECT_EQ(std::set<std::string>(received.begin(), received.end()), written);
  EXPECT_EQ(received.size(), written.size());
  EXPECT_EQ(schedulers_[0]->delivered() + other.delivered(), static_cast<std::uint64_t>(kCount));
  schedulers_.pop_back();  // before other_worker goes away
}

TEST_P(BroadcastTest, ScheduleStoresAndDeliversAtOnce) {
  start();
  auto alice = login("alice");
  subscribe(*alice, "general");
  auto& scheduler = *schedulers_.front();
  std::promise<Result<store::Broadcast>> stored;
  store::Broadcast broadcast;
  broadcast.channel_id = "general";  // a slug is accepted
  broadcast.event_type = "api";
  broadcast.payload = "[1,2]";
  scheduler.schedule(broadcast, [&](Result<store::Broadcast> result) { stored.set_value(result); });
  auto result = stored.get_future().get();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->channel_id, channel_ids_.at("general"));
  auto event = receive(*alice);
  EXPECT_EQ(event.at("id").as_string(), result->id);
  EXPECT_EQ(event.at("channel").as_string(), "general");

  std::promise<Result<store::Broadcast>> refused;
  broadcast.channel_id = "nope";
  scheduler.schedule(broadcast,
                     [&](Result<store::Broadcast> result) { refused.set_value(result); });
  auto error = refused.get_future().get();
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.error().code, "not_found");
  EXPECT_EQ(writer_->list_broadcasts().size(), 1u);
}

TEST_P(BroadcastTest, StoppedSchedulerDeliversNothing) {
  start();
  auto alice = login("alice");
  schedulers_.front()->stop();
  write(std::nullopt, "late", "1");
  std::this_thread::sleep_for(200ms);
  expect_nothing_queued(*alice);
  EXPECT_FALSE(writer_->list_broadcasts().at(0).sent_at.has_value());  // left for the next server
}

TEST_P(BroadcastTest, ClaimedButUndeliveredIsReleasedByStop) {
  start();
  schedulers_.front()->stop();  // only the scheduler below runs
  // A scheduler whose loop never runs: it claims, but can never deliver (as
  // when the server's loop has ended before a claimed batch reached it).
  boost::asio::io_context idle_loop;
  server::BroadcastSchedulerOptions options;
  options.poll_interval = 20ms;
  server::BroadcastScheduler stuck(idle_loop.get_executor(), *worker_, *handler_, options);
  const auto row = write(std::nullopt, "stuck", "1");
  bool claimed = false;
  for (int i = 0; i < 100 && !claimed; ++i) {
    std::this_thread::sleep_for(20ms);
    claimed = writer_->list_broadcasts().at(0).sent_at.has_value();
  }
  ASSERT_TRUE(claimed) << "the scheduler never claimed the broadcast";
  stuck.stop();
  EXPECT_EQ(stuck.delivered(), 0u);
  const auto after = writer_->list_broadcasts();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, row.id);
  EXPECT_FALSE(after[0].sent_at.has_value()) << "released for the next server";
}

INSTANTIATE_TEST_SUITE_P(Backends, BroadcastTest, kStoreBackends,
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace nself::test
