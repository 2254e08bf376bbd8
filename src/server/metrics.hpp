#pragma once

// The server's metrics registry, rendered by GET /metrics in the Prometheus
// text format (docs/OPERATIONS.md lists every metric). One Metrics object is
// created by whoever assembles the server and passed to the parts that count;
// there is no global registry.
//
// Thread safety: every method may be called from any thread (atomics, and a
// mutex for the labelled counters). The sharded engine's loops count their
// messages and deliveries in their own LoopMetrics (add_loop), which render
// and counter_value add in: no lock and no shared read-modify-write on
// that path.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "server/loop_metrics.hpp"

namespace nself::server {

// A cumulative histogram with fixed upper bounds in seconds.
class Histogram {
 public:
  // Bucket upper bounds (seconds): 1 ms .. 10 s.
  static constexpr auto kBounds = HistogramCounts::kBounds;
  void observe(std::chrono::nanoseconds duration);
  HistogramCounts counts() const;
  // Appends the _bucket, _sum and _count lines of metric `name`.
  static void render(std::string& out, std::string_view name, const HistogramCounts& counts);

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size()> buckets_{};  // not cumulative
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_nanos_{0};
};

class Metrics {
 public:
  // ---- connections
  void connection_opened();
  void connection_closed();
  std::uint64_t current_connections() const { return current_.load(); }
  std::uint64_t peak_connections() const { return peak_.load(); }
  // Raises the peak to at least `peak` (the figure kept across restarts).
  void restore_peak(std::uint64_t peak);

  // ---- traffic; channel_type is "public", "private" or "presence"
  void message_in(std::string_view channel_type, std::uint64_t count = 1);
  void message_out(std::string_view channel_type, std::uint64_t count = 1);
  void deliveries(std::uint64_t frames);  // frames queued by fan-out
  void presence_update();
  void slow_consumer();  // a connection closed as a slow consumer
  std::uint64_t slow_consumers() const { return slow_consumers_.load(); }
  void error(std::string_view code);  // an error event or an API error, by code
  void auth_failure();

  // ---- latencies
  // From a message's arrival to its fan-out (persistent: includes the commit).
  void observe_delivery(std::chrono::nanoseconds duration) { delivery_.observe(duration); }
  // One Store::append_messages call (group commit).
  void observe_store_batch(std::chrono::nanoseconds duration) { store_batch_.observe(duration); }

  // The text exposition (version 0.0.4). `max_connections` is exported as a
  // gauge so alert rules can compute the 80 % threshold.
  std::string render(std::uint64_t max_connections) const;

  std::uint64_t counter_value(std::string_view name, std::string_view label) const;

  // A new loop's counters (docs/ARCHITECTURE.md, "Metrics"): the caller's
  // loop is their only writer; they live as long as this registry.
  LoopMetrics& add_loop();

  // ---- cluster mode (docs/SCALING.md); rendered only once cluster_link() was called
  void cluster_event_in() { cluster_events_in_.fetch_add(1); }
  void cluster_event_out() { cluster_events_out_.fetch_add(1); }
  void cluster_gap() { cluster_gaps_.fetch_add(1); }
  void cluster_resync() { cluster_resyncs_.fetch_add(1); }
  // The Redis links' state: both connected, and the reconnections so far.
  void cluster_link(bool connected, std::uint64_t reconnects) {
    cluster_connected_.store(connected ? 1 : 0);
    cluster_reconnects_.store(reconnects);
    cluster_mode_.store(true);
  }
  std::uint64_t cluster_events_in() const { return cluster_events_in_.load(); }
  std::uint64_t cluster_events_out() const { return cluster_events_out_.load(); }

 private:
  void add(std::map<std::string, std::uint64_t, std::less<>>& counter, std::string_view label,
           std::uint64_t amount = 1);

  std::atomic<std::uint64_t> current_{0};
  std::atomic<std::uint64_t> peak_{0};
  std::atomic<std::uint64_t> deliveries_{0};
  std::atomic<std::uint64_t> presence_updates_{0};
  std::atomic<std::uint64_t> slow_consumers_{0};
  std::atomic<std::uint64_t> auth_failures_{0};
  std::atomic<std::uint64_t> connections_total_{0};
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t, std::less<>> messages_in_;   // by channel type
  std::map<std::string, std::uint64_t, std::less<>> messages_out_;  // by channel type
  std::map<std::string, std::uint64_t, std::less<>> errors_;        // by code
  Histogram delivery_;
  Histogram store_batch_;
  std::deque<LoopMetrics> loops_;  // under mutex_ (add_loop, reads); never moves
  std::atomic<bool> cluster_mode_{false};
  std::atomic<std::uint64_t> cluster_events_in_{0};
  std::atomic<std::uint64_t> cluster_events_out_{0};
  std::atomic<std::uint64_t> cluster_gaps_{0};
  std::atomic<std::uint64_t> cluster_resyncs_{0};
  std::atomic<int> cluster_connected_{0};
  std::atomic<std::uint64_t> cluster_reconnects_{0};
};

}  // namespace nself::server
