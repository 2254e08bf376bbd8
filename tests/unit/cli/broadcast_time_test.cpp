#include <gtest/gtest.h>

#include "cli/broadcast_command.hpp"
#include "core/time_format.hpp"

namespace nself::cli {
namespace {

using namespace std::chrono_literals;
const store::Timestamp kNow = *core::parse_iso8601("2025-01-31T12:00:00.000Z");

TEST(BroadcastTime, Relative) {
  EXPECT_EQ(parse_broadcast_time("+10s", kNow).value(), kNow + 10s);
  EXPECT_EQ(parse_broadcast_time("+5m", kNow).value(), kNow + 5min);
  EXPECT_EQ(parse_broadcast_time("+1h", kNow).value(), kNow + 1h);
  EXPECT_EQ(parse_broadcast_time("+2d", kNow).value(), kNow + 48h);
  EXPECT_EQ(parse_broadcast_time("+0s", kNow).value(), kNow);
}

TEST(BroadcastTime, Absolute) {
  EXPECT_EQ(parse_broadcast_time("2025-01-31T18:00:00Z", kNow).value(),
            *core::parse_iso8601("2025-01-31T18:00:00Z"));
  EXPECT_EQ(parse_broadcast_time("2025-01-31T18:00:00+02:00", kNow).value(),
            *core::parse_iso8601("2025-01-31T16:00:00Z"));
}

TEST(BroadcastTime, BadInputIsRefused) {
  for (const char* bad : {"", "+", "+s", "10s", "+10", "+10x", "+-5s", "+1.5h", "+ 5s", "-5s",
                          "+99999999999999999999s", "+999999999d", "2025-01-31T18:00:00",
                          "tomorrow", "2025-02-30T00:00:00Z", "+10s junk"}) {
    auto parsed = parse_broadcast_time(bad, kNow);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, "bad_request");
    EXPECT_NE(parsed.error().message.find("+10s"), std::string::npos);
  }
}

}  // namespace
}  // namespace nself::cli
