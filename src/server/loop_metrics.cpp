#include "server/loop_metrics.hpp"

#include <algorithm>

namespace nself::server {

void HistogramCounts::add(const HistogramCounts& other) {
  for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
  count += other.count;
  sum_nanos += other.sum_nanos;
}

void LoopMetrics::observe_delivery(std::chrono::nanoseconds duration) {
  const double seconds = std::chrono::duration<double>(duration).count();
  for (std::size_t i = 0; i < HistogramCounts::kBounds.size(); ++i) {
    if (seconds <= HistogramCounts::kBounds[i]) {
      delivery_buckets_[i].add(1);
      break;
    }
  }
  delivery_count_.add(1);
  delivery_sum_nanos_.add(static_cast<std::uint64_t>(std::max<std::int64_t>(duration.count(), 0)));
}

bool LoopMetrics::error(std::string_view code) {
  for (std::size_t i = 0; i < kErrorCodes.size(); ++i) {
    if (kErrorCodes[i] == code) {
      errors_[i].add(1);
      return true;
    }
  }
  return false;
}

HistogramCounts LoopMetrics::delivery() const {
  HistogramCounts counts;
  for (std::size_t i = 0; i < counts.buckets.size(); ++i) {
    counts.buckets[i] = delivery_buckets_[i].get();
  }
  counts.count = delivery_count_.get();
  counts.sum_nanos = delivery_sum_nanos_.get();
  return counts;
}

}  // namespace nself::server
