#include "core/origin_policy.hpp"

#include <gtest/gtest.h>

namespace nself::core {
namespace {

OriginPolicy parse_ok(std::string_view list) {
  auto policy = OriginPolicy::parse(list);
  EXPECT_TRUE(policy.ok()) << (policy.ok() ? "" : policy.error().message);
  return policy.ok() ? *policy : OriginPolicy{};
}

TEST(OriginPolicy, EmptyOrBlankListAllowsEveryOrigin) {
  for (const char* list : {"", "  ", ",, ,"}) {
    const auto policy = parse_ok(list);
    EXPECT_TRUE(policy.allows_all()) << list;
    EXPECT_TRUE(policy.allows("https://evil.example"));
    EXPECT_TRUE(policy.allows("null"));
  }
  EXPECT_TRUE(OriginPolicy{}.allows("https://anything.example"));
}

TEST(OriginPolicy, ListedOriginsOnly) {
  const auto policy = parse_ok("https://app.example.com, http://localhost:3000/");
  EXPECT_FALSE(policy.allows_all());
  EXPECT_TRUE(policy.allows("https://app.example.com"));
  EXPECT_TRUE(policy.allows("HTTPS://App.Example.COM"));
  EXPECT_TRUE(policy.allows("http://localhost:3000"));
  EXPECT_FALSE(policy.allows("http://app.example.com"));           // another scheme
  EXPECT_FALSE(policy.allows("https://app.example.com:8443"));     // another port
  EXPECT_FALSE(policy.allows("https://evil.app.example.com"));     // a subdomain
  EXPECT_FALSE(policy.allows("https://app.example.com.evil.io"));  // a suffix
  EXPECT_FALSE(policy.allows("http://localhost"));
  EXPECT_FALSE(policy.allows("null"));
  EXPECT_FALSE(policy.allows(""));
  EXPECT_FALSE(policy.allows("https://app.example.com/path"));
  EXPECT_EQ(policy.origins(),
            (std::vector<std::string>{"https://app.example.com", "http://localhost:3000"}));
}

TEST(OriginPolicy, NoOriginHeaderIsANonBrowserClientAndAllowed) {
  EXPECT_TRUE(parse_ok("https://app.example.com").allows(std::nullopt));
}

TEST(OriginPolicy, StarAllowsEverything) {
  EXPECT_TRUE(parse_ok("https://a.example, *").allows("https://b.example"));
}

TEST(OriginPolicy, MalformedEntriesAreConfigErrors) {
  for (const char* list : {"app.example.com", "ftp://x.example", "https://", "https://a/b",
                           "https://a.example:0", "https://a.example:99999", "https://a b",
                           "https://user@a.example", "https://[::1", "https://a.example:8x"}) {
    const auto policy = OriginPolicy::parse(list);
    ASSERT_FALSE(policy.ok()) << list;
    EXPECT_EQ(policy.error().code, "invalid_config");
    EXPECT_NE(policy.error().message.find("is not an origin"), std::string::npos);
  }
  // A control character is not echoed (messages are one line).
  const auto policy = OriginPolicy::parse("https://a\n.example");
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.error().message.find('\n'), std::string::npos);
}

TEST(OriginPolicy, NormalizesIpv6AndPorts) {
  EXPECT_EQ(normalize_origin("http://[::1]:8080"), "http://[::1]:8080");
  EXPECT_EQ(normalize_origin("HTTP://LOCALHOST"), "http://localhost");
  EXPECT_EQ(normalize_origin("http://[::1"), std::nullopt);
  EXPECT_EQ(normalize_origin("null"), std::nullopt);
  EXPECT_TRUE(parse_ok("http://[::1]:8080").allows("http://[::1]:8080"));
}

}  // namespace
}  // namespace nself::core
