// The transport with a byte-level client: HTTP routing, the opening handshake,
// control frames, protocol violations and their close codes, timeouts, the
// write path (pipelining, slow consumers) and graceful stop.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/raw_client.hpp"
#include "support/server_fixture.hpp"
#include "support/temp_dir.hpp"

namespace nself::test {
namespace {

namespace ws = core::ws;
using Kind = ws::Event::Kind;
using namespace std::chrono_literals;

class TransportTest : public ::testing::Test {
 protected:
  void start(server::ServerOptions options = test_server_options()) {
    server_ = std::make_unique<RunningServer>(std::move(options), echo_);
  }
  std::uint16_t port() const { return server_->port(); }

  // An open WebSocket client.
  std::unique_ptr<RawClient> connect(int receive_buffer_bytes = 0) {
    auto client = std::make_unique<RawClient>(port(), receive_buffer_bytes);
    HttpReply reply = client->handshake();
    EXPECT_EQ(reply.status, 101) << reply.head;
    return client;
  }

  // Expects a close frame with `code`, then the end of the connection.
  static void expect_closed_with(RawClient& client, std::uint16_t code, bool answer_pings = true) {
    auto event = client.next_non_ping(5s, answer_pings);
    ASSERT_TRUE(event.has_value()) << "no close frame";
    ASSERT_EQ(event->kind, Kind::kClose) << "payload: " << event->payload;
    EXPECT_EQ(event->close_code, code) << "reason: " << event->payload;
    EXPECT_TRUE(client.wait_eof(5s));
  }

  server::EchoHandler echo_;
  std::unique_ptr<RunningServer> server_;
};

TEST_F(TransportTest, HealthReturnsOkJson) {
  start();
  RawClient client(port());
  HttpReply reply = client.http_get("/health");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.header("Content-Type"), "application/json");
  auto body = boost::json::parse(reply.body).as_object();
  EXPECT_EQ(body.at("status").as_string(), "ok");
  EXPECT_EQ(body.at("connections").as_int64(), 0);
}

TEST_F(TransportTest, HealthCountsOpenConnections) {
  start();
  auto ws_client = connect();
  ws_client->send_text("sync");  // the echo proves the session is registered
  ASSERT_TRUE(ws_client->next_non_ping().has_value());
  RawClient client(port());
  auto body = boost::json::parse(client.http_get("/health").body).as_object();
  EXPECT_EQ(body.at("connections").as_int64(), 1);
}

TEST_F(TransportTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  RawClient client(port());
  client.send_raw("GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(client.read_http_reply().status, 200);
  EXPECT_EQ(client.read_http_reply().status, 404);
}

TEST_F(TransportTest, UnknownPathIs404) {
  start();
  RawClient client(port());
  HttpReply reply = client.http_get("/nope");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(boost::json::parse(reply.body).at("error").at("code").as_string(), "not_found");
}

TEST_F(TransportTest, WrongMethodIs405WithAllow) {
  start();
  RawClient client(port());
  client.send_raw(
      "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  HttpReply reply = client.read_http_reply();
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.header("Allow"), "GET");
}

TEST_F(TransportTest, MalformedRequestIs400) {
  start();
  RawClient client(port());
  client.send_raw("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(client.read_http_reply().status, 400);
}

TEST_F(TransportTest, OversizedHeaderIs431) {
  start();
  RawClient client(port());
  std::string big(16 * 1024, 'a');
  client.send_raw("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n");
  EXPECT_EQ(client.read_http_reply().status, 431);
}

TEST_F(TransportTest, OversizedBodyIs413) {
  start();
  RawClient client(port());
  std::string body(100 * 1024, 'b');
  client.send_raw("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(client.read_http_reply().status, 413);
}

TEST_F(TransportTest, HandshakeReturns101WithAcceptKey) {
  start();
  RawClient client(port());
  HttpReply reply = client.handshake("/", "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  EXPECT_EQ(reply.status, 101);
  // RFC 6455 section 1.3's example key and accept value.
  EXPECT_EQ(reply.header("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(reply.header("Upgrade"), "websocket");
  // permessage-deflate is declined by not echoing it.
  EXPECT_EQ(reply.header("Sec-WebSocket-Extensions"), "");
  client.send_text("hello");
  auto event = client.next_non_ping();
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->kind, Kind::kText);
  EXPECT_EQ(event->payload, "hello");
}

TEST_F(TransportTest, WsPathAndQueryAreAccepted) {
  start();
  RawClient client(port());
  EXPECT_EQ(client.handshake("/ws?token=abc").status, 101);
}

TEST_F(TransportTest, BadUpgradesAre400) {
  start();
  const std::vector<std::string> bad = {
      // no Sec-WebSocket-Key
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n",
      // a key that is not 16 bytes of base64
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n",
      // Upgrade to something else
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      // no Connection: upgrade
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      // POST
      "POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "Content-Length: 0\r\n\r\n",
      // HTTP/1.0
      "GET / HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      // a plain GET of the WebSocket endpoint
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
  };
  for (const auto& request : bad) {
    RawClient client(port());
    client.send_raw(request);
    HttpReply reply = client.read_http_reply();
    EXPECT_EQ(reply.status, 400) << request;
    EXPECT_TRUE(client.wait_eof(2s)) << request;
  }
}

TEST_F(TransportTest, WrongVersionIs426WithSupportedVersion) {
  start();
  RawClient client(port());
  client.send_raw(
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
  HttpReply reply = client.read_http_reply();
  EXPECT_EQ(reply.status, 426);
  EXPECT_EQ(reply.header("Sec-WebSocket-Version"), "13");
}

TEST_F(TransportTest, UpgradePastMaxConnectionsIs503) {
  auto options = test_server_options();
  options.max_connections = 2;
  start(options);
  auto first = connect();
  auto second = connect();
  RawClient third(port());
  HttpReply reply = third.handshake();
  EXPECT_EQ(reply.status, 503);
  // A slot frees when a client leaves.
  second->send_close(ws::close_code::kNormal);
  expect_closed_with(*second, ws::close_code::kNormal);
  // The client saw its end before the server counted the slot free: wait for
  // /health to count one connection.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::int64_t connections = -1;
  while (std::chrono::steady_clock::now() < deadline) {
    RawClient probe(port());
    connections =
        boost::json::parse(probe.http_get("/health").body).as_object().at("connections").as_int64();
    if (connections == 1) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(connections, 1);
  RawClient fourth(port());
  EXPECT_EQ(fourth.handshake().status, 101);
}

TEST_F(TransportTest, PingIsAnsweredWithPong) {
  start();
  auto client = connect();
  client->send_frame(ws::Opcode::kPing, "are you there");
  auto event = client->next();
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->kind, Kind::kPong);
  EXPECT_EQ(event->payload, "are you there");
}

TEST_F(TransportTest, ServerPingsAndAnsweringKeepsTheClientAlive) {
  auto options = test_server_options();
  options.ping_interval = 200ms;
  options.idle_timeout = 500ms;
  start(options);
  auto client = connect();
  int pings = 0;
  auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until) {
    auto event = client->next(100ms);
    if (event && event->kind == Kind::kPing) {
      ++pings;
      client->send_frame(ws::Opcode::kPong, event->payload);
    }
    ASSERT_FALSE(event && event->kind == Kind::kClose) << "closed although it answered pings";
  }
  EXPECT_GE(pings, 3);
  client->send_text("still here");
  auto echo = client->next_non_ping();
  ASSERT_TRUE(echo.has_value());
  EXPECT_EQ(echo->payload, "still here");
}

TEST_F(TransportTest, SilentClientIsClosedAfterIdleTimeout) {
  auto options = test_server_options();
  options.ping_interval = 100ms;
  options.idle_timeout = 400ms;
  start(options);
  auto client = connect();
  auto started = std::chrono::steady_clock::now();
  expect_closed_with(*client, ws::close_code::kGoingAway, /*answer_pings=*/false);
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 300ms);
}

TEST_F(TransportTest, OversizedMessageCloses1009) {
  auto options = test_server_options();
  options.max_message_bytes = 1024;
  start(options);
  auto client = connect();
  client->send_text(std::string(1025, 'x'));
  auto event = client->next_non_ping();
  ASSERT_TRUE(event.has_value());
  ASSERT_EQ(event->kind, Kind::kClose);
  EXPECT_EQ(event->close_code, ws::close_code::kMessageTooBig);
  EXPECT_TRUE(client->wait_eof(5s));
}

TEST_F(TransportTest, MessageAtTheLimitIsAccepted) {
  auto options = test_server_options();
  options.max_message_bytes = 1024;
  start(options);
  auto client = connect();
  client->send_text(std::string(1024, 'x'));
  auto event = client->next_non_ping();
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->payload.size(), 1024u);
}

TEST_F(TransportTest, InvalidUtf8Closes1007) {
  start();
  auto client = connect();
  client->send_text("bad \xC3\x28 utf8");
  expect_closed_with(*client, ws::close_code::kInvalidPayload);
}

TEST_F(TransportTest, UnmaskedFrameCloses1002) {
  start();
  auto client = connect();
  client->send_raw(ws::encode_frame(ws::Opcode::kText, "not masked"));
  expect_closed_with(*client, ws::close_code::kProtocolError);
}

TEST_F(TransportTest, BinaryIsEchoedByTheEchoHandler) {
  start();
  auto client = connect();
  client->send_frame(ws::Opcode::kBinary, std::string("\x00\x01\xFF", 3));
  auto event = client->next_non_ping();
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->kind, Kind::kBinary);
  EXPECT_EQ(event->payload, std::string("\x00\x01\xFF", 3));
}

TEST_F(TransportTest, FragmentedMessageIsReassembled) {
  start();
  auto client = connect();
  client->send_frame(ws::Opcode::kText, "frag", false);
  client->send_frame(ws::Opcode::kPing, "mid");  // a control frame between fragments
  client->send_frame(ws::Opcode::kContinuation, "ment", true);
  auto pong = client->next();
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(pong->kind, Kind::kPong);
  auto text = client->next_non_ping();
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(text->payload, "fragment");
}

TEST_F(TransportTest, CloseHandshakeEchoesTheCode) {
  start();
  for (std::uint16_t code : {std::uint16_t{1000}, std::uint16_t{1001}, std::uint16_t{4000}}) {
    auto client = connect();
    client->send_close(code, "bye");
    expect_closed_with(*client, code);
  }
}

TEST_F(TransportTest, EmptyCloseIsEchoedEmpty) {
  start();
  auto client = connect();
  client->send_frame(ws::Opcode::kClose, "");
  expect_closed_with(*client, ws::close_code::kNoStatus);
}

TEST_F(TransportTest, InvalidCloseCodeCloses1002) {
  start();
  auto client = connect();
  client->send_close(1005);  // may never be sent on the wire
  expect_closed_with(*client, ws::close_code::kProtocolError);
}

TEST_F(TransportTest, DataAfterCloseIsNotDelivered) {
  start();
  auto client = connect();
  client->send_raw(RawClient::frame(ws::Opcode::kClose, std::string("\x03\xE8", 2)) +
                   RawClient::frame(ws::Opcode::kText, "too late"));
  expect_closed_with(*client, ws::close_code::kNormal);
}

TEST_F(TransportTest, ManyMessagesPipelinedWithTheHandshakeAreAllAnsweredInOrder) {
  start();
  RawClient client(port());
  std::string bytes = RawClient::upgrade_request();
  constexpr int kMessages = 500;
  for (int i = 0; i < kMessages; ++i) {
    bytes += RawClient::frame(ws::Opcode::kText, "message " + std::to_string(i));
  }
  client.send_raw(bytes);  // one write: handshake and frames arrive together
  EXPECT_EQ(client.read_http_reply().status, 101);
  for (int i = 0; i < kMessages; ++i) {
    auto event = client.next_non_ping();
    ASSERT_TRUE(event.has_value()) << "missing echo " << i;
    ASSERT_EQ(event->payload, "message " + std::to_string(i));
  }
}

TEST_F(TransportTest, SlowConsumerIsClosedWith1008) {
  auto options = test_server_options();
  options.max_queued_bytes = 256 * 1024;
  options.max_message_bytes = 64 * 1024;
  options.close_timeout = 10s;
  start(options);
  auto client = connect(4096);  // small receive window: the server's writes stall
  std::string payload(60 * 1024, 'p');
  // Far more than the socket buffers hold: the echo queue must pass its bound.
  for (int i = 0; i < 400; ++i) client->send_text(payload);
  std::this_thread::sleep_for(500ms);
  // Now read everything: some echoes, then the close.
  std::optional<ws::Event> event;
  int echoes = 0;
  while ((event = client->next(10s)) && event->kind != Kind::kClose) ++echoes;
  ASSERT_TRUE(event.has_value()) << "no close frame after " << echoes << " echoes";
  EXPECT_EQ(event->close_code, ws::close_code::kPolicyViolation);
  EXPECT_EQ(event->payload, "slow consumer");
  EXPECT_LT(echoes, 400);
}

TEST_F(TransportTest, StopClosesEveryClientWith1001AndReturns) {
  start();
  auto first = connect();
  auto second = connect();
  std::thread closer([&] {
    // The clients answer the close while the server drains.
    for (auto* client : {first.get(), second.get()}) {
      auto event = client->next_non_ping(5s);
      if (event && event->kind == Kind::kClose) {
        EXPECT_EQ(event->close_code, ws::close_code::kGoingAway);
        EXPECT_EQ(event->payload, "server shutting down");
        client->send_close(ws::close_code::kGoingAway);
      } else {
        ADD_FAILURE() << "no close frame";
      }
    }
  });
  auto took = server_->stop_and_join();
  closer.join();
  EXPECT_LT(took, 5s);
  EXPECT_TRUE(first->wait_eof(2s));
  EXPECT_TRUE(second->wait_eof(2s));
  // The port no longer accepts.
  EXPECT_THROW(RawClient{port()}, std::exception);
}

TEST_F(TransportTest, StopReturnsWithinTheShutdownTimeoutWhenClientsDoNotAnswer) {
  auto options = test_server_options();
  options.shutdown_timeout = 1s;
  options.close_timeout = 5s;
  start(options);
  auto client = connect();  // never answers the close
  auto took = server_->stop_and_join();
  EXPECT_LT(took, 3s);
  auto event = client->next_non_ping(1s);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->kind, Kind::kClose);
  EXPECT_EQ(event->close_code, ws::close_code::kGoingAway);
}

TEST_F(TransportTest, StopBeforeRunReturnsAtOnce) {
  server::EchoHandler echo;
  server::Server server(test_server_options(), echo);
  server.stop();
  auto ran = std::async(std::launch::async, [&] { server.run(); });
  const bool returned = ran.wait_for(5s) == std::future_status::ready;
  if (!returned) server.stop();  // so that a failure ends red instead of hanging
  EXPECT_TRUE(returned) << "run() after stop() did not return within 5 s";
}

TEST_F(TransportTest, TlsClientsSilentDuringTheHandshakeAreClosedAtTheRequestDeadline) {
  // A self-signed certificate made by the openssl CLI, as tls.test.mjs does.
  TempDir dir;
  const auto cert = (dir.path() / "cert.pem").string();
  const auto key = (dir.path() / "key.pem").string();
  const std::string make_certificate =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-subj /CN=localhost -keyout '" +
      key + "' -out '" + cert + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(make_certificate.c_str()), 0) << make_certificate;
  auto options = test_server_options();
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  options.request_timeout = 300ms;  // the handshake and the request share it
  start(options);
  // One says nothing after connecting; one stops half way through its first
  // TLS record (a handshake record header announcing 255 bytes, then 3).
  RawClient silent(port());
  RawClient partial(port());
  partial.send_raw(std::string("\x16\x03\x01\x00\xff\x01\x00\x00", 8));
  EXPECT_TRUE(silent.wait_eof(5s)) << "a silent TLS client is still open";
  EXPECT_TRUE(partial.wait_eof(5s)) << "a TLS client stalled mid-record is still open";
}

TEST_F(TransportTest, BindingABusyPortThrows) {
  start();
  auto options = test_server_options();
  options.port = port();
  server::EchoHandler echo;
  EXPECT_THROW(server::Server(options, echo), server::ServerError);
}

}  // namespace
}  // namespace nself::test
