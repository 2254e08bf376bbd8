#include "cli/server_commands.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <thread>

#include "cli/cluster_view.hpp"
#include "cli/http_client.hpp"
#include "cli/output.hpp"
#include "cli/pid_file.hpp"
#include "store/private_files.hpp"

namespace nself::cli {
namespace {

using namespace std::chrono_literals;

std::string public_url(const core::Config& config) {
  const bool tls = !config.ssl_cert.empty();
  const std::string host =
      config.host == "0.0.0.0" || config.host == "::" ? "localhost" : config.host;
  return fmt::format("{}://{}:{}", tls ? "wss" : "ws", host, config.port);
}

// The last `count` lines of a file (fewer when it is shorter).
std::vector<std::string> tail_lines(const std::filesystem::path& path, int count) {
  std::ifstream file(path, std::ios::binary);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(file, line)) {
    lines.push_back(std::move(line));
    if (static_cast<int>(lines.size()) > count) lines.erase(lines.begin());
  }
  return lines;
}

std::optional<boost::json::object> fetch_health(const core::Config& config,
                                                std::chrono::milliseconds timeout = 3s) {
  const auto response = http_request(connect_host(config.host), config.port, "GET", "/health", {},
                                     {}, timeout, config.ssl_cert);
  if (!response || response->status != 200) return std::nullopt;
  boost::json::error_code error;
  auto value = boost::json::parse(response->body, error);
  if (error || !value.is_object()) return std::nullopt;
  return value.as_object();
}

// Waits for a process that is not our child to exit.
bool wait_for_exit(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!is_nself_process(pid)) return true;
    std::this_thread::sleep_for(50ms);
  }
  return !is_nself_process(pid);
}

[[noreturn]] void exec_server_child(const std::filesystem::path& log_file, int port) {
  ::setsid();
  // Owner-only from creation: the log may name users, channels and addresses.
  const int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log < 0 || null < 0) ::_exit(127);
  ::dup2(null, STDIN_FILENO);
  ::dup2(log, STDOUT_FILENO);
  ::dup2(log, STDERR_FILENO);
  ::close_range(3, ~0U, 0);
  const std::string port_text = std::to_string(port);
  const char* arguments[] = {"nself",          "realtime", "start",           "--foreground",
                             "--daemon-child", "--port",   port_text.c_str(), nullptr};
  ::execv("/proc/self/exe", const_cast<char* const*>(arguments));
  ::_exit(127);
}

int start_in_background(CommandContext& context) {
  const auto& config = context.config();
  const auto& paths = context.paths();
  context.store();  // fails early, in this terminal, when the project is not initialised
  if (const auto error = store::create_private_directories(paths.state_dir)) {
    throw CommandError(
        exit_code::kFailed, "io_error",
        fmt::format("cannot create {}: {}", paths.state_dir.string(), error.message()));
  }
  const auto log_file = paths.log_file(config.port);

  const pid_t child = ::fork();
  if (child < 0) throw CommandError(exit_code::kFailed, "internal", "fork failed");
  if (child == 0) exec_server_child(log_file, config.port);

  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) == child) {
      // It exited: the reason is the last lines of its log.
      std::string reason;
      for (const auto& line : tail_lines(log_file, 5)) reason += "\n  " + line;
      throw CommandError(
          exit_code::kFailed, "start_failed",
          fmt::format("the server exited during start-up (see {}):{}", log_file.string(), reason));
    }
    const auto health = fetch_health(config, 1s);
    const auto* pid = health ? health->if_contains("pid") : nullptr;
    if (pid != nullptr && pid->is_int64() && pid->as_int64() == child) {
      if (context.json()) {
        print_json(context.out(), boost::json::object{{"started", true},
                                                      {"pid", child},
                                                      {"url", public_url(config)},
                                                      {"log_file", log_file.string()}});
      } else {
        context.out() << fmt::format("nself realtime started (pid {}): {}\nLogs: {}\n", child,
                                     public_url(config), log_file.string());
      }
      return exit_code::kOk;
    }
    std::this_thread::sleep_for(50ms);
  }
  ::kill(child, SIGTERM);
  throw CommandError(exit_code::kFailed, "start_failed",
                     fmt::format("the server did not answer on port {} within 15 s (see {})",
                                 config.port, log_file.string()));
}

}  // namespace

int run_start(CommandContext& context, const ServerCommandOptions& options) {
  const auto& config = context.config();
  const PidFile pid_file(context.paths().pid_file(config.port));
  if (const auto pid = pid_file.running_pid()) {
    throw CommandError(exit_code::kFailed, "already_running",
                       fmt::format("nself realtime is already running (pid {}) on port {}; use "
                                   "`nself realtime restart` to apply changes",
                                   *pid, config.port));
  }
  if (options.foreground) return run_server_foreground(context, options);
  return start_in_background(context);
}

namespace {

// Stops the server whose pid file is `pid_file`. Returns its pid and whether it
// stopped gracefully, or nullopt when it was not running.
std::optional<std::pair<pid_t, bool>> stop_server(const PidFile& pid_file) {
  const auto pid = pid_file.running_pid();
  if (!pid) return std::nullopt;
  ::kill(*pid, SIGTERM);
  const bool graceful = wait_for_exit(*pid, 15s);
  if (!graceful) {
    ::kill(*pid, SIGKILL);
    wait_for_exit(*pid, 5s);
  }
  pid_file.remove_if_owned(*pid);
  return std::make_pair(*pid, graceful);
}

}  // namespace

int run_stop(CommandContext& context) {
  const auto& config = context.server_config();
  const auto stopped = stop_server(PidFile(context.paths().pid_file(config.port)));
  if (!stopped) {
    if (context.json()) {
      print_json(context.out(), boost::json::object{{"stopped", false}, {"running", false}});
    } else {
      context.out() << fmt::format("nself realtime is not running (port {})\n", config.port);
    }
    return exit_code::kOk;
  }
  const auto [pid, graceful] = *stopped;
  if (context.json()) {
    print_json(context.out(),
               boost::json::object{{"stopped", true}, {"pid", pid}, {"graceful", graceful}});
  } else if (graceful) {
    context.out() << fmt::format("nself realtime stopped (pid {})\n", pid);
  } else {
    context.out() << fmt::format("nself realtime (pid {}) did not stop within 15 s: killed\n", pid);
  }
  return exit_code::kOk;
}

int run_restart(CommandContext& context, const ServerCommandOptions& options) {
  // The server that runs (--port, or the project's one running server: the
  // port may have changed in .env since it started), then the configuration
  // as it is now.
  stop_server(PidFile(context.paths().pid_file(context.server_config().port)));
  context.reload_config();  // apply changed configuration
  return run_start(context, options);
}

int run_status(CommandContext& context) {
  const auto& config = context.server_config();
  const PidFile pid_file(context.paths().pid_file(config.port));
  const auto pid = pid_file.running_pid();
  if (!pid) {
    if (context.json()) {
      print_json(context.out(),
                 boost::json::object{
                     {"running", false}, {"port", config.port}, {"version", NSELF_VERSION}});
    } else {
      context.out() << fmt::format("nself realtime: stopped (port {})\n", config.port);
    }
    return exit_code::kNotRunning;
  }
  const auto health = fetch_health(config);
  auto number = [&](const char* key) -> std::int64_t {
    if (!health) return 0;
    const auto* value = health->if_contains(key);
    if (value == nullptr) return 0;
    boost::json::error_code error;
    const auto number = value->to_number<std::int64_t>(error);
    return error ? 0 : number;
  };
  const std::string state = health ? "running" : "running (not answering on its port)";
  // The store's state from /health: "ok", or "unavailable" while the server
  // cannot reach its database (it is then "degraded").
  std::string database = "unknown";
  if (const auto* db = health ? health->if_contains("database") : nullptr; db && db->is_object()) {
    if (const auto* status = db->as_object().if_contains("status"); status && status->is_string()) {
      database = std::string(status->as_string());
    }
  }
  if (context.json()) {
    boost::json::object result{{"running", true},
                               {"answering", health.has_value()},
                               {"pid", *pid},
                               {"url", public_url(config)},
                               {"host", config.host},
                               {"port", config.port},
                               {"uptime_seconds", number("uptime_seconds")},
                               {"connections", number("connections")},
                               {"database", database},
                               {"version", NSELF_VERSION}};
    // ---- cluster mode: this node's view of the cluster (nodes, Redis link)
    if (const auto* cluster = health ? health->if_contains("cluster") : nullptr) {
      result["cluster"] = *cluster;
      result["degraded"] = health->if_contains("degraded") ? health->at("degraded") : false;
    }
    print_json(context.out(), result);
  } else {
    print_fields(context.out(),
                 {{"Status", state},
                  {"PID", std::to_string(*pid)},
                  {"Address", public_url(config)},
                  {"Uptime", format_duration(number("uptime_seconds"))},
                  {"Connections", with_thousands_separators(number("connections"))},
                  {"Database", database == "unavailable" ? "unavailable (degraded: messages to "
                                                           "persistent channels are refused)"
                                                         : database},
                  {"Version", NSELF_VERSION}});
    print_cluster(context.out(), health);  // ---- cluster mode
  }
  return exit_code::kOk;
}

int run_logs(CommandContext& context, const ServerCommandOptions& options) {
  const auto& config = context.server_config();
  const auto log_file = context.paths().log_file(config.port);
  if (!std::filesystem::exists(log_file)) {
    throw CommandError(exit_code::kFailed, "not_found",
                       fmt::format("no log at {}: the server on port {} has not been started",
                                   log_file.string(), config.port));
  }
  for (const auto& line : tail_lines(log_file, std::max(0, options.log_lines))) {
    context.out() << line << '\n';
  }
  context.out().flush();
  if (options.no_follow) return exit_code::kOk;

  std::uintmax_t position = std::filesystem::file_size(log_file);
  while (true) {  // until interrupted, like `tail -f`
    std::this_thread::sleep_for(250ms);
    std::error_code error;
    const auto size = std::filesystem::file_size(log_file, error);
    if (error) continue;
    if (size < position) position = 0;  // truncated or replaced
    if (size == position) continue;
    std::ifstream file(log_file, std::ios::binary);
    file.seekg(static_cast<std::streamoff>(position));
    std::string chunk(size - position, '\0');
    file.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    chunk.resize(static_cast<std::size_t>(file.gcount()));
    position += chunk.size();
    context.out() << chunk;
    context.out().flush();
  }
}

}  // namespace nself::cli
