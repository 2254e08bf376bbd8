// The pure parts of the HTTP side: handshake validation, target parsing and
// the route table, on request objects without sockets.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "server/handshake.hpp"
#include "server/http_router.hpp"

namespace nself::server {
namespace {

HttpRequest upgrade(std::string_view target = "/") {
  HttpRequest request{http::verb::get, target, 11};
  request.set(http::field::host, "localhost");
  request.set(http::field::upgrade, "websocket");
  request.set(http::field::connection, "Upgrade");
  request.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  request.set(http::field::sec_websocket_version, "13");
  return request;
}

TEST(Handshake, ValidUpgradeGivesTheAcceptKey) {
  HandshakeCheck check = check_websocket_handshake(upgrade());
  ASSERT_TRUE(check.accept_key.has_value());
  EXPECT_EQ(*check.accept_key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_FALSE(check.rejection.has_value());
}

TEST(Handshake, TokenListsAndCaseAreAccepted) {
  HttpRequest request = upgrade();
  request.set(http::field::upgrade, "WebSocket");
  request.set(http::field::connection, "keep-alive, Upgrade");
  EXPECT_TRUE(check_websocket_handshake(request).accept_key.has_value());
}

TEST(Handshake, MissingOrBadPartsAre400) {
  auto status_of = [](HttpRequest request) {
    HandshakeCheck check = check_websocket_handshake(request);
    return check.rejection ? check.rejection->result() : http::status::switching_protocols;
  };
  HttpRequest no_key = upgrade();
  no_key.erase(http::field::sec_websocket_key);
  EXPECT_EQ(status_of(no_key), http::status::bad_request);
  HttpRequest bad_key = upgrade();
  bad_key.set(http::field::sec_websocket_key, "not-base64-16-bytes");
  EXPECT_EQ(status_of(bad_key), http::status::bad_request);
  HttpRequest no_upgrade = upgrade();
  no_upgrade.erase(http::field::upgrade);
  EXPECT_EQ(status_of(no_upgrade), http::status::bad_request);
  HttpRequest no_connection = upgrade();
  no_connection.set(http::field::connection, "close");
  EXPECT_EQ(status_of(no_connection), http::status::bad_request);
  HttpRequest post = upgrade();
  post.method(http::verb::post);
  EXPECT_EQ(status_of(post), http::status::bad_request);
  HttpRequest http10 = upgrade();
  http10.version(10);
  EXPECT_EQ(status_of(http10), http::status::bad_request);
}

TEST(Handshake, WrongOrMissingVersionIs426Naming13) {
  for (const char* version : {"8", "", "13, 8"}) {
    HttpRequest request = upgrade();
    if (*version == '\0') {
      request.erase(http::field::sec_websocket_version);
    } else {
      request.set(http::field::sec_websocket_version, version);
    }
    HandshakeCheck check = check_websocket_handshake(request);
    ASSERT_TRUE(check.rejection.has_value()) << version;
    EXPECT_EQ(check.rejection->result(), http::status::upgrade_required);
    EXPECT_EQ((*check.rejection)[http::field::sec_websocket_version], "13");
  }
}

TEST(Handshake, WantsUpgradeOnlyWithUpgradeHeaders) {
  EXPECT_TRUE(wants_websocket_upgrade(upgrade()));
  EXPECT_FALSE(wants_websocket_upgrade(HttpRequest{http::verb::get, "/", 11}));
}

TEST(Handshake, SwitchingProtocolsResponseIsExact) {
  EXPECT_EQ(switching_protocols_response("abc="),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: abc=\r\n\r\n");
}

TEST(Handshake, HeaderTokens) {
  EXPECT_TRUE(header_has_token("a, b ,UPGRADE", "upgrade"));
  EXPECT_FALSE(header_has_token("upgrades", "upgrade"));
  EXPECT_FALSE(header_has_token("", "upgrade"));
}

TEST(Target, SplitsPathAndQuery) {
  EXPECT_EQ(split_target("/ws?token=a").path, "/ws");
  EXPECT_EQ(split_target("/ws?token=a").query, "token=a");
  EXPECT_EQ(split_target("/health").query, "");
}

TEST(Target, QueryParamsAreDecoded) {
  EXPECT_EQ(query_param("a=1&token=x%2By+z", "token"), "x+y z");
  EXPECT_EQ(query_param("token=first&token=second", "token"), "first");
  EXPECT_EQ(query_param("token", "token"), "");
  EXPECT_FALSE(query_param("a=1", "token").has_value());
  EXPECT_FALSE(query_param("token=%zz", "token").has_value());  // malformed escape
  EXPECT_FALSE(query_param("token=%4", "token").has_value());   // cut short
  EXPECT_FALSE(query_param("", "token").has_value());
}

TEST(Router, RoutesByMethodAndPath) {
  HttpRouter router;
  router.add(http::verb::get, "/health", [](const HttpRequest& request) {
    return json_response(http::status::ok, R"({"status":"ok"})", &request);
  });
  HttpResponse ok = router.handle(HttpRequest{http::verb::get, "/health?x=1", 11});
  EXPECT_EQ(ok.result(), http::status::ok);
  EXPECT_EQ(ok.body(), R"({"status":"ok"})");
  EXPECT_EQ(router.handle(HttpRequest{http::verb::get, "/other", 11}).result(),
            http::status::not_found);
  HttpResponse wrong = router.handle(HttpRequest{http::verb::delete_, "/health", 11});
  EXPECT_EQ(wrong.result(), http::status::method_not_allowed);
  EXPECT_EQ(wrong[http::field::allow], "GET");
  HttpResponse head = router.handle(HttpRequest{http::verb::head, "/health", 11});
  EXPECT_EQ(head.result(), http::status::ok);
  EXPECT_TRUE(head.body().empty());
}

TEST(Router, HandlerExceptionsBecome500) {
  HttpRouter router;
  router.add(http::verb::get, "/boom",
             [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("kaput"); });
  EXPECT_EQ(router.handle(HttpRequest{http::verb::get, "/boom", 11}).result(),
            http::status::internal_server_error);
}

TEST(Router, ErrorsHaveTheNestedShape) {
  HttpRouter router;
  HttpResponse missing = router.handle(HttpRequest{http::verb::get, "/missing", 11});
  auto body = boost::json::parse(missing.body());
  EXPECT_EQ(body.at("error").at("code"), "not_found");
  EXPECT_EQ(body.at("error").at("message"), "no such endpoint: /missing");
}

TEST(Router, AsyncRoutesCaptureParametersAndRespondLater) {
  HttpRouter router;
  Responder saved;
  std::string seen_channel, seen_user;
  router.add_async(http::verb::delete_, "/api/channels/{channel}/members/{user}",
                   [&](const HttpRequest&, const PathParams& params, Responder respond) {
                     seen_channel = params.get("channel");
                     seen_user = params.get("user");
                     EXPECT_EQ(params.get("other"), "");
                     saved = std::move(respond);
                   });
  std::optional<HttpResponse> result;
  HttpRequest request{http::verb::delete_, "/api/channels/gen%20eral/members/u1?x=1", 10};
  router.handle(request, [&](HttpResponse response) { result = std::move(response); });
  EXPECT_FALSE(result.has_value());
  EXPECT_EQ(seen_channel, "gen eral");
  EXPECT_EQ(seen_user, "u1");
  saved(json_response(http::status::ok, "{}"));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->result(), http::status::ok);
  EXPECT_EQ(result->version(), 10u);  // the request's version, not the handler's
  EXPECT_FALSE(result->keep_alive());
  // A second call is ignored.
  saved(json_response(http::status::bad_request, "{}"));
  EXPECT_EQ(result->result(), http::status::ok);
}

TEST(Router, PathSegmentsKeepPlusAsPlus) {
  // RFC 3986: '+' in a path is a '+'; only query strings (form encoding) make it a space.
  HttpRouter router;
  std::string seen_user;
  router.add_async(http::verb::delete_, "/api/channels/{channel}/members/{user}",
                   [&](const HttpRequest&, const PathParams& params, Responder respond) {
                     seen_user = params.get("user");
                     respond(json_response(http::status::ok, "{}"));
                   });
  for (const auto& [target, user] : std::vector<std::pair<std::string, std::string>>{
           {"/api/channels/c/members/eve+x@example.com", "eve+x@example.com"},
           {"/api/channels/c/members/eve%2Bx%40example.com", "eve+x@example.com"},
           {"/api/channels/c/members/eve%20x?user_id=a+b", "eve x"}}) {
    HttpRequest request{http::verb::delete_, target, 11};
    EXPECT_EQ(router.handle(request).result(), http::status::ok) << target;
    EXPECT_EQ(seen_user, user) << target;
  }
  EXPECT_EQ(query_param("user_id=eve+x%40example.com", "user_id"), "eve x@example.com");
  EXPECT_EQ(query_param("user_id=eve%2Bx%40example.com", "user_id"), "eve+x@example.com");
}

TEST(Router, PatternsMatchWholeSegmentsOnly) {
  HttpRouter router;
  int calls = 0;
  router.add_async(http::verb::get, "/api/channels/{channel}",
                   [&](const HttpRequest&, const PathParams&, Responder respond) {
                     ++calls;
                     respond(json_response(http::status::ok, "{}"));
                   });
  router.add(http::verb::get, "/api/channels/special", [](const HttpRequest& request) {
    return json_response(http::status::accepted, "{}", &request);
  });
  auto get = [&](std::string target) {
    std::optional<HttpResponse> result;
    router.handle(HttpRequest{http::verb::get, target, 11},
                  [&](HttpResponse response) { result = std::move(response); });
    return result->result();
  };
  EXPECT_EQ(get("/api/channels/x"), http::status::ok);
  EXPECT_EQ(get("/api/channels/special"), http::status::accepted);  // literal wins
  EXPECT_EQ(get("/api/channels/"), http::status::not_found);        // empty segment
  EXPECT_EQ(get("/api/channels"), http::status::not_found);
  EXPECT_EQ(get("/api/channels/x/y"), http::status::not_found);
  EXPECT_EQ(get("/api/channels/%zz"), http::status::not_found);  // malformed escape
  EXPECT_EQ(calls, 1);
  std::optional<HttpResponse> wrong;
  router.handle(HttpRequest{http::verb::post, "/api/channels/x", 11},
                [&](HttpResponse response) { wrong = std::move(response); });
  EXPECT_EQ(wrong->result(), http::status::method_not_allowed);
  EXPECT_EQ((*wrong)[http::field::allow], "GET");
}

TEST(Router, AsyncHandlerThrowingBeforeRespondingGives500) {
  HttpRouter router;
  router.add_async(
      http::verb::get, "/x/{id}",
      [](const HttpRequest&, const PathParams&, Responder) { throw std::runtime_error("kaput"); });
  std::optional<HttpResponse> result;
  router.handle(HttpRequest{http::verb::get, "/x/1", 11},
                [&](HttpResponse response) { result = std::move(response); });
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->result(), http::status::internal_server_error);
}

TEST(Router, WebsocketEndpoints) {
  HttpRouter router;
  router.add_websocket_endpoint("/ws");
  EXPECT_TRUE(router.is_websocket_endpoint("/ws"));
  EXPECT_FALSE(router.is_websocket_endpoint("/ws/"));
}

}  // namespace
}  // namespace nself::server
