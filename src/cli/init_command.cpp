#include "cli/init_command.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli/output.hpp"
#include "core/env_file.hpp"
#include "core/secrets.hpp"
#include "store/private_files.hpp"

namespace nself::cli {
namespace {

struct EnvFileUpdate {
  bool created = false;
  std::vector<std::string> added_keys;
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << file.rdbuf();
  return buffer.str();
}

[[noreturn]] void fail_io(const std::filesystem::path& path, std::string_view what) {
  throw CommandError(exit_code::kFailed, "io_error",
                     fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(errno)));
}

// Appends `text` to the .env at `path`. The file holds secrets: a new one is
// created owner-only (0600 given to open, so it is never readable by others,
// not even for a moment), and an existing one that is about to receive a
// secret loses its group and other permissions before the secret is written.
void write_env_additions(const std::filesystem::path& path, const std::string& text,
                         bool adds_secret) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) fail_io(path, "open");
  struct stat info {};
  if (adds_secret && ::fstat(fd, &info) == 0 && (info.st_mode & 077) != 0 &&
      ::fchmod(fd, info.st_mode & 0700) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    fail_io(path, "chmod 600");  // it is about to hold secrets
  }
  for (std::size_t written = 0; written < text.size();) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      ::close(fd);
      errno = saved;
      fail_io(path, "write");
    }
    written += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) fail_io(path, "write");
}

// Adds every missing default key and the generated secrets to .env. Never
// changes a value that is there.
EnvFileUpdate update_env_file(const std::filesystem::path& path) {
  EnvFileUpdate update;
  update.created = !std::filesystem::exists(path);
  const std::string existing = update.created ? std::string() : read_file(path);
  const auto parsed = core::parse_env_file(existing, path.string());
  if (!parsed) throw CommandError(exit_code::kUsage, "invalid_config", parsed.error().message);

  std::vector<std::pair<std::string, std::string>> additions;
  for (const auto& key : core::config_keys()) {
    if (!parsed->find(key.name)) additions.emplace_back(key.name, key.default_value);
  }
  // nself projects sign their tokens with HASURA_GRAPHQL_JWT_SECRET, which the
  // server accepts too; a separate secret is generated only when neither is set.
  bool adds_secret = false;
  if (!parsed->find("REALTIME_JWT_SECRET") && !parsed->find("HASURA_GRAPHQL_JWT_SECRET")) {
    additions.emplace_back("REALTIME_JWT_SECRET", core::random_hex(32));
    adds_secret = true;
  }
  if (!parsed->find("REALTIME_ADMIN_SECRET")) {
    additions.emplace_back("REALTIME_ADMIN_SECRET", core::random_hex(24));
    adds_secret = true;
  }
  if (additions.empty()) return update;

  std::string text;
  if (update.created) {
    text = "# nself realtime configuration (docs/CONFIGURATION.md lists every key).\n";
  } else if (!existing.empty() && existing.back() != '\n') {
    text = "\n";
  }
  text += update.created ? "" : "\n# Added by `nself realtime init`\n";
  for (const auto& [key, value] : additions) {
    text += key + "=" + core::quote_env_value(value) + "\n";
    update.added_keys.push_back(key);
  }
  write_env_additions(path, text, adds_secret);
  return update;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string text;
  for (const auto& item : items) {
    if (!text.empty()) text += separator;
    text += item;
  }
  return text;
}

}  // namespace

int run_init(CommandContext& context) {
  const auto& paths = context.paths();
  const auto env_update = update_env_file(paths.env_file);
  context.reload_config();
  const auto& config = context.config();

  // Owner-only (0700): it holds the database, the logs and the pid files.
  const std::error_code error = store::create_private_directories(paths.state_dir);
  if (error) {
    throw CommandError(
        exit_code::kFailed, "io_error",
        fmt::format("cannot create {}: {}", paths.state_dir.string(), error.message()));
  }
  auto& store = context.store(/*require_schema=*/false);
  store::MigrationReport report;
  try {
    report = store.migrate();
  } catch (const store::StoreError& failure) {
    throw CommandError(exit_code::kFailed, "unavailable", failure.what());
  }

  if (context.json()) {
    boost::json::object result;
    result["env_file"] = paths.env_file.string();
    result["env_file_created"] = env_update.created;
    boost::json::array added;
    for (const auto& key : env_update.added_keys) added.emplace_back(key);
    result["env_keys_added"] = std::move(added);
    result["state_dir"] = paths.state_dir.string();
    result["backend"] = store.backend();
    result["database"] = store.describe();
    boost::json::array applied;
    for (const auto& name : report.applied) applied.emplace_back(name);
    result["migrations_applied"] = std::move(applied);
    result["schema_version"] = report.version;
    result["port"] = config.port;
    print_json(context.out(), result);
    return exit_code::kOk;
  }

  auto& out = context.out();
  out << "nself realtime initialized\n";
  std::string env_line = paths.env_file.string();
  if (env_update.created) {
    env_line += " (created)";
  } else if (env_update.added_keys.empty()) {
    env_line += " (unchanged)";
  }
  if (!env_update.added_keys.empty()) env_line += "; added " + join(env_update.added_keys, ", ");
  const std::string migrations =
      report.applied.empty() ? "up to date" : "applied " + join(report.applied, ", ");
  print_fields(out, {{"  Configuration", env_line},
                     {"  State directory", paths.state_dir.string()},
                     {"  Database", fmt::format("{} {}", store.backend(), store.describe())},
                     {"  Schema", fmt::format("version {} ({})", report.version, migrations)}});
  out << "\nNext steps:\n"
      << "  nself realtime channel create \"general\"\n"
      << "  nself realtime start\n"
      << fmt::format("  connect to ws://localhost:{}\n", config.port);
  return exit_code::kOk;
}

}  // namespace nself::cli
