#include "core/auth/jwt_verifier.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/auth/base64url.hpp"
#include "test_keys.hpp"

namespace nself::core::auth {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::seconds;

// 2026-01-30T10:00:00Z.
const Timestamp kNow = std::chrono::sys_days{std::chrono::year{2026} / 1 / 30} + 10h;
const std::int64_t kNowSeconds =
    std::chrono::duration_cast<seconds>(kNow.time_since_epoch()).count();

const std::string kSecret = "test-secret-that-is-long-enough-32b";

std::string claims_json(std::string_view extra = "", std::int64_t exp_offset = 3600) {
  std::string json = R"({"sub":"user-1","exp":)" + std::to_string(kNowSeconds + exp_offset);
  if (!extra.empty()) json += "," + std::string(extra);
  return json + "}";
}

std::string sign(const JwtKey& key, const std::string& claims) {
  auto token = sign_jwt(key, claims);
  if (!token.ok()) ADD_FAILURE() << token.error().message;
  return token.ok() ? *token : std::string();
}

JwtKey hs(JwtAlgorithm algorithm, std::string secret = kSecret) {
  return JwtKey{algorithm, std::move(secret)};
}
JwtKey rs_public(int index = 0) {
  return JwtKey{JwtAlgorithm::kRS256, test::rsa_key_pair(index).public_pem};
}
JwtKey rs_private(int index = 0) {
  return JwtKey{JwtAlgorithm::kRS256, test::rsa_key_pair(index).private_pem};
}

void expect_error(const Result<Claims>& result, std::string_view code,
                  std::string_view fragment = "") {
  ASSERT_FALSE(result.ok()) << "accepted a token that must be rejected";
  EXPECT_EQ(result.error().code, code) << result.error().message;
  EXPECT_NE(result.error().message.find(fragment), std::string::npos) << result.error().message;
}

TEST(JwtVerifier, AcceptsEachHmacAlgorithm) {
  for (auto algorithm : {JwtAlgorithm::kHS256, JwtAlgorithm::kHS384, JwtAlgorithm::kHS512}) {
    const JwtVerifier verifier({hs(algorithm)});
    const std::string token = sign(hs(algorithm), claims_json());
    // The header really names the algorithm.
    const auto header = base64url_decode(token.substr(0, token.find('.')));
    ASSERT_TRUE(header.has_value());
    EXPECT_NE(header->find(std::string(to_string(algorithm))), std::string::npos) << *header;

    const auto claims = verifier.verify(token, kNow);
    ASSERT_TRUE(claims.ok()) << to_string(algorithm) << ": " << claims.error().message;
    EXPECT_EQ(claims->user_id, "user-1");
    EXPECT_EQ(claims->role, "");
    EXPECT_FALSE(claims->is_admin);
    ASSERT_TRUE(claims->expires_at.has_value());
    EXPECT_EQ(*claims->expires_at, kNow + 3600s);
  }
}

TEST(JwtVerifier, AcceptsRs256) {
  const JwtVerifier verifier({rs_public()});
  const auto claims = verifier.verify(sign(rs_private(), claims_json()), kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->user_id, "user-1");
}

TEST(JwtVerifier, TriesEveryKeyOfTheTokensAlgorithm) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256, "first-secret"), rs_public(1),
                              hs(JwtAlgorithm::kHS256, "second-secret"), rs_public(0)});
  EXPECT_TRUE(
      verifier.verify(sign(hs(JwtAlgorithm::kHS256, "second-secret"), claims_json()), kNow).ok());
  EXPECT_TRUE(
      verifier.verify(sign(hs(JwtAlgorithm::kHS256, "first-secret"), claims_json()), kNow).ok());
  EXPECT_TRUE(verifier.verify(sign(rs_private(0), claims_json()), kNow).ok());
  EXPECT_TRUE(verifier.verify(sign(rs_private(1), claims_json()), kNow).ok());
}

TEST(JwtVerifier, RejectsAWrongSecret) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  expect_error(verifier.verify(sign(hs(JwtAlgorithm::kHS256, "other-secret"), claims_json()), kNow),
               "invalid_token", "signature");
}

TEST(JwtVerifier, RejectsAnRs256TokenFromAnotherKeyPair) {
  const JwtVerifier verifier({rs_public(0)});
  expect_error(verifier.verify(sign(rs_private(1), claims_json()), kNow), "invalid_token",
               "signature");
}

TEST(JwtVerifier, RejectsAForgedPayload) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  const std::string token = sign(hs(JwtAlgorithm::kHS256), claims_json());
  const std::size_t first = token.find('.');
  const std::size_t second = token.find('.', first + 1);
  const std::string forged = token.substr(0, first) + "." +
                             base64url_encode(R"({"sub":"admin","role":"admin"})") +
                             token.substr(second);
  expect_error(verifier.verify(forged, kNow), "invalid_token", "signature");

  // A flipped signature character.
  std::string flipped = token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  expect_error(verifier.verify(flipped, kNow), "invalid_token");
}

TEST(JwtVerifier, RejectsExpiredTokens) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  expect_error(verifier.verify(sign(hs(JwtAlgorithm::kHS256), claims_json("", -1)), kNow),
               "token_expired");
  // exp == now is expired (no leeway on exp).
  expect_error(verifier.verify(sign(hs(JwtAlgorithm::kHS256), claims_json("", 0)), kNow),
               "token_expired");
  EXPECT_TRUE(verifier.verify(sign(hs(JwtAlgorithm::kHS256), claims_json("", 1)), kNow).ok());
  // The same token expires once time passes.
  const std::string token = sign(hs(JwtAlgorithm::kHS256), claims_json("", 60));
  EXPECT_TRUE(verifier.verify(token, kNow + 59s).ok());
  expect_error(verifier.verify(token, kNow + 60s), "token_expired");
}

TEST(JwtVerifier, AcceptsFractionalExpAndTokensWithoutExp) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  const auto fractional = verifier.verify(
      sign(hs(JwtAlgorithm::kHS256), R"({"sub":"u","exp":)" + std::to_string(kNowSeconds) + ".5}"),
      kNow);
  ASSERT_TRUE(fractional.ok()) << fractional.error().message;
  EXPECT_EQ(*fractional->expires_at, kNow + 500ms);

  const auto no_exp = verifier.verify(sign(hs(JwtAlgorithm::kHS256), R"({"sub":"u"})"), kNow);
  ASSERT_TRUE(no_exp.ok()) << no_exp.error().message;
  EXPECT_FALSE(no_exp->expires_at.has_value());
}

TEST(JwtVerifier, RejectsNonNumericTimeClaims) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  expect_error(verifier.verify(sign(hs(JwtAlgorithm::kHS256), R"({"sub":"u","exp":"soon"})"), kNow),
               "invalid_token", "exp");
  expect_error(verifier.verify(sign(hs(JwtAlgorithm::kHS256), R"({"sub":"u","nbf":null})"), kNow),
               "invalid_token", "nbf");
}

TEST(JwtVerifier, RejectsTokensNotYetValidBeyondTheLeeway) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  const auto nbf = [&](std::int64_t offset) {
    return sign(hs(JwtAlgorithm::kHS256),
                claims_json(R"("nbf":)" + std::to_string(kNowSeconds + offset)));
  };
  expect_error(verifier.verify(nbf(3600), kNow), "invalid_token", "not yet valid");
  expect_error(verifier.verify(nbf(kNotBeforeLeeway.count() + 1), kNow), "invalid_token",
               "not yet valid");
  EXPECT_TRUE(verifier.verify(nbf(kNotBeforeLeeway.count()), kNow).ok());
  EXPECT_TRUE(verifier.verify(nbf(-10), kNow).ok());
}

TEST(JwtVerifier, RejectsAlgNone) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256), rs_public()});
  for (std::string alg : {"none", "None", "NONE"}) {
    const std::string header = R"({"alg":")" + alg + R"(","typ":"JWT"})";
    expect_error(verifier.verify(test::unsigned_token(header, claims_json(), ""), kNow),
                 "invalid_token");
    // Even with some bytes where the signature would be.
    expect_error(verifier.verify(test::unsigned_token(header, claims_json(), "c2ln"), kNow),
                 "invalid_token");
  }
  expect_error(verifier.verify(test::unsigned_token(R"({"alg":"none"})", claims_json(), ""), kNow),
               "invalid_token", "none");
}

TEST(JwtVerifier, RejectsAnHmacTokenKeyedWithTheRsaPublicKey) {
  // The classic algorithm confusion: the attacker knows the public key and
  // uses its PEM text as an HMAC secret.
  const std::string& public_pem = test::rsa_key_pair().public_pem;
  const JwtVerifier verifier({rs_public()});
  const std::string confused = sign(hs(JwtAlgorithm::kHS256, public_pem), claims_json());
  expect_error(verifier.verify(confused, kNow), "invalid_token", "no key");

  // Also when the header lies and claims RS256 while the signature is an HMAC.
  const std::string lying =
      test::hs256_token_with_header(R"({"alg":"RS256","typ":"JWT"})", claims_json(), public_pem);
  expect_error(verifier.verify(lying, kNow), "invalid_token", "signature");

  // And an RS256 token is not checked against an HMAC secret.
  const JwtVerifier hmac_only({hs(JwtAlgorithm::kHS256)});
  expect_error(hmac_only.verify(sign(rs_private(), claims_json()), kNow), "invalid_token",
               "no key");
}

TEST(JwtVerifier, RejectsAHeaderNamingADifferentHmacAlgorithm) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  expect_error(verifier.verify(sign(hs(JwtAlgorithm::kHS512), claims_json()), kNow),
               "invalid_token", "no key");
  // An HS384 header with an HS256 MAC.
  const std::string mislabelled =
      test::hs256_token_with_header(R"({"alg":"HS384","typ":"JWT"})", claims_json(), kSecret);
  const JwtVerifier hs384({hs(JwtAlgorithm::kHS384)});
  expect_error(hs384.verify(mislabelled, kNow), "invalid_token", "signature");
}

TEST(JwtVerifier, RejectsUnsupportedAlgorithms) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  for (std::string alg : {"RS512", "ES256", "EdDSA", "hs256", ""}) {
    const std::string header = R"({"alg":")" + alg + R"("})";
    expect_error(verifier.verify(test::unsigned_token(header, claims_json(), "c2ln"), kNow),
                 "invalid_token", "algorithm");
  }
  expect_error(verifier.verify(test::unsigned_token(R"({"alg":256})", claims_json(), "c2ln"), kNow),
               "invalid_token", "alg");
  expect_error(
      verifier.verify(test::unsigned_token(R"({"typ":"JWT"})", claims_json(), "c2ln"), kNow),
      "invalid_token", "alg");
}

TEST(JwtVerifier, RejectsMalformedTokens) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  const std::string valid = sign(hs(JwtAlgorithm::kHS256), claims_json());
  ASSERT_TRUE(verifier.verify(valid, kNow).ok());

  const std::vector<std::string> garbage = {
      "",
      "garbage",
      "a.b",
      "a.b.c.d",
      "...",
      valid + ".",
      "." + valid,
      valid.substr(0, valid.size() - 5),                                     // truncated signature
      valid.substr(0, valid.rfind('.')),                                     // no signature part
      valid.substr(0, valid.rfind('.') + 1),                                 // empty signature
      valid.substr(0, valid.find('.') - 2) + valid.substr(valid.find('.')),  // truncated header
      "!!!!." + valid.substr(valid.find('.') + 1),  // header outside the alphabet
      test::unsigned_token("not json", claims_json(), "c2ln"),
      test::unsigned_token("[1,2]", claims_json(), "c2ln"),
      std::string(kMaxTokenBytes + 1, 'a'),
      valid + std::string("\0", 1),
      " " + valid,
  };
  for (std::size_t index = 0; index < garbage.size(); ++index) {
    SCOPED_TRACE("garbage token #" + std::to_string(index));
    expect_error(verifier.verify(garbage[index], kNow), "invalid_token");
  }
}

TEST(JwtVerifier, RejectsASignedPayloadThatIsNotAnObject) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  for (std::string payload : {"[1]", "\"user\"", "not json"}) {
    const std::string token =
        test::hs256_token_with_header(R"({"alg":"HS256","typ":"JWT"})", payload, kSecret);
    expect_error(verifier.verify(token, kNow), "invalid_token");
  }
}

TEST(JwtVerifier, RequiresASubject) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  const auto exp = std::to_string(kNowSeconds + 60);
  for (std::string claims :
       {R"({"exp":)" + exp + "}", R"({"sub":"","exp":)" + exp + "}",
        R"({"sub":42,"exp":)" + exp + "}",
        R"({"https://hasura.io/jwt/claims":{"x-hasura-default-role":"user"},"exp":)" + exp + "}"}) {
    expect_error(verifier.verify(sign(hs(JwtAlgorithm::kHS256), claims), kNow), "invalid_token",
                 "subject");
  }
}

TEST(JwtVerifier, ReadsHasuraClaims) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  const auto claims = verifier.verify(
      sign(
          hs(JwtAlgorithm::kHS256),
          claims_json().substr(0, 0) +
              R"({"https://hasura.io/jwt/claims":{"x-hasura-user-id":"h-7","x-hasura-default-role":"user","x-hasura-allowed-roles":["user","admin"]}})"),
      kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->user_id, "h-7");
  EXPECT_EQ(claims->role, "user");
  EXPECT_FALSE(claims->is_admin);
}

TEST(JwtVerifier, RefusesStringifiedHasuraClaimsUnlessConfigured) {
  // Hasura's default claims_format is json (jwt_rules_test.cpp has
  // stringified_json); REALTIME_JWT_SECRET's key uses the default.
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  expect_error(
      verifier.verify(
          sign(hs(JwtAlgorithm::kHS256),
               R"({"sub":"u","https://hasura.io/jwt/claims":"{\"x-hasura-user-id\":\"s-1\"}"})"),
          kNow),
      "invalid_token", "must be a JSON object");
}

// Hasura reads only its session variables, so they win over "sub" and "role"
// (which stay the fallbacks for tokens without them).
TEST(JwtVerifier, PrefersHasuraClaimsOverSubAndRole) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  const auto claims = verifier.verify(
      sign(
          hs(JwtAlgorithm::kHS256),
          R"({"sub":"top","role":"admin","https://hasura.io/jwt/claims":{"x-hasura-user-id":"inner","x-hasura-default-role":"user"}})"),
      kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->user_id, "inner");
  EXPECT_EQ(claims->role, "user");
  EXPECT_FALSE(claims->is_admin);
  // Only the role in the Hasura claims: "sub" still names the user, and the
  // reverse.
  const auto role_only = verifier.verify(
      sign(
          hs(JwtAlgorithm::kHS256),
          R"({"sub":"top","role":"user","https://hasura.io/jwt/claims":{"x-hasura-default-role":"admin"}})"),
      kNow);
  ASSERT_TRUE(role_only.ok()) << role_only.error().message;
  EXPECT_EQ(role_only->user_id, "top");
  EXPECT_TRUE(role_only->is_admin);
  const auto user_only = verifier.verify(
      sign(
          hs(JwtAlgorithm::kHS256),
          R"({"sub":"top","role":"admin","https://hasura.io/jwt/claims":{"x-hasura-user-id":"inner"}})"),
      kNow);
  ASSERT_TRUE(user_only.ok()) << user_only.error().message;
  EXPECT_EQ(user_only->user_id, "inner");
  EXPECT_TRUE(user_only->is_admin);
}

TEST(JwtVerifier, RequiresExpWhenAsked) {
  const JwtVerifier strict({hs(JwtAlgorithm::kHS256)}, {.require_exp = true});
  expect_error(strict.verify(sign(hs(JwtAlgorithm::kHS256), R"({"sub":"u"})"), kNow),
               "invalid_token", "no \"exp\"");
  EXPECT_TRUE(strict.verify(sign(hs(JwtAlgorithm::kHS256), claims_json()), kNow).ok());
  // An expired token is still token_expired, not "no exp".
  expect_error(strict.verify(sign(hs(JwtAlgorithm::kHS256), claims_json("", -5)), kNow),
               "token_expired");
  EXPECT_TRUE(strict.options().require_exp);
  EXPECT_FALSE(JwtVerifier({}).options().require_exp);
}

TEST(JwtVerifier, RejectsCriticalHeaderExtensions) {
  // RFC 7515 4.1.11: a "crit" naming an extension we do not understand (we
  // understand none) makes the JWS invalid, whatever its signature.
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  for (const std::string header :
       {R"({"alg":"HS256","typ":"JWT","crit":["exp"],"exp":1})",
        R"({"alg":"HS256","crit":["b64"],"b64":false})", R"({"alg":"HS256","crit":[]})",
        R"({"alg":"HS256","crit":"x"})"}) {
    expect_error(
        verifier.verify(test::hs256_token_with_header(header, claims_json(), kSecret), kNow),
        "invalid_token", "crit");
  }
  // Other unknown (non-critical) header parameters are ignored.
  EXPECT_TRUE(verifier
                  .verify(test::hs256_token_with_header(R"({"alg":"HS256","kid":"k1","x5t":"a"})",
                                                        claims_json(), kSecret),
                          kNow)
                  .ok());
}

TEST(JwtVerifier, RejectsTokensIssuedInTheFutureBeyondTheLeeway) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  const auto iat = [&](std::string value) {
    return verifier.verify(sign(hs(JwtAlgorithm::kHS256), claims_json(R"("iat":)" + value)), kNow);
  };
  expect_error(iat(std::to_string(kNowSeconds + kNotBeforeLeeway.count() + 1)), "invalid_token",
               "issued in the future");
  expect_error(iat(std::to_string(kNowSeconds + 86400)), "invalid_token", "iat");
  EXPECT_TRUE(iat(std::to_string(kNowSeconds + kNotBeforeLeeway.count())).ok());
  EXPECT_TRUE(iat(std::to_string(kNowSeconds - 3600)).ok());
  expect_error(iat(R"("yesterday")"), "invalid_token", "\"iat\" is not a number");
}

TEST(JwtVerifier, AdminOnlyWhenTheRoleIsExactlyAdmin) {
  const JwtVerifier verifier({hs(JwtAlgorithm::kHS256)});
  const auto role = [&](std::string_view value) {
    return verifier.verify(
        sign(hs(JwtAlgorithm::kHS256), R"({"sub":"u","role":")" + std::string(value) + R"("})"),
        kNow);
  };
  EXPECT_TRUE(role("admin")->is_admin);
  EXPECT_FALSE(role("Admin")->is_admin);
  EXPECT_FALSE(role("administrator")->is_admin);
  EXPECT_FALSE(role("user")->is_admin);
  // allowed-roles containing admin is not enough when the default role is not admin.
  const auto allowed = verifier.verify(
      sign(
          hs(JwtAlgorithm::kHS256),
          R"({"sub":"u","https://hasura.io/jwt/claims":{"x-hasura-default-role":"user","x-hasura-allowed-roles":["admin"]}})"),
      kNow);
  ASSERT_TRUE(allowed.ok());
  EXPECT_FALSE(allowed->is_admin);
}

TEST(JwtVerifier, AnEmptyKeySetRejectsEverything) {
  const JwtVerifier verifier({});
  expect_error(verifier.verify(sign(hs(JwtAlgorithm::kHS256), claims_json()), kNow),
               "invalid_token");
}

TEST(SignJwt, RejectsBadArguments) {
  EXPECT_FALSE(sign_jwt(hs(JwtAlgorithm::kHS256), "[1]").ok());
  EXPECT_FALSE(sign_jwt(hs(JwtAlgorithm::kHS256), "{").ok());
  EXPECT_FALSE(sign_jwt(hs(JwtAlgorithm::kHS256, ""), "{}").ok());
  const auto not_private = sign_jwt(rs_public(), R"({"sub":"u"})");
  ASSERT_FALSE(not_private.ok());
  EXPECT_EQ(not_private.error().code, "invalid_argument");
  EXPECT_FALSE(sign_jwt(JwtKey{JwtAlgorithm::kRS256, "garbage"}, R"({"sub":"u"})").ok());
}

TEST(SignJwt, KeepsNestedClaims) {
  const std::string token =
      sign(hs(JwtAlgorithm::kHS256), R"({"sub":"u","nested":{"list":[1,2,{"a":"b"}]},"n":1.5})");
  const std::size_t first = token.find('.');
  const auto payload =
      base64url_decode(token.substr(first + 1, token.find('.', first + 1) - first - 1));
  ASSERT_TRUE(payload.has_value());
  const boost::json::value parsed = boost::json::parse(*payload);
  EXPECT_EQ(parsed.at("nested").at("list").at(2).at("a").as_string(), "b");
  EXPECT_EQ(parsed.at("sub").as_string(), "u");
}

}  // namespace
}  // namespace nself::core::auth
