// UTF-8 validation (RFC 3629), with cases in the style of Markus Kuhn's
// UTF-8 decoder stress test.

#include <gtest/gtest.h>

#include <string>

#include "core/ws/frame_codec.hpp"

namespace nself::core::ws {
namespace {

TEST(Utf8, AcceptsValidText) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ASCII, long enough to use the 8-byte path"));
  EXPECT_TRUE(is_valid_utf8(std::string("\0", 1)));
  EXPECT_TRUE(is_valid_utf8("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));  // Greek "kosme"
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
}

TEST(Utf8, AcceptsTheBoundariesOfEachSequenceLength) {
  EXPECT_TRUE(is_valid_utf8("\x7f"));              // U+007F
  EXPECT_TRUE(is_valid_utf8("\xc2\x80"));          // U+0080
  EXPECT_TRUE(is_valid_utf8("\xdf\xbf"));          // U+07FF
  EXPECT_TRUE(is_valid_utf8("\xe0\xa0\x80"));      // U+0800
  EXPECT_TRUE(is_valid_utf8("\xed\x9f\xbf"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(is_valid_utf8("\xee\x80\x80"));      // U+E000, just above them
  EXPECT_TRUE(is_valid_utf8("\xef\xbf\xbd"));      // U+FFFD
  EXPECT_TRUE(is_valid_utf8("\xef\xbf\xbf"));      // U+FFFF (a noncharacter, still valid)
  EXPECT_TRUE(is_valid_utf8("\xf0\x90\x80\x80"));  // U+10000
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
}

TEST(Utf8, RejectsOverlongForms) {
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));                  // '/' in 2 bytes
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));              // '/' in 3 bytes
  EXPECT_FALSE(is_valid_utf8("\xf0\x80\x80\xaf"));          // '/' in 4 bytes
  EXPECT_FALSE(is_valid_utf8("\xc1\xbf"));                  // U+007F in 2 bytes
  EXPECT_FALSE(is_valid_utf8("\xe0\x9f\xbf"));              // U+07FF in 3 bytes
  EXPECT_FALSE(is_valid_utf8("\xf0\x8f\xbf\xbf"));          // U+FFFF in 4 bytes
  EXPECT_FALSE(is_valid_utf8("\xc0\x80"));                  // NUL in 2 bytes ("modified UTF-8")
  EXPECT_FALSE(is_valid_utf8("\xf8\x88\x80\x80\x80"));      // 5-byte form
  EXPECT_FALSE(is_valid_utf8("\xfc\x84\x80\x80\x80\x80"));  // 6-byte form
}

TEST(Utf8, RejectsSurrogates) {
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));              // U+D800
  EXPECT_FALSE(is_valid_utf8("\xed\xad\xbf"));              // U+DB7F
  EXPECT_FALSE(is_valid_utf8("\xed\xb0\x80"));              // U+DC00
  EXPECT_FALSE(is_valid_utf8("\xed\xbf\xbf"));              // U+DFFF
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80\xed\xb0\x80"));  // a CESU-8 pair
}

TEST(Utf8, RejectsCodePointsAboveU10ffff) {
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xf7\xbf\xbf\xbf"));  // U+1FFFFF
}

TEST(Utf8, RejectsTruncatedSequences) {
  EXPECT_FALSE(is_valid_utf8("\xc3"));
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));
  EXPECT_FALSE(is_valid_utf8("\xf0\x9f\x98"));
  EXPECT_FALSE(is_valid_utf8("abc\xf0"));
  EXPECT_FALSE(is_valid_utf8("\xe2\x82 x"));  // interrupted by ASCII
}

TEST(Utf8, RejectsStrayAndImpossibleBytes) {
  EXPECT_FALSE(is_valid_utf8("\x80"));
  EXPECT_FALSE(is_valid_utf8("\xbf"));
  EXPECT_FALSE(is_valid_utf8("a\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xfe"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\xc3\xa9\xa9"));  // one continuation too many
  EXPECT_FALSE(is_valid_utf8("\xc3\xc3\xa9"));  // lead byte where a continuation is due
}

TEST(Utf8, EveryLeadByteAgainstEverySecondByte) {
  // The set of valid two-byte prefixes, as RFC 3629 section 4 defines it.
  for (int lead = 0x80; lead <= 0xFF; ++lead) {
    for (int next = 0x00; next <= 0xFF; ++next) {
      int low = -1;
      int high = -1;
      int length = 0;
      if (lead >= 0xC2 && lead <= 0xDF) low = 0x80, high = 0xBF, length = 2;
      if (lead == 0xE0) low = 0xA0, high = 0xBF, length = 3;
      if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF)
        low = 0x80, high = 0xBF, length = 3;
      if (lead == 0xED) low = 0x80, high = 0x9F, length = 3;
      if (lead == 0xF0) low = 0x90, high = 0xBF, length = 4;
      if (lead >= 0xF1 && lead <= 0xF3) low = 0x80, high = 0xBF, length = 4;
      if (lead == 0xF4) low = 0x80, high = 0x8F, length = 4;
      std::string text{static_cast<char>(lead), static_cast<char>(next)};
      const bool expected = length > 0 && next >= low && next <= high;
      if (length > 2) text.append(static_cast<std::size_t>(length - 2), '\x80');
      EXPECT_EQ(is_valid_utf8(text), expected) << std::hex << lead << " " << next;
    }
  }
}

}  // namespace
}  // namespace nself::core::ws
