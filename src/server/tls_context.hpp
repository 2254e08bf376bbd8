#pragma once

// The server's TLS settings (WEBSOCKET_SSL_CERT + WEBSOCKET_SSL_KEY): one
// OpenSSL context built at start from the PEM files, so a restart reloads the
// certificate. TLS 1.2 and 1.3 only; for TLS 1.2 only ECDHE key exchange with
// AES-GCM or ChaCha20-Poly1305 (forward secrecy, AEAD); no renegotiation, no
// compression, the server's cipher order.
//
// Thread safety: the context is read-only after make_tls_context returns and
// is shared by every loop (OpenSSL creates connections from it concurrently).

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <stdexcept>
#include <string>

namespace nself::server {

// The certificate or key cannot be used (unreadable, not PEM, expired is NOT
// checked, key does not match the certificate). The message names the file.
class TlsConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads `cert_file` (PEM chain, leaf first) and `key_file` (PEM private key,
// unencrypted) and checks that the key belongs to the certificate.
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const std::string& cert_file,
                                                            const std::string& key_file);

// The cipher list used for TLS 1.2 (exposed for tests and the docs).
extern const char* const kTls12Ciphers;

}  // namespace nself::server
