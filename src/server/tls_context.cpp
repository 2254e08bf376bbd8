#include "server/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace nself::server {

namespace ssl = boost::asio::ssl;

const char* const kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

namespace {

// The oldest OpenSSL error on this thread's queue, as text (and clears it).
std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : "OpenSSL error " + std::to_string(code);
}

// Fails with the OS reason when `path` cannot be opened for reading.
void require_readable(const char* key, const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw TlsConfigError(std::string(key) + " (" + path +
                         "): cannot read the file: " + std::strerror(errno));
  }
}

}  // namespace

std::unique_ptr<ssl::context> make_tls_context(const std::string& cert_file,
                                               const std::string& key_file) {
  require_readable("WEBSOCKET_SSL_CERT", cert_file);
  require_readable("WEBSOCKET_SSL_KEY", key_file);
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    throw TlsConfigError("TLS: cannot require TLS 1.2 or later: " + openssl_reason());
  }
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_SINGLE_ECDH_USE);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
    throw TlsConfigError("TLS: cannot set the cipher list: " + openssl_reason());
  }
  // Idle connections hold no record buffers (OpenSSL allocates them per read/write).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  // An encrypted key fails to load instead of prompting on the terminal.
  context->set_password_callback(
      [](std::size_t, ssl::context::password_purpose) { return std::string(); });
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1) {
    throw TlsConfigError("WEBSOCKET_SSL_CERT (" + cert_file +
                         "): not a usable PEM certificate: " + openssl_reason());
  }
  if (SSL_CTX_use_PrivateKey_file(native, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    const std::string reason = openssl_reason();
    if (reason.find("values mismatch") != std::string::npos) {
      throw TlsConfigError("WEBSOCKET_SSL_KEY (" + key_file +
                           ") does not match the certificate in WEBSOCKET_SSL_CERT (" + cert_file +
                           ")");
    }
    throw TlsConfigError("WEBSOCKET_SSL_KEY (" + key_file +
                         "): not a usable PEM private key (unencrypted): " + reason);
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    throw TlsConfigError("WEBSOCKET_SSL_KEY (" + key_file +
                         ") does not match the certificate in WEBSOCKET_SSL_CERT (" + cert_file +
                         ")");
  }
  return context;
}

}  // namespace nself::server
