// Runs the built `nself` binary in a temporary project directory and checks
// its output, --json and exit codes. The PostgreSQL variants are in
// cli_postgres_test.cpp.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace nself::test {
namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << file.rdbuf();
  return buffer.str();
}

class CliTest : public ::testing::Test {
 protected:
  ProcessResult nself(const std::vector<std::string>& arguments,
                      std::map<std::string, std::string> environment = {}) {
    ProcessOptions options;
    options.working_dir = project_.path();
    options.environment = std::move(environment);
    return run_nself(arguments, options);
  }
  ProcessResult realtime(std::vector<std::string> arguments,
                         std::map<std::string, std::string> environment = {}) {
    arguments.insert(arguments.begin(), "realtime");
    return nself(arguments, std::move(environment));
  }
  boost::json::object json_of(const ProcessResult& result) {
    boost::json::error_code error;
    auto value = boost::json::parse(result.out, error);
    EXPECT_FALSE(error) << "not JSON: " << result.out;
    EXPECT_TRUE(value.is_object()) << result.out;
    return value.is_object() ? value.as_object() : boost::json::object();
  }
  void init() {
    const auto result = realtime({"init"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }

  TempDir project_;
};

TEST_F(CliTest, VersionAtBothLevels) {
  auto result = nself({"--version"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, std::string("nself ") + NSELF_VERSION + "\n");
  result = realtime({"--version"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, std::string("nself realtime ") + NSELF_VERSION + "\n");
}

TEST_F(CliTest, HelpOnEveryLevel) {
  const std::vector<std::vector<std::string>> levels = {{"-h"},
                                                        {"realtime", "--help"},
                                                        {"realtime", "-h"},
                                                        {"realtime", "channel", "-h"},
                                                        {"realtime", "channel", "create", "--help"},
                                                        {"realtime", "status", "-h"},
                                                        {"realtime", "logs", "-h"}};
  for (const auto& arguments : levels) {
    const auto result = nself(arguments);
    EXPECT_EQ(result.exit_code, 0) << arguments.back();
    EXPECT_NE(result.out.find("Usage"), std::string::npos) << result.out;
  }
  const auto help = realtime({"--help"});
  for (const char* text : {"init", "start", "stop", "restart", "status", "logs", "channel",
                           "--json", "--port", "Exit codes", "presence"}) {
    EXPECT_NE(help.out.find(text), std::string::npos) << text;
  }
}

TEST_F(CliTest, UnknownCommandIsAUsageError) {
  auto result = realtime({"frobnicate"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("error"), std::string::npos);
  result = nself({});
  EXPECT_EQ(result.exit_code, 2);
  result = realtime({"channel", "create"});  // missing name
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("name"), std::string::npos) << result.err;
}

TEST_F(CliTest, InitCreatesEnvStateAndSchema) {
  const auto result = realtime({"init"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Next steps"), std::string::npos);
  EXPECT_NE(result.out.find("applied 0001"), std::string::npos) << result.out;

  const auto env = read_text(project_.path() / ".env");
  EXPECT_NE(env.find("WEBSOCKET_PORT=3100\n"), std::string::npos);
  EXPECT_NE(env.find("WEBSOCKET_HOST=0.0.0.0\n"), std::string::npos);
  EXPECT_NE(env.find("WEBSOCKET_MAX_CONNECTIONS=1000\n"), std::string::npos);
  EXPECT_NE(env.find("WEBSOCKET_PING_INTERVAL=30\n"), std::string::npos);
  EXPECT_NE(env.find("WEBSOCKET_TIMEOUT=60\n"), std::string::npos);
  EXPECT_TRUE(std::regex_search(env, std::regex("REALTIME_JWT_SECRET=[0-9a-f]{64}\n")));
  EXPECT_TRUE(std::regex_search(env, std::regex("REALTIME_ADMIN_SECRET=[0-9a-f]{48}\n")));
  struct stat info {};
  ASSERT_EQ(stat((project_.path() / ".env").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u) << "the file holds secrets";
  EXPECT_TRUE(std::filesystem::exists(project_.path() / ".nself/realtime/realtime.db"));
}

TEST_F(CliTest, InitTwiceChangesNothing) {
  init();
  const auto env_before = read_text(project_.path() / ".env");
  const auto result = realtime({"init", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(read_text(project_.path() / ".env"), env_before);
  const auto json = json_of(result);
  EXPECT_EQ(json.at("env_file_created"), false);
  EXPECT_TRUE(json.at("env_keys_added").as_array().empty());
  EXPECT_TRUE(json.at("migrations_applied").as_array().empty());
  EXPECT_GE(json.at("schema_version").as_int64(), 1);
  EXPECT_EQ(json.at("backend"), "sqlite");
}

TEST_F(CliTest, InitNeverOverwritesExistingValues) {
  project_.write(".env", "# mine\nWEBSOCKET_PORT=4000\nREALTIME_JWT_SECRET=my-own-secret");
  const auto result = realtime({"init"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto env = read_text(project_.path() / ".env");
  EXPECT_EQ(env.rfind("# mine\nWEBSOCKET_PORT=4000\nREALTIME_JWT_SECRET=my-own-secret\n", 0), 0u)
      << env;
  EXPECT_EQ(env.find("WEBSOCKET_PORT=3100"), std::string::npos);
  EXPECT_NE(env.find("WEBSOCKET_HOST=0.0.0.0"), std::string::npos);
  EXPECT_EQ(env.find("REALTIME_JWT_SECRET", 40), std::string::npos) << "secret written twice";
  EXPECT_NE(result.out.find("ws://localhost:4000"), std::string::npos) << result.out;
}

TEST_F(CliTest, HasuraSecretMeansNoGeneratedJwtSecret) {
  project_.write(".env", "HASURA_GRAPHQL_JWT_SECRET='{\"type\":\"HS256\",\"key\":\"k\"}'\n");
  init();
  EXPECT_EQ(read_text(project_.path() / ".env").find("REALTIME_JWT_SECRET"), std::string::npos);
}

TEST_F(CliTest, BadConfigurationIsExitTwoNamingKeyAndOrigin) {
  project_.write(".env", "# comment\nWEBSOCKET_PORT=abc\n");
  auto result = realtime({"init"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("WEBSOCKET_PORT (.env line 2): \"abc\" is not a port number"),
            std::string::npos)
      << result.err;

  project_.write(".env", "");
  result = realtime({"status"}, {{"WEBSOCKET_PORT", "70000"}});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("WEBSOCKET_PORT (environment): \"70000\""), std::string::npos);

  result = realtime({"status", "--port", "abc"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--port"), std::string::npos);

  result = realtime({"init"}, {{"REALTIME_MAX_MESSAGES_PER_SECOND", "-1"}});
  EXPECT_EQ(result.exit_code, 2);
  result = realtime({"init"}, {{"REALTIME_DEFAULT_CHANNEL_TYPE", "secret"}});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("REALTIME_DEFAULT_CHANNEL_TYPE"), std::string::npos);
  result = realtime({"init"}, {{"DATABASE_URL", "mysql://localhost/db"}});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("DATABASE_URL (environment)"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(project_.path() / ".nself/realtime/realtime.db"));
}

TEST_F(CliTest, BadConfigurationInJsonModeIsAJsonError) {
  project_.write(".env", "WEBSOCKET_PORT=abc\n");
  const auto result = realtime({"status", "--json"});
  EXPECT_EQ(result.exit_code, 2);
  const auto json = json_of(result);
  EXPECT_EQ(json.at("error").at("code"), "invalid_config");
}

TEST_F(CliTest, CommandsBeforeInitSaySo) {
  const auto result = realtime({"channel", "list"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("nself realtime init"), std::string::npos) << result.err;
}

TEST_F(CliTest, ChannelLifecycle) {
  init();
  auto result = realtime({"channel", "create", "General"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Created public channel 'General' (slug: general"), std::string::npos)
      << result.out;

  result = realtime({"channel", "create", "private-team", "private"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  result = realtime({"channel", "create", "Lobby Room", "presence", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto created = json_of(result).at("channel").as_object();
  EXPECT_EQ(created.at("slug"), "lobby-room");
  EXPECT_EQ(created.at("type"), "presence");
  EXPECT_EQ(created.at("is_persistent"), true);
  const std::string lobby_id(created.at("id").as_string());

  result = realtime({"channel", "list"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::istringstream lines(result.out);
  std::string header;
  std::getline(lines, header);
  EXPECT_EQ(header.rfind("SLUG", 0), 0u) << header;
  const auto type_column = header.find("TYPE");
  int rows = 0;
  for (std::string line; std::getline(lines, line); ++rows) {
    ASSERT_GT(line.size(), type_column);
    const auto type = line.substr(type_column, line.find(' ', type_column) - type_column);
    EXPECT_TRUE(type == "public" || type == "private" || type == "presence") << line;
  }
  EXPECT_EQ(rows, 3);

  result = realtime({"channel", "list", "--json"});
  const auto channels = json_of(result).at("channels").as_array();
  ASSERT_EQ(channels.size(), 3u);
  for (const auto& channel : channels) {
    for (const char* key :
         {"id", "name", "slug", "description", "type", "max_members", "is_persistent", "metadata",
          "created_at", "created_by", "archived_at", "last_seq"}) {
      EXPECT_TRUE(channel.as_object().contains(key)) << key;
    }
  }

  result = realtime({"channel", "delete", "general"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Deleted channel 'General'"), std::string::npos);
  result = realtime({"channel", "delete", lobby_id, "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(json_of(result).at("deleted").at("id").as_string(), lobby_id);
  result = realtime({"channel", "list", "--json"});
  EXPECT_EQ(json_of(result).at("channels").as_array().size(), 1u);
}

TEST_F(CliTest, ChannelErrors) {
  init();
  ASSERT_EQ(realtime({"channel", "create", "general"}).exit_code, 0);
  auto result = realtime({"channel", "create", "General"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("a channel with slug 'general' already exists"), std::string::npos);

  result = realtime({"channel", "create", "x", "secret"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("unknown channel type 'secret'"), std::string::npos);

  result = realtime({"channel", "create", "!!!"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("empty slug"), std::string::npos);

  result = realtime({"channel", "delete", "nope", "--json"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(json_of(result).at("error").at("code"), "not_found");
  EXPECT_NE(result.err.find("no channel with id or slug 'nope'"), std::string::npos);
}

TEST_F(CliTest, DefaultChannelTypeComesFromConfiguration) {
  init();
  const auto result = realtime({"channel", "create", "room", "--json"},
                               {{"REALTIME_DEFAULT_CHANNEL_TYPE", "private"}});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(json_of(result).at("channel").at("type"), "private");
}

TEST_F(CliTest, StatusWhenStoppedIsExitThree) {
  init();
  auto result = realtime({"status"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.out.find("stopped"), std::string::npos);
  result = realtime({"status", "--json", "--port", "3999"});
  EXPECT_EQ(result.exit_code, 3);
  const auto json = json_of(result);
  EXPECT_EQ(json.at("running"), false);
  EXPECT_EQ(json.at("port"), 3999);
}

TEST_F(CliTest, StalePidFileIsHandled) {
  init();
  // A pid that is certainly not an nself server: our own test binary's parent is
  // not nself; pid 1 is init.
  project_.write(".nself/realtime/server-3100.pid", "1\n");
  const auto result = realtime({"status"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_FALSE(std::filesystem::exists(project_.path() / ".nself/realtime/server-3100.pid"));
}

TEST_F(CliTest, NselfRealtimeAliasTakesTheSubcommandsArguments) {
  init();
  ProcessOptions options;
  options.working_dir = project_.path();
  options.argv0 = "/usr/local/bin/nself-realtime";
  auto result = run_process({"channel", "create", "alias-made"}, options);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  result = run_process({"realtime", "channel", "list", "--json"}, options);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(json_of(result).at("channels").at(0).at("slug"), "alias-made");
}

// The permission bits of `path` in octal ("0600"), or "missing".
std::string mode_of(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return "missing";
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(info.st_mode & 0777));
  return text;
}

// Runs with umask 022 (the usual one, which gives 0644 files and 0755 folders
// unless the code asks for less) and restores the test's own afterwards.
class Umask022 {
 public:
  Umask022() : previous_(::umask(022)) {}
  ~Umask022() { ::umask(previous_); }
  Umask022(const Umask022&) = delete;
  Umask022& operator=(const Umask022&) = delete;

 private:
  mode_t previous_;
};

// Stops the servers a test started (by port), also when the test fails early.
class StopsServers {
 public:
  explicit StopsServers(std::function<void(int)> stop) : stop_(std::move(stop)) {}
  ~StopsServers() {
    for (const int port : ports_) stop_(port);
  }
  StopsServers(const StopsServers&) = delete;
  StopsServers& operator=(const StopsServers&) = delete;
  void add(int port) { ports_.push_back(port); }

 private:
  std::function<void(int)> stop_;
  std::vector<int> ports_;
};

TEST_F(CliTest, CommandsWithoutPortUseTheServerStartedWithPort) {
  const int configured = free_port();  // in .env, never started
  const int port = free_port();
  project_.write(".env",
                 "WEBSOCKET_HOST=127.0.0.1\nWEBSOCKET_PORT=" + std::to_string(configured) + "\n");
  init();
  StopsServers servers([this](int p) { realtime({"stop", "--port", std::to_string(p)}); });
  servers.add(port);
  auto result = realtime({"start", "--port", std::to_string(port)});
  ASSERT_EQ(result.exit_code, 0) << result.err;

  result = realtime({"status"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find(":" + std::to_string(port)), std::string::npos) << result.out;
  result = realtime({"status", "--json"});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(json_of(result).at("port"), port);
  result = realtime({"logs", "--no-follow", "-n", "5"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  result = realtime({"connections", "--json"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(json_of(result).contains("connections")) << result.out;
  // --port still names a server: the configured one is not running.
  result = realtime({"status", "--port", std::to_string(configured)});
  EXPECT_EQ(result.exit_code, 3) << result.out;

  result = realtime({"stop"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("stopped (pid"), std::string::npos) << result.out;
  EXPECT_FALSE(std::filesystem::exists(project_.path() / ".nself/realtime" /
                                       ("server-" + std::to_string(port) + ".pid")));
  result = realtime({"status"});
  EXPECT_EQ(result.exit_code, 3) << result.out;
}

TEST_F(CliTest, CommandsWithoutPortListSeveralRunningServersAndAskForOne) {
  project_.write(".env",
                 "WEBSOCKET_HOST=127.0.0.1\nWEBSOCKET_PORT=" + std::to_string(free_port()) + "\n");
  init();
  const int low = free_port();
  const int high = free_port();
  StopsServers servers([this](int p) { realtime({"stop", "--port", std::to_string(p)}); });
  for (const int port : {low, high}) {
    servers.add(port);
    const auto started = realtime({"start", "--port", std::to_string(port)});
    ASSERT_EQ(started.exit_code, 0) << started.err;
  }
  const std::string listed =
      std::to_string(std::min(low, high)) + ", " + std::to_string(std::max(low, high));
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"status"}, {"stop"}, {"logs", "--no-follow"}, {"connections"}}) {
    const auto result = realtime(command);
    EXPECT_EQ(result.exit_code, 2) << command.front() << ": " << result.out << result.err;
    EXPECT_NE(result.err.find(listed), std::string::npos) << result.err;
    EXPECT_NE(result.err.find("--port"), std::string::npos) << result.err;
  }
  auto result = realtime({"status", "--json"});
  EXPECT_EQ(json_of(result).at("error").at("code"), "several_servers");
  // Both still run; each answers to its --port.
  for (const int port : {low, high}) {
    result = realtime({"status", "--port", std::to_string(port)});
    EXPECT_EQ(result.exit_code, 0) << result.out;
  }
  result = realtime({"stop", "--port", std::to_string(low)});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  // One left: it is the one.
  result = realtime({"status", "--json"});
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_EQ(json_of(result).at("port"), high);
}

TEST_F(CliTest, InitAndStartCreateOwnerOnlyFilesAndFolders) {
  const Umask022 umask;
  init();
  const auto state = project_.path() / ".nself/realtime";
  EXPECT_EQ(mode_of(project_.path() / ".env"), "0600");
  EXPECT_EQ(mode_of(project_.path() / ".nself"), "0700");
  EXPECT_EQ(mode_of(state), "0700");
  EXPECT_EQ(mode_of(state / "realtime.db"), "0600");
  for (const char* journal : {"realtime.db-wal", "realtime.db-shm"}) {
    if (std::filesystem::exists(state / journal)) {
      EXPECT_EQ(mode_of(state / journal), "0600") << journal;
    }
  }
  const int port = free_port();
  const std::map<std::string, std::string> local = {{"WEBSOCKET_HOST", "127.0.0.1"}};
  StopsServers servers([this](int p) { realtime({"stop", "--port", std::to_string(p)}); });
  servers.add(port);
  const auto started = realtime({"start", "--port", std::to_string(port)}, local);
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const auto name = "server-" + std::to_string(port);
  EXPECT_EQ(mode_of(state / (name + ".log")), "0600");
  EXPECT_EQ(mode_of(state / (name + ".pid")), "0600");
  for (const char* journal : {"realtime.db-wal", "realtime.db-shm"}) {
    EXPECT_EQ(mode_of(state / journal), "0600") << journal;
  }
}

TEST_F(CliTest, InitMakesAnExistingEnvOwnerOnlyWhenItAddsSecrets) {
  const Umask022 umask;
  project_.write(".env", "# mine\nWEBSOCKET_PORT=4000\n");
  ASSERT_EQ(::chmod((project_.path() / ".env").c_str(), 0644), 0);
  init();
  const auto env = read_text(project_.path() / ".env");
  EXPECT_NE(env.find("REALTIME_ADMIN_SECRET="), std::string::npos) << env;
  EXPECT_EQ(mode_of(project_.path() / ".env"), "0600");
}

TEST_F(CliTest, LogsWithoutAServerSaySo) {
  init();
  const auto result = realtime({"logs", "--no-follow"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("has not been started"), std::string::npos);
}

}  // namespace
}  // namespace nself::test
