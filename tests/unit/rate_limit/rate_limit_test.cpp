// The token bucket and the flood guard, with time passed in.

#include "core/rate_limit.hpp"

#include <gtest/gtest.h>

namespace nself::core {
namespace {

using namespace std::chrono_literals;

const SteadyTime kStart = SteadyTime{} + 1000s;

TEST(TokenBucket, AllowsABurstOfRateThenRefusesTheNext) {
  TokenBucket bucket(10, kStart);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(bucket.try_take(kStart)) << i;
  EXPECT_FALSE(bucket.try_take(kStart));
  EXPECT_FALSE(bucket.try_take(kStart));
  EXPECT_EQ(bucket.available(kStart), 0);
}

TEST(TokenBucket, RefillsAtRatePerSecond) {
  TokenBucket bucket(10, kStart);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(bucket.try_take(kStart));
  // 10 per second: one token every 100 ms.
  EXPECT_FALSE(bucket.try_take(kStart + 99ms));
  EXPECT_TRUE(bucket.try_take(kStart + 100ms));
  EXPECT_FALSE(bucket.try_take(kStart + 150ms));
  EXPECT_EQ(bucket.available(kStart + 650ms), 5);
}

TEST(TokenBucket, NeverHoldsMoreThanItsCapacity) {
  TokenBucket bucket(3, kStart);
  EXPECT_EQ(bucket.available(kStart + 1h), 3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(bucket.try_take(kStart + 1h));
  EXPECT_FALSE(bucket.try_take(kStart + 1h));
}

TEST(TokenBucket, SustainedRateIsAllowedIndefinitely) {
  TokenBucket bucket(5, kStart);
  for (int i = 1; i <= 100; ++i) EXPECT_TRUE(bucket.try_take(kStart + i * 200ms)) << i;
}

TEST(TokenBucket, ATimeGoingBackwardsAddsNothing) {
  TokenBucket bucket(1, kStart);
  EXPECT_TRUE(bucket.try_take(kStart));
  EXPECT_FALSE(bucket.try_take(kStart - 10s));
  EXPECT_FALSE(bucket.try_take(kStart + 500ms));
  EXPECT_TRUE(bucket.try_take(kStart + 1s));
}

TEST(FloodGuard, DisconnectsAfterTheConfiguredRejectionsInARow) {
  FloodGuard guard(FloodPolicy{3, 10s});
  EXPECT_EQ(guard.record(false, kStart), RateDecision::kReject);
  EXPECT_EQ(guard.record(false, kStart + 1ms), RateDecision::kReject);
  EXPECT_EQ(guard.record(false, kStart + 2ms), RateDecision::kDisconnect);
}

TEST(FloodGuard, AnAllowedRequestEndsTheStreak) {
  FloodGuard guard(FloodPolicy{3, 10s});
  EXPECT_EQ(guard.record(false, kStart), RateDecision::kReject);
  EXPECT_EQ(guard.record(false, kStart), RateDecision::kReject);
  EXPECT_EQ(guard.record(true, kStart), RateDecision::kAllow);
  EXPECT_EQ(guard.streak(), 0);
  EXPECT_EQ(guard.record(false, kStart), RateDecision::kReject);
  EXPECT_EQ(guard.record(false, kStart), RateDecision::kReject);
  EXPECT_EQ(guard.record(false, kStart), RateDecision::kDisconnect);
}

TEST(FloodGuard, AStreakOlderThanTheWindowStartsOver) {
  FloodGuard guard(FloodPolicy{3, 1s});
  EXPECT_EQ(guard.record(false, kStart), RateDecision::kReject);
  EXPECT_EQ(guard.record(false, kStart + 500ms), RateDecision::kReject);
  // 1.5 s after the streak began: this rejection starts a new streak.
  EXPECT_EQ(guard.record(false, kStart + 1500ms), RateDecision::kReject);
  EXPECT_EQ(guard.streak(), 1);
  EXPECT_EQ(guard.record(false, kStart + 1600ms), RateDecision::kReject);
  EXPECT_EQ(guard.record(false, kStart + 1700ms), RateDecision::kDisconnect);
}

TEST(FloodGuard, TheBucketAndTheGuardTogetherThrottleThenDisconnectAFlood) {
  TokenBucket bucket(10, kStart);
  FloodGuard guard;  // defaults: 20 in a row within 10 s
  int allowed = 0;
  int rejected = 0;
  RateDecision last = RateDecision::kAllow;
  for (int i = 0; i < 1000 && last != RateDecision::kDisconnect; ++i) {
    last = guard.record(bucket.try_take(kStart), kStart);
    (last == RateDecision::kAllow ? allowed : rejected)++;
  }
  EXPECT_EQ(last, RateDecision::kDisconnect);
  EXPECT_EQ(allowed, 10);
  EXPECT_EQ(rejected, 20);
}

}  // namespace
}  // namespace nself::core
