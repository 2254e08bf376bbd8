#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace nself::bench {

Histogram::Histogram() : counts_(kBucketCount, 0) {}

std::size_t Histogram::index_of(std::uint64_t value) {
  if (value < kSubBuckets) return static_cast<std::size_t>(value);
  const unsigned top_bit = 63 - static_cast<unsigned>(std::countl_zero(value));
  const unsigned shift = top_bit - kSubBucketBits;  // >= 0
  const std::uint64_t top = value >> shift;         // in [kSubBuckets, 2 * kSubBuckets)
  return static_cast<std::size_t>((shift + 1) * kSubBuckets + (top - kSubBuckets));
}

std::uint64_t Histogram::lowest_in_bucket(std::size_t index) {
  if (index < kSubBuckets) return index;
  const std::uint64_t group = index / kSubBuckets;  // >= 1
  const std::uint64_t top = kSubBuckets + index % kSubBuckets;
  return top << (group - 1);
}

std::uint64_t Histogram::highest_in_bucket(std::size_t index) {
  if (index < kSubBuckets) return index;
  const std::uint64_t group = index / kSubBuckets;
  const std::uint64_t low = lowest_in_bucket(index);
  const std::uint64_t width = std::uint64_t{1} << (group - 1);
  return low + (width - 1);  // never overflows: the last bucket ends at UINT64_MAX
}

void Histogram::record_n(std::uint64_t value, std::uint64_t count) {
  if (count == 0) return;
  counts_[index_of(value)] += count;
  count_ += count;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value) * static_cast<long double>(count);
}

void Histogram::merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

double Histogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

std::uint64_t Histogram::value_at_percentile(double percentile) const {
  if (count_ == 0) return 0;
  if (!(percentile > 0)) return min();  // also NaN
  if (percentile >= 100) return max_;
  // The rank of the value, ceil(p% of count), forgiving the rounding error of
  // p / 100 (99.9% of 1000 is 999, not 1000).
  const double rank = percentile / 100.0 * static_cast<double>(count_);
  const double nearest = std::round(rank);
  auto target = static_cast<std::uint64_t>(
      std::abs(rank - nearest) <= 1e-9 * std::max(1.0, rank) ? nearest : std::ceil(rank));
  target = std::clamp<std::uint64_t>(target, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= target) return std::clamp(highest_in_bucket(i), min(), max_);
  }
  return max_;
}

std::vector<std::pair<std::size_t, std::uint64_t>> Histogram::nonzero_buckets() const {
  std::vector<std::pair<std::size_t, std::uint64_t>> out;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    if (counts_[i] != 0) out.emplace_back(i, counts_[i]);
  }
  return out;
}

void Histogram::add_bucket(std::size_t index, std::uint64_t count) {
  if (index >= kBucketCount || count == 0) return;
  counts_[index] += count;
  count_ += count;
  const std::uint64_t low = lowest_in_bucket(index);
  min_ = std::min(min_, low);
  max_ = std::max(max_, highest_in_bucket(index));
  sum_ += static_cast<long double>(low) * static_cast<long double>(count);
}

void Histogram::set_extremes(std::uint64_t min, std::uint64_t max) {
  if (count_ == 0) return;
  min_ = min;
  max_ = max;
}

}  // namespace nself::bench
