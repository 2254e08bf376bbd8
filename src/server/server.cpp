#include "server/server.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <csignal>

#include "server/loop.hpp"

namespace nself::server {

namespace asio = boost::asio;
using boost::system::error_code;

Server::Server(ServerOptions options, SessionHandler& handler)
    : options_(std::move(options)),
      io_(1),
      acceptor_(io_),
      signals_(io_),
      tick_timer_(io_),
      loop_(std::make_unique<Loop>(io_, options_, handler, router_)) {
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
    body["connections"] = loop_->session_count();
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

Server::~Server() = default;

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
  accept();
  schedule_tick();
  spdlog::info("listening on {}:{}", options_.host, port_);
  if (on_listening_) asio::post(io_, [this] { on_listening_(port_); });
  if (stop_requested_) asio::post(io_, [this] { begin_shutdown(); });
  io_.run();
  spdlog::info("server stopped");
}

void Server::stop() {
  stop_requested_ = true;
  asio::post(io_, [this] { begin_shutdown(); });
}

void Server::accept() {
  acceptor_.async_accept([this](const error_code& error, asio::ip::tcp::socket socket) {
    if (error == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!error) {
      loop_->adopt(std::move(socket));
    } else {
      // EMFILE and the like: log and keep accepting (the sweep frees sockets).
      spdlog::warn("accept failed: {}", error.message());
    }
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
                   loop_->session_count());
      loop_->abort_all();
      io_.stop();
      return;
    }
    loop_->tick(now);
    schedule_tick();
  });
}

void Server::begin_shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_deadline_ = std::chrono::steady_clock::now() + options_.shutdown_timeout;
  spdlog::info("stopping: closing {} connections", loop_->session_count());
  error_code ignored;
  acceptor_.close(ignored);
  signals_.cancel(ignored);
  // The sweep must run often enough to honour the shutdown deadline.
  if (options_.tick_interval > options_.shutdown_timeout) {
    tick_timer_.expires_after(options_.shutdown_timeout);
  }
  loop_->begin_shutdown([this] {
    error_code ignored_error;
    tick_timer_.cancel();
    io_.stop();
  });
}

}  // namespace nself::server
