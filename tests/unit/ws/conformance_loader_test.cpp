// The conformance driver itself: a broken case file or an empty suite must be
// reported, and a wrong expectation must make a case fail.

#include <gtest/gtest.h>

#include "conformance_case.hpp"
#include "support/temp_dir.hpp"

namespace nself::test::ws {
namespace {

TEST(ConformanceLoader, ParsesEveryInputAndExpectationForm) {
  TempDir dir;
  dir.write("a.txt",
            "# comment\n"
            "case: one\n"
            "limit: 10\n"
            "split: 3\n"
            "in: 81 85 37 fa 21 3d 7f 9f 4d 51 58\n"
            "in-masked: ping fin=1 mask=01020304 \"p\\x41\"*2 00\n"
            "expect: text \"Hello\"\n"
            "expect: ping-hex 70 41 70 41 00\n"
            "\n"
            "case: two\n"
            "role: client\n"
            "in-frame: close 03 e8\n"
            "expect: close 1000\n");
  const LoadResult result = load_cases(dir.path());
  ASSERT_TRUE(result.errors.empty()) << result.errors.front();
  ASSERT_EQ(result.cases.size(), 2u);
  EXPECT_EQ(result.cases[0].name, "a_one");
  EXPECT_EQ(result.cases[0].limit, 10u);
  EXPECT_EQ(result.cases[0].split, Split::kChunk);
  const std::string masked_payload = {'p' ^ 1, 'A' ^ 2, 'p' ^ 3, 'A' ^ 4, 0 ^ 1};
  EXPECT_EQ(result.cases[0].inputs[1], "\x89\x85\x01\x02\x03\x04" + masked_payload);
  EXPECT_TRUE(result.cases[1].client_role);
  EXPECT_EQ(run_case(result.cases[0], Split::kEach), "");
  EXPECT_EQ(run_case(result.cases[1], Split::kWhole), "");
}

TEST(ConformanceLoader, ReportsParseErrorsWithFileAndLine) {
  TempDir dir;
  dir.write("bad.txt",
            "case: unknown key\n"
            "inn: 81 00\n"
            "case: bad hex\n"
            "in: 8g\n"
            "case: no expectation\n"
            "in: 81 80 00 00 00 00\n"
            "case: unterminated\n"
            "in-masked: text \"abc\n"
            "expect: text \"abc\"\n"
            "case: fail not last\n"
            "in: 81 00\n"
            "expect: fail 1002\n"
            "expect: text \"\"\n"
            "case: fine\n"
            "in-masked: text \"\"\n"
            "expect: text \"\"\n");
  const LoadResult result = load_cases(dir.path());
  ASSERT_EQ(result.errors.size(), 5u);
  EXPECT_EQ(result.errors[0].rfind("bad.txt:2: ", 0), 0u) << result.errors[0];
  EXPECT_EQ(result.errors[1].rfind("bad.txt:4: ", 0), 0u) << result.errors[1];
  ASSERT_EQ(result.cases.size(), 1u);
  EXPECT_EQ(result.cases[0].title, "fine");
}

TEST(ConformanceLoader, ReportsAMissingOrEmptyDirectory) {
  TempDir dir;
  const LoadResult empty = load_cases(dir.path());
  EXPECT_EQ(empty.files, 0u);
  EXPECT_TRUE(empty.cases.empty());
  const LoadResult missing = load_cases(dir.path() / "nowhere");
  EXPECT_EQ(missing.errors.size(), 1u);
}

TEST(ConformanceLoader, AWrongExpectationFailsTheCase) {
  TempDir dir;
  dir.write("w.txt",
            "case: wrong text\n"
            "in-masked: text \"Hello\"\n"
            "expect: text \"Hellx\"\n"
            "case: wrong code\n"
            "in: 81 05 48 65 6c 6c 6f\n"
            "expect: fail 1007\n"
            "case: late failure\n"
            "in-masked: text \"ab\" ff\n"
            "expect: fail 1007 after 3\n"
            "case: missing pending\n"
            "in-masked: text fin=0 \"a\"\n"
            "expect: none\n");
  const LoadResult result = load_cases(dir.path());
  ASSERT_TRUE(result.errors.empty());
  ASSERT_EQ(result.cases.size(), 4u);
  for (const auto& c : result.cases) {
    EXPECT_NE(run_case(c, Split::kEach), "") << c.title;
  }
}

}  // namespace
}  // namespace nself::test::ws
