#pragma once

// One synchronous Redis connection (hiredis): connect with a timeout, AUTH,
// SELECT, commands one at a time or pipelined, and the pieces the subscriber
// needs to read without blocking (fd, send, read what arrived).
//
// Errors: Redis error replies are values (RedisReply::Type::kError); I/O
// failures, timeouts and a refused AUTH/SELECT throw RedisUnavailable, after
// which the connection is unusable (make a new one). Messages name
// host:port/db, never the password.
//
// Thread safety: none. A connection belongs to one thread (RedisClient's
// command thread, or RedisSubscriber's thread).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/redis_url.hpp"

struct redisContext;

namespace nself::cluster {

// Redis cannot be reached or the connection broke (infrastructure failure).
class RedisUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  std::int64_t integer = 0;
  std::string text;  // kString, kStatus, kError
  std::vector<RedisReply> elements;

  bool is_error() const { return type == Type::kError; }
  bool is_nil() const { return type == Type::kNil; }
};

using RedisArgv = std::vector<std::string>;

struct RedisConnectOptions {
  std::chrono::milliseconds connect_timeout{1000};
  // Socket send/receive timeout of blocking commands: a Redis that stops
  // answering for this long counts as down.
  std::chrono::milliseconds command_timeout{2000};
};

class RedisConnection {
 public:
  // Connects, then AUTH (when the URL has a password) and SELECT (db != 0).
  // Throws RedisUnavailable.
  RedisConnection(const core::RedisUrl& url, RedisConnectOptions options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // One command, blocking up to command_timeout. Throws RedisUnavailable.
  RedisReply command(const RedisArgv& argv);
  // Sends every command, then reads every reply (one round trip). Throws
  // RedisUnavailable; commands before the failure may have run.
  std::vector<RedisReply> pipeline(const std::vector<RedisArgv>& commands);

  // Queues a command without sending it; read_reply() sends what is queued
  // and reads one reply (blocking). Throws RedisUnavailable.
  void append(const RedisArgv& argv);
  RedisReply read_reply();

  // ---- non-blocking use (the subscriber)
  int fd() const;
  // Queues a command and writes everything queued. Throws RedisUnavailable.
  void send(const RedisArgv& argv);
  // A reply already received and parsed, if any. Throws RedisUnavailable.
  std::optional<RedisReply> take_reply();
  // Reads what the socket has (call when poll() says readable). Throws
  // RedisUnavailable on EOF or error.
  void read_available();

  const std::string& description() const { return description_; }

 private:
  // Connect timeout checked, AUTH, SELECT (the constructor frees the context
  // when this throws).
  void set_up(const core::RedisUrl& url, RedisConnectOptions options);
  [[noreturn]] void fail(std::string_view what);

  redisContext* context_ = nullptr;
  std::string description_;  // host:port/db
};

}  // namespace nself::cluster
