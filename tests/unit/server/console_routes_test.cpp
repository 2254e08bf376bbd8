// The console's routes on a bare router: the embedded files and their
// types, has_route (which lets a plain GET / reach the console), and the
// development-mode token minter, present only when asked for, whose tokens
// verify with the same secret.

#include "server/console_routes.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>

#include "core/auth/jwt_key.hpp"
#include "core/auth/jwt_verifier.hpp"

namespace nself::server {
namespace {

namespace json = boost::json;

HttpRequest get(std::string_view target) {
  HttpRequest request{http::verb::get, target, 11};
  request.set(http::field::host, "localhost");
  return request;
}

HttpRequest post_token(std::string body) {
  HttpRequest request{http::verb::post, "/console/token", 11};
  request.set(http::field::host, "localhost");
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

TEST(ConsoleRoutes, ServeTheEmbeddedFilesWithTheirTypes) {
  HttpRouter router;
  add_console_routes(router, {});
  for (const char* path : {"/", "/console", "/console/", "/console/index.html"}) {
    HttpResponse response = router.handle(get(path));
    EXPECT_EQ(response.result(), http::status::ok) << path;
    EXPECT_EQ(response[http::field::content_type], "text/html; charset=utf-8") << path;
    EXPECT_NE(response.body().find("nself realtime console"), std::string::npos) << path;
  }
  HttpResponse sdk = router.handle(get("/sdk/realtime-client.js"));
  EXPECT_EQ(sdk.result(), http::status::ok);
  EXPECT_EQ(sdk[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_NE(sdk.body().find("export class RealtimeClient"), std::string::npos);
  EXPECT_EQ(router.handle(get("/examples/chat/")).result(), http::status::ok);
  EXPECT_EQ(router.handle(get("/examples/cursors/cursors.js")).result(), http::status::ok);
  EXPECT_EQ(router.handle(get("/console/missing.js")).result(), http::status::not_found);
  EXPECT_TRUE(router.has_route(http::verb::get, "/"));
  EXPECT_FALSE(router.has_route(http::verb::get, "/ws"));
  EXPECT_FALSE(router.has_route(http::verb::post, "/"));
}

TEST(ConsoleRoutes, ContentTypes) {
  EXPECT_EQ(content_type_for("a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("a.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("a.json"), "application/json");
  EXPECT_EQ(content_type_for("a.png"), "image/png");
  EXPECT_EQ(content_type_for("README"), "application/octet-stream");
}

TEST(ConsoleRoutes, InfoSaysWhetherDevelopmentModeIsOn) {
  for (bool dev_mode : {false, true}) {
    HttpRouter router;
    add_console_routes(router, {dev_mode, "secret"});
    HttpResponse response = router.handle(get("/console/info"));
    ASSERT_EQ(response.result(), http::status::ok);
    EXPECT_EQ(json::parse(response.body()).at("dev_mode").as_bool(), dev_mode);
  }
}

TEST(ConsoleRoutes, NoTokenMinterOutsideDevelopmentMode) {
  HttpRouter router;
  add_console_routes(router, {false, "secret"});
  EXPECT_EQ(router.handle(post_token("{}")).result(), http::status::not_found);
  EXPECT_FALSE(router.has_route(http::verb::post, "/console/token"));
}

TEST(ConsoleRoutes, DevelopmentTokensVerifyWithTheSecret) {
  HttpRouter router;
  add_console_routes(router, {true, "s3cret"});
  HttpResponse response =
      router.handle(post_token(R"({"user_id":"alice","role":"admin","ttl_seconds":60})"));
  ASSERT_EQ(response.result(), http::status::ok) << response.body();
  const json::value body = json::parse(response.body());
  EXPECT_EQ(body.at("user_id").as_string(), "alice");
  const core::auth::JwtVerifier verifier(
      {core::auth::JwtKey{core::auth::JwtAlgorithm::kHS256, "s3cret"}});
  const auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  auto claims = verifier.verify(std::string(body.at("token").as_string()), now);
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ(claims->user_id, "alice");
  EXPECT_TRUE(claims->is_admin);
  ASSERT_TRUE(claims->expires_at.has_value());
  EXPECT_LE(*claims->expires_at, now + std::chrono::seconds(61));
  // Expired a minute later.
  EXPECT_FALSE(
      verifier.verify(std::string(body.at("token").as_string()), now + std::chrono::seconds(61))
          .ok());
  const core::auth::JwtVerifier other(
      {core::auth::JwtKey{core::auth::JwtAlgorithm::kHS256, "another"}});
  EXPECT_FALSE(other.verify(std::string(body.at("token").as_string()), now).ok());
}

TEST(ConsoleRoutes, BadTokenRequestsAre400AndNoSecretIs503) {
  HttpRouter router;
  add_console_routes(router, {true, "s3cret"});
  for (const char* body : {"[]", "nope", R"({"user_id":""})", R"({"user_id":null})",
                           R"({"ttl_seconds":-1})", R"({"ttl_seconds":"60"})", R"({"role":1})"}) {
    EXPECT_EQ(router.handle(post_token(body)).result(), http::status::bad_request) << body;
  }
  HttpRouter without_secret;
  add_console_routes(without_secret, {true, ""});
  EXPECT_EQ(without_secret.handle(post_token("{}")).result(), http::status::service_unavailable);
}

}  // namespace
}  // namespace nself::server
