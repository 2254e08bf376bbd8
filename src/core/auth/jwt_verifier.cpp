#include "core/auth/jwt_verifier.hpp"

#include <jwt.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "core/auth/base64url.hpp"

namespace nself::core::auth {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

Error invalid(std::string message) {
  return Error{"invalid_token", std::move(message)};
}

jwt_alg_t to_libjwt(JwtAlgorithm algorithm) {
  switch (algorithm) {
    case JwtAlgorithm::kHS256:
      return JWT_ALG_HS256;
    case JwtAlgorithm::kHS384:
      return JWT_ALG_HS384;
    case JwtAlgorithm::kHS512:
      return JWT_ALG_HS512;
    case JwtAlgorithm::kRS256:
      return JWT_ALG_RS256;
  }
  return JWT_ALG_INVAL;
}

// Decodes one base64url segment holding a JSON object.
std::optional<json::object> decode_json_segment(std::string_view segment) {
  const std::optional<std::string> bytes = base64url_decode(segment);
  if (!bytes) return std::nullopt;
  json::parse_options options;
  options.max_depth = 32;
  boost::system::error_code ec;
  json::value value = json::parse(*bytes, ec, {}, options);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.get_object());
}

// A NumericDate claim ("exp", "nbf") converted to milliseconds, clamped to a
// range that cannot overflow. nullopt when present but not a number.
std::optional<Timestamp> numeric_date(const json::value& value) {
  constexpr double kMaxSeconds = 1e13;  // year ~318857; far beyond any real token
  double seconds = 0;
  if (value.is_int64()) {
    seconds = static_cast<double>(value.get_int64());
  } else if (value.is_uint64()) {
    seconds = static_cast<double>(value.get_uint64());
  } else if (value.is_double()) {
    seconds = value.get_double();
  } else {
    return std::nullopt;
  }
  if (seconds > kMaxSeconds) seconds = kMaxSeconds;
  if (seconds < -kMaxSeconds) seconds = -kMaxSeconds;
  return Timestamp(milliseconds(static_cast<std::int64_t>(std::floor(seconds * 1000.0))));
}

// Non-empty string member, or nullopt.
std::optional<std::string> string_member(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(json::string_view(name.data(), name.size()));
  if (value == nullptr || !value->is_string() || value->get_string().empty()) return std::nullopt;
  return std::string(value->get_string().data(), value->get_string().size());
}

// The Hasura claims object; Hasura also allows it as a JSON string
// (claims_format "stringified_json").
std::optional<json::object> hasura_claims(const json::object& payload) {
  const json::value* value = payload.if_contains(
      json::string_view(kHasuraClaimsNamespace.data(), kHasuraClaimsNamespace.size()));
  if (value == nullptr) return std::nullopt;
  if (value->is_object()) return value->get_object();
  if (value->is_string()) {
    boost::system::error_code ec;
    json::value inner = json::parse(value->get_string(), ec);
    if (!ec && inner.is_object()) return std::move(inner.get_object());
  }
  return std::nullopt;
}

}  // namespace

JwtVerifier::JwtVerifier(std::vector<JwtKey> keys) : keys_(std::move(keys)) {}

Result<Claims> JwtVerifier::verify(std::string_view token, Timestamp now) const {
  if (token.empty()) return invalid("token is empty");
  if (token.size() > kMaxTokenBytes) return invalid("token is too long");

  // Compact serialization: header.payload.signature, all three non-empty
  // (an empty signature is what alg "none" produces).
  const std::size_t first_dot = token.find('.');
  const std::size_t second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != token.npos) {
    return invalid("token is not a JWT (expected header.payload.signature)");
  }
  const std::string_view header_text = token.substr(0, first_dot);
  const std::string_view payload_text = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_text = token.substr(second_dot + 1);

  const std::optional<json::object> header = decode_json_segment(header_text);
  if (!header) return invalid("token header is not base64url-encoded JSON");
  const json::value* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string()) return invalid("token header has no \"alg\"");
  const std::string_view alg_name(alg->get_string().data(), alg->get_string().size());
  const std::optional<JwtAlgorithm> algorithm = parse_jwt_algorithm(alg_name);
  if (!algorithm) {
    if (alg_name == "none" || alg_name == "None" || alg_name == "NONE") {
      return invalid("unsigned tokens (alg \"none\") are not accepted");
    }
    return invalid("unsupported token algorithm");
  }
  if (signature_text.empty()) return invalid("token has no signature");
  // libjwt reads a C string and decodes leniently; insist on strict base64url
  // so that what it verifies is exactly the token we were given (a trailing
  // NUL or stray characters must not be ignored).
  if (!base64url_decode(signature_text) || !base64url_decode(payload_text)) {
    return invalid("token is not base64url-encoded");
  }

  // Only keys of exactly the header's algorithm are tried (no confusion
  // between an RSA public key and an HMAC secret).
  const std::string token_copy(token);  // libjwt wants a NUL-terminated string
  bool had_key = false;
  bool verified = false;
  for (const JwtKey& key : keys_) {
    if (key.algorithm != *algorithm || key.key.empty()) continue;
    had_key = true;
    jwt_t* raw = nullptr;
    const int rc =
        jwt_decode(&raw, token_copy.c_str(), reinterpret_cast<const unsigned char*>(key.key.data()),
                   static_cast<int>(key.key.size()));
    JwtPtr decoded(raw);
    // Belt and braces: libjwt must have verified with the algorithm we chose.
    if (rc == 0 && decoded && jwt_get_alg(decoded.get()) == to_libjwt(*algorithm)) {
      verified = true;
      break;
    }
  }
  if (!had_key) return invalid("no key is configured for the token's algorithm");
  if (!verified) return invalid("token signature is invalid");

  const std::optional<json::object> payload = decode_json_segment(payload_text);
  if (!payload) return invalid("token payload is not a JSON object");

  Claims claims;
  if (const json::value* exp = payload->if_contains("exp")) {
    claims.expires_at = numeric_date(*exp);
    if (!claims.expires_at) return invalid("token \"exp\" is not a number");
  }
  if (const json::value* nbf = payload->if_contains("nbf")) {
    const std::optional<Timestamp> not_before = numeric_date(*nbf);
    if (!not_before) return invalid("token \"nbf\" is not a number");
    if (*not_before > now + kNotBeforeLeeway) return invalid("token is not yet valid (nbf)");
  }
  if (claims.expires_at && *claims.expires_at <= now) {
    return Error{"token_expired", "token has expired"};
  }

  const std::optional<json::object> hasura = hasura_claims(*payload);
  std::optional<std::string> user_id = string_member(*payload, "sub");
  if (!user_id && hasura) user_id = string_member(*hasura, "x-hasura-user-id");
  if (!user_id) return invalid("token has no subject (sub or x-hasura-user-id)");
  claims.user_id = std::move(*user_id);

  std::optional<std::string> role = string_member(*payload, "role");
  if (!role && hasura) role = string_member(*hasura, "x-hasura-default-role");
  claims.role = role.value_or("");
  claims.is_admin = claims.role == "admin";
  return claims;
}

Result<std::string> sign_jwt(const JwtKey& key, std::string_view claims_json) {
  boost::system::error_code ec;
  const json::value claims =
      json::parse(json::string_view(claims_json.data(), claims_json.size()), ec);
  if (ec || !claims.is_object()) return Error{"invalid_argument", "claims must be a JSON object"};
  if (key.key.empty()) return Error{"invalid_argument", "signing key is empty"};

  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Error{"invalid_argument", "cannot allocate a JWT"};
  JwtPtr jwt(raw);
  const std::string claims_text(claims_json);
  if (jwt_add_grants_json(jwt.get(), claims_text.c_str()) != 0) {
    return Error{"invalid_argument", "claims are not accepted by libjwt"};
  }
  if (jwt_set_alg(jwt.get(), to_libjwt(key.algorithm),
                  reinterpret_cast<const unsigned char*>(key.key.data()),
                  static_cast<int>(key.key.size())) != 0) {
    return Error{"invalid_argument", "signing key is not usable"};
  }
  char* encoded = jwt_encode_str(jwt.get());
  if (encoded == nullptr) {
    return Error{
        "invalid_argument",
        std::string("cannot sign with this key (") + std::string(to_string(key.algorithm)) +
            (is_hmac(key.algorithm) ? " needs a shared secret)" : " needs a PEM private key)")};
  }
  std::string token(encoded);
  std::free(encoded);  // libjwt 1.10 allocates with malloc
  return token;
}

}  // namespace nself::core::auth
