// Reconnection backoff: doubling ceiling, equal jitter, cap, reset.

#include "core/backoff.hpp"

#include <gtest/gtest.h>

namespace nself::core {
namespace {

using namespace std::chrono_literals;

TEST(Backoff, DoublesFromInitialWithTheLowestJitter) {
  Backoff backoff(100ms, 10'000ms);
  EXPECT_EQ(backoff.next(0.0), 50ms);
  EXPECT_EQ(backoff.next(0.0), 100ms);
  EXPECT_EQ(backoff.next(0.0), 200ms);
  EXPECT_EQ(backoff.next(0.0), 400ms);
  EXPECT_EQ(backoff.attempts(), 4);
}

TEST(Backoff, JitterSpreadsOverTheUpperHalfOfTheCeiling) {
  Backoff low(100ms, 10'000ms);
  Backoff high(100ms, 10'000ms);
  Backoff middle(100ms, 10'000ms);
  EXPECT_EQ(low.next(0.0), 50ms);
  EXPECT_EQ(middle.next(0.5), 75ms);
  EXPECT_EQ(high.next(0.999), 99ms);
  // Out-of-range draws are clamped, never beyond the ceiling.
  Backoff wild(100ms, 10'000ms);
  EXPECT_EQ(wild.next(7.0), 99ms);
  Backoff negative(100ms, 10'000ms);
  EXPECT_EQ(negative.next(-3.0), 50ms);
}

TEST(Backoff, StopsGrowingAtTheCap) {
  Backoff backoff(100ms, 1'000ms);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto delay = backoff.next(0.999);
    EXPECT_LT(delay, 1'000ms) << attempt;
    EXPECT_GE(delay, 50ms) << attempt;
  }
  EXPECT_EQ(backoff.next(0.0), 500ms);
}

TEST(Backoff, ResetStartsOver) {
  Backoff backoff(100ms, 5'000ms);
  for (int attempt = 0; attempt < 6; ++attempt) backoff.next(0.0);
  backoff.reset();
  EXPECT_EQ(backoff.attempts(), 0);
  EXPECT_EQ(backoff.next(0.0), 50ms);
}

TEST(Backoff, TinyInitialNeverGivesZero) {
  Backoff backoff(1ms, 1ms);
  EXPECT_EQ(backoff.next(0.0), 1ms);
  EXPECT_EQ(backoff.next(0.9), 1ms);
}

}  // namespace
}  // namespace nself::core
