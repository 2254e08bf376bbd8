#include "cli/http_client.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <memory>

namespace nself::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

// The first certificate of a PEM file (the server's own), or null.
X509Ptr read_first_certificate(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return X509Ptr(nullptr, X509_free);
  X509Ptr certificate(PEM_read_X509(file, nullptr, nullptr, nullptr), X509_free);
  std::fclose(file);
  return certificate;
}

// Writes `request` and reads the response over `stream` (connected, and for
// TLS after its handshake), then records success in `done`.
template <typename Stream>
void exchange(Stream& stream, http::request<http::string_body>& request, beast::flat_buffer& buffer,
              http::response<http::string_body>& response, bool& done, beast::error_code& failure) {
  http::async_write(stream, request, [&](beast::error_code error, std::size_t) {
    if (error) return void(failure = error);
    http::async_read(stream, buffer, response, [&](beast::error_code error, std::size_t) {
      if (error) return void(failure = error);
      done = true;
    });
  });
}

}  // namespace

std::optional<HttpResponse> http_request(
    const std::string& host, int port, const std::string& method, const std::string& target,
    const std::string& body, const std::vector<std::pair<std::string, std::string>>& headers,
    std::chrono::milliseconds timeout, const std::string& tls_cert) {
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, host);
  request.set(http::field::user_agent, "nself-realtime-cli");
  request.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
  }
  request.prepare_payload();

  // TLS: trust the configured certificate itself, or the system's CAs.
  std::optional<ssl::context> tls_context;
  X509Ptr pinned(nullptr, X509_free);
  if (!tls_cert.empty()) {
    tls_context.emplace(ssl::context::tls_client);
    tls_context->set_options(ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    beast::error_code ignored;
    tls_context->set_default_verify_paths(ignored);
    tls_context->set_verify_mode(ssl::verify_peer);
    pinned = read_first_certificate(tls_cert);
    tls_context->set_verify_callback([&pinned](bool preverified, ssl::verify_context& context) {
      X509* leaf = X509_STORE_CTX_get0_cert(context.native_handle());
      if (pinned && leaf != nullptr && X509_cmp(leaf, pinned.get()) == 0) return true;
      return preverified;
    });
  }
  std::optional<beast::tcp_stream> plain;
  std::optional<ssl::stream<beast::tcp_stream>> secure;
  if (tls_context) {
    secure.emplace(io, *tls_context);
  } else {
    plain.emplace(io);
  }
  beast::tcp_stream& tcp = secure ? secure->next_layer() : *plain;

  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  bool done = false;
  beast::error_code failure;
  tcp.expires_after(timeout);
  resolver.async_resolve(
      host, std::to_string(port),
      [&](beast::error_code error, const asio::ip::tcp::resolver::results_type& results) {
        if (error) return void(failure = error);
        tcp.async_connect(results, [&](beast::error_code error, const auto&) {
          if (error) return void(failure = error);
          if (!secure) return exchange(*plain, request, buffer, response, done, failure);
          secure->async_handshake(ssl::stream_base::client, [&](beast::error_code error) {
            if (error) return void(failure = error);
            exchange(*secure, request, buffer, response, done, failure);
          });
        });
      });
  io.run_for(timeout + std::chrono::milliseconds(500));
  if (!done || failure) return std::nullopt;
  return HttpResponse{static_cast<int>(response.result_int()), std::move(response.body())};
}

std::string connect_host(const std::string& bind_host) {
  if (bind_host.empty() || bind_host == "0.0.0.0") return "127.0.0.1";
  if (bind_host == "::" || bind_host == "[::]") return "::1";
  return bind_host;
}

}  // namespace nself::cli
