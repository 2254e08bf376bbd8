#include "support/server_fixture.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace nself::test {

server::ServerOptions test_server_options() {
  server::ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.tick_interval = std::chrono::milliseconds(50);
  options.handle_signals = false;
  // Two loops, as on the 2-core machines the server is tested on: fan-out,
  // presence and limits cross threads in every in-process test.
  options.threads = 2;
  return options;
}

RunningServer::RunningServer(server::ServerOptions options, server::SessionHandler& handler,
                             const std::function<void(server::Server&)>& before_run) {
  spdlog::set_level(spdlog::level::warn);
  server_ = std::make_unique<server::Server>(std::move(options), handler);
  if (before_run) before_run(*server_);
  std::promise<std::uint16_t> listening;
  auto listening_future = listening.get_future();
  server_->on_listening([&listening](std::uint16_t port) { listening.set_value(port); });
  thread_ = std::thread([this] { server_->run(); });
  if (listening_future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    throw std::runtime_error("server did not start listening");
  }
  port_ = listening_future.get();
}

RunningServer::~RunningServer() {
  if (!joined_) stop_and_join();
}

std::chrono::milliseconds RunningServer::stop_and_join() {
  auto started = std::chrono::steady_clock::now();
  server_->stop();
  thread_.join();
  joined_ = true;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               started);
}

}  // namespace nself::test
