#pragma once

// Runs a Server in-process on an ephemeral port on a background thread.

#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "server/server.hpp"

namespace nself::test {

// Options for tests: ephemeral port, short sweep, no signal handlers.
server::ServerOptions test_server_options();

class RunningServer {
 public:
  RunningServer(server::ServerOptions options, server::SessionHandler& handler);
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
