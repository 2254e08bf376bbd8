#pragma once

// The WebSocket server: one port for HTTP (/health, later /api and /metrics)
// and WebSocket (/ and /ws). See docs/ARCHITECTURE.md, "src/server".
//
// Threading: run() runs the event loop on the calling thread; every session
// lives on that loop. stop() may be called from any thread (or through
// SIGINT/SIGTERM when ServerOptions::handle_signals): the server stops
// accepting, closes every session with 1001 "server shutting down", lets
// pending writes flush and returns from run() within shutdown_timeout.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>

#include "server/http_router.hpp"
#include "server/server_options.hpp"
#include "server/session_handler.hpp"

namespace nself::server {

class Loop;

// The server cannot start (address in use, bad host).
class ServerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Server {
 public:
  // Binds and listens on options.host:options.port (throws ServerError).
  // `handler` receives every session's events and must outlive the server.
  Server(ServerOptions options, SessionHandler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port (the ephemeral one when options.port was 0).
  std::uint16_t port() const { return port_; }
  // Routes for plain HTTP endpoints; add them before run().
  HttpRouter& router() { return router_; }
  // Called from run() on the loop thread once the server accepts connections.
  void on_listening(std::function<void(std::uint16_t port)> callback) {
    on_listening_ = std::move(callback);
  }
  // Adds fields to each /health body on the loop thread (the database state);
  // it may set "status" to "degraded". Set before run().
  void on_health(std::function<void(boost::json::object& body)> probe) {
    health_probe_ = std::move(probe);
  }
  // The loop, for the application layer (same thread as the handler calls).
  Loop& loop() { return *loop_; }
  boost::asio::io_context& io_context() { return io_; }

  // Serves until stop(); may be called once.
  void run();
  // Graceful stop; thread-safe; idempotent; also before run() (run returns at once).
  void stop();

 private:
  void accept();
  void schedule_tick();
  void begin_shutdown();

  ServerOptions options_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer tick_timer_;
  HttpRouter router_;
  std::unique_ptr<Loop> loop_;
  std::uint16_t port_ = 0;
  std::function<void(std::uint16_t)> on_listening_;
  std::function<void(boost::json::object&)> health_probe_;
  std::chrono::steady_clock::time_point started_at_;
  std::chrono::steady_clock::time_point shutdown_deadline_{};
  bool shutting_down_ = false;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace nself::server
