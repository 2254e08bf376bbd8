#include "protocol_fixture.hpp"

namespace nself::test {

namespace json = boost::json;
namespace ws = core::ws;
using namespace std::chrono_literals;

namespace {

const core::auth::JwtKey kKey{core::auth::JwtAlgorithm::kHS256, "test-secret-test-secret-32-bytes"};

store::NewChannel new_channel(const std::string& slug,
                              core::ChannelType type = core::ChannelType::kPublic) {
  store::NewChannel channel;
  channel.name = slug;
  channel.slug = slug;
  channel.type = type;
  return channel;
}

}  // namespace

ProtocolTest::ProtocolTest() : verifier_({kKey}) {}

void ProtocolTest::SetUp() {
  NSELF_TEST_USE_BACKEND(GetParam(), dir_, database_, store_options_);
  auto store = store::open_store(store_options_);
  store->migrate();
  create_channels(*store);
  if (HasFatalFailure()) return;
  store.reset();
  worker_ = std::make_unique<server::StoreWorker>(
      [options = store_options_] { return store::open_store(options); });
}

void ProtocolTest::create_channels(store::Store& store) {
  auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  general_id_ = store.create_channel(new_channel("general"), now)->id;
  room_id_ = store.create_channel(new_channel("room", core::ChannelType::kPresence), now)->id;
  (void)store.create_channel(new_channel("lounge", core::ChannelType::kPresence), now);
  store::NewChannel small = new_channel("small");
  small.max_members = 2;
  (void)store.create_channel(small, now);
  team_id_ = store.create_channel(new_channel("team", core::ChannelType::kPrivate), now)->id;
  store::ChannelMember alice;
  alice.channel_id = team_id_;
  alice.user_id = "alice";
  store.upsert_member(alice);
  store::ChannelMember bob = alice;
  bob.user_id = "bob";
  bob.can_send = false;
  store.upsert_member(bob);
  auto old = store.create_channel(new_channel("old"), now);
  store::NewMessage kept;
  kept.channel_id = old->id;
  kept.user_id = "alice";
  kept.content = R"("from before the archive")";
  store.append_messages(std::span(&kept, 1), now);
  ASSERT_TRUE(store.archive_channel(old->id, now));
}

void ProtocolTest::start(server::RealtimeOptions realtime, server::ServerOptions options) {
  handler_ = std::make_unique<server::RealtimeHandler>(verifier_, *worker_, realtime);
  handler_->set_metrics(&metrics_);
  server_ = std::make_unique<RunningServer>(std::move(options), *handler_);
}

std::string ProtocolTest::token_for(const std::string& user, std::optional<std::int64_t> exp,
                                    const std::string& role) const {
  json::object claims{{"sub", user}, {"role", role}};
  if (exp) claims["exp"] = *exp;
  auto token = core::auth::sign_jwt(kKey, json::serialize(claims));
  EXPECT_TRUE(token.ok());
  return token.value();
}

std::unique_ptr<RawClient> ProtocolTest::login(const std::string& user, const std::string& role) {
  auto client = std::make_unique<RawClient>(server_->port());
  EXPECT_EQ(client->handshake().status, 101);
  send(*client, {{"type", "auth"}, {"token", token_for(user, std::nullopt, role)}});
  auto ok = receive(*client);
  EXPECT_EQ(type_of(ok), "auth_ok") << json::serialize(ok);
  return client;
}

void ProtocolTest::send(RawClient& client, const Json& request) {
  client.send_text(json::serialize(request));
}

ProtocolTest::Json ProtocolTest::receive(RawClient& client, std::chrono::milliseconds timeout) {
  auto event = client.next_non_ping(timeout);
  if (!event || event->kind != ws::Event::Kind::kText) {
    ADD_FAILURE() << "no text event"
                  << (event ? " (got a control frame: " + event->payload + ")" : "");
    return {};
  }
  return json::parse(event->payload).as_object();
}

void ProtocolTest::expect_pong_next(RawClient& client) {
  send(client, {{"type", "ping"}, {"ref", "barrier"}});
  auto event = receive(client);
  EXPECT_EQ(type_of(event), "pong") << "unexpected event: " << boost::json::serialize(event);
  EXPECT_EQ(event["ref"], "barrier");
}

std::string ProtocolTest::type_of(const Json& event) {
  auto found = event.find("type");
  return found == event.end() ? "" : std::string(found->value().as_string());
}

std::string ProtocolTest::code_of(const Json& event) {
  auto found = event.find("code");
  return found == event.end() ? "" : std::string(found->value().as_string());
}

void ProtocolTest::expect_close(RawClient& client, std::uint16_t code) {
  auto event = client.next_non_ping(5s);
  ASSERT_TRUE(event.has_value());
  ASSERT_EQ(event->kind, ws::Event::Kind::kClose) << event->payload;
  EXPECT_EQ(event->close_code, code);
}

ProtocolTest::Json ProtocolTest::subscribe(RawClient& client, const std::string& channel) {
  send(client, {{"type", "subscribe"}, {"channel", channel}});
  auto reply = receive(client);
  EXPECT_EQ(type_of(reply), "subscribed") << json::serialize(reply);
  return reply;
}

std::unique_ptr<store::Store> ProtocolTest::open_store() const {
  return store::open_store(store_options_);
}

}  // namespace nself::test
