#pragma once

// Runs a Server in-process on an ephemeral port on a background thread.

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <thread>

#include "server/server.hpp"

namespace nself::test {

// Options for tests: ephemeral port, short sweep, no signal handlers.
server::ServerOptions test_server_options();

class RunningServer {
 public:
  // `before_run` (optional) runs on this thread before the server's loop starts:
  // add routes there.
  RunningServer(server::ServerOptions options, server::SessionHandler& handler,
                const std::function<void(server::Server&)>& before_run = {});
  ~RunningServer();

  std::uint16_t port() const { return port_; }
  server::Server& server() { return *server_; }
  // Calls stop() and waits for run() to return; returns how long that took.
  std::chrono::milliseconds stop_and_join();

 private:
  std::unique_ptr<server::Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  bool joined_ = false;
};

}  // namespace nself::test
