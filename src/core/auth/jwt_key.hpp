#pragma once

// Keys that JWTs are verified (and, for tests and `dev token`, signed) with,
// and the claim rules that come with a key (Hasura's HASURA_GRAPHQL_JWT_SECRET
// settings).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/auth/json_path.hpp"
#include "core/result.hpp"

namespace nself::core::auth {

// The JWS algorithms we accept. Anything else (notably "none", and the RS384,
// RS512, ES* and EdDSA families) is rejected as invalid_token.
enum class JwtAlgorithm { kHS256, kHS384, kHS512, kRS256 };

// "HS256", "HS384", "HS512" or "RS256".
std::string_view to_string(JwtAlgorithm algorithm);
// Parses the exact (case-sensitive) JWS "alg" names above.
std::optional<JwtAlgorithm> parse_jwt_algorithm(std::string_view name);
// True for the HMAC family (shared secret), false for RS256 (key pair).
bool is_hmac(JwtAlgorithm algorithm);

// Hasura's default claims namespace: the payload member holding the
// x-hasura-* session variables.
inline constexpr std::string_view kHasuraClaimsNamespace = "https://hasura.io/jwt/claims";

// Hasura's claims_format: the claims object itself, or a string holding its
// JSON text (AWS Cognito allows only strings in claims).
enum class ClaimsFormat { kJson, kStringifiedJson };

// One value of Hasura's claims_map: {"path": "<JSONPath>", "default": "..."}
// (looked up in the whole payload, `value` used when the path finds nothing),
// or a literal string (`path` nullopt, `value` set).
struct ClaimsMapValue {
  std::optional<JsonPath> path;
  std::optional<std::string> value;
};

// The session variables this server reads from a claims_map. (Hasura also
// requires x-hasura-allowed-roles there; it is checked at parse time and
// otherwise unused: this server has no role switching.)
struct ClaimsMap {
  ClaimsMapValue default_role;            // x-hasura-default-role
  std::optional<ClaimsMapValue> user_id;  // x-hasura-user-id; absent: "sub" names the user
};

// What a key's tokens must say and where they say it, as Hasura reads
// HASURA_GRAPHQL_JWT_SECRET. Default-constructed (REALTIME_JWT_SECRET): no
// audience or issuer check, session variables at kHasuraClaimsNamespace as a
// JSON object, the default leeways (kNotBeforeLeeway in jwt_verifier.hpp).
struct JwtKeyRules {
  // "audience": "aud" (a string or an array) must hold one of these. Empty:
  // not checked.
  std::vector<std::string> audience;
  // "issuer": "iss", when the token has one, must equal it (Hasura: a token
  // without "iss" matches a configuration with an issuer).
  std::optional<std::string> issuer;
  // "claims_namespace" (one member name) or "claims_namespace_path" (a
  // JSONPath): where the session variables are. "$" is the payload itself.
  JsonPath claims_path{JsonPathStep{std::string(kHasuraClaimsNamespace)}};
  // "claims_format".
  ClaimsFormat claims_format = ClaimsFormat::kJson;
  // "claims_map": when set, claims_path and claims_format are ignored.
  std::optional<ClaimsMap> claims_map;
  // "allowed_skew" (whole seconds): the leeway for exp, nbf and iat, instead
  // of the defaults.
  std::optional<std::chrono::seconds> allowed_skew;
};

// One key. For HS* `key` is the shared secret (raw bytes, not base64). For
// RS256 `key` is a PEM public key ("-----BEGIN PUBLIC KEY-----") when
// verifying, or a PEM private key when signing with sign_jwt.
// A key only ever verifies tokens whose header names exactly its algorithm:
// this is what stops algorithm confusion (an HS256 token "signed" with an RSA
// public key used as the HMAC secret). `rules` apply to the tokens this key
// verifies.
struct JwtKey {
  JwtAlgorithm algorithm = JwtAlgorithm::kHS256;
  std::string key;
  JwtKeyRules rules{};
};

// Parses Hasura's / nself's HASURA_GRAPHQL_JWT_SECRET JSON form:
//   {"type":"HS256","key":"shared-secret"}
//   {"type":"RS256","key":"-----BEGIN PUBLIC KEY-----\nMIIB...\n-----END PUBLIC KEY-----\n"}
// with Hasura's optional fields, read as Hasura documents them (docs/SECURITY.md,
// "JWT"): "audience" (string or array of strings), "issuer", "claims_namespace"
// or "claims_namespace_path" (not both), "claims_format" ("json" or
// "stringified_json"), "claims_map" (needs x-hasura-default-role and
// x-hasura-allowed-roles; keys case-insensitive) and "allowed_skew" (whole
// seconds, 0 or more). "header" and unknown fields are ignored.
// "type" must be one of the JwtAlgorithm names; "key" must be non-empty; for
// RS256 it must be a PEM RSA public key (a key whose newlines were escaped
// twice, i.e. that still holds literal "\n" after JSON decoding, is repaired).
// "jwk_url" is rejected: this server fetches no keys.
// Errors have code "invalid_config" and a one-line message that never holds
// the key; the caller names the setting.
Result<JwtKey> parse_hasura_jwt_secret(std::string_view json);

}  // namespace nself::core::auth
