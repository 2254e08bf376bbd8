#include "core/content_filter.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace nself::core {
namespace {

ContentFilter parse_ok(std::string_view list) {
  auto filter = ContentFilter::parse(list);
  EXPECT_TRUE(filter.ok()) << (filter.ok() ? "" : filter.error().message);
  return filter.ok() ? *filter : ContentFilter{};
}

TEST(ContentFilter, EmptyListRedactsNothing) {
  const auto filter = parse_ok(" , ");
  EXPECT_TRUE(filter.empty());
  EXPECT_EQ(filter.redact_json(R"({"text":"anything"})"), std::nullopt);
  EXPECT_EQ(ContentFilter{}.redact_text("anything"), std::nullopt);
}

TEST(ContentFilter, RedactsStringsNotNumbersOrLiterals) {
  const auto filter = parse_ok(R"(\b\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}\b, secret)");
  EXPECT_EQ(filter.size(), 2u);
  const auto redacted = filter.redact_json(
      R"({"text":"card 4111 1111 1111 1111 ok","n":1234123412341234,"t":true,"list":["my secret"]})");
  ASSERT_TRUE(redacted.has_value());
  EXPECT_EQ(boost::json::parse(*redacted),
            boost::json::parse(R"({"text":"card [redacted] ok","n":1234123412341234,"t":true,)"
                               R"("list":["my [redacted]"]})"));
}

// Issue 16 item 14: {"pw-secret123":"secret456"} kept the secret in the key.
TEST(ContentFilter, RedactsObjectKeysAsValues) {
  const auto filter = parse_ok(R"(secret\d+)");
  EXPECT_EQ(filter.redact_json(R"({"pw-secret123":"secret456"})"),
            R"({"pw-[redacted]":"[redacted]"})");
  // Nested objects, objects inside arrays, a key whose value is untouched.
  EXPECT_EQ(filter.redact_json(R"({"a":[{"secret1":1}],"b":{"c":{"x secret22 y":null}}})"),
            R"({"a":[{"[redacted]":1}],"b":{"c":{"x [redacted] y":null}}})");
  // Members keep their order, renamed or not.
  EXPECT_EQ(filter.redact_json(R"({"z":1,"secret9":2,"a":3})"), R"({"z":1,"[redacted]":2,"a":3})");
  EXPECT_EQ(filter.redact_json(R"({"keys":"none here"})"), std::nullopt);
}

TEST(ContentFilter, KeysThatCollideAfterRedactionGetTheFirstFreeSuffix) {
  const auto filter = parse_ok(R"(secret\d+)");
  // Two redacted keys become the same name: the second is "... (2)".
  EXPECT_EQ(filter.redact_json(R"({"secret1":"a","secret2":"b","secret3":"c"})"),
            R"j({"[redacted]":"a","[redacted] (2)":"b","[redacted] (3)":"c"})j");
  // A key that was not redacted keeps its name, wherever it is; the redacted
  // one moves aside, also past a suffix already in use.
  EXPECT_EQ(filter.redact_json(R"j({"secret1":"a","[redacted]":"b","[redacted] (2)":"c"})j"),
            R"j({"[redacted] (3)":"a","[redacted]":"b","[redacted] (2)":"c"})j");
  // Names are unique per object: a nested object has its own.
  EXPECT_EQ(filter.redact_json(R"({"k-secret1":1,"k-secret2":{"k-secret3":2}})"),
            R"j({"k-[redacted]":1,"k-[redacted] (2)":{"k-[redacted]":2}})j");
}

TEST(ContentFilter, AKeyTheMatcherGivesUpOnIsRedactedWhole) {
  const auto filter = parse_ok("(a+)+b");
  const std::string hostile(5000, 'a');
  EXPECT_EQ(filter.redact_json("{\"" + hostile + "c\":1}"), R"({"[redacted]":1})");
}

TEST(ContentFilter, UntouchedContentKeepsItsBytes) {
  const auto filter = parse_ok("secret");
  EXPECT_EQ(filter.redact_json(R"({ "text" : "nothing here" })"), std::nullopt);
}

TEST(ContentFilter, ScalarStringContent) {
  EXPECT_EQ(parse_ok("foo").redact_json(R"("a foo b")"), R"("a [redacted] b")");
}

TEST(ContentFilter, EscapedCommaAndCaseInsensitivePatterns) {
  const auto filter = parse_ok(R"(a\,b, (?i)password=\S+)");
  EXPECT_EQ(filter.size(), 2u);
  EXPECT_EQ(filter.redact_text("x a,b y"), "x [redacted] y");
  EXPECT_EQ(filter.redact_text("PassWord=hunter2 now"), "[redacted] now");
  EXPECT_EQ(filter.redact_text("a b"), std::nullopt);
}

TEST(ContentFilter, EscapesThatNeedJsonEscapingStayValid) {
  const auto filter = parse_ok("x");
  const auto redacted = filter.redact_json(R"(["x\"\\\n\u0000"])");
  ASSERT_TRUE(redacted.has_value());
  EXPECT_EQ(boost::json::parse(*redacted), boost::json::parse(R"(["[redacted]\"\\\n\u0000"])"));
}

TEST(ContentFilter, EmptyMatchesAreIgnored) {
  EXPECT_EQ(parse_ok("x*").redact_text("abc"), std::nullopt);
}

TEST(ContentFilter, CatastrophicBacktrackingFailsClosedInsteadOfHanging) {
  const auto filter = parse_ok("(a+)+b");
  const std::string hostile(5000, 'a');
  // No match exists, but proving it takes exponential backtracking: Boost.Regex
  // gives up past its complexity limit (deterministically for this pair), and
  // the filter must then redact the whole value rather than pass it through.
  const auto redacted = filter.redact_json("\"" + hostile + "c\"");
  ASSERT_TRUE(redacted.has_value()) << "the matcher's give-up passed the text through";
  EXPECT_EQ(*redacted, "\"[redacted]\"");
  EXPECT_EQ(filter.redact_text(hostile + "c"), std::string(kRedacted));
}

TEST(ContentFilter, BadPatternsAreConfigErrorsWithoutEchoingThem) {
  const auto filter = ContentFilter::parse("ok, (unclosed");
  ASSERT_FALSE(filter.ok());
  EXPECT_EQ(filter.error().code, "invalid_config");
  EXPECT_NE(filter.error().message.find("pattern 2"), std::string::npos);
  EXPECT_EQ(filter.error().message.find("unclosed"), std::string::npos);
  EXPECT_FALSE(ContentFilter::parse(std::string(2000, 'a')).ok());
  std::string many;
  for (int i = 0; i < 65; ++i) many += "p" + std::to_string(i) + ",";
  EXPECT_FALSE(ContentFilter::parse(many).ok());
}

TEST(ContentFilter, UninspectableContentIsRedactedWhole) {
  EXPECT_EQ(parse_ok("a").redact_json("{not json a"), "\"[redacted]\"");
}

// Regression (found while fixing the protocol fuzzer's depth limit): Boost.JSON's
// default depth of 32 is below the protocol's 64, so content nested 33-64 deep
// failed to parse in the filter and went through unfiltered.
TEST(ContentFilter, DeeplyNestedContentIsFiltered) {
  const std::string deep = std::string(60, '[') + "\"my secret\"" + std::string(60, ']');
  const auto redacted = parse_ok("secret").redact_json(deep);
  ASSERT_TRUE(redacted.has_value());
  EXPECT_EQ(*redacted, std::string(60, '[') + "\"my [redacted]\"" + std::string(60, ']'));
}

}  // namespace
}  // namespace nself::core
