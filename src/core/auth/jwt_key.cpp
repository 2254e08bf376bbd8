#include "core/auth/jwt_key.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <cmath>
#include <cstdint>

namespace nself::core::auth {
namespace {

namespace json = boost::json;

// The caller (the server's start-up) names the setting.
Error config_error(std::string message) {
  return Error{"invalid_config", std::move(message)};
}

std::string_view view(const json::string& text) {
  return std::string_view(text.data(), text.size());
}

// "audience": a non-empty string, or a non-empty array of them.
Result<std::vector<std::string>> parse_audience(const json::value& value) {
  const Error error =
      config_error("\"audience\" must be a non-empty string or array of non-empty strings");
  if (value.is_string()) {
    if (value.get_string().empty()) return error;
    return std::vector<std::string>{std::string(view(value.get_string()))};
  }
  const json::array* array = value.if_array();
  if (array == nullptr || array->empty()) return error;
  std::vector<std::string> audience;
  for (const json::value& element : *array) {
    if (!element.is_string() || element.get_string().empty()) return error;
    audience.emplace_back(view(element.get_string()));
  }
  return audience;
}

// One claims_map value: {"path": "...", "default": "..."} or a literal string.
Result<ClaimsMapValue> parse_claims_map_value(const json::value& value, std::string_view name) {
  const std::string where = "\"claims_map\" \"" + std::string(name) + "\"";
  if (value.is_string()) return ClaimsMapValue{std::nullopt, std::string(view(value.get_string()))};
  const json::object* object = value.if_object();
  if (object == nullptr) {
    return config_error(where + " must be a string or {\"path\": \"$...\", \"default\": \"...\"}");
  }
  const json::value* path = object->if_contains("path");
  if (path == nullptr || !path->is_string()) {
    return config_error(where + " needs \"path\", a JSON path string");
  }
  auto parsed = parse_json_path(view(path->get_string()));
  if (!parsed) return config_error(where + ": " + parsed.error().message);
  ClaimsMapValue result{std::move(parsed).value(), std::nullopt};
  if (const json::value* fallback = object->if_contains("default")) {
    if (!fallback->is_string()) return config_error(where + " \"default\" must be a string");
    result.value = std::string(view(fallback->get_string()));
  }
  return result;
}

// "claims_map", as Hasura reads it: x-hasura-allowed-roles and
// x-hasura-default-role are required; keys are case-insensitive.
Result<ClaimsMap> parse_claims_map(const json::value& value) {
  const json::object* object = value.if_object();
  if (object == nullptr) return config_error("\"claims_map\" must be a JSON object");
  const json::value* allowed_roles = find_member_ignoring_case(*object, "x-hasura-allowed-roles");
  if (allowed_roles == nullptr) {
    return config_error("\"claims_map\" needs \"x-hasura-allowed-roles\"");
  }
  if (!allowed_roles->is_array() && !allowed_roles->is_object()) {
    return config_error(
        "\"claims_map\" \"x-hasura-allowed-roles\" must be an array of roles or "
        "{\"path\": \"$...\"}");
  }
  if (allowed_roles->is_object()) {
    auto checked = parse_claims_map_value(*allowed_roles, "x-hasura-allowed-roles");
    if (!checked) return checked.error();
  }
  const json::value* default_role = find_member_ignoring_case(*object, "x-hasura-default-role");
  if (default_role == nullptr) {
    return config_error("\"claims_map\" needs \"x-hasura-default-role\"");
  }
  auto role = parse_claims_map_value(*default_role, "x-hasura-default-role");
  if (!role) return role.error();
  ClaimsMap map{std::move(role).value(), std::nullopt};
  if (const json::value* user = find_member_ignoring_case(*object, "x-hasura-user-id")) {
    auto user_id = parse_claims_map_value(*user, "x-hasura-user-id");
    if (!user_id) return user_id.error();
    map.user_id = std::move(user_id).value();
  }
  return map;
}

// Hasura's optional fields, into `rules`.
std::optional<Error> parse_rules(const json::object& object, JwtKeyRules& rules) {
  if (const json::value* audience = object.if_contains("audience")) {
    auto parsed = parse_audience(*audience);
    if (!parsed) return parsed.error();
    rules.audience = std::move(parsed).value();
  }
  if (const json::value* issuer = object.if_contains("issuer")) {
    if (!issuer->is_string() || issuer->get_string().empty()) {
      return config_error("\"issuer\" must be a non-empty string");
    }
    rules.issuer = std::string(view(issuer->get_string()));
  }
  const json::value* name = object.if_contains("claims_namespace");
  const json::value* path = object.if_contains("claims_namespace_path");
  if (name != nullptr && path != nullptr) {
    return config_error("\"claims_namespace\" and \"claims_namespace_path\" cannot both be set");
  }
  if (name != nullptr) {
    if (!name->is_string()) return config_error("\"claims_namespace\" must be a string");
    rules.claims_path = JsonPath{JsonPathStep{std::string(view(name->get_string()))}};
  }
  if (path != nullptr) {
    if (!path->is_string()) return config_error("\"claims_namespace_path\" must be a string");
    auto parsed = parse_json_path(view(path->get_string()));
    if (!parsed) return config_error("\"claims_namespace_path\": " + parsed.error().message);
    rules.claims_path = std::move(parsed).value();
  }
  if (const json::value* format = object.if_contains("claims_format")) {
    if (format->is_string() && format->get_string() == "json") {
      rules.claims_format = ClaimsFormat::kJson;
    } else if (format->is_string() && format->get_string() == "stringified_json") {
      rules.claims_format = ClaimsFormat::kStringifiedJson;
    } else {
      return config_error("\"claims_format\" must be \"json\" or \"stringified_json\"");
    }
  }
  if (const json::value* map = object.if_contains("claims_map")) {
    auto parsed = parse_claims_map(*map);
    if (!parsed) return parsed.error();
    rules.claims_map = std::move(parsed).value();
  }
  if (const json::value* skew = object.if_contains("allowed_skew")) {
    constexpr std::int64_t kMaxSkew = 365LL * 24 * 3600;
    const bool whole = skew->is_int64() || skew->is_uint64() ||
                       (skew->is_double() && skew->get_double() == std::floor(skew->get_double()));
    const double seconds = skew->is_number() ? skew->to_number<double>() : -1;
    if (!whole || seconds < 0 || seconds > static_cast<double>(kMaxSkew)) {
      return config_error("\"allowed_skew\" must be a whole number of seconds (0 to 31536000)");
    }
    rules.allowed_skew = std::chrono::seconds(static_cast<std::int64_t>(seconds));
  }
  return std::nullopt;
}

// True when `pem` holds a PEM public key (SubjectPublicKeyInfo) of type RSA.
bool is_rsa_public_key_pem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return false;
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (pkey == nullptr) return false;
  const bool rsa = EVP_PKEY_base_id(pkey) == EVP_PKEY_RSA;
  EVP_PKEY_free(pkey);
  return rsa;
}

// Replaces literal backslash-n pairs by newlines (keys escaped twice).
std::string unescape_newlines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t index = 0; index < text.size(); ++index) {
    if (text[index] == '\\' && index + 1 < text.size() && text[index + 1] == 'n') {
      out.push_back('\n');
      ++index;
    } else {
      out.push_back(text[index]);
    }
  }
  return out;
}

}  // namespace

std::string_view to_string(JwtAlgorithm algorithm) {
  switch (algorithm) {
    case JwtAlgorithm::kHS256:
      return "HS256";
    case JwtAlgorithm::kHS384:
      return "HS384";
    case JwtAlgorithm::kHS512:
      return "HS512";
    case JwtAlgorithm::kRS256:
      return "RS256";
  }
  return "HS256";
}

std::optional<JwtAlgorithm> parse_jwt_algorithm(std::string_view name) {
  if (name == "HS256") return JwtAlgorithm::kHS256;
  if (name == "HS384") return JwtAlgorithm::kHS384;
  if (name == "HS512") return JwtAlgorithm::kHS512;
  if (name == "RS256") return JwtAlgorithm::kRS256;
  return std::nullopt;
}

bool is_hmac(JwtAlgorithm algorithm) {
  return algorithm != JwtAlgorithm::kRS256;
}

Result<JwtKey> parse_hasura_jwt_secret(std::string_view text) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return config_error("not valid JSON (expected {\"type\":\"HS256\",\"key\":\"...\"})");
  const json::object* object = parsed.if_object();
  if (object == nullptr) return config_error("must be a JSON object");
  if (object->contains("jwk_url")) {
    return config_error(
        "\"jwk_url\" is not supported: this server does not fetch keys; put the public key "
        "(PEM) in \"key\" with its \"type\" instead");
  }

  const json::value* type = object->if_contains("type");
  if (type == nullptr) return config_error("missing \"type\"");
  if (!type->is_string()) return config_error("\"type\" must be a string");
  const std::string_view type_name(type->get_string().data(), type->get_string().size());
  const std::optional<JwtAlgorithm> algorithm = parse_jwt_algorithm(type_name);
  if (!algorithm) {
    return config_error("unsupported \"type\" \"" + std::string(type_name) +
                        "\" (supported: HS256, HS384, HS512, RS256)");
  }

  const json::value* key = object->if_contains("key");
  if (key == nullptr) return config_error("missing \"key\"");
  if (!key->is_string()) return config_error("\"key\" must be a string");
  std::string key_text(key->get_string().data(), key->get_string().size());
  if (key_text.empty()) return config_error("\"key\" must not be empty");

  if (*algorithm == JwtAlgorithm::kRS256) {
    if (key_text.find('\n') == std::string::npos) key_text = unescape_newlines(key_text);
    if (!is_rsa_public_key_pem(key_text)) {
      return config_error(
          "\"key\" must be a PEM RSA public key (-----BEGIN PUBLIC KEY-----) for RS256");
    }
  }
  JwtKey parsed_key{*algorithm, std::move(key_text)};
  if (auto error = parse_rules(*object, parsed_key.rules)) return *error;
  return parsed_key;
}

}  // namespace nself::core::auth
