#include "core/auth_failure_limits.hpp"

#include <gtest/gtest.h>

namespace nself::core {
namespace {

using namespace std::chrono_literals;
using Time = AuthFailureLimits::Time;
const Time kT0 = Time{} + 1000s;

TEST(AuthFailureLimits, BlocksAnAddressAfterItsFailures) {
  AuthFailureLimits limits({.per_minute = 3});
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(limits.blocked("a", kT0).has_value());
    limits.failure("a", kT0, false);
  }
  ASSERT_TRUE(limits.blocked("a", kT0).has_value());
  EXPECT_EQ(*limits.blocked("a", kT0), 20);  // one failure back every 20 s
  EXPECT_FALSE(limits.blocked("b", kT0).has_value());
  // A refused attempt uses no token; time gives them back.
  limits.failure("a", kT0, true);
  EXPECT_EQ(*limits.blocked("a", kT0 + 15s), 5);
  EXPECT_FALSE(limits.blocked("a", kT0 + 20s).has_value());
}

TEST(AuthFailureLimits, FirstFailureIsWrittenThenOneSummaryPerMinute) {
  AuthFailureLimits limits({.per_minute = 10});
  EXPECT_TRUE(limits.failure("a", kT0, false).audit_now);
  for (int i = 0; i < 1999; ++i) EXPECT_FALSE(limits.failure("a", kT0 + 1s, i >= 9).audit_now);
  EXPECT_TRUE(limits.sweep(kT0 + 59s).empty());
  auto summaries = limits.sweep(kT0 + 60s);
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].key, "a");
  EXPECT_EQ(summaries[0].count, 1999u);
  EXPECT_EQ(summaries[0].since, kT0);
  // The flood goes on: counted from the summary on, not written one by one.
  EXPECT_FALSE(limits.failure("a", kT0 + 61s, true).audit_now);
  summaries = limits.sweep(kT0 + 120s);
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].count, 1u);
  // A quiet minute ends the window; the bucket being full, the address is forgotten.
  EXPECT_TRUE(limits.sweep(kT0 + 150s).empty());
  EXPECT_EQ(limits.tracked(), 1u);
  EXPECT_TRUE(limits.sweep(kT0 + 180s).empty());
  EXPECT_EQ(limits.tracked(), 0u);
  EXPECT_TRUE(limits.failure("a", kT0 + 300s, false).audit_now);
}

TEST(AuthFailureLimits, OneFailureAloneGetsNoSummary) {
  AuthFailureLimits limits({.per_minute = 10});
  EXPECT_TRUE(limits.failure("a", kT0, false).audit_now);
  EXPECT_TRUE(limits.sweep(kT0 + 61s).empty());
}

TEST(AuthFailureLimits, AddressesBeyondTheBoundShareOneEntry) {
  AuthFailureLimits limits({.per_minute = 2, .max_tracked = 3});
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(limits.failure("a" + std::to_string(i), kT0, false).audit_now);
  // Rotating addresses: all of them count against the overflow entry.
  auto first = limits.failure("x0", kT0, false);
  EXPECT_EQ(first.key, AuthFailureLimits::kOverflowKey);
  EXPECT_TRUE(first.audit_now);
  for (int i = 1; i < 10'000; ++i) {
    const std::string key = "x" + std::to_string(i);
    const bool refused = limits.blocked(key, kT0).has_value();
    EXPECT_FALSE(limits.failure(key, kT0, refused).audit_now);
  }
  EXPECT_EQ(limits.tracked(), 4u);
  EXPECT_TRUE(limits.blocked("x123", kT0).has_value());
  EXPECT_FALSE(limits.blocked("a1", kT0).has_value());  // its own bucket
  auto summaries = limits.sweep(kT0 + 60s);
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].key, AuthFailureLimits::kOverflowKey);
  EXPECT_EQ(summaries[0].count, 9999u);
}

TEST(AuthFailureLimits, ZeroPerMinuteNeverBlocksButStillSummarizes) {
  AuthFailureLimits limits({.per_minute = 0});
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(limits.blocked("a", kT0).has_value());
    limits.failure("a", kT0, false);
  }
  auto summaries = limits.sweep(kT0 + 60s);
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].count, 99u);
}

}  // namespace
}  // namespace nself::core
