// The RFC 6455 conformance suite: every case in tests/data/ws/*.txt runs as
// its own test (Rfc6455/Conformance.Case/<file>_<title>). Each case runs with
// the split its file asks for and again one byte at a time: the outcome must
// not depend on how the bytes arrive.

#include <gtest/gtest.h>

#include <ostream>

#include "conformance_case.hpp"

namespace nself::test::ws {

// Keeps GoogleTest from printing the raw bytes of a case.
void PrintTo(const Case& c, std::ostream* out) {
  *out << c.file << ":" << c.line << " " << c.title;
}

namespace {

constexpr std::size_t kMinimumCases = 60;

const LoadResult& loaded() {
  static const LoadResult result = load_cases(NSELF_TEST_DATA_DIR "/ws");
  return result;
}

// Fails loudly when a case file does not parse or when the suite is empty,
// since either would otherwise silently skip cases.
TEST(ConformanceFiles, ParseWithoutErrors) {
  const LoadResult& result = loaded();
  for (const auto& error : result.errors) ADD_FAILURE() << error;
  EXPECT_TRUE(result.errors.empty());
}

TEST(ConformanceFiles, ContainEnoughCases) {
  const LoadResult& result = loaded();
  EXPECT_GT(result.files, 0u) << "no case files in " NSELF_TEST_DATA_DIR "/ws";
  EXPECT_GE(result.cases.size(), kMinimumCases);
}

class Conformance : public ::testing::TestWithParam<Case> {};

TEST_P(Conformance, Case) {
  const Case& c = GetParam();
  SCOPED_TRACE(c.file + ":" + std::to_string(c.line) + " " + c.title);
  const std::string declared = run_case(c, c.split);
  EXPECT_EQ(declared, "") << declared;
  if (c.split != Split::kEach) {
    const std::string each = run_case(c, Split::kEach);
    EXPECT_EQ(each, "") << each;
  }
}

INSTANTIATE_TEST_SUITE_P(Rfc6455, Conformance, ::testing::ValuesIn(loaded().cases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Conformance);

}  // namespace
}  // namespace nself::test::ws
