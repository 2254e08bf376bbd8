#include "core/connection_limits.hpp"

#include <gtest/gtest.h>

namespace nself::core {
namespace {

using namespace std::chrono_literals;
using Time = ConnectionLimits::Time;
const Time kT0 = Time{} + 1000s;

TEST(ConnectionLimits, CapsConnectionsPerAddress) {
  ConnectionLimits limits({.max_per_address = 2});
  EXPECT_EQ(limits.open("a", kT0), ConnectionRefusal::kNone);
  EXPECT_EQ(limits.open("a", kT0), ConnectionRefusal::kNone);
  EXPECT_EQ(limits.open("a", kT0), ConnectionRefusal::kTooManyFromAddress);
  EXPECT_EQ(limits.open("b", kT0), ConnectionRefusal::kNone);
  limits.close("a");
  EXPECT_EQ(limits.open("a", kT0), ConnectionRefusal::kNone);
}

TEST(ConnectionLimits, ConnectRateIsATokenBucketOfOneSecond) {
  ConnectionLimits limits({.connects_per_second = 4});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(limits.open("a", kT0), ConnectionRefusal::kNone);
  EXPECT_EQ(limits.open("a", kT0), ConnectionRefusal::kConnectRate);
  EXPECT_EQ(limits.open("b", kT0), ConnectionRefusal::kNone);  // per address
  EXPECT_EQ(limits.retry_after_seconds("a", kT0), 1);
  EXPECT_EQ(limits.open("a", kT0 + 240ms), ConnectionRefusal::kConnectRate);
  EXPECT_EQ(limits.open("a", kT0 + 260ms), ConnectionRefusal::kNone);  // one token back
  // Closing does not give tokens back.
  for (int i = 0; i < 5; ++i) limits.close("a");
  EXPECT_EQ(limits.open("a", kT0 + 270ms), ConnectionRefusal::kConnectRate);
  ConnectionLimits slow({.connects_per_second = 0.1});
  EXPECT_EQ(slow.open("a", kT0), ConnectionRefusal::kNone);
  EXPECT_EQ(slow.open("a", kT0), ConnectionRefusal::kConnectRate);
  EXPECT_EQ(slow.retry_after_seconds("a", kT0), 10);
}

TEST(ConnectionLimits, UnauthenticatedSessionsPerAddressAndOverall) {
  ConnectionLimits limits({.max_unauthenticated_per_address = 2, .max_unauthenticated = 3});
  for (int i = 0; i < 3; ++i) ASSERT_EQ(limits.open("a", kT0), ConnectionRefusal::kNone);
  ASSERT_EQ(limits.open("b", kT0), ConnectionRefusal::kNone);
  ASSERT_EQ(limits.open("c", kT0), ConnectionRefusal::kNone);
  EXPECT_EQ(limits.begin_unauthenticated("a"), ConnectionRefusal::kNone);
  EXPECT_EQ(limits.begin_unauthenticated("a"), ConnectionRefusal::kNone);
  EXPECT_EQ(limits.begin_unauthenticated("a"), ConnectionRefusal::kTooManyUnauthenticatedAddress);
  EXPECT_EQ(limits.begin_unauthenticated("b"), ConnectionRefusal::kNone);
  EXPECT_EQ(limits.unauthenticated(), 3u);
  EXPECT_EQ(limits.begin_unauthenticated("c"), ConnectionRefusal::kTooManyUnauthenticated);
  limits.end_unauthenticated("a");  // authenticated
  EXPECT_EQ(limits.begin_unauthenticated("c"), ConnectionRefusal::kNone);
  limits.end_unauthenticated("zzz");  // unknown: ignored
  EXPECT_EQ(limits.unauthenticated(), 3u);
}

// Connections that have not sent a request yet are capped per address, apart
// from sessions, and not server-wide (an upgrade with a token is such a
// connection for one round trip: C1 must not concern it).
TEST(ConnectionLimits, ConnectionsWaitingForTheirFirstRequestPerAddress) {
  ConnectionLimits limits({.max_unauthenticated_per_address = 1,
                           .max_unauthenticated = 1,
                           .max_waiting_per_address = 2});
  for (int i = 0; i < 4; ++i) ASSERT_EQ(limits.open("a", kT0), ConnectionRefusal::kNone);
  ASSERT_EQ(limits.open("b", kT0), ConnectionRefusal::kNone);
  EXPECT_EQ(limits.begin_waiting("a"), ConnectionRefusal::kNone);
  EXPECT_EQ(limits.begin_waiting("a"), ConnectionRefusal::kNone);
  EXPECT_EQ(limits.begin_waiting("a"), ConnectionRefusal::kTooManyUnauthenticatedAddress);
  EXPECT_EQ(limits.begin_waiting("b"), ConnectionRefusal::kNone);
  EXPECT_EQ(limits.unauthenticated(), 0u);  // not sessions
  EXPECT_EQ(limits.begin_unauthenticated("a"), ConnectionRefusal::kNone);
  limits.end_waiting("a");  // its request came
  EXPECT_EQ(limits.begin_waiting("a"), ConnectionRefusal::kNone);
  limits.end_waiting("zzz");  // unknown: ignored
}

TEST(ConnectionLimits, NoLimitsByDefault) {
  ConnectionLimits limits({});
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(limits.open("a", kT0), ConnectionRefusal::kNone);
    ASSERT_EQ(limits.begin_unauthenticated("a"), ConnectionRefusal::kNone);
  }
}

TEST(ConnectionLimits, AddressesAreForgottenWhenIdleAndFull) {
  ConnectionLimits limits({.connects_per_second = 1});
  ASSERT_EQ(limits.open("a", kT0), ConnectionRefusal::kNone);
  limits.close("a");
  EXPECT_EQ(limits.tracked(), 1u);  // the bucket is refilling: remembered
  ASSERT_EQ(limits.open("b", kT0 + 2s), ConnectionRefusal::kNone);
  limits.close("b");
  ConnectionLimits unlimited({});
  ASSERT_EQ(unlimited.open("a", kT0), ConnectionRefusal::kNone);
  unlimited.close("a");
  EXPECT_EQ(unlimited.tracked(), 0u);
}

TEST(ConnectionLimits, RotatingAddressesStayBounded) {
  ConnectionLimits limits({.connects_per_second = 1, .max_tracked = 100});
  // One open connection that must never be forgotten.
  ASSERT_EQ(limits.open("held", kT0), ConnectionRefusal::kNone);
  for (int i = 0; i < 100'000; ++i) {
    const std::string key = "rot" + std::to_string(i);
    ASSERT_EQ(limits.open(key, kT0), ConnectionRefusal::kNone);
    limits.close(key);
    ASSERT_LE(limits.tracked(), 101u);
  }
  ConnectionLimits capped({.max_per_address = 1, .max_tracked = 10});
  ASSERT_EQ(capped.open("held", kT0), ConnectionRefusal::kNone);
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "rot" + std::to_string(i);
    ASSERT_EQ(capped.open(key, kT0), ConnectionRefusal::kNone);
    capped.close(key);
  }
  EXPECT_EQ(capped.open("held", kT0), ConnectionRefusal::kTooManyFromAddress);  // still counted
}

}  // namespace
}  // namespace nself::core
