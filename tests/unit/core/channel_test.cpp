#include "core/channel.hpp"

#include <gtest/gtest.h>

namespace nself::core {
namespace {

TEST(Slugify, LowerCasesAndJoinsWordsWithDashes) {
  EXPECT_EQ(slugify("General"), "general");
  EXPECT_EQ(slugify("Private Team"), "private-team");
  EXPECT_EQ(slugify("  Dev   Ops  "), "dev-ops");
  EXPECT_EQ(slugify("snake_case_name"), "snake-case-name");
}

TEST(Slugify, DropsCharactersOutsideTheAlphabet) {
  EXPECT_EQ(slugify("Hello, World!"), "hello-world");
  EXPECT_EQ(slugify("caf\xc3\xa9 chat"), "caf-chat");
  EXPECT_EQ(slugify("!!!"), "");
}

TEST(Slugify, TruncatesToSixtyFourCharacters) {
  const std::string slug = slugify(std::string(100, 'a'));
  EXPECT_EQ(slug.size(), 64u);
  EXPECT_TRUE(is_valid_slug(slug));
}

TEST(Slug, Validation) {
  EXPECT_TRUE(is_valid_slug("general"));
  EXPECT_TRUE(is_valid_slug("team-42"));
  EXPECT_FALSE(is_valid_slug(""));
  EXPECT_FALSE(is_valid_slug("-lead"));
  EXPECT_FALSE(is_valid_slug("trail-"));
  EXPECT_FALSE(is_valid_slug("Upper"));
  EXPECT_FALSE(is_valid_slug("has space"));
}

TEST(ChannelType, ParsesTheThreeTypesOnly) {
  EXPECT_EQ(parse_channel_type("public"), ChannelType::kPublic);
  EXPECT_EQ(parse_channel_type("private"), ChannelType::kPrivate);
  EXPECT_EQ(parse_channel_type("presence"), ChannelType::kPresence);
  EXPECT_FALSE(parse_channel_type("Public").has_value());
  EXPECT_FALSE(parse_channel_type("secret").has_value());
  EXPECT_EQ(to_string(ChannelType::kPresence), "presence");
}

TEST(Uuid, RecognisesTheCanonicalForm) {
  EXPECT_TRUE(looks_like_uuid("123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_FALSE(looks_like_uuid("general"));
  EXPECT_FALSE(looks_like_uuid("123e4567e89b12d3a456426614174000"));
  EXPECT_FALSE(looks_like_uuid("123e4567-e89b-12d3-a456-42661417400g"));
}

}  // namespace
}  // namespace nself::core
