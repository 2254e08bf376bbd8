#pragma once

// Encryption at rest of message content (REALTIME_ENCRYPTION_KEY): AES-256-GCM
// with OpenSSL's EVP interface, one deployment key, a random 96-bit nonce per
// message. Pure (no I/O); the nonce comes from OpenSSL's CSPRNG.
//
// Sealed format. Message content is stored in a JSON column (jsonb on
// PostgreSQL), so a sealed value is itself JSON: a string
//   "nself-enc:v1:" + base64url(nonce[12] || ciphertext || tag[16])
// where base64url is unpadded (core/auth/base64url.hpp), so the text needs no
// JSON escaping and both backends return it byte for byte. "v1" versions the
// whole scheme (algorithm, layout, associated data); a later scheme gets a new
// prefix and old rows stay readable.
//
// Associated data: "nself-enc:v1:" + a context string (the message's channel
// id, lower-cased), so a sealed row copied into another channel fails to open.
//
// Thread safety: immutable after construction; seal() and open() may run
// concurrently on one instance.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace nself::core {

inline constexpr std::string_view kSealedPrefix = "nself-enc:v1:";
inline constexpr std::size_t kCipherKeyBytes = 32;
inline constexpr std::size_t kCipherNonceBytes = 12;
inline constexpr std::size_t kCipherTagBytes = 16;

using CipherNonce = std::array<std::uint8_t, kCipherNonceBytes>;

class MessageCipher {
 public:
  // The key is 64 hexadecimal characters (32 bytes; `openssl rand -hex 32`),
  // either case, surrounding blanks ignored. Error code "invalid_config"; the
  // message never contains the key text (the caller prefixes the key name).
  static Result<MessageCipher> from_hex_key(std::string_view hex);

  MessageCipher(const MessageCipher&) = default;
  MessageCipher& operator=(const MessageCipher&) = default;
  ~MessageCipher();  // wipes the key

  // Seals `plaintext` (any bytes; here JSON value text) into the sealed JSON
  // string text described above, with a fresh random nonce. Throws
  // std::runtime_error only when OpenSSL fails (no randomness).
  std::string seal(std::string_view plaintext, std::string_view context) const;
  // The same with a given nonce: for tests only (a nonce must never repeat
  // under one key).
  std::string seal_with_nonce(std::string_view plaintext, std::string_view context,
                              const CipherNonce& nonce) const;

  // Opens stored text. Returns:
  //  - nullopt when `stored` is not in the sealed format (a row written
  //    before encryption was turned on: the caller uses it as is);
  //  - the plaintext when it is sealed and authentic under this key and context;
  //  - Error "decrypt_failed" when it is sealed but does not authenticate
  //    (another key, another context, or tampered bytes). Never garbage.
  Result<std::optional<std::string>> open(std::string_view stored, std::string_view context) const;

  // A value to store with the data that proves which key sealed it, so a
  // wrong key is detected at start instead of at the first read: a sealed
  // constant under the context "key-check".
  std::string make_key_check() const;
  // True when `key_check` was made by make_key_check() under the same key.
  bool matches_key_check(std::string_view key_check) const;

  // True when `stored` has the sealed format (it may still fail to open).
  static bool is_sealed(std::string_view stored);

 private:
  explicit MessageCipher(const std::array<std::uint8_t, kCipherKeyBytes>& key) : key_(key) {}
  std::array<std::uint8_t, kCipherKeyBytes> key_{};
};

}  // namespace nself::core
