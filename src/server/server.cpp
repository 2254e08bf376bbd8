#include "server/server.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <csignal>

#include "server/descriptor_reserve.hpp"
#include "server/loop.hpp"
#include "server/tls_context.hpp"

namespace nself::server {

namespace asio = boost::asio;
using boost::system::error_code;

Server::Server(ServerOptions options, SessionHandler& handler)
    : options_(std::move(options)),
      handler_(handler),
      io_(1),
      client_limits_(options_),
      acceptor_(io_),
      signals_(io_),
      tick_timer_(io_),
      accept_pause_(io_) {
  options_.threads = std::max<std::size_t>(options_.threads, 1);
  if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
    try {
      tls_context_ = make_tls_context(options_.tls_cert_file, options_.tls_key_file);
    } catch (const TlsConfigError& error) {
      throw ServerError(std::string("cannot start TLS: ") + error.what());
    }
  }
  for (std::size_t index = 0; index < options_.threads; ++index) {
    asio::io_context* io = &io_;
    if (index > 0) {
      worker_ios_.push_back(std::make_unique<asio::io_context>(1));
      io = worker_ios_.back().get();
      worker_guards_.emplace_back(io->get_executor());
    }
    loops_.push_back(std::make_unique<Loop>(*io, options_, handler_, router_, index, open_sessions_,
                                            io_.get_executor(), client_limits_, open_http_));
    loops_.back()->set_tls_context(tls_context_.get());
  }
  std::vector<Loop*> loops;
  for (const auto& loop : loops_) loops.push_back(loop.get());
  handler_.on_loops(loops);

  error_code error;
  auto address = asio::ip::make_address(options_.host, error);
  if (error) {
    throw ServerError("invalid listen address \"" + options_.host + "\": " + error.message());
  }
  asio::ip::tcp::endpoint endpoint(address, options_.port);
  std::string where = options_.host + ":" + std::to_string(options_.port);
  acceptor_.open(endpoint.protocol(), error);
  if (!error) acceptor_.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor_.bind(endpoint, error);
  if (!error) acceptor_.listen(asio::socket_base::max_listen_connections, error);
  // Async accepts do not need it, but DescriptorReserve's own accept must
  // never block the control loop.
  if (!error) acceptor_.non_blocking(true, error);
  if (error) {
    throw ServerError("cannot listen on " + where + ": " + error.message() +
                      (error == asio::error::address_in_use
                           ? " (is another server running? check with: lsof -i :" +
                                 std::to_string(options_.port) + ")"
                           : ""));
  }
  port_ = acceptor_.local_endpoint().port();

  router_.add_websocket_endpoint("/");
  router_.add_websocket_endpoint("/ws");
  router_.add(http::verb::get, "/health", [this](const HttpRequest& request) {
    boost::json::object body;
    body["status"] = shutting_down_ ? "stopping" : "ok";
    body["version"] = NSELF_VERSION;
    body["connections"] = session_count();
    // Not yet WebSocket sessions (this request among them), and sessions
    // waiting for their auth message (docs/SECURITY.md, C1-C5).
    body["http_connections"] = http_connection_count();
    body["unauthenticated"] = client_limits_.unauthenticated();
    // Lets `start` tell its own server from another one answering on the port.
    body["pid"] = static_cast<std::int64_t>(::getpid());
    body["uptime_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::steady_clock::now() - started_at_)
                                 .count();
    if (health_probe_ && !shutting_down_) health_probe_(body);
    return json_response(shutting_down_ ? http::status::service_unavailable : http::status::ok,
                         boost::json::serialize(body), &request);
  });
}

Server::~Server() {
  handler_.on_loops_closing();
  for (auto& guard : worker_guards_) guard.reset();
  for (auto& io : worker_ios_) io->stop();
  for (auto& thread : worker_threads_) {
    if (thread.joinable()) thread.join();
  }
}

void Server::run() {
  started_at_ = std::chrono::steady_clock::now();
  if (options_.handle_signals) {
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.async_wait([this](const error_code& error, int signal) {
      if (error) return;
      spdlog::info("received signal {}; stopping", signal);
      begin_shutdown();
    });
  }
  for (std::size_t index = 1; index < loops_.size(); ++index) {
    worker_threads_.emplace_back([this, index] {
      loops_[index]->make_current();
      loops_[index]->io().run();
    });
  }
  loops_[0]->make_current();
  accept();
  schedule_tick();
  spdlog::info("listening on {}:{} ({} event loop{}{})", options_.host, port_, loops_.size(),
               loops_.size() == 1 ? "" : "s", tls_context_ ? ", TLS" : "");
  if (on_listening_) asio::post(io_, [this] { on_listening_(port_); });
  if (stop_requested_) asio::post(io_, [this] { begin_shutdown(); });
  io_.run();
  for (auto& thread : worker_threads_) thread.join();
  worker_threads_.clear();
  spdlog::info("server stopped");
}

void Server::stop() {
  stop_requested_ = true;
  asio::post(io_, [this] { begin_shutdown(); });
}

void Server::accept() {
  // The socket is created on the io_context of the loop that will own it.
  acceptor_.async_accept(
      loops_[next_loop_]->io(), [this](const error_code& error, asio::ip::tcp::socket socket) {
        if (error == asio::error::operation_aborted || !acceptor_.is_open()) return;
        if (!error) {
          Loop& loop = *loops_[next_loop_];
          next_loop_ = (next_loop_ + 1) % loops_.size();
          AcceptedPeer peer = admit(socket);
          if (peer.close_at_once) {
            error_code ignored;
            socket.close(ignored);
          } else if (loop.on_this_thread()) {
            loop.adopt(std::move(socket), std::move(peer));
          } else {
            asio::post(loop.io(),
                       [&loop, socket = std::move(socket), peer = std::move(peer)]() mutable {
                         loop.adopt(std::move(socket), std::move(peer));
                       });
          }
        } else if (DescriptorReserve::is_exhaustion(error.value())) {
          out_of_descriptors(error);
          return;  // accept() again after a pause
        } else {
          spdlog::warn("accept failed: {}", error.message());
        }
        accept();
      });
}

AcceptedPeer Server::admit(const asio::ip::tcp::socket& socket) {
  AcceptedPeer peer;
  error_code error;
  const auto endpoint = socket.remote_endpoint(error);
  if (!error) {
    peer.address = core::IpAddress::parse(endpoint.address().to_string()).value_or(peer.address);
  }
  // Through a trusted proxy the clients are charged at their upgrades.
  peer.trusted_proxy = options_.trusted_proxies.contains(peer.address);
  if (peer.trusted_proxy) return peer;
  auto admission = client_limits_.open(peer.address.limit_key(), std::chrono::steady_clock::now());
  peer.lease = std::move(admission.lease);
  peer.refusal = admission.refusal;
  // Until its first request, a connection counts against its address's cap
  // of connections not yet authenticated (C2): idle sockets cannot take
  // every descriptor.
  if (peer.refusal == core::ConnectionRefusal::kNone) peer.refusal = peer.lease.begin_waiting();
  peer.retry_after_seconds = admission.retry_after_seconds;
  if (peer.refusal != core::ConnectionRefusal::kNone) {
    spdlog::debug("connection from {} refused: over its address's limits",
                  peer.address.to_string());
    // Told why (429) only while few refused connections wait: each holds a
    // descriptor until its request comes or 2 s pass.
    if (refused_waiting_->load(std::memory_order_relaxed) >= RefusedSlot::kMaxWaiting) {
      peer.close_at_once = true;
    } else {
      refused_waiting_->fetch_add(1, std::memory_order_relaxed);
      peer.refused_slot = RefusedSlot(refused_waiting_);
    }
  }
  return peer;
}

void Server::out_of_descriptors(const error_code& error) {
  // Shed the connection at the head of the backlog (else the next accept
  // fails at once again: a spin), then wait before accepting again. Existing
  // connections are served meanwhile; closing any of them frees descriptors.
  bool shed = descriptors_.shed_one(acceptor_.native_handle());
  ++refused_accepts_;
  auto now = std::chrono::steady_clock::now();
  if (now - last_refusal_log_ >= std::chrono::seconds(1)) {
    spdlog::warn(
        "accept paused: {} ({} connection{} refused since the last report; raise `ulimit -n` or "
        "lower WEBSOCKET_MAX_CONNECTIONS)",
        error.message(), refused_accepts_, refused_accepts_ == 1 ? "" : "s");
    last_refusal_log_ = now;
    refused_accepts_ = 0;
  }
  accept_pause_.expires_after(shed ? kAcceptPauseAfterShed : kAcceptPause);
  accept_pause_.async_wait([this](const error_code& wait_error) {
    if (wait_error || !acceptor_.is_open()) return;
    accept();
  });
}

void Server::schedule_tick() {
  tick_timer_.expires_after(options_.tick_interval);
  tick_timer_.async_wait([this](const error_code& error) {
    if (error) return;
    auto now = std::chrono::steady_clock::now();
    if (shutting_down_ && now >= shutdown_deadline_) {
      spdlog::warn("shutdown timeout: closing {} connections without a close handshake",
                   session_count());
      for (auto& loop : loops_) {
        if (loop->on_this_thread()) {
          loop->abort_all();
        } else {
          asio::post(loop->io(), [&loop = *loop] { loop.abort_all(); });
        }
      }
      stop_loops();
      return;
    }
    handler_.on_sweep(now);
    release_free_memory(now);
    for (auto& loop : loops_) {
      if (loop->on_this_thread()) {
        loop->tick(now);
      } else {
        asio::post(loop->io(), [&loop = *loop, now] { loop.tick(now); });
      }
    }
    schedule_tick();
  });
}

void Server::begin_shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_deadline_ = std::chrono::steady_clock::now() + options_.shutdown_timeout;
  spdlog::info("stopping: closing {} connections", session_count());
  error_code ignored;
  acceptor_.close(ignored);
  accept_pause_.cancel();
  signals_.cancel(ignored);
  // The sweep must run often enough to honour the shutdown deadline.
  if (options_.tick_interval > options_.shutdown_timeout) {
    tick_timer_.expires_after(options_.shutdown_timeout);
  }
  loops_draining_ = loops_.size();
  for (auto& loop : loops_) {
    auto drained = [this] { asio::post(io_, [this] { loop_drained(); }); };
    if (loop->on_this_thread()) {
      loop->begin_shutdown(drained);
    } else {
      asio::post(loop->io(), [&loop = *loop, drained] { loop.begin_shutdown(drained); });
    }
  }
}

void Server::release_free_memory(std::chrono::steady_clock::time_point now) {
  // A burst of connections leaves the memory of their handshakes (HTTP
  // parsers, buffers) free inside the allocator; glibc keeps it, so the
  // process looks as if each idle connection cost that much. Once the
  // connection count has settled after a change of 1024 or more (or every
  // minute), give free pages back to the system.
  const std::size_t sessions = session_count();
  const std::size_t change = sessions > trimmed_at_sessions_ ? sessions - trimmed_at_sessions_
                                                             : trimmed_at_sessions_ - sessions;
  const bool settled = sessions == sessions_last_tick_;
  sessions_last_tick_ = sessions;
  if ((settled && change >= 1024) || now - last_trim_ >= std::chrono::minutes(1)) {
    ::malloc_trim(0);
    last_trim_ = now;
    trimmed_at_sessions_ = sessions;
  }
}

void Server::loop_drained() {
  if (loops_draining_ == 0 || --loops_draining_ > 0) return;
  tick_timer_.cancel();
  stop_loops();
}

void Server::stop_loops() {
  // A worker's abort (posted just before) runs before its stop: handlers
  // posted to one io_context run in order, and stop() is posted after them.
  for (std::size_t index = 1; index < loops_.size(); ++index) {
    asio::post(loops_[index]->io(), [io = &loops_[index]->io()] { io->stop(); });
  }
  for (auto& guard : worker_guards_) guard.reset();
  io_.stop();
}

}  // namespace nself::server
