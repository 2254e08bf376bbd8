#pragma once

// The WebSocket server: one port for HTTP (/health, later /api and /metrics)
// and WebSocket (/ and /ws). See docs/ARCHITECTURE.md, "src/server".
//
// Threading: run() runs ServerOptions::threads event loops: loop 0 on the
// calling thread (the control loop: the acceptor, the sweep timer, signals,
// HTTP routes and whatever the application puts on io_context()), the others
// on threads of their own. Each accepted socket goes to one loop, round robin,
// and lives there. stop() may be called from any thread (or through
// SIGINT/SIGTERM when ServerOptions::handle_signals): the server stops
// accepting, closes every session with 1001 "server shutting down", lets
// pending writes flush and returns from run() within shutdown_timeout.

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "server/client_limits.hpp"
#include "server/descriptor_reserve.hpp"
#include "server/http_connection.hpp"
#include "server/http_router.hpp"
#include "server/server_options.hpp"
#include "server/session_handler.hpp"

namespace nself::server {

class Loop;

// The server cannot start (address in use, bad host, unusable TLS certificate or key).
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
  // Adds fields to each /health body on the control loop (the database
  // state); it may set "status" to "degraded". Set before run().
  void on_health(std::function<void(boost::json::object& body)> probe) {
    health_probe_ = std::move(probe);
  }
  // The control loop's io_context (loop 0; run() runs it on its caller's thread).
  boost::asio::io_context& io_context() { return io_; }
  std::size_t loop_count() const { return loops_.size(); }
  Loop& loop(std::size_t index) { return *loops_.at(index); }
  // True when connections are served over TLS (ServerOptions::tls_cert_file).
  bool tls() const { return tls_context_ != nullptr; }
  // Open WebSocket sessions over every loop (any thread).
  std::size_t session_count() const { return open_sessions_.load(std::memory_order_relaxed); }
  // Connections in their HTTP phase over every loop (any thread).
  std::size_t http_connection_count() const { return open_http_.load(std::memory_order_relaxed); }
  // Per-address connection limits (client_limits.hpp).
  ClientLimits& client_limits() { return client_limits_; }

  // Serves until stop(); may be called once.
  void run();
  // Graceful stop; thread-safe; idempotent; also before run() (run returns at once).
  void stop();

 private:
  void accept();
  // Who an accepted socket's peer is, and whether its address may connect.
  AcceptedPeer admit(const boost::asio::ip::tcp::socket& socket);
  // accept() failed for lack of descriptors: sheds one pending connection,
  // logs at most once a second with a count, accepts again after a pause.
  void out_of_descriptors(const boost::system::error_code& error);
  static constexpr std::chrono::milliseconds kAcceptPause{100};
  static constexpr std::chrono::milliseconds kAcceptPauseAfterShed{10};
  void schedule_tick();
  void begin_shutdown();
  // Control loop, each tick: returns free allocator memory to the system
  // after the connection count settles from a large change.
  void release_free_memory(std::chrono::steady_clock::time_point now);
  std::size_t trimmed_at_sessions_ = 0;
  std::size_t sessions_last_tick_ = 0;
  std::chrono::steady_clock::time_point last_trim_{};
  // Control loop: one loop finished draining its sessions.
  void loop_drained();
  // Control loop: stops every loop (run() then joins their threads).
  void stop_loops();

  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  ServerOptions options_;
  SessionHandler& handler_;
  boost::asio::io_context io_;
  std::vector<std::unique_ptr<boost::asio::io_context>> worker_ios_;  // loops 1..N-1
  std::vector<WorkGuard> worker_guards_;
  std::vector<std::thread> worker_threads_;
  std::atomic<std::size_t> open_sessions_{0};
  std::atomic<std::size_t> open_http_{0};
  ClientLimits client_limits_;  // before loops_: their connections hold leases
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer accept_pause_;
  DescriptorReserve descriptors_;
  std::uint64_t refused_accepts_ = 0;
  // Refused connections waiting for their request (RefusedSlot).
  std::shared_ptr<std::atomic<int>> refused_waiting_ = std::make_shared<std::atomic<int>>(0);
  std::chrono::steady_clock::time_point last_refusal_log_{};
  HttpRouter router_;
  std::unique_ptr<boost::asio::ssl::context> tls_context_;  // null: plain TCP
  std::vector<std::unique_ptr<Loop>> loops_;                // destroyed before the io_contexts
  std::size_t next_loop_ = 0;
  std::size_t loops_draining_ = 0;
  std::uint16_t port_ = 0;
  std::function<void(std::uint16_t)> on_listening_;
  std::function<void(boost::json::object&)> health_probe_;
  std::chrono::steady_clock::time_point started_at_;
  std::chrono::steady_clock::time_point shutdown_deadline_{};
  bool shutting_down_ = false;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace nself::server
