#pragma once

// A freshly accepted socket in its HTTP phase: reads one request at a time
// with Beast's parser (header and body limits), then either answers it from
// the HttpRouter (keep-alive is honoured) or, for a WebSocket endpoint,
// validates the upgrade and hands the socket to a WsSession with the 101
// queued and any bytes the client sent after its request.
//
// A connection refused by the acceptor (AcceptedPeer::refusal: its address
// is over a limit) reads its request within 2 s and gets the refusal (429 or
// 503, see client_limits.hpp); a refused upgrade likewise. At most
// RefusedSlot::kMaxWaiting refused connections wait so at once: the acceptor
// closes the others without an answer (else an address over its limit could
// still hold every descriptor, two seconds a socket).
//
// Under TLS (Loop::tls_context) the connection first peeks at the client's
// first byte: a TLS handshake record goes on to the TLS handshake (on this
// loop, within request_timeout), anything else (plain HTTP) is answered with a
// plain-text 400 and closed. Then the same HTTP phase runs over the TLS stream.
//
// Thread safety: none; lives on its loop thread.

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "core/net_address.hpp"
#include "server/client_limits.hpp"
#include "server/http_router.hpp"
#include "server/transport.hpp"

namespace nself::server {

class Loop;

// A refused connection's place among those waiting to be told: counted
// while the connection lives (the count is shared by the acceptor and the
// loops, touched once per refused accept and close).
class RefusedSlot {
 public:
  static constexpr int kMaxWaiting = 64;

  RefusedSlot() = default;
  explicit RefusedSlot(std::shared_ptr<std::atomic<int>> waiting) : waiting_(std::move(waiting)) {}
  RefusedSlot(RefusedSlot&&) noexcept = default;  // leaves the source empty
  RefusedSlot& operator=(RefusedSlot&& other) noexcept {
    release();
    waiting_ = std::move(other.waiting_);
    return *this;
  }
  ~RefusedSlot() { release(); }

 private:
  void release() {
    if (waiting_) waiting_->fetch_sub(1, std::memory_order_relaxed);
    waiting_.reset();
  }
  std::shared_ptr<std::atomic<int>> waiting_;
};

// Who is at the other end of an accepted socket, and what the acceptor
// decided about it (see client_limits.hpp).
struct AcceptedPeer {
  core::IpAddress address;     // the socket's peer
  bool trusted_proxy = false;  // in ServerOptions::trusted_proxies: X-Forwarded-For names clients
  ClientLimits::Lease lease;   // an untrusted peer's share of the limits, when admitted
  core::ConnectionRefusal refusal = core::ConnectionRefusal::kNone;  // else: answered, then closed
  long retry_after_seconds = 0;
  RefusedSlot refused_slot;    // a refused peer that waits to be told
  bool close_at_once = false;  // refused, and too many wait already: no answer
};

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(Loop& loop, Transport transport, std::uint64_t key, AcceptedPeer peer);

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
  // The client of `request`: the peer, or through a trusted proxy the
  // address its X-Forwarded-For names.
  core::IpAddress client_of(const HttpRequest& request);
  // The WebSocket endpoint: limits, then upgrade() or a refusal.
  void websocket(const HttpRequest& request, std::string accept_key);
  void upgrade(const HttpRequest& request, std::string accept_key, const core::IpAddress& client,
               ClientLimits::Lease lease);
  void drain();
  void done();

  Loop& loop_;
  Transport transport_;
  std::uint64_t key_;
  AcceptedPeer peer_;
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
