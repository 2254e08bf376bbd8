#include "server/metrics.hpp"

#include <fmt/format.h>

namespace nself::server {

namespace {

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// Label values are escaped as the text format requires.
std::string escape_label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void Histogram::observe(std::chrono::nanoseconds duration) {
  const double seconds = std::chrono::duration<double>(duration).count();
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(duration.count(), 0)),
                       std::memory_order_relaxed);
}

HistogramCounts Histogram::counts() const {
  HistogramCounts counts;
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    counts.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  }
  counts.count = count_.load(std::memory_order_relaxed);
  counts.sum_nanos = sum_nanos_.load(std::memory_order_relaxed);
  return counts;
}

void Histogram::render(std::string& out, std::string_view name, const HistogramCounts& counts) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += counts.buckets[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, kBounds[i], cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, counts.count);
  out += fmt::format("{}_sum {}\n", name, static_cast<double>(counts.sum_nanos) / 1e9);
  out += fmt::format("{}_count {}\n", name, counts.count);
}

LoopMetrics& Metrics::add_loop() {
  std::lock_guard lock(mutex_);
  return loops_.emplace_back();
}

void Metrics::connection_opened() {
  connections_total_.fetch_add(1);
  const std::uint64_t now = current_.fetch_add(1) + 1;
  restore_peak(now);
}

void Metrics::connection_closed() {
  std::uint64_t value = current_.load();
  while (value > 0 && !current_.compare_exchange_weak(value, value - 1)) {
  }
}

void Metrics::restore_peak(std::uint64_t peak) {
  std::uint64_t value = peak_.load();
  while (value < peak && !peak_.compare_exchange_weak(value, peak)) {
  }
}

void Metrics::add(std::map<std::string, std::uint64_t, std::less<>>& counter,
                  std::string_view label, std::uint64_t amount) {
  std::lock_guard lock(mutex_);
  auto found = counter.find(label);
  if (found == counter.end()) {
    counter.emplace(std::string(label), amount);
  } else {
    found->second += amount;
  }
}

void Metrics::message_in(std::string_view channel_type, std::uint64_t count) {
  add(messages_in_, channel_type, count);
}
void Metrics::message_out(std::string_view channel_type, std::uint64_t count) {
  add(messages_out_, channel_type, count);
}
void Metrics::deliveries(std::uint64_t frames) {
  deliveries_.fetch_add(frames);
}
void Metrics::presence_update() {
  presence_updates_.fetch_add(1);
}
void Metrics::slow_consumer() {
  slow_consumers_.fetch_add(1);
}
void Metrics::error(std::string_view code) {
  add(errors_, code);
}
void Metrics::auth_failure() {
  auth_failures_.fetch_add(1);
}

namespace {

// The label of LoopMetrics' channel type index i.
constexpr std::array<std::string_view, LoopMetrics::kChannelTypes> kChannelTypeLabels = {
    "public", "private", "presence"};

}  // namespace

std::uint64_t Metrics::counter_value(std::string_view name, std::string_view label) const {
  std::lock_guard lock(mutex_);
  const auto* counter = name == "messages_in"    ? &messages_in_
                        : name == "messages_out" ? &messages_out_
                        : name == "errors"       ? &errors_
                                                 : nullptr;
  if (counter == nullptr) return 0;
  auto found = counter->find(label);
  std::uint64_t value = found == counter->end() ? 0 : found->second;
  for (std::size_t i = 0; i < kChannelTypeLabels.size(); ++i) {
    if (kChannelTypeLabels[i] != label) continue;
    for (const LoopMetrics& loop : loops_) {
      if (name == "messages_in") value += loop.messages_in(i);
      if (name == "messages_out") value += loop.messages_out(i);
    }
  }
  for (std::size_t i = 0; name == "errors" && i < LoopMetrics::kErrorCodes.size(); ++i) {
    if (LoopMetrics::kErrorCodes[i] != label) continue;
    for (const LoopMetrics& loop : loops_) value += loop.errors(i);
  }
  return value;
}

std::string Metrics::render(std::uint64_t max_connections) const {
  std::string out;
  header(out, "nself_realtime_connections", "gauge", "Open WebSocket connections.");
  out += fmt::format("nself_realtime_connections {}\n", current_.load());
  header(out, "nself_realtime_connections_peak", "gauge",
         "Highest number of concurrent connections (kept across restarts).");
  out += fmt::format("nself_realtime_connections_peak {}\n", peak_.load());
  header(out, "nself_realtime_connections_max", "gauge",
         "WEBSOCKET_MAX_CONNECTIONS, the connection limit.");
  out += fmt::format("nself_realtime_connections_max {}\n", max_connections);
  header(out, "nself_realtime_connections_total", "counter", "Connections opened since start.");
  out += fmt::format("nself_realtime_connections_total {}\n", connections_total_.load());

  std::lock_guard lock(mutex_);
  // The loops' cells, summed.
  auto messages_in = messages_in_;
  auto messages_out = messages_out_;
  auto errors = errors_;
  std::uint64_t presence_updates = presence_updates_.load();
  std::uint64_t deliveries = deliveries_.load();
  HistogramCounts delivery = delivery_.counts();
  for (const LoopMetrics& loop : loops_) {
    for (std::size_t i = 0; i < kChannelTypeLabels.size(); ++i) {
      messages_in[std::string(kChannelTypeLabels[i])] += loop.messages_in(i);
      messages_out[std::string(kChannelTypeLabels[i])] += loop.messages_out(i);
    }
    deliveries += loop.deliveries();
    delivery.add(loop.delivery());
    presence_updates += loop.presence_updates();
    for (std::size_t i = 0; i < LoopMetrics::kErrorCodes.size(); ++i) {
      if (const std::uint64_t count = loop.errors(i)) {
        errors[std::string(LoopMetrics::kErrorCodes[i])] += count;
      }
    }
  }
  auto labelled = [&](std::string_view name, std::string_view label, std::string_view help,
                      const std::map<std::string, std::uint64_t, std::less<>>& counter,
                      std::initializer_list<std::string_view> always) {
    header(out, name, "counter", help);
    std::map<std::string, std::uint64_t, std::less<>> values = counter;
    for (auto key : always) values.try_emplace(std::string(key), 0);
    for (const auto& [key, value] : values) {
      out += fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, escape_label(key), value);
    }
  };
  labelled("nself_realtime_messages_in_total", "channel_type",
           "Messages accepted from clients and backends, by channel type.", messages_in,
           {"public", "private", "presence"});
  labelled("nself_realtime_messages_out_total", "channel_type",
           "Message events fanned out (one per message, whatever the subscriber count).",
           messages_out, {"public", "private", "presence"});
  header(out, "nself_realtime_fanout_deliveries_total", "counter",
         "Frames queued to subscribers by fan-out.");
  out += fmt::format("nself_realtime_fanout_deliveries_total {}\n", deliveries);
  header(out, "nself_realtime_presence_updates_total", "counter", "Presence changes applied.");
  out += fmt::format("nself_realtime_presence_updates_total {}\n", presence_updates);
  header(out, "nself_realtime_slow_consumers_total", "counter",
         "Connections closed (1008) because their send queue passed its bound.");
  out += fmt::format("nself_realtime_slow_consumers_total {}\n", slow_consumers_.load());
  labelled("nself_realtime_errors_total", "code", "Errors returned to clients, by code.", errors,
           {});
  header(out, "nself_realtime_auth_failures_total", "counter",
         "Failed authentications (WebSocket tokens and admin API credentials).");
  out += fmt::format("nself_realtime_auth_failures_total {}\n", auth_failures_.load());
  header(out, "nself_realtime_delivery_latency_seconds", "histogram",
         "From a message's arrival to its fan-out, commit included.");
  Histogram::render(out, "nself_realtime_delivery_latency_seconds", delivery);
  header(out, "nself_realtime_store_batch_seconds", "histogram",
         "Duration of one group commit (Store::append_messages).");
  Histogram::render(out, "nself_realtime_store_batch_seconds", store_batch_.counts());
  if (cluster_mode_.load()) {
    header(out, "nself_realtime_cluster_redis_up", "gauge",
           "1 when both Redis links (commands, pub/sub) are connected, 0 when degraded.");
    out += fmt::format("nself_realtime_cluster_redis_up {}\n", cluster_connected_.load());
    header(out, "nself_realtime_cluster_redis_reconnects_total", "counter",
           "Successful reconnections to Redis (both links).");
    out += fmt::format("nself_realtime_cluster_redis_reconnects_total {}\n",
                       cluster_reconnects_.load());
    header(out, "nself_realtime_cluster_events_in_total", "counter",
           "Events received from other nodes over the bus.");
    out += fmt::format("nself_realtime_cluster_events_in_total {}\n", cluster_events_in_.load());
    header(out, "nself_realtime_cluster_events_out_total", "counter",
           "Events published on the bus for other nodes.");
    out += fmt::format("nself_realtime_cluster_events_out_total {}\n", cluster_events_out_.load());
    header(out, "nself_realtime_cluster_gaps_total", "counter",
           "Seq gaps of a channel filled from the store (or skipped, ephemeral).");
    out += fmt::format("nself_realtime_cluster_gaps_total {}\n", cluster_gaps_.load());
    header(out, "nself_realtime_cluster_resyncs_total", "counter",
           "Resynchronisations after the bus reconnected or the node re-registered.");
    out += fmt::format("nself_realtime_cluster_resyncs_total {}\n", cluster_resyncs_.load());
  }
  return out;
}

}  // namespace nself::server
