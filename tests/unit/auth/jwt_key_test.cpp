#include "core/auth/jwt_key.hpp"

#include <gtest/gtest.h>

#include "test_keys.hpp"

namespace nself::core::auth {
namespace {

// JSON-escapes newlines the way a .env file holds a PEM key.
std::string escape_newlines(const std::string& pem) {
  std::string out;
  for (char c : pem) {
    if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

TEST(JwtAlgorithmNames, RoundTrip) {
  for (auto algorithm :
       {JwtAlgorithm::kHS256, JwtAlgorithm::kHS384, JwtAlgorithm::kHS512, JwtAlgorithm::kRS256}) {
    EXPECT_EQ(parse_jwt_algorithm(to_string(algorithm)), algorithm);
  }
  EXPECT_FALSE(parse_jwt_algorithm("none").has_value());
  EXPECT_FALSE(parse_jwt_algorithm("hs256").has_value());
  EXPECT_FALSE(parse_jwt_algorithm("RS512").has_value());
  EXPECT_TRUE(is_hmac(JwtAlgorithm::kHS384));
  EXPECT_FALSE(is_hmac(JwtAlgorithm::kRS256));
}

TEST(ParseHasuraJwtSecret, AcceptsSharedSecrets) {
  for (std::string type : {"HS256", "HS384", "HS512"}) {
    const auto key =
        parse_hasura_jwt_secret(R"({"type":")" + type + R"(","key":"a-very-long-secret-value"})");
    ASSERT_TRUE(key.ok()) << key.error().message;
    EXPECT_EQ(to_string(key->algorithm), type);
    EXPECT_EQ(key->key, "a-very-long-secret-value");
  }
}

TEST(ParseHasuraJwtSecret, IgnoresOtherHasuraFields) {
  const auto key = parse_hasura_jwt_secret(
      R"({"type":"HS256","key":"secret","claims_namespace":"x","issuer":"me","audience":["a"]})");
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->key, "secret");
}

TEST(ParseHasuraJwtSecret, AcceptsAnRsaPublicKeyWithEscapedNewlines) {
  const std::string& pem = test::rsa_key_pair().public_pem;
  const auto key =
      parse_hasura_jwt_secret(R"({"type":"RS256","key":")" + escape_newlines(pem) + R"("})");
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->algorithm, JwtAlgorithm::kRS256);
  EXPECT_EQ(key->key, pem);
}

TEST(ParseHasuraJwtSecret, RepairsDoublyEscapedNewlines) {
  const std::string& pem = test::rsa_key_pair().public_pem;
  std::string doubly;
  for (char c : pem) {
    if (c == '\n') {
      doubly += "\\\\n";
    } else {
      doubly.push_back(c);
    }
  }
  const auto key = parse_hasura_jwt_secret(R"({"type":"RS256","key":")" + doubly + R"("})");
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->key, pem);
}

void expect_rejected(const std::string& json, const std::string& fragment) {
  const auto key = parse_hasura_jwt_secret(json);
  ASSERT_FALSE(key.ok()) << json;
  EXPECT_EQ(key.error().code, "invalid_config");
  EXPECT_NE(key.error().message.find(fragment), std::string::npos) << key.error().message;
  EXPECT_EQ(key.error().message.find('\n'), std::string::npos) << "one line";
}

TEST(ParseHasuraJwtSecret, RejectsBadInput) {
  expect_rejected("", "not valid JSON");
  expect_rejected("secret", "not valid JSON");
  expect_rejected(R"({"type":"HS256","key":"x")", "not valid JSON");
  expect_rejected(R"(["HS256","x"])", "must be a JSON object");
  expect_rejected(R"({"key":"x"})", "missing \"type\"");
  expect_rejected(R"({"type":256,"key":"x"})", "\"type\" must be a string");
  expect_rejected(R"({"type":"RS512","key":"x"})", "unsupported \"type\" \"RS512\"");
  expect_rejected(R"({"type":"none","key":"x"})", "unsupported");
  expect_rejected(R"({"type":"hs256","key":"x"})", "unsupported");
  expect_rejected(R"({"type":"HS256"})", "missing \"key\"");
  expect_rejected(R"({"type":"HS256","key":42})", "\"key\" must be a string");
  expect_rejected(R"({"type":"HS256","key":""})", "must not be empty");
  expect_rejected(R"({"type":"RS256","key":"not a pem"})", "PEM RSA public key");
  expect_rejected(R"({"type":"RS256","jwk_url":"https://x/jwks"})", "jwk_url");
}

TEST(ParseHasuraJwtSecret, RejectsAPrivateKeyWhereAPublicKeyIsNeeded) {
  const std::string& pem = test::rsa_key_pair().private_pem;
  expect_rejected(R"({"type":"RS256","key":")" + escape_newlines(pem) + R"("})",
                  "PEM RSA public key");
}

}  // namespace
}  // namespace nself::core::auth
