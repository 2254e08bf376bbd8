#include "server/http_connection.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "server/handshake.hpp"
#include "server/loop.hpp"
#include "server/upgrade_token.hpp"

namespace nself::server {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// A refused connection gets less time to say what it wants.
constexpr std::chrono::seconds kRefusedRequestTimeout{2};

}  // namespace

HttpConnection::HttpConnection(Loop& loop, Transport transport, std::uint64_t key,
                               AcceptedPeer peer)
    : loop_(loop), transport_(std::move(transport)), key_(key), peer_(std::move(peer)) {}

void HttpConnection::start() {
  if (transport_.is_tls()) {
    peek_first_byte();
  } else {
    read_request();
  }
}

void HttpConnection::peek_first_byte() {
  // The handshake and the request share one deadline (on_tick enforces it).
  deadline_ = std::chrono::steady_clock::now() + loop_.options().request_timeout;
  transport_.socket().async_wait(
      asio::ip::tcp::socket::wait_read, [self = shared_from_this()](const error_code& error) {
        if (self->finished_) return;
        if (error) return self->done();
        unsigned char first = 0;
        error_code peek_error;
        const std::size_t n = self->transport_.socket().receive(
            asio::buffer(&first, 1), asio::socket_base::message_peek, peek_error);
        if (peek_error || n == 0) return self->done();  // closed before saying anything
        constexpr unsigned char kTlsHandshakeRecord = 0x16;
        if (first == kTlsHandshakeRecord) {
          self->handshake();
        } else {
          self->refuse_plain_http();
        }
      });
}

void HttpConnection::handshake() {
  transport_.tls()->async_handshake(asio::ssl::stream_base::server,
                                    [self = shared_from_this()](const error_code& error) {
                                      if (self->finished_) return;
                                      if (error) {
                                        // Wrong version, no shared cipher, a scanner: nothing to
                                        // answer.
                                        spdlog::debug("TLS handshake failed: {}", error.message());
                                        return self->done();
                                      }
                                      self->read_request();
                                    });
}

void HttpConnection::refuse_plain_http() {
  // Plain HTTP on the TLS port: a readable answer instead of a reset, written
  // on the raw socket (no TLS was negotiated).
  static constexpr std::string_view kRefusal =
      "HTTP/1.1 400 Bad Request\r\n"
      "Content-Type: text/plain\r\n"
      "Content-Length: 59\r\n"
      "Connection: close\r\n"
      "\r\n"
      "This port speaks TLS only: use https:// or wss:// instead.\n";
  spdlog::debug("plain HTTP on the TLS port; refused");
  asio::async_write(transport_.socket(), asio::buffer(kRefusal.data(), kRefusal.size()),
                    [self = shared_from_this()](const error_code& error, std::size_t) {
                      if (self->finished_) return;
                      if (error) return self->done();
                      self->drain();
                    });
}

void HttpConnection::read_request() {
  deadline_ = std::chrono::steady_clock::now() +
              (peer_.refusal == core::ConnectionRefusal::kNone
                   ? loop_.options().request_timeout
                   : std::chrono::duration_cast<std::chrono::milliseconds>(kRefusedRequestTimeout));
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(loop_.options().max_header_bytes));
  parser_->body_limit(loop_.options().max_body_bytes);
  transport_.visit([this](auto& stream) {
    http::async_read(stream, buffer_, *parser_,
                     [self = shared_from_this()](const error_code& error, std::size_t) {
                       self->on_read(error);
                     });
  });
}

void HttpConnection::on_read(const error_code& error) {
  if (finished_) return;
  peer_.lease.request_arrived();  // or failed: no longer an idle socket
  if (error) {
    if (error == http::error::header_limit) {
      respond(error_response(http::status::request_header_fields_too_large, "header_too_large",
                             "request headers are too large"));
    } else if (error == http::error::body_limit) {
      respond(error_response(http::status::payload_too_large, "body_too_large",
                             "request body is too large"));
    } else if (error == http::error::end_of_stream || error == asio::error::eof ||
               error == asio::error::operation_aborted || error == asio::error::connection_reset) {
      done();
    } else {
      respond(error_response(http::status::bad_request, "bad_request",
                             "malformed HTTP request: " + error.message()));
    }
    return;
  }
  HttpRequest request = parser_->release();
  if (peer_.refusal != core::ConnectionRefusal::kNone) {
    respond(refusal_response(peer_.refusal, peer_.retry_after_seconds, &request));
    return;
  }
  std::string_view path = split_target(request.target()).path;
  if (loop_.router().is_websocket_endpoint(path) &&
      (wants_websocket_upgrade(request) ||
       (request.method() == http::verb::get && !loop_.router().has_route(http::verb::get, path)))) {
    HandshakeCheck check = check_websocket_handshake(request);
    if (check.rejection) {
      respond(std::move(*check.rejection));
      return;
    }
    if (auto refusal = loop_.handler().check_upgrade(request)) {
      refusal->keep_alive(false);
      respond(std::move(*refusal));
      return;
    }
    websocket(request, std::move(*check.accept_key));
    return;
  }
  // The deadline does not apply while a handler works (pending_).
  pending_ = true;
  std::string client = client_of(request).to_string();
  loop_.route(std::make_shared<const HttpRequest>(std::move(request)), std::move(client),
              [self = shared_from_this()](HttpResponse response) {
                self->pending_ = false;
                if (self->finished_) return;  // aborted meanwhile (shutdown)
                self->respond(std::move(response));
              });
}

core::IpAddress HttpConnection::client_of(const HttpRequest& request) {
  auto [first, last] = request.equal_range("X-Forwarded-For");
  if (first == last) return peer_.address;
  if (!peer_.trusted_proxy) {
    loop_.note_untrusted_forwarded_for(peer_.address);
    return peer_.address;
  }
  std::string joined;
  for (auto it = first; it != last; ++it) {
    if (!joined.empty()) joined += ',';
    joined.append(it->value().data(), it->value().size());
  }
  return loop_.options().trusted_proxies.client(peer_.address, joined);
}

void HttpConnection::websocket(const HttpRequest& request, std::string accept_key) {
  const core::IpAddress client = client_of(request);
  ClientLimits::Lease proxied;
  if (peer_.trusted_proxy) {
    // Through a proxy each upgrade is charged to its client (see client_limits.hpp).
    auto admission =
        loop_.client_limits().open(client.limit_key(), std::chrono::steady_clock::now());
    if (admission.refusal != core::ConnectionRefusal::kNone) {
      respond(refusal_response(admission.refusal, admission.retry_after_seconds, &request));
      return;
    }
    proxied = std::move(admission.lease);
  }
  ClientLimits::Lease& lease = peer_.trusted_proxy ? proxied : peer_.lease;
  if (!loop_.has_capacity()) {
    HttpResponse response = error_response(
        http::status::service_unavailable, "unavailable",
        loop_.shutting_down() ? "server is shutting down" : "too many connections", &request);
    response.set(http::field::retry_after, "5");
    response.keep_alive(false);
    respond(std::move(response));
    return;
  }
  // With a token the upgrade is authenticated already (check_upgrade verified
  // it); without one it waits for an auth message, and counts as such.
  if (!upgrade_token(request[http::field::authorization], request.target())) {
    if (auto refusal = lease.begin_unauthenticated(); refusal != core::ConnectionRefusal::kNone) {
      respond(refusal_response(refusal, 0, &request));
      return;
    }
  }
  upgrade(request, std::move(accept_key), client, std::move(lease));
}

void HttpConnection::respond(HttpResponse response) {
  response_ = std::make_shared<HttpResponse>(std::move(response));
  // The whole response must be taken by the client within the write timeout
  // (on_tick), so that a client that never reads cannot hold the connection.
  deadline_ = std::chrono::steady_clock::now() + loop_.options().response_write_timeout;
  auto on_written = [self = shared_from_this()](const error_code& error, std::size_t) {
    if (self->finished_) return;
    if (error) {
      self->done();
      return;
    }
    if (!self->response_->keep_alive()) {
      self->drain();
      return;
    }
    self->response_.reset();
    self->read_request();
  };
  transport_.visit(
      [&](auto& stream) { http::async_write(stream, *response_, std::move(on_written)); });
}

void HttpConnection::upgrade(const HttpRequest& request, std::string accept_key,
                             const core::IpAddress& client, ClientLimits::Lease lease) {
  SessionInfo info;
  info.id = loop_.next_session_id();
  // The client (resolved through trusted proxies): what the protocol layer
  // records and audits. The port is the socket peer's.
  info.remote_address = client.to_string();
  info.peer_address = peer_.address.to_string();
  error_code endpoint_error;
  auto remote = transport_.socket().remote_endpoint(endpoint_error);
  if (!endpoint_error) info.remote_port = remote.port();
  UpgradeRequest upgrade{std::string(request.target()),
                         std::string(request[http::field::authorization]),
                         std::string(request[http::field::user_agent])};
  info.connected_at = std::chrono::system_clock::now();
  // Bytes the client sent after its request (frames pipelined with the handshake).
  std::string leftover(asio::buffers_begin(buffer_.data()), asio::buffers_end(buffer_.data()));
  buffer_.consume(buffer_.size());
  finished_ = true;
  loop_.start_session(std::move(transport_), std::move(info), std::move(upgrade),
                      switching_protocols_response(accept_key), std::move(leftover),
                      std::move(lease));
  loop_.http_finished(key_);
}

void HttpConnection::drain() {
  // Closing a socket with unread input sends a reset, which can destroy the
  // response before the client reads it (a 431 for a large header, say). So:
  // half-close, discard input until the client closes, bounded by the deadline.
  // Under TLS the raw bytes are discarded (no close_notify is sent: the
  // response's Content-Length or Connection: close tells the client where it ends).
  if (!draining_) {
    error_code ignored;
    transport_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    draining_ = true;
    deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    discard_ = std::make_shared<std::array<char, 4096>>();
  }
  transport_.socket().async_read_some(
      asio::buffer(*discard_), [self = shared_from_this()](const error_code& error, std::size_t) {
        if (self->finished_) return;
        if (error) {
          self->done();
        } else {
          self->drain();  // read and discard more
        }
      });
}

void HttpConnection::abort() {
  if (finished_) return;
  transport_.close();
  done();
}

void HttpConnection::on_tick(std::chrono::steady_clock::time_point now) {
  // One deadline for the step in progress: the request (request_timeout), the
  // response's write (response_write_timeout) or the drain after it (2 s).
  if (finished_ || pending_ || now < deadline_) return;
  if (response_ && !draining_) {
    spdlog::info("HTTP response not read by the client within {} ms; closing",
                 loop_.options().response_write_timeout.count());
    // A reset, not a FIN behind the unsent bytes: the kernel frees the send
    // buffer at once instead of keeping it for a peer that does not read.
    boost::system::error_code ignored;
    transport_.socket().set_option(asio::socket_base::linger(true, 0), ignored);
  } else {
    spdlog::debug("HTTP request not received in time; closing");
  }
  abort();
}

void HttpConnection::done() {
  if (finished_) return;
  finished_ = true;
  error_code ignored;
  transport_.socket().close(ignored);
  peer_.lease.release();
  loop_.http_finished(key_);
}

}  // namespace nself::server
