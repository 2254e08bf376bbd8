#include "core/auth/json_path.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace nself::core::auth {
namespace {

JsonPath parsed(std::string_view text) {
  auto path = parse_json_path(text);
  if (!path.ok()) {
    ADD_FAILURE() << text << ": " << path.error().message;
    return {};
  }
  return *path;
}

TEST(JsonPath, ParsesHasurasSyntax) {
  EXPECT_EQ(parsed("$"), JsonPath{});
  EXPECT_EQ(parsed("$.hasura.claims"), (JsonPath{std::string("hasura"), std::string("claims")}));
  EXPECT_EQ(parsed("hasura.claims"), (JsonPath{std::string("hasura"), std::string("claims")}));
  EXPECT_EQ(parsed("$.roles[0]"), (JsonPath{std::string("roles"), std::size_t{0}}));
  EXPECT_EQ(parsed("$[12].a"), (JsonPath{std::size_t{12}, std::string("a")}));
  EXPECT_EQ(parsed("$['https://hasura.io/jwt/claims']"),
            (JsonPath{std::string("https://hasura.io/jwt/claims")}));
  EXPECT_EQ(parsed(R"($["a.b"].['c d'])"), (JsonPath{std::string("a.b"), std::string("c d")}));
  EXPECT_EQ(parsed(R"($['it\'s'])"), (JsonPath{std::string("it's")}));
  EXPECT_EQ(parsed("$.x-hasura_id2"), (JsonPath{std::string("x-hasura_id2")}));
}

TEST(JsonPath, RejectsMalformedPaths) {
  for (const std::string_view text :
       {"", "$.", "$..a", "$.1a", "$[", "$[]", "$['a'", "$['a'x]", "$[a]", "$.a b", "$.a]",
        "$a.b c", "$.a.", "$[1", "$.-a", "a[0]b"}) {
    const auto path = parse_json_path(text);
    EXPECT_FALSE(path.ok()) << "accepted " << text;
    if (!path.ok()) {
      EXPECT_EQ(path.error().code, "invalid_config");
    }
  }
}

TEST(JsonPath, ErrorsAreOneLine) {
  const auto path = parse_json_path("$.a\nb");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.error().message.find('\n'), std::string::npos) << path.error().message;
  EXPECT_NE(path.error().message.find("$.a\\x0ab"), std::string::npos) << path.error().message;
}

TEST(JsonPath, FindsMembersIgnoringCase) {
  const boost::json::value document = boost::json::parse(R"({"X-Hasura-User-Id":"u","b":2})");
  EXPECT_EQ(*find_member_ignoring_case(document.get_object(), "x-hasura-user-id"),
            boost::json::value("u"));
  EXPECT_EQ(find_member_ignoring_case(document.get_object(), "x-hasura-user"), nullptr);
  EXPECT_EQ(find_member_ignoring_case(document.get_object(), "x-hasura-user-idd"), nullptr);
}

TEST(JsonPath, FindsWhatThePathNames) {
  const boost::json::value document = boost::json::parse(
      R"({"hasura":{"claims":{"id":"7"},"roles":["user","editor"]},"a.b":{"c":1}})");
  EXPECT_EQ(find_json_path(document, parsed("$")), &document);
  EXPECT_EQ(*find_json_path(document, parsed("$.hasura.claims.id")), boost::json::value("7"));
  EXPECT_EQ(*find_json_path(document, parsed("$.hasura.roles[1]")), boost::json::value("editor"));
  EXPECT_EQ(*find_json_path(document, parsed("$['a.b'].c")), boost::json::value(1));
  EXPECT_EQ(find_json_path(document, parsed("$.hasura.missing")), nullptr);
  EXPECT_EQ(find_json_path(document, parsed("$.hasura.roles[2]")), nullptr);
  EXPECT_EQ(find_json_path(document, parsed("$.hasura[0]")), nullptr);          // not an array
  EXPECT_EQ(find_json_path(document, parsed("$.hasura.roles.name")), nullptr);  // not an object
  EXPECT_EQ(find_json_path(document, parsed("$.hasura.claims.id.deeper")), nullptr);
}

TEST(JsonPath, WritesPathsBackForMessages) {
  EXPECT_EQ(to_string(parsed("$")), "$");
  EXPECT_EQ(to_string(parsed("hasura.claims[0]")), "$.hasura.claims[0]");
  EXPECT_EQ(to_string(parsed("$['https://x.io/c']")), "$['https://x.io/c']");
  EXPECT_EQ(to_string(parsed(R"($['it\'s'])")), R"($['it\'s'])");
}

}  // namespace
}  // namespace nself::core::auth
