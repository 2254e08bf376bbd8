#include <openssl/evp.h>

#include <stdexcept>
#include <string>

#include "core/ws/frame_codec.hpp"

namespace nself::core::ws {
namespace {

constexpr std::string_view kHandshakeGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

std::string compute_accept_key(std::string_view sec_websocket_key) {
  std::string input;
  input.reserve(sec_websocket_key.size() + kHandshakeGuid.size());
  input.append(sec_websocket_key);
  input.append(kHandshakeGuid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &digest_size, EVP_sha1(), nullptr) != 1 ||
      digest_size != 20) {
    throw std::runtime_error("OpenSSL SHA-1 failed");  // infrastructure, not input
  }
  // base64 of 20 bytes is 28 characters; EVP_EncodeBlock adds a NUL.
  unsigned char encoded[29];
  const int encoded_size = EVP_EncodeBlock(encoded, digest, 20);
  return std::string(reinterpret_cast<const char*>(encoded),
                     static_cast<std::size_t>(encoded_size));
}

bool is_valid_client_key(std::string_view key) {
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (std::size_t i = 0; i < 22; ++i) {
    if (!is_base64_char(key[i])) return false;
  }
  // The 22nd character carries the last 2 bits of byte 16 and 4 padding bits,
  // which a canonical encoding leaves zero: only A, Q, g and w qualify.
  const char last = key[21];
  return last == 'A' || last == 'Q' || last == 'g' || last == 'w';
}

}  // namespace nself::core::ws
