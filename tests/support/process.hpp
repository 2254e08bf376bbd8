#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace nself::test {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

struct ProcessOptions {
  std::filesystem::path working_dir;
  // Added to (or replacing) the environment. The test's own WEBSOCKET_*,
  // REALTIME_*, DATABASE_URL and HASURA_* variables are never passed on, so
  // tests are hermetic.
  std::map<std::string, std::string> environment;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::string program = NSELF_BINARY;
  std::string argv0;  // defaults to the program's path
};

// Runs a program to completion, capturing its output.
ProcessResult run_process(const std::vector<std::string>& arguments, const ProcessOptions& options);

// Runs `nself <arguments...>` (the built binary).
ProcessResult run_nself(const std::vector<std::string>& arguments, const ProcessOptions& options);

// The environment a child gets: ours without the project's variables, plus `extra`.
std::vector<std::string> child_environment(const std::map<std::string, std::string>& extra);

// A free TCP port on 127.0.0.1 (bound then released).
int free_port();

}  // namespace nself::test
