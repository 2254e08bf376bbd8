// The engine's case runner (engine_case_runner.hpp) on small inline files:
// what it skips and how it fails, independent of what the roles answer.

#include "engine_case_runner.hpp"

#include <gtest/gtest.h>

namespace nself::test::engine {
namespace {

FileOutcome run(const std::string& text, core::engine::ShardIndex shards = 1) {
  return run_file_on_engine(protocol::parse_case_file(text, "inline.txt"), shards);
}

TEST(EngineCaseRunner, SocketLevelStepsAreSkippedWithTheRestOnTheirConnection) {
  const auto outcome =
      run("config: REALTIME_MAX_MESSAGE_BYTES=128\n"
          "case: raw frames\n"
          "connect: a anonymous\n"
          "send-frame: a binary \"x\"\n"
          "expect-close: a 1003\n"
          "case: too big\n"
          "connect: b anonymous\n"
          "send: b " +
          std::string(200, 'x') +
          "\n"
          "expect-close: b 1009\n");
  ASSERT_TRUE(outcome.setup_error.empty()) << outcome.setup_error;
  ASSERT_EQ(outcome.cases.size(), 2u);
  for (const auto& c : outcome.cases) {
    EXPECT_TRUE(c.passed) << c.failure;
    EXPECT_FALSE(c.checked);
    ASSERT_EQ(c.skipped.size(), 2u);
  }
  EXPECT_NE(outcome.cases[0].skipped[0].find("inline.txt:4: send-frame:"), std::string::npos)
      << outcome.cases[0].skipped[0];
  EXPECT_NE(outcome.cases[1].skipped[0].find("REALTIME_MAX_MESSAGE_BYTES"), std::string::npos);
  EXPECT_NE(outcome.cases[1].skipped[1].find("expect-close"), std::string::npos);
}

TEST(EngineCaseRunner, ABadUpgradeTokenRefusesTheConnectionBeforeTheEngine) {
  const auto outcome =
      run("token: bad alice secret=wrong\n"
          "case: refused\n"
          "connect: a token=$bad\n"
          "expect-http: a 401\n"
          "case: then used\n"
          "connect: b token=$bad\n"
          "send: b {\"type\":\"ping\"}\n",
          2);
  ASSERT_EQ(outcome.cases.size(), 2u);
  EXPECT_TRUE(outcome.cases[0].passed) << outcome.cases[0].failure;
  EXPECT_FALSE(outcome.cases[0].checked);
  EXPECT_FALSE(outcome.cases[1].passed);
  EXPECT_NE(outcome.cases[1].failure.find("inline.txt:7: case 'then used': connection 'b' was "
                                          "refused at the upgrade"),
            std::string::npos)
      << outcome.cases[1].failure;
}

TEST(EngineCaseRunner, AStepOnAnUnknownConnectionFailsTheCaseWithItsLine) {
  const auto outcome = run("case: nobody\nexpect: z {\"type\":\"pong\"}\n");
  ASSERT_EQ(outcome.cases.size(), 1u);
  EXPECT_FALSE(outcome.cases[0].passed);
  EXPECT_EQ(outcome.cases[0].failure, "inline.txt:2: case 'nobody': no connection 'z' is open");
}

}  // namespace
}  // namespace nself::test::engine
