#pragma once

// The byte stream under an HTTP connection or a WebSocket session: a plain
// TCP socket, or TLS (OpenSSL through asio::ssl::stream) over one. visit()
// calls a generic function with the concrete stream, so code written once
// compiles to a direct call on each; the plain path costs one branch on a
// null pointer and the TLS state is allocated only for TLS connections.
//
// Thread safety: none; lives on its loop thread.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <utility>

namespace nself::server {

class Transport {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using TlsStream = boost::asio::ssl::stream<Socket>;

  // Plain TCP.
  explicit Transport(Socket socket) : socket_(std::move(socket)) {}
  // TLS over `socket` (the handshake is still to be done: tls()->async_handshake).
  Transport(Socket socket, boost::asio::ssl::context& context)
      : socket_(socket.get_executor()),
        tls_(std::make_unique<TlsStream>(std::move(socket), context)) {}

  Transport(Transport&&) noexcept = default;
  Transport& operator=(Transport&&) noexcept = default;

  bool is_tls() const { return tls_ != nullptr; }
  // The TLS stream, or nullptr for plain TCP.
  TlsStream* tls() { return tls_.get(); }
  // The TCP socket (under TLS: the one the TLS stream runs over).
  Socket& socket() { return tls_ ? tls_->next_layer() : socket_; }

  // Calls `f(stream)` with the plain socket or the TLS stream.
  template <typename F>
  decltype(auto) visit(F&& f) {
    if (tls_) return std::forward<F>(f)(*tls_);
    return std::forward<F>(f)(socket_);
  }

  // Shuts the TCP connection down in both directions and closes it (no TLS
  // close_notify: nothing else may write meanwhile). Errors are ignored.
  void close() {
    boost::system::error_code ignored;
    socket().shutdown(Socket::shutdown_both, ignored);
    socket().close(ignored);
  }

 private:
  Socket socket_;                   // the connection when plain; unused under TLS
  std::unique_ptr<TlsStream> tls_;  // null for plain TCP
};

}  // namespace nself::server
