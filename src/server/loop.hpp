#pragma once

// One event loop's share of the server: its sessions, its HTTP connections in
// the handshake phase, the shared read buffer, its share of the fan-out hub
// and the sweep. The server runs one Loop per thread (ServerOptions::threads,
// one per core by default), each with its own io_context; the acceptor hands
// each accepted socket to one of them. Everything here is owned by the loop
// thread and used without locks, except push() (any thread) and the counters
// named as atomic.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/client_limits.hpp"
#include "server/http_connection.hpp"
#include "server/http_router.hpp"
#include "server/loop_hub.hpp"
#include "server/server_options.hpp"
#include "server/session_handler.hpp"
#include "server/transport.hpp"
#include "server/ws_session.hpp"

namespace nself::server {

class Loop {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // `open_sessions` counts the sessions of every loop (max_connections is
  // server-wide); HTTP routes run on `control` (loop 0, where the admin API,
  // the timers and the broadcast scheduler live).
  // `limits` and `open_http` (connections in their HTTP phase) are
  // server-wide too.
  Loop(boost::asio::io_context& io, const ServerOptions& options, SessionHandler& handler,
       const HttpRouter& router, std::size_t index, std::atomic<std::size_t>& open_sessions,
       boost::asio::any_io_executor control, ClientLimits& limits,
       std::atomic<std::size_t>& open_http);
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // The loop whose thread is calling, or nullptr on other threads.
  static Loop* current() { return current_; }
  // Marks the calling thread as this loop's thread (before it runs io()).
  void make_current() { current_ = this; }
  bool on_this_thread() const { return current_ == this; }
  std::size_t index() const { return index_; }

  // ---- fan-out (see loop_hub.hpp)
  // Any thread: queues `command` for this loop's hub. On the loop's own thread
  // the mailbox is applied at once (so that replies queued next to a session
  // come after the deliveries pushed before them); elsewhere one drain is posted.
  void push(HubCommand command);
  // Loop thread: applies everything in the mailbox, in order.
  void drain();

  // Runs an HTTP route on the control loop for the client at
  // `client_address`; `respond` is called back on this loop.
  void route(std::shared_ptr<const HttpRequest> request, std::string client_address,
             Responder respond);

  // Batch mode with a delay: `session` is flushed when the loop's one batch
  // timer fires (within ServerOptions::batch_delay).
  void flush_later(std::shared_ptr<WsSession> session);

  // ---- slow consumers
  // Bytes queued (and not yet written) by all of this loop's sessions, each
  // frame counted once per session holding it, plus the per-entry overhead.
  std::size_t queued_bytes() const { return queued_bytes_; }
  void add_queued(std::size_t bytes) { queued_bytes_ += bytes; }
  void remove_queued(std::size_t bytes) { queued_bytes_ -= bytes; }
  // True when this loop's share of ServerOptions::max_queued_bytes_total is used up.
  bool over_queue_budget() const { return queued_bytes_ > queue_budget_; }

  boost::asio::io_context& io() { return io_; }
  const ServerOptions& options() const { return options_; }
  SessionHandler& handler() { return handler_; }
  const HttpRouter& router() const { return router_; }

  // Scratch space for one socket read; its contents are only valid until the
  // reader returns to the loop (every session reads into the same buffer).
  std::span<char> read_buffer() { return read_buffer_; }

  // TLS for every connection of this loop (null: plain TCP). Set before the
  // loop runs; the context is shared by the loops and outlives them.
  void set_tls_context(boost::asio::ssl::context* context) { tls_context_ = context; }
  // Takes an accepted socket: reads its HTTP request (HttpConnection), after
  // the TLS handshake when TLS is on.
  void adopt(boost::asio::ip::tcp::socket socket, AcceptedPeer peer);
  ClientLimits& client_limits() { return limits_; }
  // A request from an untrusted peer carried X-Forwarded-For (ignored): logs
  // it once per loop, to point at REALTIME_TRUSTED_PROXIES.
  void note_untrusted_forwarded_for(const core::IpAddress& peer);
  // True while one more WebSocket session may open (server-wide, and not
  // shutting down).
  bool has_capacity() const;
  // Starts a WebSocket session on an upgraded socket.
  void start_session(Transport transport, SessionInfo info, UpgradeRequest upgrade,
                     std::string handshake_response, std::string leftover,
                     ClientLimits::Lease lease);
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
  // Scratch space for the events decoded from one read (every session of the
  // loop uses the same vector, so an idle session holds none).
  std::vector<core::ws::Event>& event_scratch() { return event_scratch_; }
  // A new session id (random UUID form, unique per run).
  std::string next_session_id();

 private:
  boost::asio::io_context& io_;
  const ServerOptions& options_;
  SessionHandler& handler_;
  const HttpRouter& router_;
  std::size_t index_;
  std::atomic<std::size_t>& open_sessions_;
  boost::asio::any_io_executor control_;
  ClientLimits& limits_;
  std::atomic<std::size_t>& open_http_;
  bool noted_forwarded_for_ = false;
  boost::asio::ssl::context* tls_context_ = nullptr;
  static thread_local Loop* current_;
  std::vector<char> read_buffer_;
  std::size_t queued_bytes_ = 0;
  std::size_t queue_budget_ = 0;

  boost::asio::steady_timer batch_timer_;
  bool batch_timer_armed_ = false;
  std::vector<std::shared_ptr<WsSession>> delayed_flushes_;

  LoopHub hub_;
  std::mutex mailbox_mutex_;
  std::vector<HubCommand> mailbox_;   // guarded by mailbox_mutex_
  bool drain_posted_ = false;         // guarded by mailbox_mutex_
  std::vector<HubCommand> draining_;  // loop thread
  std::unordered_map<WsSession*, std::shared_ptr<WsSession>> sessions_;
  std::vector<core::ws::Event> event_scratch_;
  std::unordered_map<std::uint64_t, std::shared_ptr<HttpConnection>> http_connections_;
  std::uint64_t next_http_key_ = 1;
  std::mt19937_64 random_;
  bool shutting_down_ = false;
  std::function<void()> on_drained_;
};

}  // namespace nself::server
