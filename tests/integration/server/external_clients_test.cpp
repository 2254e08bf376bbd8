// The transport against real external clients: Node's `ws` package
// (tests/integration/node, installed with `npm ci` there) and Python's
// websockets (/usr/bin/python3). Each scenario is a script run against an
// in-process server; the script exits 0 when the server behaved.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "support/server_fixture.hpp"

namespace nself::test {
namespace {

using namespace std::chrono_literals;

const std::string kNodeDir = NSELF_SOURCE_DIR "/tests/integration/node";
const std::string kPythonDir = NSELF_SOURCE_DIR "/tests/integration/python";

// A child process whose stdout and stderr are read through a pipe.
class Script {
 public:
  explicit Script(const std::string& command) : pipe_(::popen((command + " 2>&1").c_str(), "r")) {
    if (pipe_ == nullptr) throw std::runtime_error("cannot run " + command);
  }
  ~Script() {
    if (pipe_ != nullptr) ::pclose(pipe_);
  }
  // Reads output until a line equal to `line`; false at end of output.
  bool wait_for_line(const std::string& line) {
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe_) != nullptr) {
      std::string got = buffer;
      output_ += got;
      if (got == line + "\n") return true;
    }
    return false;
  }
  // Reads the rest of the output and returns the exit status.
  int finish() {
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe_) != nullptr) output_ += buffer;
    int status = ::pclose(pipe_);
    pipe_ = nullptr;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  const std::string& output() const { return output_; }

 private:
  FILE* pipe_;
  std::string output_;
};

class ExternalClientTest : public ::testing::TestWithParam<std::string> {
 protected:
  void start(server::ServerOptions options) {
    server_ = std::make_unique<RunningServer>(std::move(options), echo_);
  }
  std::string node(const std::string& scenario) const {
    return "node " + kNodeDir + "/transport_client.js " + scenario + " " +
           std::to_string(server_->port());
  }
  std::string python(const std::string& scenario) const {
    return "/usr/bin/python3 " + kPythonDir + "/transport_client.py " + scenario + " " +
           std::to_string(server_->port());
  }
  std::string command(const std::string& scenario) const {
    return GetParam() == "node" ? node(scenario) : python(scenario);
  }
  void SetUp() override {
    if (GetParam() == "node" && !std::filesystem::exists(kNodeDir + "/node_modules/ws")) {
      GTEST_FAIL() << "Node's ws package is missing: run `npm ci` in " << kNodeDir;
    }
  }
  // Runs `scenario` to its end and expects success.
  void expect_passes(const std::string& scenario) {
    Script script(command(scenario));
    int status = script.finish();
    EXPECT_EQ(status, 0) << scenario << ": " << script.output();
  }

  server::EchoHandler echo_;
  std::unique_ptr<RunningServer> server_;
};

TEST_P(ExternalClientTest, EchoAndCloseHandshake) {
  start(test_server_options());
  expect_passes("echo");
}

TEST_P(ExternalClientTest, ClientPingGetsPong) {
  start(test_server_options());
  expect_passes("ping");
}

TEST_P(ExternalClientTest, OversizedMessageCloses1009) {
  auto options = test_server_options();
  options.max_message_bytes = 1024;
  start(options);
  expect_passes("oversize");
}

TEST_P(ExternalClientTest, UnknownPathIs404) {
  start(test_server_options());
  expect_passes("not-found");
}

TEST_P(ExternalClientTest, ManyPipelinedMessagesAreEchoedInOrder) {
  start(test_server_options());
  expect_passes("pipelined");
}

TEST_P(ExternalClientTest, GracefulStopSends1001) {
  start(test_server_options());
  Script script(command("stop"));
  ASSERT_TRUE(script.wait_for_line("open")) << script.output();
  auto took = server_->stop_and_join();
  EXPECT_LT(took, 5s);
  EXPECT_EQ(script.finish(), 0) << script.output();
}

INSTANTIATE_TEST_SUITE_P(Clients, ExternalClientTest, ::testing::Values("node", "python"),
                         [](const auto& info) { return info.param; });

// Scenarios only one of the clients can express.
class NodeClientTest : public ExternalClientTest {};

TEST_P(NodeClientTest, ServerPingsKeepAnAnsweringClientAlive) {
  auto options = test_server_options();
  options.ping_interval = 200ms;
  options.idle_timeout = 600ms;
  start(options);
  expect_passes("server-ping");
}

TEST_P(NodeClientTest, InvalidUtf8Closes1007) {
  start(test_server_options());
  expect_passes("invalid-utf8");
}

TEST_P(NodeClientTest, UpgradePastMaxConnectionsIs503) {
  auto options = test_server_options();
  options.max_connections = 1;
  start(options);
  Script holder(command("stop"));  // holds the one slot until the server stops
  ASSERT_TRUE(holder.wait_for_line("open")) << holder.output();
  expect_passes("full");
  server_->stop_and_join();
  EXPECT_EQ(holder.finish(), 0) << holder.output();
}

TEST_P(NodeClientTest, PermessageDeflateIsDeclined) {
  start(test_server_options());
  expect_passes("no-deflate");
}

INSTANTIATE_TEST_SUITE_P(Node, NodeClientTest, ::testing::Values("node"),
                         [](const auto& info) { return info.param; });

class PythonClientTest : public ExternalClientTest {};

TEST_P(PythonClientTest, CloseCodeIsEchoed) {
  start(test_server_options());
  expect_passes("close-code");
}

INSTANTIATE_TEST_SUITE_P(Python, PythonClientTest, ::testing::Values("python"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace nself::test
