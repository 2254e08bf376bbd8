#include "core/auth/jwt_key.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace nself::core::auth {
namespace {

namespace json = boost::json;

Error config_error(std::string message) {
  return Error{"invalid_config", "HASURA_GRAPHQL_JWT_SECRET: " + std::move(message)};
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
    return config_error("\"jwk_url\" is not supported; give the key itself in \"key\"");
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
  return JwtKey{*algorithm, std::move(key_text)};
}

}  // namespace nself::core::auth
