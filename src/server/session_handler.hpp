#pragma once

// What the application layer (the real-time protocol) plugs into the
// transport. Every call is made on the session's loop thread; a handler may
// call the session's send/close methods from inside these calls (they only
// queue; the session's writer flushes after the current loop turn).

#include <chrono>
#include <optional>
#include <string>

#include "server/http_router.hpp"

namespace nself::server {

class WsSession;

class SessionHandler {
 public:
  virtual ~SessionHandler() = default;

  // A valid upgrade request, before the 101 is sent: return a response to
  // refuse it (401 for a bad token in the header or query). Default: accept.
  virtual std::optional<HttpResponse> check_upgrade(const HttpRequest& /*request*/) {
    return std::nullopt;
  }
  // The handshake is done and the 101 is queued.
  virtual void on_open(WsSession& session) = 0;
  // A complete text message (already checked to be valid UTF-8).
  virtual void on_text(WsSession& session, std::string text) = 0;
  // A complete binary message. The default closes with 1003.
  virtual void on_binary(WsSession& session, std::string data);
  // Called for every open session on each sweep tick (auth deadlines, expiry).
  virtual void on_tick(WsSession& /*session*/, std::chrono::steady_clock::time_point /*now*/) {}
  // The session is gone (socket closed). Called exactly once per on_open.
  virtual void on_closed(WsSession& session) = 0;
};

// Echoes text and binary messages back: the transport's own tests, and a
// smoke-test mode. Holds no state.
class EchoHandler final : public SessionHandler {
 public:
  void on_open(WsSession& session) override;
  void on_text(WsSession& session, std::string text) override;
  void on_binary(WsSession& session, std::string data) override;
  void on_closed(WsSession& session) override;
};

}  // namespace nself::server
