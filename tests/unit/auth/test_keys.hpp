#pragma once

// Helpers for the auth tests: a freshly generated RSA key pair and hand-made
// tokens (so that headers libjwt would never write can be tested).

#include <string>
#include <string_view>

namespace nself::core::auth::test {

struct RsaKeyPair {
  std::string public_pem;
  std::string private_pem;
};

// A 2048-bit RSA key pair generated with OpenSSL. `index` selects one of two
// cached pairs (generated once per process).
const RsaKeyPair& rsa_key_pair(int index = 0);

// base64url(header_json) + "." + base64url(payload_json) + "." + signature.
std::string unsigned_token(std::string_view header_json, std::string_view payload_json,
                           std::string_view signature);

// A token with the given raw header and payload JSON, HMAC-SHA256-signed with
// `secret` whatever the header says.
std::string hs256_token_with_header(std::string_view header_json, std::string_view payload_json,
                                    std::string_view secret);

}  // namespace nself::core::auth::test
