// The protocol conformance files (tests/data/protocol/*.txt) against the real
// binary over sockets: one test per file (ProtocolFiles/OverSockets.File/<file>),
// one server per file, its cases in order. A failure names file:line, the
// expected and the actual frame, and shows the end of the server's log.

#include <gtest/gtest.h>

#include <cstdlib>
#include <ostream>

#include "socket_driver.hpp"
#include "support/protocol_case.hpp"

namespace nself::test::protocol {

// Keeps GoogleTest from printing a whole file's steps.
void PrintTo(const CaseFile& file, std::ostream* out) {
  *out << file.file;
}

namespace {

// The suite must not shrink unnoticed (issue 15: at least 150 cases).
constexpr std::size_t kMinimumCases = 150;

// NSELF_PROTOCOL_CASES=<dir> runs the files of another directory instead
// (while writing cases); the minimum count then does not apply.
const char* other_directory() {
  return std::getenv("NSELF_PROTOCOL_CASES");
}

const LoadResult& loaded() {
  static const LoadResult result =
      load_case_files(other_directory() ? other_directory() : NSELF_TEST_DATA_DIR "/protocol");
  return result;
}

TEST(ProtocolCaseFiles, ParseWithoutErrors) {
  for (const auto& error : loaded().errors) ADD_FAILURE() << error;
  EXPECT_FALSE(loaded().files.empty()) << "no case files in " NSELF_TEST_DATA_DIR "/protocol";
}

TEST(ProtocolCaseFiles, HoldEnoughCases) {
  std::size_t cases = 0;
  for (const auto& file : loaded().files) cases += file.cases.size();
  if (other_directory()) GTEST_SKIP() << cases << " cases in " << other_directory();
  EXPECT_GE(cases, kMinimumCases);
}

class OverSockets : public ::testing::TestWithParam<CaseFile> {};

TEST_P(OverSockets, File) {
  const CaseFile& file = GetParam();
  const FileRun run = run_file_over_sockets(file);
  for (const auto& failure : run.failures) ADD_FAILURE() << failure.message;
  if (!run.failures.empty()) {
    ADD_FAILURE() << "the end of the server's log:\n" << run.server_log;
  }
  EXPECT_EQ(run.cases_run, static_cast<int>(file.cases.size()));
}

INSTANTIATE_TEST_SUITE_P(ProtocolFiles, OverSockets, ::testing::ValuesIn(loaded().files),
                         [](const ::testing::TestParamInfo<CaseFile>& info) {
                           return info.param.name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OverSockets);

}  // namespace
}  // namespace nself::test::protocol
