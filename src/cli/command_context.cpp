#include "cli/command_context.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cli/pid_file.hpp"
#include "store/encrypting_store.hpp"

namespace nself::cli {

std::filesystem::path ProjectPaths::pid_file(int port) const {
  return state_dir / fmt::format("server-{}.pid", port);
}

std::filesystem::path ProjectPaths::log_file(int port) const {
  return state_dir / fmt::format("server-{}.log", port);
}

CommandContext::CommandContext(GlobalOptions options, std::ostream& out, std::ostream& err)
    : options_(std::move(options)), out_(out), err_(err) {}

const core::Config& CommandContext::config() {
  if (config_) return *config_;
  std::string text;
  if (std::ifstream file(paths_.env_file, std::ios::binary); file) {
    std::ostringstream buffer;
    buffer << file.rdbuf();
    text = buffer.str();
  }
  auto env_file = core::parse_env_file(text, paths_.env_file.string());
  if (!env_file) throw CommandError(exit_code::kUsage, "invalid_config", env_file.error().message);
  const core::EnvLookup environment = [](std::string_view key) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(key).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  auto config = core::load_config(*env_file, environment, core::ConfigOverrides{options_.port});
  if (!config) throw CommandError(exit_code::kUsage, "invalid_config", config.error().message);
  config_ = std::move(config).value();
  return *config_;
}

const core::Config& CommandContext::server_config() {
  if (server_config_) return *server_config_;
  core::Config settings = config();
  if (!options_.port) {
    const auto ports = running_server_ports(paths_.state_dir);
    if (ports.size() == 1) {
      settings.port = ports.front();
    } else if (ports.size() > 1) {
      std::string list;
      for (const int port : ports) list += (list.empty() ? "" : ", ") + std::to_string(port);
      throw CommandError(exit_code::kUsage, "several_servers",
                         fmt::format("several servers of this project are running, on ports {}: "
                                     "name one with --port",
                                     list));
    }
  }
  server_config_ = std::move(settings);
  return *server_config_;
}

void CommandContext::reload_config() {
  config_.reset();
  server_config_.reset();
  store_.reset();
}

store::Store& CommandContext::store(bool require_schema) {
  if (!store_) {
    const auto& settings = config();
    store::StoreOptions options;
    options.database_url = settings.database_url;
    options.sqlite_path = settings.sqlite_path;
    if (settings.sqlite_synchronous == "normal") {
      options.sqlite_synchronous = store::SqliteSynchronous::kNormal;
    }
    if (!settings.is_postgres() && require_schema &&
        !std::filesystem::exists(settings.sqlite_path)) {
      throw CommandError(
          exit_code::kFailed, "not_initialized",
          fmt::format("no database at {}: run `nself realtime init` first", settings.sqlite_path));
    }
    try {
      // REALTIME_ENCRYPTION_KEY: a wrong or missing key fails here, at start.
      store_ = store::apply_encryption(store::open_store(options), settings.encryption_key);
    } catch (const store::EncryptionKeyError& error) {
      throw CommandError(exit_code::kUsage, "invalid_config", error.what());
    } catch (const store::StoreError& error) {
      throw CommandError(exit_code::kFailed, "unavailable", error.what());
    }
  }
  if (require_schema) {
    int version = 0;
    try {
      version = store_->schema_version();
    } catch (const store::StoreError& error) {
      throw CommandError(exit_code::kFailed, "unavailable", error.what());
    }
    if (version == 0) {
      throw CommandError(exit_code::kFailed, "not_initialized",
                         fmt::format("the database at {} has no realtime schema: run `nself "
                                     "realtime init` first",
                                     store_->describe()));
    }
  }
  return *store_;
}

store::Timestamp now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

}  // namespace nself::cli
