#pragma once

// The cluster's command connection: one dedicated thread owning one Redis
// connection, so no event loop ever waits for Redis. Commands are queued from
// any thread and pipelined (everything queued goes out in one round trip);
// each reply is handed to its callback on the command thread.
//
// Connection management: connects at start(), AUTH and SELECT from the URL;
// when the connection fails it reconnects with exponential backoff and jitter
// (core::Backoff); every transition between connected and degraded is reported
// once through `on_state` (on the command thread).
//
// Degraded mode (Redis unreachable): commands are not kept. Those queued when
// the connection breaks, and those submitted while it is down, get
// Error{"unavailable", ...} promptly (they are not retried: the caller falls
// back to local-only behaviour, see each cluster component). While a connect
// attempt is in progress (at most connect_timeout), submissions wait for its
// outcome. A command that was sent when the connection broke gets
// "unavailable" too although it may have run.
//
// Scripts (RedisScript): sent as EVALSHA. Every script used once is loaded
// (SCRIPT LOAD) at each reconnection, before any queued command, since a
// restarted Redis has forgotten them; a NOSCRIPT answer all the same (SCRIPT
// FLUSH on a live connection) is retried once as EVAL.
//
// Order: commands run on Redis in submission order (one connection), and
// their callbacks run in that order; a presence script queued before a
// PUBLISH has run when the PUBLISH runs.
//
// Thread safety: submit(), eval(), every(), state(), stop() may be called from
// any thread. Callbacks run on the command thread, one at a time, never inline
// in submit(): they must be short and must not block (post the result to your
// own executor). A callback may submit more commands. Never destroy the client
// from one of its callbacks.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/redis_connection.hpp"
#include "core/redis_url.hpp"
#include "core/result.hpp"

namespace nself::cluster {

// A Lua script and its SHA-1, for EVALSHA.
class RedisScript {
 public:
  explicit RedisScript(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }

 private:
  std::string source_;
  std::string sha1_;
};

// Whether the cluster's Redis link works; what /health and status report.
struct RedisState {
  enum class Link { kConnecting, kConnected, kDegraded };
  Link link = Link::kConnecting;
  std::string last_error;  // the last failure ("" before any); kept after recovery
  std::chrono::system_clock::time_point since{};  // when `link` last changed
  std::uint64_t reconnects = 0;                   // successful connects after the first
  bool connected() const { return link == Link::kConnected; }
};
std::string_view to_string(RedisState::Link link);

struct RedisClientOptions {
  RedisConnectOptions connect;
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  // At most this many commands go out in one pipelined round trip.
  std::size_t max_batch = 512;
  // A connection without commands for this long is sent a PING, so that a
  // lost Redis shows as degraded within about idle_ping + command_timeout.
  std::chrono::milliseconds idle_ping{1000};
  // Commands waiting beyond this are refused ("unavailable", queue full)
  // instead of growing memory while Redis is slow.
  std::size_t max_queued = 100'000;
};

// The reply, or Error{"unavailable", why} when Redis could not be asked, or
// Error{"redis_error", text} for a Redis error reply.
using ReplyCallback = std::function<void(Result<RedisReply>)>;

class RedisClient {
 public:
  RedisClient(core::RedisUrl url, RedisClientOptions options = {});
  // Stops (see stop()).
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Called on the command thread at every change of state. Set before start().
  void on_state(std::function<void(const RedisState&)> callback);
  // Starts the command thread (it connects). Call once.
  void start();
  // Fails what is queued with "unavailable" (callbacks run), joins the
  // thread. Idempotent; waits at most about command_timeout.
  void stop();

  void submit(RedisArgv argv, ReplyCallback done = {});
  // EVALSHA script (NOSCRIPT -> EVAL) with `keys` then `args`. `script` must
  // outlive the call (the cluster's scripts are function statics).
  void eval(const RedisScript& script, std::vector<std::string> keys, std::vector<std::string> args,
            ReplyCallback done = {});
  // A command sent first on every new connection, before anything queued
  // (built by `make` on the command thread; `done` runs there with its reply).
  // For the node's heartbeat: after Redis restarted empty, a node is
  // registered again before any presence or limits entry of its is written,
  // so the reaper can always remove them. Any thread.
  void on_connect(std::function<RedisArgv()> make, ReplyCallback done);
  // Runs `task` on the command thread every `interval` (first run after one
  // interval), connected or not, until stop(). For heartbeats and sweeps.
  void every(std::chrono::milliseconds interval, std::function<void()> task);

  RedisState state() const;

  // Counters for metrics (any thread).
  struct Stats {
    std::uint64_t commands = 0;  // sent to Redis
    std::uint64_t failed = 0;    // answered "unavailable" (down, broken, queue full)
    std::uint64_t batches = 0;   // round trips
    std::size_t queued = 0;      // waiting now
  };
  Stats stats() const;
  const core::RedisUrl& url() const { return url_; }

 private:
  struct Pending {
    RedisArgv argv;
    ReplyCallback done;
    const RedisScript* script = nullptr;  // for the NOSCRIPT retry
    bool overflow = false;                // refused: the queue was full
  };
  // Queues `pending` (as an overflow when the queue is full). Takes the lock.
  void enqueue(Pending pending);
  struct Periodic {
    std::chrono::milliseconds interval;
    std::function<void()> task;
    std::chrono::steady_clock::time_point next;
  };

  void run();
  bool try_connect();
  void execute(std::deque<Pending>& batch);
  void execute_run(std::deque<Pending>& batch);  // no overflow entries
  void fail_all(std::deque<Pending>& batch, const std::string& why);
  void set_link(RedisState::Link link, const std::string& error);
  void run_due_periodics();
  std::chrono::steady_clock::time_point next_periodic() const;

  const core::RedisUrl url_;
  const RedisClientOptions options_;
  std::function<void(const RedisState&)> on_state_;
  std::function<RedisArgv()> connect_command_;
  ReplyCallback connect_done_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  std::vector<Periodic> periodics_;
  std::vector<const RedisScript*> scripts_;  // used so far: loaded at every connect
  bool stopping_ = false;
  RedisState state_;
  std::atomic<std::uint64_t> commands_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> batches_{0};
  std::thread thread_;

  std::unique_ptr<RedisConnection> connection_;  // command thread only
};

}  // namespace nself::cluster
