#include "server/http_connection.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/buffers_iterator.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "server/handshake.hpp"
#include "server/loop.hpp"

namespace nself::server {

namespace asio = boost::asio;
using boost::system::error_code;

HttpConnection::HttpConnection(Loop& loop, asio::ip::tcp::socket socket, std::uint64_t key)
    : loop_(loop), socket_(std::move(socket)), key_(key) {}

void HttpConnection::start() {
  read_request();
}

void HttpConnection::read_request() {
  deadline_ = std::chrono::steady_clock::now() + loop_.options().request_timeout;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(loop_.options().max_header_bytes));
  parser_->body_limit(loop_.options().max_body_bytes);
  http::async_read(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](const error_code& error, std::size_t) { self->on_read(error); });
}

void HttpConnection::on_read(const error_code& error) {
  if (finished_) return;
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
    if (!loop_.has_capacity()) {
      HttpResponse response = error_response(
          http::status::service_unavailable, "unavailable",
          loop_.shutting_down() ? "server is shutting down" : "too many connections", &request);
      response.set(http::field::retry_after, "5");
      response.keep_alive(false);
      respond(std::move(response));
      return;
    }
    upgrade(request, std::move(*check.accept_key));
    return;
  }
  // The deadline does not apply while a handler works (pending_).
  pending_ = true;
  loop_.route(std::make_shared<const HttpRequest>(std::move(request)),
              [self = shared_from_this()](HttpResponse response) {
                self->pending_ = false;
                if (self->finished_) return;  // aborted meanwhile (shutdown)
                self->respond(std::move(response));
              });
}

void HttpConnection::respond(HttpResponse response) {
  response_ = std::make_shared<HttpResponse>(std::move(response));
  http::async_write(socket_, *response_,
                    [self = shared_from_this()](const error_code& error, std::size_t) {
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
                    });
}

void HttpConnection::upgrade(const HttpRequest& request, std::string accept_key) {
  SessionInfo info;
  info.id = loop_.next_session_id();
  error_code endpoint_error;
  auto remote = socket_.remote_endpoint(endpoint_error);
  if (!endpoint_error) {
    info.remote_address = remote.address().to_string();
    info.remote_port = remote.port();
  }
  UpgradeRequest upgrade{std::string(request.target()),
                         std::string(request[http::field::authorization]),
                         std::string(request[http::field::user_agent])};
  info.connected_at = std::chrono::system_clock::now();
  // Bytes the client sent after its request (frames pipelined with the handshake).
  std::string leftover(asio::buffers_begin(buffer_.data()), asio::buffers_end(buffer_.data()));
  buffer_.consume(buffer_.size());
  finished_ = true;
  loop_.start_session(std::move(socket_), std::move(info), std::move(upgrade),
                      switching_protocols_response(accept_key), std::move(leftover));
  loop_.http_finished(key_);
}

void HttpConnection::drain() {
  // Closing a socket with unread input sends a reset, which can destroy the
  // response before the client reads it (a 431 for a large header, say). So:
  // half-close, discard input until the client closes, bounded by the deadline.
  if (!draining_) {
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    draining_ = true;
    deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    discard_ = std::make_shared<std::array<char, 4096>>();
  }
  socket_.async_read_some(asio::buffer(*discard_),
                          [self = shared_from_this()](const error_code& error, std::size_t) {
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
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  done();
}

void HttpConnection::on_tick(std::chrono::steady_clock::time_point now) {
  if (!finished_ && !pending_ && (!response_ || draining_) && now >= deadline_) {
    spdlog::debug("HTTP request not received in time; closing");
    abort();
  }
}

void HttpConnection::done() {
  if (finished_) return;
  finished_ = true;
  error_code ignored;
  socket_.close(ignored);
  loop_.http_finished(key_);
}

}  // namespace nself::server
