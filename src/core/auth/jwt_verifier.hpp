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

// The Hasura claims object's name inside a JWT payload.
inline constexpr std::string_view kHasuraClaimsNamespace = "https://hasura.io/jwt/claims";

// Longest token accepted, in bytes (bounds the work done for garbage input).
inline constexpr std::size_t kMaxTokenBytes = 16 * 1024;

// Tolerated clock skew for "nbf" only: a token minted by an issuer whose clock
// runs up to 30 s ahead of ours is accepted. "exp" gets no leeway: a token is
// expired exactly when exp <= now, so that expires_at is the instant the
// server closes the connection.
inline constexpr std::chrono::seconds kNotBeforeLeeway{30};

// What a verified token says about its bearer.
struct Claims {
  // "sub", else the Hasura claim "x-hasura-user-id". Never empty.
  std::string user_id;
  // "role", else the Hasura claim "x-hasura-default-role"; "" when neither.
  std::string role;
  // role == "admin".
  bool is_admin = false;
  // "exp" (seconds since the epoch, may be fractional) in milliseconds;
  // nullopt when the token has no "exp".
  std::optional<Timestamp> expires_at;
};

// Verifies tokens against a fixed set of keys. Immutable after construction,
// so one instance may be shared by all threads.
class JwtVerifier {
 public:
  // `keys` are tried in order among those whose algorithm equals the token's
  // "alg" header; a token whose alg matches no key is rejected. An empty set
  // rejects every token.
  explicit JwtVerifier(std::vector<JwtKey> keys);

  // Returns the token's claims, or an Error with code:
  //  - "token_expired": valid signature but exp <= now;
  //  - "invalid_token": everything else: malformed or oversized token, header
  //    not JSON, alg "none" or unsupported, no key for the alg, bad signature,
  //    payload not a JSON object, exp/nbf not numbers, nbf > now + leeway
  //    ("not yet valid"), no subject.
  // The message is one line meant for the client and never echoes key material.
  Result<Claims> verify(std::string_view token, Timestamp now) const;

  const std::vector<JwtKey>& keys() const { return keys_; }

 private:
  std::vector<JwtKey> keys_;
};

// Signs `claims_json` (a JSON object, copied verbatim into the payload) with
// `key`: HS* use key.key as the shared secret, RS256 needs a PEM *private* key.
// The header is {"alg":...,"typ":"JWT"}. For tests and the CLI's dev token
// command. Errors ("invalid_argument"): claims not a JSON object, empty key,
// unreadable private key.
Result<std::string> sign_jwt(const JwtKey& key, std::string_view claims_json);

}  // namespace nself::core::auth
