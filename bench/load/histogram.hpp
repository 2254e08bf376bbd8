#pragma once

// A log-linear (HDR-style) histogram of non-negative 64-bit values, used by
// nself-bench for latencies in nanoseconds.
//
// Values below kSubBuckets (128) are counted exactly. Above, each power of two
// [2^k, 2^(k+1)) is split into kSubBuckets / 2 equal sub-buckets, so a value is
// reported within a relative error of 1/64 (< 1.6%) of what was recorded,
// over the whole 64-bit range, in a fixed 59 KiB of counters. min, max, count
// and sum are exact.
//
// Not thread-safe: one histogram per thread, merged afterwards.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace nself::bench {

class Histogram {
 public:
  static constexpr unsigned kSubBucketBits = 7;
  static constexpr std::uint64_t kSubBuckets = std::uint64_t{1} << kSubBucketBits;  // 128
  // Highest index: values with their top bit at 63.
  static constexpr std::size_t kBucketCount = (64 - kSubBucketBits + 1) * kSubBuckets;

  Histogram();

  void record(std::uint64_t value) { record_n(value, 1); }
  void record_n(std::uint64_t value, std::uint64_t count);

  // Adds every value recorded in `other`.
  void merge(const Histogram& other);

  std::uint64_t count() const { return count_; }
  // 0 when empty.
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  double mean() const;

  // The smallest recorded value v such that at least `percentile` percent of
  // the values are <= v, as the highest value of v's bucket clamped to
  // [min(), max()]. percentile is clamped to [0, 100]; 0 gives min(), 100
  // gives max(). 0 when empty.
  std::uint64_t value_at_percentile(double percentile) const;

  // The non-empty buckets as (index, count), for sending a histogram between
  // processes; rebuild with add_bucket() and set_extremes().
  std::vector<std::pair<std::size_t, std::uint64_t>> nonzero_buckets() const;
  // Adds `count` values to bucket `index` (ignored when index >= kBucketCount),
  // accounting them at the bucket's lowest value in the sum.
  void add_bucket(std::size_t index, std::uint64_t count);
  // Restores the exact extremes after add_bucket() (min is ignored when empty).
  void set_extremes(std::uint64_t min, std::uint64_t max);

  // Bucket arithmetic, exposed for tests.
  static std::size_t index_of(std::uint64_t value);
  static std::uint64_t lowest_in_bucket(std::size_t index);
  static std::uint64_t highest_in_bucket(std::size_t index);

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace nself::bench
