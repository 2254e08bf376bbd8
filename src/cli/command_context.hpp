#pragma once

#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/config.hpp"
#include "store/store.hpp"

namespace nself::cli {

// Process exit codes, documented in `--help` and docs/CLI.md.
namespace exit_code {
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;      // the operation failed (unknown channel, database down)
inline constexpr int kUsage = 2;       // bad command line or bad configuration
inline constexpr int kNotRunning = 3;  // `status`: the server is not running
}  // namespace exit_code

// A failure that ends the command: printed as one line, with the exit code.
class CommandError : public std::runtime_error {
 public:
  CommandError(int exit_code, std::string code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code), code_(std::move(code)) {}
  int exit_code() const { return exit_code_; }
  const std::string& code() const { return code_; }

 private:
  int exit_code_;
  std::string code_;
};

// The options every command accepts (the manual's OPTIONS).
struct GlobalOptions {
  bool json = false;
  std::optional<std::string> port;  // --port, validated by the configuration
};

// Files of a project: .env in the working directory and the state directory.
struct ProjectPaths {
  std::filesystem::path env_file = ".env";
  std::filesystem::path state_dir = ".nself/realtime";

  std::filesystem::path pid_file(int port) const;
  std::filesystem::path log_file(int port) const;
};

// What a command runs with. Configuration and store are loaded on first use,
// so `--help` and `--version` work in a directory with a broken .env.
class CommandContext {
 public:
  CommandContext(GlobalOptions options, std::ostream& out, std::ostream& err);

  const GlobalOptions& options() const { return options_; }
  bool json() const { return options_.json; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  const ProjectPaths& paths() const { return paths_; }

  // The configuration; throws CommandError (exit 2) when it is invalid.
  const core::Config& config();
  // The configuration of the server a command talks to: config() with `port`
  // set to --port when given; else to the port of the project's one running
  // server (found from the pid files under the state directory: it may have
  // been started with `start --port N`); else the configured port. Throws
  // CommandError (exit 2, "several_servers") when no --port is given and
  // several of the project's servers run: the message lists their ports.
  const core::Config& server_config();
  // Forgets the loaded configuration (after `init` changed .env).
  void reload_config();
  // The store, opened on first use; throws CommandError (exit 1) when the
  // database cannot be reached, and (exit 1) when it has not been initialised
  // and `require_schema` is set.
  store::Store& store(bool require_schema = true);

 private:
  GlobalOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  ProjectPaths paths_;
  std::optional<core::Config> config_;
  std::optional<core::Config> server_config_;
  std::unique_ptr<store::Store> store_;
};

// Now, as the store's timestamp type.
store::Timestamp now();

}  // namespace nself::cli
