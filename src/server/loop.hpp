#pragma once

// One event loop's share of the server: its sessions, its HTTP connections in
// the handshake phase, the shared read buffer and the sweep. Today the server
// runs one loop on the thread that calls Server::run(); the multi-loop design
// gives each core a Loop with its own io_context, and the acceptor hands each
// accepted socket to one of them. Everything here is owned by the loop thread
// and used without locks.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/http_router.hpp"
#include "server/server_options.hpp"
#include "server/session_handler.hpp"
#include "server/ws_session.hpp"

namespace nself::server {

class HttpConnection;

class Loop {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  Loop(boost::asio::io_context& io, const ServerOptions& options, SessionHandler& handler,
       const HttpRouter& router);
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  boost::asio::io_context& io() { return io_; }
  const ServerOptions& options() const { return options_; }
  SessionHandler& handler() { return handler_; }
  const HttpRouter& router() const { return router_; }

  // Scratch space for one socket read; its contents are only valid until the
  // reader returns to the loop (every session reads into the same buffer).
  std::span<char> read_buffer() { return read_buffer_; }

  // Takes an accepted socket: reads its HTTP request (HttpConnection).
  void adopt(boost::asio::ip::tcp::socket socket);
  // True while one more WebSocket session may open (and not shutting down).
  bool has_capacity() const;
  // Starts a WebSocket session on an upgraded socket.
  void start_session(boost::asio::ip::tcp::socket socket, SessionInfo info,
                     std::string handshake_response, std::string leftover);
  // Called by a session (exactly once) when its socket is closed.
  void session_finished(WsSession& session);
  // Called by an HTTP connection when it is done (closed or upgraded).
  void http_finished(std::uint64_t key);

  // The periodic sweep over every session and HTTP connection.
  void tick(SteadyTime now);
  // Closes every session with 1001 and every HTTP connection; `on_drained`
  // runs once no session is left (maybe at once).
  void begin_shutdown(std::function<void()> on_drained);
  bool shutting_down() const { return shutting_down_; }
  // Closes every socket at once (the shutdown deadline passed).
  void abort_all();

  std::size_t session_count() const { return sessions_.size(); }
  // The session with `id`, or nullptr.
  WsSession* find_session(const std::string& id) const;
  // Every open session (for fan-out to all and for status).
  template <class Fn>
  void for_each_session(Fn&& fn) const {
    for (const auto& [id, session] : sessions_) fn(*session);
  }
  // A new session id (random UUID form, unique per run).
  std::string next_session_id();

 private:
  boost::asio::io_context& io_;
  const ServerOptions& options_;
  SessionHandler& handler_;
  const HttpRouter& router_;
  std::vector<char> read_buffer_;
  std::unordered_map<std::string, std::shared_ptr<WsSession>> sessions_;
  std::unordered_map<std::uint64_t, std::shared_ptr<HttpConnection>> http_connections_;
  std::uint64_t next_http_key_ = 1;
  std::mt19937_64 random_;
  bool shutting_down_ = false;
  std::function<void()> on_drained_;
};

}  // namespace nself::server
