#pragma once

// The web console's live figures over WebSocket (docs/PROTOCOL.md, "Stats
// feed"): an authenticated admin connection sends {"type":"stats_subscribe"}
// and receives {"type":"stats",...} about once a second until it sends
// {"type":"stats_unsubscribe"} or closes.
//
// The two requests are a console concern, not part of the chat protocol in
// core::protocol: the protocol layer hands every text frame to intercept() first,
// which answers these two and leaves every other frame (arrays included) to
// the protocol parser. The figures come from the Metrics registry and from a
// sampler given by whoever assembles the server (live connections, users,
// channels), so the feed does not know how sessions are spread over loops.
//
// Thread safety: intercept() runs on the session's loop thread, under the
// protocol handler's lock; the sampler is called on the feed's executor (the
// control loop), never from intercept(). Subscribers are guarded by a mutex,
// and each stats frame is posted to its session's own executor.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/metrics.hpp"

namespace nself::server {

class WsSession;
class Server;
class RealtimeService;

// What the sampler reports: live figures of the connections.
struct LiveStats {
  std::uint64_t connections = 0;    // open WebSocket connections
  std::uint64_t online_users = 0;   // distinct authenticated users
  std::uint64_t channels = 0;       // channels with at least one subscriber
  std::uint64_t subscriptions = 0;  // (connection, channel) pairs
};

struct StatsFeedOptions {
  std::chrono::milliseconds interval{1000};
};

class StatsFeed {
 public:
  using Sampler = std::function<LiveStats()>;

  // `metrics` must outlive the feed. `executor` runs the timer and the sampler.
  StatsFeed(boost::asio::any_io_executor executor, Metrics& metrics, Sampler sampler,
            StatsFeedOptions options = {});
  ~StatsFeed();
  StatsFeed(const StatsFeed&) = delete;
  StatsFeed& operator=(const StatsFeed&) = delete;

  // Starts the timer (before or after the server runs).
  void start();
  // Cancels the timer; subscribers get nothing more.
  void stop();

  // Answers `text` when it is a stats_subscribe or stats_unsubscribe request
  // object and returns true; returns false, having done nothing, for any other
  // frame. Replies: stats_subscribed (then one stats event at once),
  // stats_unsubscribed; errors `unauthenticated` (before auth), `forbidden`
  // (not an admin) and `bad_request` (a bad ref), with the request's ref.
  bool intercept(WsSession& session, std::string_view text, bool authenticated, bool is_admin);

  // The stats event for the figures now (also used by tests).
  std::string sample_event();
  std::size_t subscriber_count() const;

 private:
  struct Subscriber {
    std::string session_id;
    std::weak_ptr<WsSession> session;
  };
  struct Previous {
    std::chrono::steady_clock::time_point at;
    std::uint64_t messages_in = 0;
    std::uint64_t messages_out = 0;
  };

  void schedule();
  void tick();

  boost::asio::steady_timer timer_;
  Metrics& metrics_;
  Sampler sampler_;
  StatsFeedOptions options_;
  std::chrono::steady_clock::time_point started_at_;
  mutable std::mutex mutex_;
  std::vector<Subscriber> subscribers_;
  std::optional<Previous> previous_;
  bool running_ = false;
};

// The sampler for a running server: the handler's connections (any thread
// not holding the handler's lock).
LiveStats sample_live_stats(Server& server, const RealtimeService& handler);

}  // namespace nself::server
