#include "core/env_file.hpp"

#include <gtest/gtest.h>

namespace nself::core {
namespace {

TEST(EnvFile, ParsesAssignmentsCommentsAndBlankLines) {
  const auto file = parse_env_file(
      "# settings\n\nWEBSOCKET_PORT=3200\nexport WEBSOCKET_HOST = 127.0.0.1  # local only\n",
      ".env");
  ASSERT_TRUE(file.ok()) << file.error().message;
  ASSERT_EQ(file->entries.size(), 2u);
  EXPECT_EQ(file->entries[0].key, "WEBSOCKET_PORT");
  EXPECT_EQ(file->entries[0].value, "3200");
  EXPECT_EQ(file->entries[0].line, 3);
  EXPECT_EQ(file->entries[1].key, "WEBSOCKET_HOST");
  EXPECT_EQ(file->entries[1].value, "127.0.0.1");
  EXPECT_EQ(file->entries[1].line, 4);
}

TEST(EnvFile, QuotedValues) {
  const auto file = parse_env_file(
      "A=\"with space # not a comment\"\nB='single \\n kept'\nC=\"esc\\\"aped\\n\"\nD=a#b\n",
      ".env");
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->find("A")->value, "with space # not a comment");
  EXPECT_EQ(file->find("B")->value, "single \\n kept");
  EXPECT_EQ(file->find("C")->value, "esc\"aped\n");
  EXPECT_EQ(file->find("D")->value, "a#b");
}

TEST(EnvFile, HasuraJsonSecretSurvivesSingleQuotes) {
  const auto file =
      parse_env_file(R"(HASURA_GRAPHQL_JWT_SECRET='{"type":"HS256","key":"abc"}')", ".env");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->find("HASURA_GRAPHQL_JWT_SECRET")->value, R"({"type":"HS256","key":"abc"})");
}

TEST(EnvFile, LaterAssignmentWins) {
  const auto file = parse_env_file("A=1\nA=2\n", ".env");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->find("A")->value, "2");
  EXPECT_EQ(file->find("A")->line, 2);
  EXPECT_EQ(file->find("B"), nullptr);
}

TEST(EnvFile, RejectsLinesWithoutAssignmentNamingTheLine) {
  const auto file = parse_env_file("A=1\nnot an assignment\n", "/srv/app/.env");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, "invalid_config");
  EXPECT_EQ(file.error().message, "/srv/app/.env line 2: expected KEY=VALUE");
}

TEST(EnvFile, RejectsBadNamesAndUnterminatedQuotes) {
  auto file = parse_env_file("1ABC=x\n", ".env");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message.find("line 1"), std::string::npos);
  file = parse_env_file("A=\"open\n", ".env");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message.find("unterminated quote"), std::string::npos);
}

TEST(EnvFile, QuoteRoundTrips) {
  for (const std::string value : {"plain", "with space", "quote\"and\\slash", "line\nbreak",
                                  "{\"type\":\"HS256\"}", "hash # sign"}) {
    const auto file = parse_env_file("K=" + quote_env_value(value) + "\n", ".env");
    ASSERT_TRUE(file.ok()) << value;
    EXPECT_EQ(file->find("K")->value, value);
  }
}

}  // namespace
}  // namespace nself::core
