#include "core/message_cipher.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>
#include <memory>
#include <stdexcept>

#include "core/auth/base64url.hpp"

namespace nself::core {
namespace {

constexpr std::string_view kKeyCheckContext = "key-check";
constexpr std::string_view kKeyCheckPlaintext = "nself-realtime encryption key check";

struct CipherContextFree {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextFree>;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string associated_data(std::string_view context) {
  std::string aad(kSealedPrefix);
  for (char c : context)
    aad.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return aad;
}

const unsigned char* bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

[[noreturn]] void openssl_failed(const char* what) {
  throw std::runtime_error(std::string("OpenSSL failed: ") + what);
}

}  // namespace

Result<MessageCipher> MessageCipher::from_hex_key(std::string_view hex) {
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.front())))
    hex.remove_prefix(1);
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.remove_suffix(1);
  const Error error{"invalid_config",
                    "the key must be 64 hexadecimal characters (32 bytes), "
                    "e.g. the output of `openssl rand -hex 32`"};
  if (hex.size() != 2 * kCipherKeyBytes) return error;
  std::array<std::uint8_t, kCipherKeyBytes> key{};
  for (std::size_t i = 0; i < kCipherKeyBytes; ++i) {
    const int high = hex_value(hex[2 * i]);
    const int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      OPENSSL_cleanse(key.data(), key.size());
      return error;
    }
    key[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  MessageCipher cipher(key);
  OPENSSL_cleanse(key.data(), key.size());
  return cipher;
}

MessageCipher::~MessageCipher() {
  OPENSSL_cleanse(key_.data(), key_.size());
}

std::string MessageCipher::seal(std::string_view plaintext, std::string_view context) const {
  CipherNonce nonce{};
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) openssl_failed("RAND_bytes");
  return seal_with_nonce(plaintext, context, nonce);
}

std::string MessageCipher::seal_with_nonce(std::string_view plaintext, std::string_view context,
                                           const CipherNonce& nonce) const {
  const CipherContext ctx(EVP_CIPHER_CTX_new());
  if (!ctx) openssl_failed("EVP_CIPHER_CTX_new");
  const std::string aad = associated_data(context);
  // nonce || ciphertext (same length as the plaintext for GCM) || tag
  std::string sealed(nonce.size() + plaintext.size() + kCipherTagBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(sealed.data());
  std::copy(nonce.begin(), nonce.end(), out);
  int length = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), nonce.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, bytes(aad), static_cast<int>(aad.size())) !=
          1) {
    openssl_failed("AES-256-GCM init");
  }
  int written = 0;
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(ctx.get(), out + nonce.size(), &written, bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    openssl_failed("AES-256-GCM encrypt");
  }
  int final_length = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), out + nonce.size() + written, &final_length) != 1 ||
      static_cast<std::size_t>(written + final_length) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kCipherTagBytes),
                          out + nonce.size() + plaintext.size()) != 1) {
    openssl_failed("AES-256-GCM finish");
  }
  std::string text = "\"";
  text.append(kSealedPrefix);
  text.append(auth::base64url_encode(sealed));
  text.push_back('"');
  return text;
}

bool MessageCipher::is_sealed(std::string_view stored) {
  return stored.size() > kSealedPrefix.size() + 2 && stored.front() == '"' &&
         stored.back() == '"' && stored.substr(1, kSealedPrefix.size()) == kSealedPrefix;
}

Result<std::optional<std::string>> MessageCipher::open(std::string_view stored,
                                                       std::string_view context) const {
  if (!is_sealed(stored)) return std::optional<std::string>{};
  const Error failed{"decrypt_failed",
                     "stored message content does not decrypt with REALTIME_ENCRYPTION_KEY "
                     "(another key, or the row was altered)"};
  const auto sealed = auth::base64url_decode(
      stored.substr(1 + kSealedPrefix.size(), stored.size() - 2 - kSealedPrefix.size()));
  if (!sealed || sealed->size() < kCipherNonceBytes + kCipherTagBytes) return failed;
  const std::size_t size = sealed->size() - kCipherNonceBytes - kCipherTagBytes;
  const auto* in = bytes(*sealed);

  const CipherContext ctx(EVP_CIPHER_CTX_new());
  if (!ctx) openssl_failed("EVP_CIPHER_CTX_new");
  const std::string aad = associated_data(context);
  std::string plaintext(size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plaintext.data());
  int length = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kCipherNonceBytes),
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), in) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &length, bytes(aad), static_cast<int>(aad.size())) !=
          1) {
    openssl_failed("AES-256-GCM init");
  }
  int written = 0;
  if (size > 0 && EVP_DecryptUpdate(ctx.get(), out, &written, in + kCipherNonceBytes,
                                    static_cast<int>(size)) != 1) {
    return failed;
  }
  // The tag is set before the final call, which checks it.
  std::array<unsigned char, kCipherTagBytes> tag{};
  std::copy(in + kCipherNonceBytes + size, in + sealed->size(), tag.begin());
  int final_length = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()),
                          tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out + written, &final_length) != 1) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return failed;
  }
  return std::optional<std::string>(std::move(plaintext));
}

std::string MessageCipher::make_key_check() const {
  return seal(kKeyCheckPlaintext, kKeyCheckContext);
}

bool MessageCipher::matches_key_check(std::string_view key_check) const {
  const auto opened = open(key_check, kKeyCheckContext);
  return opened && opened->has_value() && **opened == kKeyCheckPlaintext;
}

}  // namespace nself::core
