// The sharded engine in a real Server (EngineHandler) with 2 and 4 event
// loops, over real sockets with the byte-level client: chat traffic whose
// channels, users and connections land on different loops, connection churn,
// and the admin operations that cross every loop. Part of the "concurrent"
// label, so `make test-tsan` runs it under ThreadSanitizer (issue 15's
// acceptance: TSan over the engine and shards with two and four loops).

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/auth/jwt_verifier.hpp"
#include "server/engine/engine_handler.hpp"
#include "server/metrics.hpp"
#include "server/store_worker.hpp"
#include "store/store.hpp"
#include "support/raw_client.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"

namespace nself::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Json = json::object;

const core::auth::JwtKey kKey{core::auth::JwtAlgorithm::kHS256, "test-secret-test-secret-32-bytes"};

class EngineServer : public ::testing::TestWithParam<std::size_t> {
 protected:
  EngineServer() : verifier_({kKey}) {}

  void SetUp() override {
    store_options_.sqlite_path = (dir_.path() / "realtime.db").string();
    auto store = store::open_store(store_options_);
    store->migrate();
    const auto now =
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    for (const char* slug : {"general", "news", "quick"}) {
      store::NewChannel channel;
      channel.name = channel.slug = slug;
      channel.is_persistent = std::string(slug) != "quick";
      ids_[slug] = store->create_channel(channel, now)->id;
    }
    store::NewChannel room;
    room.name = room.slug = "room";
    room.type = core::ChannelType::kPresence;
    ids_["room"] = store->create_channel(room, now)->id;
    store.reset();
    worker_ = std::make_unique<server::StoreWorker>(
        [options = store_options_] { return store::open_store(options); });
    server::engine::EngineHandlerOptions options;
    options.engine.max_messages_per_second = 1000;
    worker_->observe(&metrics_, 1000ms);
    handler_ = std::make_unique<server::engine::EngineHandler>(verifier_, *worker_, options);
    handler_->set_metrics(&metrics_);
    server::ServerOptions server_options = test_server_options();
    server_options.threads = GetParam();
    server_ = std::make_unique<RunningServer>(server_options, *handler_);
  }

  void TearDown() override {
    if (server_) server_->stop_and_join();
    server_.reset();
    handler_.reset();
    worker_.reset();
  }

  std::string token(const std::string& user) const {
    const auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                         (std::chrono::system_clock::now() + 1h).time_since_epoch())
                         .count();
    return core::auth::sign_jwt(kKey, json::serialize(json::object{{"sub", user}, {"exp", exp}}))
        .value();
  }
  std::unique_ptr<RawClient> login(const std::string& user) {
    auto client = std::make_unique<RawClient>(server_->port());
    EXPECT_EQ(client->handshake("/?token=" + token(user)).status, 101);
    EXPECT_EQ(type_of(receive(*client)), "auth_ok");
    return client;
  }
  static void send(RawClient& client, const Json& request) {
    client.send_text(json::serialize(request));
  }
  static Json receive(RawClient& client) {
    auto event = client.next_non_ping(10s);
    if (!event || event->kind != core::ws::Event::Kind::kText) {
      ADD_FAILURE() << "no text event";
      return {};
    }
    return json::parse(event->payload).as_object();
  }
  static std::string type_of(const Json& event) {
    auto found = event.find("type");
    return found == event.end() ? "" : std::string(found->value().as_string());
  }
  // Reads until an event of `type` arrives (presence events may come between).
  static Json receive_type(RawClient& client, const std::string& type) {
    for (int i = 0; i < 1000; ++i) {
      Json event = receive(client);
      if (event.empty() || type_of(event) == type) return event;
    }
    return {};
  }

  TempDir dir_;
  store::StoreOptions store_options_;
  std::map<std::string, std::string> ids_;
  core::auth::JwtVerifier verifier_;
  server::Metrics metrics_;
  std::unique_ptr<server::StoreWorker> worker_;
  std::unique_ptr<server::engine::EngineHandler> handler_;
  std::unique_ptr<RunningServer> server_;
};

// Every subscriber gets every message of a channel once, in seq order, and
// each sender its acks, whatever loops the users, channels and sockets are on.
TEST_P(EngineServer, ChatAcrossLoopsArrivesOnceInSeqOrder) {
  constexpr int kClients = 8;
  constexpr int kMessages = 20;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(login("user" + std::to_string(i)));
    for (const char* channel : {"general", "quick"}) {
      send(*clients.back(), {{"type", "subscribe"}, {"channel", channel}, {"ref", channel}});
      EXPECT_EQ(type_of(receive(*clients.back())), "subscribed");
    }
  }
  for (int m = 0; m < kMessages; ++m) {
    for (int i = 0; i < kClients; ++i) {
      const char* channel = m % 2 == 0 ? "general" : "quick";
      send(*clients[i], {{"type", "message"},
                         {"channel", channel},
                         {"content", std::to_string(i) + ":" + std::to_string(m)},
                         {"ref", m}});
    }
  }
  for (int i = 0; i < kClients; ++i) {
    std::map<std::string, std::int64_t> last_seq;
    std::map<std::string, int> messages;
    int acks = 0;
    while (acks < kMessages || messages["general"] + messages["quick"] < kClients * kMessages) {
      Json event = receive(*clients[i]);
      ASSERT_FALSE(event.empty()) << "client " << i << ": " << acks << " acks, "
                                  << messages["general"] << "+" << messages["quick"];
      const std::string type = type_of(event);
      if (type == "ack") {
        ++acks;
      } else if (type == "message") {
        const std::string channel(event["channel"].as_string());
        const std::int64_t seq = event["seq"].as_int64();
        EXPECT_EQ(seq, last_seq[channel] + 1) << channel;
        last_seq[channel] = seq;
        ++messages[channel];
      } else {
        ADD_FAILURE() << "unexpected " << json::serialize(event);
      }
    }
    EXPECT_EQ(messages["general"], kClients * kMessages / 2);
    EXPECT_EQ(messages["quick"], kClients * kMessages / 2);
  }
}

// Connections come and go on every loop; the admin listing, gathered from
// every loop, ends with exactly the ones still open.
TEST_P(EngineServer, ChurnLeavesOnlyTheOpenConnectionsListed) {
  auto keeper = login("keeper");
  send(*keeper, {{"type", "subscribe"}, {"channel", "room"}});
  EXPECT_EQ(type_of(receive(*keeper)), "subscribed");
  for (int round = 0; round < 40; ++round) {
    auto client = login("churn" + std::to_string(round % 5));
    send(*client, {{"type", "subscribe"}, {"channel", "room"}});
    EXPECT_EQ(type_of(receive_type(*client, "subscribed")), "subscribed");
    if (round % 2 == 0) client->send_close(1000);
  }
  // Every joiner left: the keeper saw each leave (presence), then nothing pending.
  send(*keeper, {{"type", "ping"}, {"ref", "end"}});
  const Json pong = receive_type(*keeper, "pong");
  EXPECT_EQ(pong.at("ref"), "end");
  std::size_t open = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    open = handler_->connections().size();
    if (open == 1) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(open, 1u);
  EXPECT_EQ(handler_->connections().at(0).user_id, "keeper");
}

// Admin operations reach the subscribers on every loop, and their counts add up.
TEST_P(EngineServer, AdminOperationsReachEveryLoop) {
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(login("reader" + std::to_string(i)));
    send(*clients.back(), {{"type", "subscribe"}, {"channel", "news"}});
    EXPECT_EQ(type_of(receive(*clients.back())), "subscribed");
  }
  EXPECT_EQ(handler_->connections().size(), 6u);

  std::promise<Result<store::StoredMessage>> published;
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  handler_->publish({ids_["news"], "news", core::ChannelType::kPublic, true}, "backend",
                    R"({"text":"from the API"})", io.get_executor(),
                    [&](Result<store::StoredMessage> result) { published.set_value(result); });
  auto result = published.get_future().get();
  guard.reset();
  runner.join();
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result.value().seq, 1);
  for (auto& client : clients) {
    const Json message = receive(*client);
    EXPECT_EQ(type_of(message), "message");
    EXPECT_EQ(message.at("user_id"), "backend");
  }
  EXPECT_EQ(handler_->notify_channel_deleted(ids_["news"], "news"), 6u);
  for (auto& client : clients) EXPECT_EQ(type_of(receive(*client)), "channel_deleted");

  const auto found = handler_->disconnect(handler_->connections().at(0).id);
  ASSERT_TRUE(found.has_value());
  // Exactly one client is closed with 4000; it answers the close handshake.
  int closed = 0;
  for (auto& client : clients) {
    send(*client, {{"type", "ping"}, {"ref", "after"}});
    auto event = client->next_non_ping(5s);
    ASSERT_TRUE(event.has_value());
    if (event->kind == core::ws::Event::Kind::kClose) {
      EXPECT_EQ(event->close_code, 4000);
      client->send_close(4000);
      ++closed;
    } else {
      EXPECT_EQ(type_of(json::parse(event->payload).as_object()), "pong");
    }
  }
  EXPECT_EQ(closed, 1);
  for (int attempt = 0; attempt < 100 && handler_->connections().size() != 5; ++attempt) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(handler_->connections().size(), 5u);
}

// The value of the sample `name` (with its labels) in a /metrics text, or -1.
double sample(const std::string& text, const std::string& name) {
  const auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size() + 2));
}

// The engine's loops count errors by code and presence changes in their own
// cells (no lock), summed when /metrics is rendered; its commits go into the
// store batch histogram.
TEST_P(EngineServer, MetricsCountErrorsPresenceChangesAndStoreBatches) {
  auto alice = login("alice");
  auto bob = login("bob");
  send(*alice, {{"type", "subscribe"}, {"channel", "room"}});
  EXPECT_EQ(type_of(receive_type(*alice, "subscribed")), "subscribed");
  send(*bob, {{"type", "subscribe"}, {"channel", "room"}});
  EXPECT_EQ(type_of(receive_type(*alice, "presence_join")), "presence_join");  // bob's
  send(*alice, {{"type", "message"}, {"channel", "general"}, {"content", "hi"}, {"ref", 1}});
  EXPECT_EQ(type_of(receive_type(*alice, "ack")), "ack");
  send(*alice, {{"type", "subscribe"}, {"channel", "Not A Slug"}, {"ref", 2}});
  EXPECT_EQ(receive_type(*alice, "error").at("code"), "bad_request");
  send(*alice, {{"type", "message"}, {"channel", "nope"}, {"content", "x"}, {"ref", 3}});
  EXPECT_EQ(receive_type(*alice, "error").at("code"), "not_found");
  send(*bob, {{"type", "history"}, {"channel", "nope"}, {"ref", 4}});
  EXPECT_EQ(receive_type(*bob, "error").at("code"), "not_found");

  std::string text;
  for (int attempt = 0; attempt < 100; ++attempt) {
    text = "\n" + metrics_.render(10);
    if (sample(text, "nself_realtime_presence_updates_total") >= 2) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(sample(text, "nself_realtime_errors_total{code=\"bad_request\"}"), 1) << text;
  EXPECT_EQ(sample(text, "nself_realtime_errors_total{code=\"not_found\"}"), 2) << text;
  EXPECT_EQ(sample(text, "nself_realtime_errors_total{code=\"forbidden\"}"), -1) << text;
  EXPECT_EQ(sample(text, "nself_realtime_presence_updates_total"), 2) << text;  // two joins
  EXPECT_GE(sample(text, "nself_realtime_store_batch_seconds_count"), 1) << text;
  EXPECT_GE(sample(text, "nself_realtime_messages_in_total{channel_type=\"public\"}"), 1);
}

INSTANTIATE_TEST_SUITE_P(Loops, EngineServer, ::testing::Values(std::size_t{2}, std::size_t{4}),
                         [](const auto& info) { return std::to_string(info.param) + "Loops"; });

}  // namespace
}  // namespace nself::test
