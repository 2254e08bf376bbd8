#include <gtest/gtest.h>

#include "core/ws/frame_codec.hpp"

namespace nself::core::ws {
namespace {

TEST(Handshake, AcceptKeyMatchesTheRfcExample) {
  // RFC 6455 section 1.3.
  EXPECT_EQ(compute_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(Handshake, AcceptKeyDependsOnEveryCharacterOfTheKey) {
  const std::string base = compute_accept_key("dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_NE(compute_accept_key("dGhlIHNhbXBsZSBub25jZA=="), base);
  EXPECT_NE(compute_accept_key("eGhlIHNhbXBsZSBub25jZQ=="), base);
  EXPECT_EQ(compute_accept_key("x").size(), 28u);
  EXPECT_EQ(compute_accept_key("").size(), 28u);
}

TEST(Handshake, ValidClientKeys) {
  EXPECT_TRUE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_TRUE(is_valid_client_key("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(is_valid_client_key("/+/+/+/+/+/+/+/+/+/+/w=="));
  EXPECT_TRUE(is_valid_client_key("x3JJHMbDL1EzLkh9GBhXDw=="));
}

TEST(Handshake, InvalidClientKeys) {
  EXPECT_FALSE(is_valid_client_key(""));
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ="));     // 23 characters
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ==="));   // 25 characters
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQAA"));    // no padding
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25j=Q=="));    // padding inside
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZ-=="));    // base64url character
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZR=="));    // non-zero padding bits
  EXPECT_FALSE(is_valid_client_key(" dGhlIHNhbXBsZSBub25jZQ="));    // whitespace
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ==\n"));  // trailing newline
  EXPECT_FALSE(is_valid_client_key("c2hvcnQ="));                    // 5 bytes
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZXM="));    // 17 bytes (one "=")
}

}  // namespace
}  // namespace nself::core::ws
