#pragma once

// A redis-server of the test's own, on a free loopback port in a temporary
// directory, that the test can kill and start again on the same port (Redis
// restarted mid-use). No persistence: a restarted server is empty, like a
// Redis that lost its data.
//
// And the shared one: NSELF_TEST_REDIS_URL (scripts/test-env.sh starts it).

#include <sys/types.h>

#include <optional>
#include <string>

#include "support/temp_dir.hpp"

namespace nself::test {

// NSELF_TEST_REDIS_URL, or none when unset or empty.
std::optional<std::string> redis_test_url();

class RedisServer {
 public:
  // Starts redis-server (with requirepass when `password` is not empty) and
  // waits until it accepts connections. Throws std::runtime_error.
  explicit RedisServer(std::string password = "");
  // Kills it.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // SIGKILL, then waits for the process to be gone.
  void kill();
  // Starts again on the same port (after kill()); waits until it accepts.
  void start();
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  // redis://[:password@]127.0.0.1:port/db
  std::string url(int db = 0) const;

 private:
  TempDir dir_;
  std::string password_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace nself::test
