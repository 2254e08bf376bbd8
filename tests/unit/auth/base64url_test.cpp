#include "core/auth/base64url.hpp"

#include <gtest/gtest.h>

namespace nself::core::auth {
namespace {

TEST(Base64Url, EncodesWithoutPaddingUsingTheUrlAlphabet) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");
}

TEST(Base64Url, RoundTripsAllByteValues) {
  std::string bytes;
  for (int value = 0; value < 256; ++value) bytes.push_back(static_cast<char>(value));
  for (std::size_t length = 0; length <= bytes.size(); length += 37) {
    const std::string slice = bytes.substr(0, length);
    const auto decoded = base64url_decode(base64url_encode(slice));
    ASSERT_TRUE(decoded.has_value()) << length;
    EXPECT_EQ(*decoded, slice);
  }
}

TEST(Base64Url, RejectsInvalidInput) {
  EXPECT_FALSE(base64url_decode("Zg==").has_value());  // padding
  EXPECT_FALSE(base64url_decode("Z+8").has_value());   // standard alphabet
  EXPECT_FALSE(base64url_decode("Z/8").has_value());
  EXPECT_FALSE(base64url_decode("Zm9vY").has_value());  // 4n+1 characters
  EXPECT_FALSE(base64url_decode("Zh").has_value());     // non-zero trailing bits
  EXPECT_FALSE(base64url_decode("Zm 9").has_value());
  EXPECT_EQ(base64url_decode("Zg").value(), "f");
}

}  // namespace
}  // namespace nself::core::auth
