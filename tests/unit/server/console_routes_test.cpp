// The console's routes on a bare router: the embedded files and their
// types, has_route (which lets a plain GET / reach the console), and the
// development-mode token minter, present only when asked for, whose tokens
// verify with the same secret.

#include "server/console_routes.hpp"

#include <gtest/gtest.h>

#include <zlib.h>

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

// The bytes a gzip stream holds (inflated by zlib itself).
std::string gunzip(std::string_view data) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  std::string out(1 << 22, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

TEST(ConsoleRoutes, TheSdkIsGzippedForClientsThatAcceptIt) {
  HttpRouter router;
  add_console_routes(router, {});
  const std::string plain = router.handle(get("/sdk/realtime-client.js")).body();
  HttpRequest request = get("/sdk/realtime-client.js");
  request.set(http::field::accept_encoding, "gzip, deflate, br");
  HttpResponse response = router.handle(request);
  ASSERT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response[http::field::content_encoding], "gzip");
  EXPECT_EQ(response[http::field::vary], "Accept-Encoding");
  EXPECT_LT(response.body().size(), plain.size() / 2);
  EXPECT_EQ(gunzip(response.body()), plain);
  EXPECT_EQ(response[http::field::content_length], std::to_string(response.body().size()));

  HttpResponse identity = router.handle(get("/sdk/realtime-client.js"));
  EXPECT_EQ(identity[http::field::content_encoding], "");
  EXPECT_NE(identity.body().find("export class RealtimeClient"), std::string::npos);
}

TEST(ConsoleRoutes, AcceptEncoding) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("deflate, gzip;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip(" br , GZIP-no, gzip ; q=1"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("br, deflate"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0.000"));
  EXPECT_FALSE(accepts_gzip("x-gzip"));
}

TEST(ConsoleRoutes, TheSdkHasAStrongEtagAndIsCacheable) {
  HttpRouter router;
  add_console_routes(router, {});
  HttpResponse first = router.handle(get("/sdk/realtime-client.js"));
  const std::string etag(first[http::field::etag]);
  ASSERT_EQ(etag.size(), 34U) << etag;  // "32 hex digits", not W/
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(first[http::field::cache_control], "public, max-age=3600");
  // Loadable as a module by a page of another origin.
  EXPECT_EQ(first[http::field::access_control_allow_origin], "*");
  EXPECT_EQ(router.handle(get("/"))[http::field::access_control_allow_origin], "");
  EXPECT_EQ(router.handle(get("/sdk/index.d.ts"))[http::field::etag].size(), 34U);
  EXPECT_NE(router.handle(get("/sdk/index.d.ts"))[http::field::etag], etag);

  HttpRequest again = get("/sdk/realtime-client.js");
  again.set(http::field::if_none_match, etag);
  HttpResponse cached = router.handle(again);
  EXPECT_EQ(cached.result(), http::status::not_modified);
  EXPECT_TRUE(cached.body().empty());
  EXPECT_EQ(cached[http::field::etag], etag);

  // The gzip representation has its own strong ETag, revalidated the same way.
  HttpRequest zipped = get("/sdk/realtime-client.js");
  zipped.set(http::field::accept_encoding, "gzip");
  const std::string gzip_etag(router.handle(zipped)[http::field::etag]);
  EXPECT_EQ(gzip_etag, etag.substr(0, 33) + "-gzip\"");
  zipped.set(http::field::if_none_match, gzip_etag);
  EXPECT_EQ(router.handle(zipped).result(), http::status::not_modified);
  zipped.set(http::field::if_none_match, etag);  // the other representation's
  EXPECT_EQ(router.handle(zipped).result(), http::status::ok);

  HttpRequest stale = get("/sdk/realtime-client.js");
  stale.set(http::field::if_none_match, "\"0123\"");
  EXPECT_EQ(router.handle(stale).result(), http::status::ok);
  // The pages revalidate at each load, with the same ETags.
  HttpResponse page = router.handle(get("/"));
  EXPECT_EQ(page[http::field::cache_control], "no-cache");
  EXPECT_EQ(page[http::field::etag].size(), 34U);
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
