#include "test_keys.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <stdexcept>

#include "core/auth/base64url.hpp"

namespace nself::core::auth::test {
namespace {

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

RsaKeyPair generate() {
  EVP_PKEY* pkey = EVP_RSA_gen(2048);
  if (pkey == nullptr) throw std::runtime_error("EVP_RSA_gen failed");
  BIO* pub = BIO_new(BIO_s_mem());
  BIO* priv = BIO_new(BIO_s_mem());
  if (PEM_write_bio_PUBKEY(pub, pkey) != 1 ||
      PEM_write_bio_PrivateKey(priv, pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw std::runtime_error("PEM export failed");
  }
  RsaKeyPair pair{bio_to_string(pub), bio_to_string(priv)};
  BIO_free(pub);
  BIO_free(priv);
  EVP_PKEY_free(pkey);
  return pair;
}

}  // namespace

const RsaKeyPair& rsa_key_pair(int index) {
  static const std::array<RsaKeyPair, 2> pairs{generate(), generate()};
  return pairs.at(static_cast<std::size_t>(index));
}

std::string unsigned_token(std::string_view header_json, std::string_view payload_json,
                           std::string_view signature) {
  return base64url_encode(header_json) + "." + base64url_encode(payload_json) + "." +
         std::string(signature);
}

std::string hs256_token_with_header(std::string_view header_json, std::string_view payload_json,
                                    std::string_view secret) {
  const std::string signing_input =
      base64url_encode(header_json) + "." + base64url_encode(payload_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &mac_size);
  return signing_input + "." +
         base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), mac_size));
}

}  // namespace nself::core::auth::test
