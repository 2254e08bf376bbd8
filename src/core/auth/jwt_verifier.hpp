#pragma once

// JWT (JWS compact serialization) verification for connection authentication.
// Pure: the current time is passed in. Signatures are checked by libjwt; the
// header, the algorithm choice and all time claims are checked here, because
// libjwt 1.10 checks neither exp nor nbf and would otherwise pick the
// algorithm from the (attacker-controlled) token header.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/auth/jwt_key.hpp"
#include "core/result.hpp"

namespace nself::core::auth {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

// Longest token accepted, in bytes (bounds the work done for garbage input).
inline constexpr std::size_t kMaxTokenBytes = 16 * 1024;

// Tolerated clock skew for "nbf" and "iat" when the key sets no
// allowed_skew: a token minted by an issuer whose clock runs up to 30 s ahead
// of ours is accepted. "exp" then gets no leeway: a token is expired exactly
// when exp <= now. A key's allowed_skew replaces all three (exp too), and
// expires_at is then exp + allowed_skew: always the instant the server stops
// accepting the token and closes the connection.
inline constexpr std::chrono::seconds kNotBeforeLeeway{30};

// Verifier-wide settings (keys carry their own JwtKeyRules).
struct JwtVerifierOptions {
  // Refuse tokens without "exp" (invalid_token). The server sets it from
  // REALTIME_JWT_REQUIRE_EXP (default true); false here only so that
  // in-process test fixtures may mint tokens without "exp".
  bool require_exp = false;
};

// What a verified token says about its bearer.
// Which claim wins is Hasura's choice: Hasura reads only its session
// variables, so x-hasura-user-id and x-hasura-default-role (from the key's
// claims namespace or claims_map) win; "sub" and "role" are this server's
// fallbacks for tokens without them.
struct Claims {
  // x-hasura-user-id, else "sub". Never empty.
  std::string user_id;
  // x-hasura-default-role, else "role"; "" when neither.
  std::string role;
  // role == "admin".
  bool is_admin = false;
  // "exp" (seconds since the epoch, may be fractional) plus the key's
  // allowed_skew, in milliseconds; nullopt when the token has no "exp".
  std::optional<Timestamp> expires_at;
};

// Verifies tokens against a fixed set of keys. Immutable after construction,
// so one instance may be shared by all threads.
class JwtVerifier {
 public:
  // `keys` are tried in order among those whose algorithm equals the token's
  // "alg" header; a token whose alg matches no key is rejected. An empty set
  // rejects every token.
  explicit JwtVerifier(std::vector<JwtKey> keys, JwtVerifierOptions options = {});

  // Returns the token's claims, or an Error with code:
  //  - "token_expired": valid signature but exp (+ allowed_skew) <= now;
  //  - "invalid_token": everything else: malformed or oversized token, header
  //    not JSON, a "crit" header (RFC 7515 4.1.11: we understand no
  //    extension), alg "none" or unsupported, no key for the alg, bad
  //    signature, payload not a JSON object, exp/nbf/iat not numbers, no exp
  //    when required, nbf or iat > now + leeway, iss or aud not accepted by
  //    the verifying key's rules, Hasura claims not where or in the format
  //    the rules say, a claims_map value missing, no subject.
  // The message is one line meant for the client and never echoes key material.
  Result<Claims> verify(std::string_view token, Timestamp now) const;

  const std::vector<JwtKey>& keys() const { return keys_; }
  const JwtVerifierOptions& options() const { return options_; }

 private:
  std::vector<JwtKey> keys_;
  JwtVerifierOptions options_;
};

// Signs `claims_json` (a JSON object, copied verbatim into the payload) with
// `key`: HS* use key.key as the shared secret, RS256 needs a PEM *private* key.
// The header is {"alg":...,"typ":"JWT"}. For tests and the CLI's dev token
// command. Errors ("invalid_argument"): claims not a JSON object, empty key,
// unreadable private key.
Result<std::string> sign_jwt(const JwtKey& key, std::string_view claims_json);

}  // namespace nself::core::auth
