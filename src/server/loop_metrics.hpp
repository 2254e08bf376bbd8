#pragma once

// One event loop's counters on the engine's per-request and per-delivery
// path. Each LoopMetrics has one writer, its loop, which adds with a relaxed
// load and store: no read-modify-write shared with another loop and no lock
// (issue 15's acceptance). Metrics::render and counter_value sum every
// loop's cells when /metrics is scraped (or the stats feed reads them), so a
// scrape sees each loop's counts as of its last store.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nself::server {

// A cumulative histogram's raw counts (bucket i: observations <= bound i,
// not cumulative), as summed over writers.
struct HistogramCounts {
  static constexpr std::array<double, 12> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1.0,  2.5,   10.0};
  std::array<std::uint64_t, kBounds.size()> buckets{};
  std::uint64_t count = 0;
  std::uint64_t sum_nanos = 0;

  void add(const HistogramCounts& other);
};

class LoopMetrics {
 public:
  // By channel type index (core::engine::EngineCounters::index: public,
  // private, presence).
  static constexpr std::size_t kChannelTypes = 3;

  // The error codes of docs/PROTOCOL.md ("Error codes"), in its order: the
  // labels of nself_realtime_errors_total that a loop counts itself.
  static constexpr std::array<std::string_view, 13> kErrorCodes = {"bad_request",
                                                                   "payload_too_large",
                                                                   "unauthenticated",
                                                                   "invalid_token",
                                                                   "token_expired",
                                                                   "forbidden",
                                                                   "not_found",
                                                                   "rate_limited",
                                                                   "too_many_subscriptions",
                                                                   "too_many_connections",
                                                                   "unavailable",
                                                                   "overloaded",
                                                                   "internal"};

  void messages_in(std::size_t type, std::uint64_t count) { in_[type].add(count); }
  void messages_out(std::size_t type, std::uint64_t count) { out_[type].add(count); }
  void deliveries(std::uint64_t frames) { deliveries_.add(frames); }
  void observe_delivery(std::chrono::nanoseconds duration);
  void presence_updates(std::uint64_t count) { presence_updates_.add(count); }
  // An error event sent to a client; false when `code` is not one of
  // kErrorCodes (the caller counts it in Metrics, under its lock).
  bool error(std::string_view code);

  // Any thread.
  std::uint64_t messages_in(std::size_t type) const { return in_[type].get(); }
  std::uint64_t messages_out(std::size_t type) const { return out_[type].get(); }
  std::uint64_t deliveries() const { return deliveries_.get(); }
  HistogramCounts delivery() const;
  std::uint64_t presence_updates() const { return presence_updates_.get(); }
  std::uint64_t errors(std::size_t code_index) const { return errors_[code_index].get(); }

 private:
  // A counter with one writer: the add is not atomic as a whole, and need
  // not be, since no other thread writes it; readers see a whole value.
  class Cell {
   public:
    void add(std::uint64_t amount) {
      value_.store(value_.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
    }
    std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }

   private:
    std::atomic<std::uint64_t> value_{0};
  };

  std::array<Cell, kChannelTypes> in_{};
  std::array<Cell, kChannelTypes> out_{};
  Cell deliveries_;
  std::array<Cell, HistogramCounts::kBounds.size()> delivery_buckets_{};
  Cell delivery_count_;
  Cell delivery_sum_nanos_;
  Cell presence_updates_;
  std::array<Cell, kErrorCodes.size()> errors_{};
};

}  // namespace nself::server
