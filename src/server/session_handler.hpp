#pragma once

// What the application layer (the real-time protocol) plugs into the
// transport. Session calls are made on the session's loop thread, and with
// several loops (ServerOptions::threads) on several threads at once: a handler
// keeping shared state must lock it. A handler may call the session's
// send/close methods from inside these calls (they only queue; the session's
// writer flushes after the current loop turn), but only for sessions of the
// calling loop: other loops are reached through Loop::push or by posting to
// the session's executor.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "server/http_router.hpp"

namespace nself::server {

class Loop;
class WsSession;

class SessionHandler {
 public:
  virtual ~SessionHandler() = default;

  // A valid upgrade request, before the 101 is sent: return a response to
  // refuse it (401 for a bad token in the header or query). Default: accept.
  virtual std::optional<HttpResponse> check_upgrade(const HttpRequest& /*request*/) {
    return std::nullopt;
  }
  // The server's loops, once, from the Server's constructor (before any call below).
  virtual void on_loops(const std::vector<Loop*>& /*loops*/) {}
  // From the Server's destructor, before its loops and their io_contexts are
  // destroyed: once this returns, nothing may post to them any more (work
  // still queued elsewhere that would post there must finish first).
  virtual void on_loops_closing() {}
  // The handshake is done and the 101 is queued.
  virtual void on_open(WsSession& session) = 0;
  // A complete text message (already checked to be valid UTF-8).
  virtual void on_text(WsSession& session, std::string text) = 0;
  // A complete binary message. The default closes with 1003.
  virtual void on_binary(WsSession& session, std::string data);
  // Once per sweep tick, on the control loop (loop 0), before the sessions' ticks.
  virtual void on_sweep(std::chrono::steady_clock::time_point /*now*/) {}
  // Once per sweep tick on every loop, on that loop's thread, before its
  // sessions' ticks (a sharded protocol layer's timers).
  virtual void on_loop_tick(Loop& /*loop*/, std::chrono::steady_clock::time_point /*now*/) {}
  // Called for every open session on each sweep tick (auth deadlines, expiry).
  virtual void on_tick(WsSession& /*session*/, std::chrono::steady_clock::time_point /*now*/) {}
  // The session is being closed as a slow consumer (for metrics). May be
  // called from inside any send to the session, with or without the
  // handler's own locks held: it must not lock, only count.
  virtual void on_slow_consumer(WsSession& /*session*/) {}
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
