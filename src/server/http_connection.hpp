#pragma once

// A freshly accepted socket in its HTTP phase: reads one request at a time
// with Beast's parser (header and body limits), then either answers it from
// the HttpRouter (keep-alive is honoured) or, for a WebSocket endpoint,
// validates the upgrade and hands the socket to a WsSession with the 101
// queued and any bytes the client sent after its request.
//
// Under TLS (Loop::tls_context) the connection first peeks at the client's
// first byte: a TLS handshake record goes on to the TLS handshake (on this
// loop, within request_timeout), anything else (plain HTTP) is answered with a
// plain-text 400 and closed. Then the same HTTP phase runs over the TLS stream.
//
// Thread safety: none; lives on its loop thread.

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "server/http_router.hpp"
#include "server/transport.hpp"

namespace nself::server {

class Loop;

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(Loop& loop, Transport transport, std::uint64_t key);

  void start();
  // Closes the socket (shutdown, or the request deadline passed).
  void abort();
  // Aborts when the current request has not arrived by its deadline, or the
  // current response has not been written by its own (response_write_timeout).
  void on_tick(std::chrono::steady_clock::time_point now);

 private:
  // TLS: waits for the first byte, then handshake() or refuse_plain_http().
  void peek_first_byte();
  void handshake();
  void refuse_plain_http();
  void read_request();
  void on_read(const boost::system::error_code& error);
  void respond(HttpResponse response);
  void upgrade(const HttpRequest& request, std::string accept_key);
  void drain();
  void done();

  Loop& loop_;
  Transport transport_;
  std::uint64_t key_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpResponse> response_;
  std::chrono::steady_clock::time_point deadline_;
  std::shared_ptr<std::array<char, 4096>> discard_;
  bool pending_ = false;  // a router handler has not responded yet
  bool draining_ = false;
  bool finished_ = false;
};

}  // namespace nself::server
