// libFuzzer target: JWT handling (core/auth). The first input byte picks what
// the rest of the input is:
//   0: a token, verified by an HS256 + RS256 verifier;
//   1: "<header JSON>\n<payload JSON>", made into a token with a *valid*
//      HS256 signature, so that the header and claims checks behind the
//      signature are reached with attacker-shaped JSON;
//   2: a HASURA_GRAPHQL_JWT_SECRET value;
//   3: base64url text and bytes (decode, and the encode/decode round trip).
//
// Properties: nothing crashes; errors are invalid_token or token_expired; an
// accepted token names a user, and its header said exactly "HS256" (mode 1);
// base64url round-trips.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/auth/base64url.hpp"
#include "core/auth/jwt_key.hpp"
#include "core/auth/jwt_verifier.hpp"
#include "fuzz_check.hpp"

namespace {

namespace auth = nself::core::auth;
namespace json = boost::json;

constexpr std::string_view kSecret = "fuzz-secret-fuzz-secret-fuzz-secret";

// A PEM RSA public key, generated once per process.
std::string rsa_public_pem() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  NSELF_FUZZ_CHECK(key != nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  NSELF_FUZZ_CHECK(PEM_write_bio_PUBKEY(bio, key) == 1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

const auth::JwtVerifier& verifier() {
  static const auth::JwtVerifier instance({
      auth::JwtKey{auth::JwtAlgorithm::kHS256, std::string(kSecret)},
      auth::JwtKey{auth::JwtAlgorithm::kRS256, rsa_public_pem()},
  });
  return instance;
}

const auth::Timestamp kNow{std::chrono::milliseconds(1'700'000'000'000)};

void check_result(const nself::Result<auth::Claims>& result) {
  if (result) {
    NSELF_FUZZ_CHECK(!result->user_id.empty());
    NSELF_FUZZ_CHECK(result->is_admin == (result->role == "admin"));
    if (result->expires_at) NSELF_FUZZ_CHECK(*result->expires_at > kNow);
  } else {
    const auto& code = result.error().code;
    NSELF_FUZZ_CHECK(code == "invalid_token" || code == "token_expired");
    NSELF_FUZZ_CHECK(result.error().message.find(kSecret) == std::string::npos);
  }
}

std::string hs256(std::string_view signing_input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &size);
  return std::string(reinterpret_cast<const char*>(mac), size);
}

// True when the header is a JSON object whose "alg" is exactly "HS256".
bool header_says_hs256(std::string_view header) {
  boost::system::error_code error;
  const json::value value = json::parse(header, error);
  if (error || !value.is_object()) return false;
  const json::value* alg = value.as_object().if_contains("alg");
  return alg != nullptr && alg->is_string() && alg->as_string() == "HS256";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      check_result(verifier().verify(input, kNow));
      break;
    case 1: {
      const std::size_t split = input.find('\n');
      const std::string_view header = input.substr(0, split);
      const std::string_view payload =
          split == std::string_view::npos ? std::string_view{} : input.substr(split + 1);
      std::string token = auth::base64url_encode(header) + "." + auth::base64url_encode(payload);
      token += "." + auth::base64url_encode(hs256(token));
      const auto result = verifier().verify(token, kNow);
      check_result(result);
      if (result) NSELF_FUZZ_CHECK(header_says_hs256(header));
      break;
    }
    case 2: {
      const auto key = auth::parse_hasura_jwt_secret(input);
      if (key) {
        NSELF_FUZZ_CHECK(!key->key.empty());
      } else {
        NSELF_FUZZ_CHECK(key.error().code == "invalid_config");
      }
      break;
    }
    case 3: {
      if (const auto decoded = auth::base64url_decode(input)) {
        // Whatever decodes re-encodes to something that decodes the same.
        NSELF_FUZZ_CHECK(auth::base64url_decode(auth::base64url_encode(*decoded)) == decoded);
      }
      NSELF_FUZZ_CHECK(auth::base64url_decode(auth::base64url_encode(input)) == std::string(input));
      break;
    }
  }
  return 0;
}
