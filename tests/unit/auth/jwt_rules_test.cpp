// The verifier under a key's Hasura rules (HASURA_GRAPHQL_JWT_SECRET's
// audience, issuer, claims_namespace(_path), claims_format, claims_map and
// allowed_skew), the rules parsed from the JSON nself users configure.
#include <gtest/gtest.h>

#include "core/auth/jwt_key.hpp"
#include "core/auth/jwt_verifier.hpp"

namespace nself::core::auth {
namespace {

using namespace std::chrono_literals;
using std::chrono::seconds;

// 2026-01-30T10:00:00Z.
const Timestamp kNow = std::chrono::sys_days{std::chrono::year{2026} / 1 / 30} + 10h;
const std::int64_t kNowSeconds =
    std::chrono::duration_cast<seconds>(kNow.time_since_epoch()).count();
const std::string kSecret = "hasura-secret-that-is-long-enough-32";

// A key from HASURA_GRAPHQL_JWT_SECRET {"type":"HS256","key":kSecret, <fields>}.
JwtKey hasura_key(const std::string& fields) {
  auto key = parse_hasura_jwt_secret(R"({"type":"HS256","key":")" + kSecret + "\"" +
                                     (fields.empty() ? "" : "," + fields) + "}");
  if (!key.ok()) ADD_FAILURE() << key.error().message;
  return key.ok() ? *key : JwtKey{};
}

// `claims` (JSON members) plus an exp an hour from now, signed with kSecret.
std::string token(const std::string& claims, const std::string& secret = kSecret) {
  auto signed_token = sign_jwt(JwtKey{JwtAlgorithm::kHS256, secret},
                               "{\"exp\":" + std::to_string(kNowSeconds + 3600) +
                                   (claims.empty() ? "" : "," + claims) + "}");
  if (!signed_token.ok()) ADD_FAILURE() << signed_token.error().message;
  return signed_token.ok() ? *signed_token : std::string();
}

std::string at(std::int64_t offset) {
  return std::to_string(kNowSeconds + offset);
}

void expect_refused(const Result<Claims>& result, std::string_view fragment) {
  ASSERT_FALSE(result.ok()) << "accepted a token that must be refused";
  EXPECT_EQ(result.error().code, "invalid_token") << result.error().message;
  EXPECT_NE(result.error().message.find(fragment), std::string::npos) << result.error().message;
}

TEST(JwtRules, AudienceMustBeInTheTokensAud) {
  const JwtVerifier one({hasura_key(R"("audience":"app-1")")});
  EXPECT_TRUE(one.verify(token(R"("sub":"u","aud":"app-1")"), kNow).ok());
  EXPECT_TRUE(one.verify(token(R"("sub":"u","aud":["other","app-1"])"), kNow).ok());
  expect_refused(one.verify(token(R"("sub":"u","aud":"app-2")"), kNow), "audience (aud)");
  expect_refused(one.verify(token(R"("sub":"u","aud":["app-2"])"), kNow), "audience (aud)");
  expect_refused(one.verify(token(R"("sub":"u","aud":[])"), kNow), "audience (aud)");
  expect_refused(one.verify(token(R"("sub":"u")"), kNow), "audience (aud)");
  expect_refused(one.verify(token(R"("sub":"u","aud":1)"), kNow), "audience (aud)");

  const JwtVerifier list({hasura_key(R"("audience":["app-1","app-2"])")});
  EXPECT_TRUE(list.verify(token(R"("sub":"u","aud":"app-2")"), kNow).ok());
  expect_refused(list.verify(token(R"("sub":"u","aud":"app-3")"), kNow), "audience (aud)");
}

TEST(JwtRules, IssuerMustMatchWhenTheTokenHasOne) {
  const JwtVerifier verifier({hasura_key(R"("issuer":"https://auth.example.com")")});
  EXPECT_TRUE(verifier.verify(token(R"("sub":"u","iss":"https://auth.example.com")"), kNow).ok());
  expect_refused(verifier.verify(token(R"("sub":"u","iss":"https://evil.example")"), kNow),
                 "issuer (iss)");
  expect_refused(verifier.verify(token(R"("sub":"u","iss":7)"), kNow), "issuer (iss)");
  // Hasura: "An incoming JWT without an issuer specified will match a
  // configuration even if it specifies an issuer."
  EXPECT_TRUE(verifier.verify(token(R"("sub":"u")"), kNow).ok());
}

TEST(JwtRules, RulesApplyOnlyToTokensOfTheirKey) {
  // REALTIME_JWT_SECRET's key has no rules: its tokens are not checked for aud.
  const JwtVerifier verifier({JwtKey{JwtAlgorithm::kHS256, "realtime-secret-long-enough-32byt"},
                              hasura_key(R"("audience":"app-1","issuer":"me")")});
  EXPECT_TRUE(
      verifier
          .verify(token(R"("sub":"u","aud":"x","iss":"you")", "realtime-secret-long-enough-32byt"),
                  kNow)
          .ok());
  expect_refused(verifier.verify(token(R"("sub":"u","aud":"x","iss":"me")"), kNow),
                 "audience (aud)");
}

TEST(JwtRules, ClaimsNamespaceNamesTheClaimsObject) {
  const JwtVerifier verifier({hasura_key(R"("claims_namespace":"https://example.com/claims")")});
  const auto claims = verifier.verify(
      token(
          R"("https://example.com/claims":{"x-hasura-user-id":"c-1","x-hasura-default-role":"admin"})"),
      kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->user_id, "c-1");
  EXPECT_TRUE(claims->is_admin);
  // The default namespace is not read any more: this token names no user.
  expect_refused(
      verifier.verify(token(R"("https://hasura.io/jwt/claims":{"x-hasura-user-id":"d"})"), kNow),
      "no subject");
}

TEST(JwtRules, ClaimsNamespacePathFindsNestedClaimsOrThePayloadItself) {
  const JwtVerifier nested({hasura_key(R"("claims_namespace_path":"$.hasura.claims")")});
  const auto claims = nested.verify(
      token(
          R"("sub":"ignored","hasura":{"claims":{"x-hasura-user-id":"n-1","x-hasura-default-role":"user"}})"),
      kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->user_id, "n-1");
  EXPECT_EQ(claims->role, "user");

  const JwtVerifier root({hasura_key(R"("claims_namespace_path":"$")")});
  const auto top =
      root.verify(token(R"("x-hasura-user-id":"r-1","x-hasura-default-role":"user")"), kNow);
  ASSERT_TRUE(top.ok()) << top.error().message;
  EXPECT_EQ(top->user_id, "r-1");
}

TEST(JwtRules, ClaimsFormatSaysWhetherTheClaimsAreAnObjectOrAString) {
  const std::string stringified =
      R"("https://hasura.io/jwt/claims":"{\"x-hasura-user-id\":\"s-1\",\"x-hasura-default-role\":\"admin\"}")";
  const std::string object =
      R"("https://hasura.io/jwt/claims":{"x-hasura-user-id":"o-1","x-hasura-default-role":"user"})";

  const JwtVerifier strings({hasura_key(R"("claims_format":"stringified_json")")});
  const auto claims = strings.verify(token(stringified), kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->user_id, "s-1");
  EXPECT_TRUE(claims->is_admin);
  expect_refused(strings.verify(token(object), kNow), "must be a string");
  expect_refused(strings.verify(token(R"("https://hasura.io/jwt/claims":"not json")"), kNow),
                 "stringified JSON");

  // The default, json: an object, and a string is refused (as Hasura does).
  const JwtVerifier objects({hasura_key("")});
  EXPECT_EQ(objects.verify(token(object), kNow)->user_id, "o-1");
  expect_refused(objects.verify(token(stringified), kNow), "must be a JSON object");
}

TEST(JwtRules, ClaimsMapReadsPathsDefaultsAndLiterals) {
  const JwtVerifier verifier(
      {hasura_key(R"("claims_map":{"x-hasura-allowed-roles":{"path":"$.roles"},)"
                  R"("x-hasura-default-role":{"path":"$.roles[0]","default":"guest"},)"
                  R"("x-hasura-user-id":{"path":"$.user.id"}})")});
  const auto claims =
      verifier.verify(token(R"("sub":"s","user":{"id":"m-1"},"roles":["admin","user"])"), kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->user_id, "m-1");
  EXPECT_TRUE(claims->is_admin);
  // The default when the path finds nothing.
  const auto guest = verifier.verify(token(R"("user":{"id":"m-2"})"), kNow);
  ASSERT_TRUE(guest.ok()) << guest.error().message;
  EXPECT_EQ(guest->role, "guest");
  // A user id path with no value and no default: refused (Hasura: "not found").
  expect_refused(verifier.verify(token(R"("sub":"s","roles":["user"])"), kNow),
                 "no claim for x-hasura-user-id");
  expect_refused(verifier.verify(token(R"("user":{"id":5})"), kNow), "is not a string");
  // claims_map replaces the namespace: Hasura claims there are not read.
  const auto ignored = verifier.verify(
      token(
          R"("user":{"id":"m-3"},"https://hasura.io/jwt/claims":{"x-hasura-user-id":"ns","x-hasura-default-role":"admin"})"),
      kNow);
  ASSERT_TRUE(ignored.ok()) << ignored.error().message;
  EXPECT_EQ(ignored->user_id, "m-3");
  EXPECT_EQ(ignored->role, "guest");

  const JwtVerifier literal({hasura_key(
      R"("claims_map":{"x-hasura-allowed-roles":["user"],"x-hasura-default-role":"user"})")});
  const auto fixed = literal.verify(token(R"("sub":"l-1","role":"admin")"), kNow);
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  EXPECT_EQ(fixed->user_id, "l-1");  // no x-hasura-user-id in the map: "sub"
  EXPECT_EQ(fixed->role, "user");    // the map's role wins over "role"
  EXPECT_FALSE(fixed->is_admin);
}

TEST(JwtRules, AllowedSkewIsTheLeewayOfExpNbfAndIat) {
  const JwtVerifier verifier({hasura_key(R"("allowed_skew":60)")});
  const auto late = [&](std::int64_t exp_offset) {
    return sign_jwt(JwtKey{JwtAlgorithm::kHS256, kSecret},
                    R"({"sub":"u","exp":)" + at(exp_offset) + "}")
        .value();
  };
  const auto grace = verifier.verify(late(-59), kNow);
  ASSERT_TRUE(grace.ok()) << grace.error().message;
  EXPECT_EQ(*grace->expires_at, kNow + 1s);  // exp + allowed_skew: when the server closes it
  ASSERT_FALSE(verifier.verify(late(-60), kNow).ok());
  EXPECT_EQ(verifier.verify(late(-60), kNow).error().code, "token_expired");
  EXPECT_TRUE(verifier.verify(token(R"("sub":"u","nbf":)" + at(60)), kNow).ok());
  expect_refused(verifier.verify(token(R"("sub":"u","nbf":)" + at(61)), kNow), "nbf");
  EXPECT_TRUE(verifier.verify(token(R"("sub":"u","iat":)" + at(60)), kNow).ok());
  expect_refused(verifier.verify(token(R"("sub":"u","iat":)" + at(61)), kNow), "iat");

  // allowed_skew 0: no leeway at all (the default would allow nbf 30 s ahead).
  const JwtVerifier strict({hasura_key(R"("allowed_skew":0)")});
  expect_refused(strict.verify(token(R"("sub":"u","nbf":)" + at(10)), kNow), "nbf");
}

TEST(JwtRules, SessionVariableNamesAreCaseInsensitive) {
  const JwtVerifier verifier({hasura_key("")});
  const auto claims = verifier.verify(
      token(
          R"("https://hasura.io/jwt/claims":{"X-Hasura-User-Id":"ci-1","X-HASURA-DEFAULT-ROLE":"admin"})"),
      kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->user_id, "ci-1");
  EXPECT_TRUE(claims->is_admin);
}

}  // namespace
}  // namespace nself::core::auth
