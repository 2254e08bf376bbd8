#pragma once

// Keys that JWTs are verified (and, for tests and `dev token`, signed) with.

#include <optional>
#include <string>
#include <string_view>

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

// One key. For HS* `key` is the shared secret (raw bytes, not base64). For
// RS256 `key` is a PEM public key ("-----BEGIN PUBLIC KEY-----") when
// verifying, or a PEM private key when signing with sign_jwt.
// A key only ever verifies tokens whose header names exactly its algorithm:
// this is what stops algorithm confusion (an HS256 token "signed" with an RSA
// public key used as the HMAC secret).
struct JwtKey {
  JwtAlgorithm algorithm = JwtAlgorithm::kHS256;
  std::string key;
};

// Parses Hasura's / nself's HASURA_GRAPHQL_JWT_SECRET JSON form:
//   {"type":"HS256","key":"shared-secret"}
//   {"type":"RS256","key":"-----BEGIN PUBLIC KEY-----\nMIIB...\n-----END PUBLIC KEY-----\n"}
// "type" must be one of the JwtAlgorithm names; "key" must be non-empty; for
// RS256 it must be a PEM RSA public key (a key whose newlines were escaped
// twice, i.e. that still holds literal "\n" after JSON decoding, is repaired).
// Other Hasura fields (claims_namespace, audience, issuer, ...) are ignored;
// "jwk_url" is rejected because we have no key fetching.
// Errors have code "invalid_config" and a one-line message.
Result<JwtKey> parse_hasura_jwt_secret(std::string_view json);

}  // namespace nself::core::auth
