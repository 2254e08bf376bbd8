#pragma once

// The cluster's pub/sub connection: one dedicated thread subscribed to a fixed
// set of Redis channels, handing every message to a callback. When the
// connection breaks it reconnects with backoff and jitter and subscribes
// again; every change of state is reported once through `on_state`, and a
// (re)subscription that completed is reported with `resubscribed` so the
// owner can look for what it missed meanwhile (pub/sub does not replay).
//
// A silent connection is probed: after `ping_interval` without any traffic it
// sends PING; no answer within command_timeout counts as a broken connection.
//
// Thread safety: start()/stop()/state() from any thread. `on_message` and
// `on_state` run on the subscriber thread, one at a time: they must be short
// and must not block. Never destroy the subscriber from one of its callbacks.

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/redis_client.hpp"
#include "cluster/redis_connection.hpp"
#include "core/backoff.hpp"
#include "core/redis_url.hpp"

namespace nself::cluster {

struct RedisSubscriberOptions {
  RedisConnectOptions connect;
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds ping_interval{1000};
};

class RedisSubscriber {
 public:
  using MessageCallback = std::function<void(const std::string& channel, std::string payload)>;
  // `resubscribed`: true when a subscription just (re)started, so messages
  // published since the previous one may have been missed.
  using StateCallback = std::function<void(const RedisState& state, bool resubscribed)>;

  RedisSubscriber(core::RedisUrl url, std::vector<std::string> channels, MessageCallback on_message,
                  StateCallback on_state = {}, RedisSubscriberOptions options = {});
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  void start();
  // Joins the thread; no callback runs after it returns. Idempotent.
  void stop();
  RedisState state() const;

 private:
  void run();
  // Subscribed and reading until the connection breaks (throws) or stop.
  void serve(RedisConnection& connection, core::Backoff& backoff);
  void set_link(RedisState::Link link, const std::string& error, bool resubscribed);
  // Waits up to `duration` or until stop; false when stopping.
  bool sleep_for(std::chrono::milliseconds duration);

  const core::RedisUrl url_;
  const std::vector<std::string> channels_;
  MessageCallback on_message_;
  StateCallback on_state_;
  const RedisSubscriberOptions options_;

  mutable std::mutex mutex_;
  RedisState state_;
  std::atomic<bool> stopping_{false};
  int wake_pipe_[2] = {-1, -1};  // written by stop() to end a poll()
  std::thread thread_;
};

}  // namespace nself::cluster
