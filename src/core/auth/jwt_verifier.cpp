#include "core/auth/jwt_verifier.hpp"

#include <jwt.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
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

// Non-empty string, or nullopt.
std::optional<std::string> non_empty_string(const json::value* value) {
  if (value == nullptr || !value->is_string() || value->get_string().empty()) return std::nullopt;
  return std::string(value->get_string().data(), value->get_string().size());
}

// Non-empty string member, or nullopt.
std::optional<std::string> string_member(const json::object& object, std::string_view name) {
  return non_empty_string(object.if_contains(json::string_view(name.data(), name.size())));
}

// What the Hasura session variables say: nullopt members are absent.
struct SessionVariables {
  std::optional<std::string> user_id;
  std::optional<std::string> default_role;
};

// The Hasura claims object at the rules' namespace. No value there: no
// claims (the token may still name its user with "sub"). A value in the
// wrong format is an error, as in Hasura.
Result<std::optional<json::object>> namespace_claims(const json::value& payload,
                                                     const JwtKeyRules& rules) {
  const json::value* value = find_json_path(payload, rules.claims_path);
  if (value == nullptr) return std::optional<json::object>();
  if (rules.claims_format == ClaimsFormat::kJson) {
    if (!value->is_object()) {
      return invalid("token Hasura claims must be a JSON object (claims_format json)");
    }
    return std::optional<json::object>(value->get_object());
  }
  if (!value->is_string()) {
    return invalid("token Hasura claims must be a string (claims_format stringified_json)");
  }
  json::parse_options options;
  options.max_depth = 32;
  boost::system::error_code ec;
  json::value inner = json::parse(value->get_string(), ec, {}, options);
  if (ec || !inner.is_object()) {
    return invalid("token Hasura claims are not stringified JSON of an object");
  }
  return std::optional<json::object>(std::move(inner.get_object()));
}

// One claims_map value: the string its path finds in the payload, else its
// default or literal. Found but not a non-empty string, or not found without
// a default: an error, as in Hasura.
Result<std::string> mapped_claim(const json::value& payload, const ClaimsMapValue& entry,
                                 std::string_view name) {
  if (entry.path) {
    if (const json::value* found = find_json_path(payload, *entry.path)) {
      if (auto text = non_empty_string(found)) return *text;
      return invalid("token claim for " + std::string(name) + " (claims_map) is not a string");
    }
  }
  if (entry.value && !entry.value->empty()) return *entry.value;
  return invalid("token has no claim for " + std::string(name) + " (claims_map)");
}

Result<SessionVariables> session_variables(const json::value& payload, const JwtKeyRules& rules) {
  SessionVariables variables;
  if (rules.claims_map) {
    auto role = mapped_claim(payload, rules.claims_map->default_role, "x-hasura-default-role");
    if (!role) return role.error();
    variables.default_role = std::move(role).value();
    if (rules.claims_map->user_id) {
      auto user = mapped_claim(payload, *rules.claims_map->user_id, "x-hasura-user-id");
      if (!user) return user.error();
      variables.user_id = std::move(user).value();
    }
    return variables;
  }
  auto claims = namespace_claims(payload, rules);
  if (!claims) return claims.error();
  if (*claims) {
    variables.user_id = non_empty_string(find_member_ignoring_case(**claims, "x-hasura-user-id"));
    variables.default_role =
        non_empty_string(find_member_ignoring_case(**claims, "x-hasura-default-role"));
  }
  return variables;
}

// "aud" (a string or an array of strings, RFC 7519 4.1.3) holds one of
// `audience`. A token without "aud" does not.
bool audience_accepted(const json::object& payload, const std::vector<std::string>& audience) {
  const json::value* aud = payload.if_contains("aud");
  if (aud == nullptr) return false;
  const auto listed = [&](const json::value& value) {
    if (!value.is_string()) return false;
    const std::string_view text(value.get_string().data(), value.get_string().size());
    for (const std::string& accepted : audience) {
      if (text == accepted) return true;
    }
    return false;
  };
  if (const json::array* array = aud->if_array()) {
    for (const json::value& element : *array) {
      if (listed(element)) return true;
    }
    return false;
  }
  return listed(*aud);
}

}  // namespace

JwtVerifier::JwtVerifier(std::vector<JwtKey> keys, JwtVerifierOptions options)
    : keys_(std::move(keys)), options_(options) {}

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
  // RFC 7515 4.1.11: a recipient must refuse a JWS whose "crit" lists an
  // extension it does not understand; we understand none (and an empty or
  // malformed "crit" is invalid too).
  if (header->contains("crit")) {
    return invalid("token header has \"crit\" (critical extensions are not supported)");
  }
  if (signature_text.empty()) return invalid("token has no signature");
  // libjwt reads a C string and decodes leniently; insist on strict base64url
  // so that what it verifies is exactly the token we were given (a trailing
  // NUL or stray characters must not be ignored).
  if (!base64url_decode(signature_text) || !base64url_decode(payload_text)) {
    return invalid("token is not base64url-encoded");
  }

  // Only keys of exactly the header's algorithm are tried (no confusion
  // between an RSA public key and an HMAC secret). The first key that
  // verifies the signature supplies the claim rules.
  const std::string token_copy(token);  // libjwt wants a NUL-terminated string
  bool had_key = false;
  const JwtKey* verified_by = nullptr;
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
      verified_by = &key;
      break;
    }
  }
  if (!had_key) return invalid("no key is configured for the token's algorithm");
  if (verified_by == nullptr) return invalid("token signature is invalid");
  const JwtKeyRules& rules = verified_by->rules;

  std::optional<json::object> payload = decode_json_segment(payload_text);
  if (!payload) return invalid("token payload is not a JSON object");

  // Leeways: the key's allowed_skew for all three time claims, else none for
  // exp and kNotBeforeLeeway for nbf and iat.
  const milliseconds expiry_leeway = rules.allowed_skew.value_or(std::chrono::seconds(0));
  const milliseconds early_leeway = rules.allowed_skew.value_or(kNotBeforeLeeway);
  Claims claims;
  if (const json::value* exp = payload->if_contains("exp")) {
    claims.expires_at = numeric_date(*exp);
    if (!claims.expires_at) return invalid("token \"exp\" is not a number");
    *claims.expires_at += expiry_leeway;
  } else if (options_.require_exp) {
    return invalid("token has no \"exp\" (expiration time)");
  }
  if (const json::value* nbf = payload->if_contains("nbf")) {
    const std::optional<Timestamp> not_before = numeric_date(*nbf);
    if (!not_before) return invalid("token \"nbf\" is not a number");
    if (*not_before > now + early_leeway) return invalid("token is not yet valid (nbf)");
  }
  if (const json::value* iat = payload->if_contains("iat")) {
    const std::optional<Timestamp> issued_at = numeric_date(*iat);
    if (!issued_at) return invalid("token \"iat\" is not a number");
    if (*issued_at > now + early_leeway) return invalid("token was issued in the future (iat)");
  }
  if (claims.expires_at && *claims.expires_at <= now) {
    return Error{"token_expired", "token has expired"};
  }

  // Hasura: a configured issuer refuses another "iss", and matches a token
  // without one.
  if (rules.issuer) {
    if (const json::value* iss = payload->if_contains("iss")) {
      if (!iss->is_string() || iss->get_string() != *rules.issuer) {
        return invalid("token issuer (iss) is not accepted");
      }
    }
  }
  if (!rules.audience.empty() && !audience_accepted(*payload, rules.audience)) {
    return invalid("token audience (aud) is not accepted");
  }

  const json::value payload_value(std::move(*payload));
  auto variables = session_variables(payload_value, rules);
  if (!variables) return variables.error();
  const json::object& object = payload_value.get_object();

  // Hasura's claims win (see Claims); "sub" and "role" are the fallbacks.
  std::optional<std::string> user_id = std::move(variables->user_id);
  if (!user_id) user_id = string_member(object, "sub");
  if (!user_id) return invalid("token has no subject (sub or x-hasura-user-id)");
  claims.user_id = std::move(*user_id);

  std::optional<std::string> role = std::move(variables->default_role);
  if (!role) role = string_member(object, "role");
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
