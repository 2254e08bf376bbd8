#include "core/time_format.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace nself::core {
namespace {

using namespace std::chrono;

Millis at(int y, unsigned mo, unsigned d, int h, int mi, int s, int ms) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s} +
         milliseconds{ms};
}

TEST(FormatIso8601, WritesUtcWithMilliseconds) {
  EXPECT_EQ(format_iso8601(at(2024, 3, 7, 9, 5, 2, 45)), "2024-03-07T09:05:02.045Z");
  EXPECT_EQ(format_iso8601(Millis{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(at(9999, 12, 31, 23, 59, 59, 999)), "9999-12-31T23:59:59.999Z");
}

TEST(FormatIso8601, HandlesTimesBeforeTheEpoch) {
  EXPECT_EQ(format_iso8601(Millis{milliseconds{-1}}), "1969-12-31T23:59:59.999Z");
}

TEST(FormatIso8601, SortsLikeTime) {
  const std::string a = format_iso8601(at(2024, 1, 1, 0, 0, 0, 999));
  const std::string b = format_iso8601(at(2024, 1, 1, 0, 0, 1, 0));
  const std::string c = format_iso8601(at(2024, 10, 1, 0, 0, 0, 0));
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST(ParseIso8601, RoundTripsFormattedText) {
  for (const Millis t : {Millis{}, at(2024, 2, 29, 23, 59, 59, 1), at(2000, 1, 1, 12, 0, 0, 500),
                         Millis{milliseconds{-1}}}) {
    const auto parsed = parse_iso8601(format_iso8601(t));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, t);
  }
}

TEST(ParseIso8601, AcceptsNoFractionAndLongFractions) {
  EXPECT_EQ(parse_iso8601("2024-03-07T09:05:02Z"), at(2024, 3, 7, 9, 5, 2, 0));
  EXPECT_EQ(parse_iso8601("2024-03-07T09:05:02.5Z"), at(2024, 3, 7, 9, 5, 2, 500));
  EXPECT_EQ(parse_iso8601("2024-03-07T09:05:02.12Z"), at(2024, 3, 7, 9, 5, 2, 120));
  // Digits beyond the millisecond are truncated, not rounded.
  EXPECT_EQ(parse_iso8601("2024-03-07T09:05:02.123999Z"), at(2024, 3, 7, 9, 5, 2, 123));
  EXPECT_EQ(parse_iso8601("2024-03-07T09:05:02.123456789Z"), at(2024, 3, 7, 9, 5, 2, 123));
}

TEST(ParseIso8601, AppliesOffsets) {
  EXPECT_EQ(parse_iso8601("2024-03-07T10:05:02+01:00"), at(2024, 3, 7, 9, 5, 2, 0));
  EXPECT_EQ(parse_iso8601("2024-03-07T04:35:02.250-04:30"), at(2024, 3, 7, 9, 5, 2, 250));
  EXPECT_EQ(parse_iso8601("2024-03-07T09:05:02+00:00"), at(2024, 3, 7, 9, 5, 2, 0));
  // Crossing midnight and a year boundary.
  EXPECT_EQ(parse_iso8601("2024-01-01T00:30:00+01:00"), at(2023, 12, 31, 23, 30, 0, 0));
}

TEST(ParseIso8601, AcceptsLowerCaseSeparators) {
  EXPECT_EQ(parse_iso8601("2024-03-07t09:05:02z"), at(2024, 3, 7, 9, 5, 2, 0));
}

TEST(ParseIso8601, RejectsMalformedText) {
  for (const char* bad : {
           "",
           "2024",
           "2024-03-07",
           "2024-03-07T09:05:02",              // no zone
           "2024-03-07 09:05:02Z",             // space separator
           "2024-03-07T09:05Z",                // no seconds
           "2024-3-07T09:05:02Z",              // one-digit month
           "2024-03-07T09:05:02.Z",            // empty fraction
           "2024-03-07T09:05:02.1234567890Z",  // ten fraction digits
           "2024-03-07T09:05:02ZZ",            // trailing text
           "2024-03-07T09:05:02Z ",            // trailing space
           " 2024-03-07T09:05:02Z",            // leading space
           "2024-03-07T09:05:02+0100",         // offset without colon
           "2024-03-07T09:05:02+01",           // short offset
           "2024-03-07T09:05:02+24:00",        // offset out of range
           "2024-03-07T09:05:02+01:60",
           "2024-03-07T09:05:02.12a4Z",
           "abcd-ef-ghTij:kl:mnZ",
           "2024-03-07T09:05:02\xff",
       }) {
    EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
  }
  EXPECT_FALSE(parse_iso8601(std::string_view("2024-03-07T09:05:02Z\0", 21)).has_value());
}

TEST(ParseIso8601, RejectsOutOfRangeFields) {
  for (const char* bad : {
           "2024-00-07T09:05:02Z", "2024-13-07T09:05:02Z", "2024-03-00T09:05:02Z",
           "2024-04-31T09:05:02Z",
           "2023-02-29T09:05:02Z",  // not a leap year
           "2024-03-07T24:00:00Z", "2024-03-07T09:60:02Z",
           "2024-03-07T09:05:60Z",  // leap seconds are not accepted
       }) {
    EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
  }
  EXPECT_TRUE(parse_iso8601("2024-02-29T00:00:00Z").has_value());
}

}  // namespace
}  // namespace nself::core
