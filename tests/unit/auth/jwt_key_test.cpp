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

void expect_rejected(const std::string& json, const std::string& fragment) {
  const auto key = parse_hasura_jwt_secret(json);
  ASSERT_FALSE(key.ok()) << json;
  EXPECT_EQ(key.error().code, "invalid_config");
  EXPECT_NE(key.error().message.find(fragment), std::string::npos) << key.error().message;
  EXPECT_EQ(key.error().message.find('\n'), std::string::npos) << "one line";
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

// The rules of a secret of type HS256 with `fields` (JSON members) added.
JwtKeyRules rules_of(const std::string& fields) {
  const auto key = parse_hasura_jwt_secret(R"({"type":"HS256","key":"secret",)" + fields + "}");
  if (!key.ok()) {
    ADD_FAILURE() << fields << ": " << key.error().message;
    return {};
  }
  return key->rules;
}

TEST(ParseHasuraJwtSecret, DefaultsAreHasuras) {
  const auto key = parse_hasura_jwt_secret(R"({"type":"HS256","key":"secret"})");
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_TRUE(key->rules.audience.empty());
  EXPECT_FALSE(key->rules.issuer.has_value());
  EXPECT_EQ(key->rules.claims_path, JsonPath{std::string(kHasuraClaimsNamespace)});
  EXPECT_EQ(key->rules.claims_format, ClaimsFormat::kJson);
  EXPECT_FALSE(key->rules.claims_map.has_value());
  EXPECT_FALSE(key->rules.allowed_skew.has_value());
}

TEST(ParseHasuraJwtSecret, IgnoresHeaderAndUnknownFields) {
  const auto key = parse_hasura_jwt_secret(
      R"({"type":"HS256","key":"secret","header":{"type":"Cookie","name":"t"},"other":1})");
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->key, "secret");
}

TEST(ParseHasuraJwtSecret, ReadsAudienceAsAStringOrAList) {
  EXPECT_EQ(rules_of(R"("audience":"app-1")").audience, std::vector<std::string>{"app-1"});
  EXPECT_EQ(rules_of(R"("audience":["app-1","app-2"])").audience,
            (std::vector<std::string>{"app-1", "app-2"}));
  expect_rejected(R"({"type":"HS256","key":"k","audience":[]})", "\"audience\"");
  expect_rejected(R"({"type":"HS256","key":"k","audience":""})", "\"audience\"");
  expect_rejected(R"({"type":"HS256","key":"k","audience":["a",2]})", "\"audience\"");
  expect_rejected(R"({"type":"HS256","key":"k","audience":{"a":1}})", "\"audience\"");
}

TEST(ParseHasuraJwtSecret, ReadsIssuer) {
  EXPECT_EQ(rules_of(R"("issuer":"https://auth.example.com")").issuer, "https://auth.example.com");
  expect_rejected(R"({"type":"HS256","key":"k","issuer":7})", "\"issuer\"");
  expect_rejected(R"({"type":"HS256","key":"k","issuer":""})", "\"issuer\"");
}

TEST(ParseHasuraJwtSecret, ReadsClaimsNamespaceOrItsPathButNotBoth) {
  EXPECT_EQ(rules_of(R"("claims_namespace":"https://example.com/claims")").claims_path,
            JsonPath{std::string("https://example.com/claims")});
  EXPECT_EQ(rules_of(R"("claims_namespace_path":"$.hasura.claims")").claims_path,
            (JsonPath{std::string("hasura"), std::string("claims")}));
  EXPECT_EQ(rules_of(R"("claims_namespace_path":"$")").claims_path, JsonPath{});
  expect_rejected(
      R"({"type":"HS256","key":"k","claims_namespace":"a","claims_namespace_path":"$.b"})",
      "cannot both be set");
  expect_rejected(R"({"type":"HS256","key":"k","claims_namespace_path":"$..b"})",
                  "\"claims_namespace_path\": JSON path");
  expect_rejected(R"({"type":"HS256","key":"k","claims_namespace":1})", "\"claims_namespace\"");
}

TEST(ParseHasuraJwtSecret, ReadsClaimsFormat) {
  EXPECT_EQ(rules_of(R"("claims_format":"json")").claims_format, ClaimsFormat::kJson);
  EXPECT_EQ(rules_of(R"("claims_format":"stringified_json")").claims_format,
            ClaimsFormat::kStringifiedJson);
  expect_rejected(R"({"type":"HS256","key":"k","claims_format":"JSON"})", "\"claims_format\"");
  expect_rejected(R"({"type":"HS256","key":"k","claims_format":true})", "\"claims_format\"");
}

TEST(ParseHasuraJwtSecret, ReadsClaimsMapPathsDefaultsAndLiterals) {
  const JwtKeyRules rules =
      rules_of(R"("claims_map":{"x-hasura-allowed-roles":{"path":"$.hasura.all_roles"},)"
               R"("X-Hasura-Default-Role":{"path":"$.hasura.all_roles[0]","default":"user"},)"
               R"("x-hasura-user-id":{"path":"$.user.id"},"x-hasura-org-id":"acme"})");
  ASSERT_TRUE(rules.claims_map.has_value());
  EXPECT_EQ(rules.claims_map->default_role.path,
            (JsonPath{std::string("hasura"), std::string("all_roles"), std::size_t{0}}));
  EXPECT_EQ(rules.claims_map->default_role.value, "user");
  ASSERT_TRUE(rules.claims_map->user_id.has_value());
  EXPECT_EQ(rules.claims_map->user_id->path, (JsonPath{std::string("user"), std::string("id")}));
  EXPECT_FALSE(rules.claims_map->user_id->value.has_value());

  const JwtKeyRules literal = rules_of(
      R"("claims_map":{"x-hasura-allowed-roles":["user"],"x-hasura-default-role":"user"})");
  ASSERT_TRUE(literal.claims_map.has_value());
  EXPECT_FALSE(literal.claims_map->default_role.path.has_value());
  EXPECT_EQ(literal.claims_map->default_role.value, "user");
  EXPECT_FALSE(literal.claims_map->user_id.has_value());
}

TEST(ParseHasuraJwtSecret, RejectsIncompleteClaimsMaps) {
  const std::string head = R"({"type":"HS256","key":"k","claims_map":)";
  expect_rejected(head + R"([]})", "must be a JSON object");
  expect_rejected(head + R"({"x-hasura-default-role":"user"}})", "x-hasura-allowed-roles");
  expect_rejected(head + R"({"x-hasura-allowed-roles":["user"]}})", "x-hasura-default-role");
  expect_rejected(head + R"({"x-hasura-allowed-roles":"user","x-hasura-default-role":"user"}})",
                  "x-hasura-allowed-roles");
  expect_rejected(
      head + R"({"x-hasura-allowed-roles":["u"],"x-hasura-default-role":{"default":"u"}}})",
      "needs \"path\"");
  expect_rejected(
      head + R"({"x-hasura-allowed-roles":["u"],"x-hasura-default-role":{"path":"$["}}})",
      "JSON path");
  expect_rejected(
      head +
          R"({"x-hasura-allowed-roles":["u"],"x-hasura-default-role":{"path":"$.r","default":1}}})",
      "\"default\" must be a string");
  expect_rejected(
      head +
          R"({"x-hasura-allowed-roles":["u"],"x-hasura-default-role":"u","x-hasura-user-id":3}})",
      "x-hasura-user-id");
}

TEST(ParseHasuraJwtSecret, ReadsAllowedSkewInWholeSeconds) {
  EXPECT_EQ(rules_of(R"("allowed_skew":60)").allowed_skew, std::chrono::seconds(60));
  EXPECT_EQ(rules_of(R"("allowed_skew":0)").allowed_skew, std::chrono::seconds(0));
  for (const std::string bad : {"-1", "1.5", "\"60\"", "null", "31536001"}) {
    expect_rejected(R"({"type":"HS256","key":"k","allowed_skew":)" + bad + "}", "\"allowed_skew\"");
  }
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
  expect_rejected(R"({"type":"RS256","jwk_url":"https://x/jwks"})",
                  "\"jwk_url\" is not supported: this server does not fetch keys");
  expect_rejected(R"({"jwk_url":"https://x/jwks"})", "\"jwk_url\" is not supported");
}

TEST(ParseHasuraJwtSecret, RejectsAPrivateKeyWhereAPublicKeyIsNeeded) {
  const std::string& pem = test::rsa_key_pair().private_pem;
  expect_rejected(R"({"type":"RS256","key":")" + escape_newlines(pem) + R"("})",
                  "PEM RSA public key");
}

}  // namespace
}  // namespace nself::core::auth
