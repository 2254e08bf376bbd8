#include "histogram.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace nself::bench {
namespace {

TEST(HistogramTest, EmptyHistogramReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.value_at_percentile(50), 0u);
  EXPECT_EQ(h.value_at_percentile(100), 0u);
  EXPECT_DOUBLE_EQ(h.mean(), 0.0);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (std::uint64_t v = 0; v < Histogram::kSubBuckets; ++v) h.record(v);
  EXPECT_EQ(h.count(), Histogram::kSubBuckets);
  EXPECT_EQ(h.value_at_percentile(50), 63u);  // the 64th of 128 values
  EXPECT_EQ(h.value_at_percentile(100), 127u);
  EXPECT_EQ(h.value_at_percentile(0), 0u);
  EXPECT_DOUBLE_EQ(h.mean(), 63.5);
}

TEST(HistogramTest, BucketsTileTheRangeWithoutGapsOrOverlap) {
  EXPECT_EQ(Histogram::lowest_in_bucket(0), 0u);
  for (std::size_t i = 1; i < Histogram::kBucketCount; ++i) {
    ASSERT_EQ(Histogram::lowest_in_bucket(i), Histogram::highest_in_bucket(i - 1) + 1) << i;
  }
  EXPECT_EQ(Histogram::highest_in_bucket(Histogram::kBucketCount - 1), UINT64_MAX);
  EXPECT_EQ(Histogram::index_of(UINT64_MAX), Histogram::kBucketCount - 1);
}

TEST(HistogramTest, EveryValueFallsInsideItsBucketWithinTheRelativeError) {
  std::mt19937_64 random(42);
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t value = random() >> (random() % 64);
    const auto index = Histogram::index_of(value);
    ASSERT_LT(index, Histogram::kBucketCount);
    const auto low = Histogram::lowest_in_bucket(index);
    const auto high = Histogram::highest_in_bucket(index);
    ASSERT_LE(low, value);
    ASSERT_GE(high, value);
    // Width of a bucket is at most 1/64 of its lowest value.
    ASSERT_LE(static_cast<long double>(high - low), static_cast<long double>(low) / 64.0L) << value;
  }
}

TEST(HistogramTest, PercentilesOfAUniformDistributionAreWithinTheRelativeError) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 1'000'000; ++v) h.record(v * 1000);  // 1 us .. 1 s in ns
  EXPECT_EQ(h.count(), 1'000'000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 1'000'000'000u);
  for (const double p : {50.0, 90.0, 99.0, 99.9}) {
    const double expected = p / 100.0 * 1e9;
    const auto got = static_cast<double>(h.value_at_percentile(p));
    EXPECT_GE(got, expected * (1 - 1.0 / 64)) << p;
    EXPECT_LE(got, expected * (1 + 1.0 / 64)) << p;
  }
  EXPECT_EQ(h.value_at_percentile(100), 1'000'000'000u);
  EXPECT_NEAR(h.mean(), 500000500.0, 1.0);
}

TEST(HistogramTest, APercentileIsClampedToTheRecordedExtremes) {
  Histogram h;
  h.record(1'000'001);  // its bucket reaches higher than the value
  EXPECT_EQ(h.value_at_percentile(50), 1'000'001u);
  EXPECT_EQ(h.value_at_percentile(99.9), 1'000'001u);
  EXPECT_EQ(h.value_at_percentile(-5), 1'000'001u);
  EXPECT_EQ(h.value_at_percentile(250), 1'000'001u);
}

TEST(HistogramTest, OutliersMoveOnlyTheTopPercentiles) {
  Histogram h;
  h.record_n(100'000, 999);
  h.record(5'000'000'000);
  EXPECT_LE(h.value_at_percentile(99), 101'600u);
  EXPECT_LE(h.value_at_percentile(99.9), 101'600u);
  EXPECT_EQ(h.value_at_percentile(99.95), 5'000'000'000u);
  EXPECT_EQ(h.max(), 5'000'000'000u);
}

TEST(HistogramTest, RecordNZeroRecordsNothing) {
  Histogram h;
  h.record_n(77, 0);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.max(), 0u);
}

TEST(HistogramTest, MergeAddsCountsAndExtremes) {
  Histogram a;
  Histogram b;
  for (std::uint64_t v = 0; v < 100; ++v) a.record(v);
  for (std::uint64_t v = 1000; v < 1100; ++v) b.record(v);
  a.merge(b);
  a.merge(Histogram{});
  EXPECT_EQ(a.count(), 200u);
  EXPECT_EQ(a.min(), 0u);
  EXPECT_EQ(a.max(), 1099u);
  EXPECT_EQ(a.value_at_percentile(50), 99u);
  EXPECT_GE(a.value_at_percentile(75), 1040u);
  EXPECT_LE(a.value_at_percentile(75), 1065u);
}

TEST(HistogramTest, BucketsRoundTripBetweenProcesses) {
  Histogram original;
  std::mt19937_64 random(7);
  for (int i = 0; i < 10000; ++i) original.record(1000 + random() % 10'000'000);
  Histogram copy;
  for (const auto& [index, count] : original.nonzero_buckets()) copy.add_bucket(index, count);
  copy.set_extremes(original.min(), original.max());
  EXPECT_EQ(copy.count(), original.count());
  EXPECT_EQ(copy.min(), original.min());
  EXPECT_EQ(copy.max(), original.max());
  for (const double p : {1.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    EXPECT_EQ(copy.value_at_percentile(p), original.value_at_percentile(p)) << p;
  }
}

TEST(HistogramTest, AddBucketIgnoresAnIndexOutOfRange) {
  Histogram h;
  h.add_bucket(Histogram::kBucketCount, 5);
  h.add_bucket(Histogram::kBucketCount + 1000, 5);
  EXPECT_EQ(h.count(), 0u);
  h.set_extremes(1, 2);  // ignored when empty
  EXPECT_EQ(h.max(), 0u);
}

}  // namespace
}  // namespace nself::bench
