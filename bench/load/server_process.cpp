#include "server_process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "core/env_file.hpp"

extern char** environ;

namespace nself::bench {
namespace fs = std::filesystem;

namespace {

std::string random_hex(std::size_t bytes) {
  std::random_device device;
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    const auto byte = static_cast<unsigned>(device() & 0xFF);
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0xF]);
  }
  return out;
}

// Configuration in the environment overrides .env: the spawned commands must
// see only the project's .env.
bool is_config_variable(std::string_view entry) {
  return entry.starts_with("WEBSOCKET_") || entry.starts_with("REALTIME_") ||
         entry.starts_with("DATABASE_URL=") || entry.starts_with("HASURA_GRAPHQL_JWT_SECRET=");
}

}  // namespace

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t size = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

long read_rss_kib(long pid) {
  if (pid <= 0) return 0;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

double read_cpu_seconds(long pid) {
  if (pid <= 0) return -1;
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(file, text);
  // Fields after the command name (which is in parentheses and may hold spaces):
  // state is field 3, utime field 14, stime field 15.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) utime = std::stoull(field);
    if (index == 15) stime = std::stoull(field);
  }
  const long ticks = ::sysconf(_SC_CLK_TCK);
  return ticks > 0 ? static_cast<double>(utime + stime) / static_cast<double>(ticks) : -1;
}

std::string read_env_value(const std::string& env_path, const std::string& key) {
  std::ifstream file(env_path);
  if (!file) return "";
  std::stringstream text;
  text << file.rdbuf();
  auto parsed = core::parse_env_file(text.str(), env_path);
  if (!parsed) return "";
  const auto* entry = parsed->find(key);
  return entry == nullptr ? "" : entry->value;
}

SpawnedServer::SpawnedServer(std::string nself_path, std::string database_url, bool keep,
                             std::vector<std::string> settings)
    : nself_(fs::absolute(nself_path).string()),  // the commands run in the project directory
      database_url_(std::move(database_url)),
      keep_(keep),
      settings_(std::move(settings)) {}

SpawnedServer::~SpawnedServer() {
  try {
    stop();
  } catch (...) {
    // Best effort at exit.
  }
}

void SpawnedServer::run(const std::vector<std::string>& args) {
  const std::string log = dir_ + "/bench-commands.log";
  const pid_t child = ::fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    if (::chdir(dir_.c_str()) != 0) std::_Exit(127);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    std::vector<std::string> names;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      if (is_config_variable(*entry))
        names.emplace_back(std::string(*entry).substr(0, std::string(*entry).find('=')));
    }
    for (const auto& name : names) ::unsetenv(name.c_str());
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(nself_.c_str()));
    static char realtime[] = "realtime";
    argv.push_back(realtime);
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(nself_.c_str(), argv.data());
    std::_Exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream file(log);
    std::stringstream text;
    text << file.rdbuf();
    std::string joined;
    for (const auto& arg : args) joined += " " + arg;
    const std::string how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                              : "signal " + std::to_string(WTERMSIG(status));
    throw std::runtime_error("`" + nself_ + " realtime" + joined + "` failed (" + how + ") in " +
                             dir_ + ":\n" + text.str());
  }
}

void SpawnedServer::start(const std::vector<ChannelSpec>& channels) {
  if (!fs::exists(nself_)) throw std::runtime_error("nself binary not found: " + nself_);
  std::string pattern = (fs::temp_directory_path() / "nself-bench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  port_ = free_port();
  secret_ = random_hex(32);
  {
    std::ofstream env(dir_ + "/.env");
    env << "WEBSOCKET_HOST=127.0.0.1\n"
        << "WEBSOCKET_PORT=" << port_ << "\n"
        << "WEBSOCKET_MAX_CONNECTIONS=1000000\n"
        << "REALTIME_JWT_SECRET=" << secret_ << "\n"
        << "REALTIME_MAX_CONNECTIONS_PER_USER=1000000\n"
        << "REALTIME_MAX_MESSAGES_PER_SECOND=1000000\n"
        << "REALTIME_LOG_LEVEL=warn\n";
    if (!database_url_.empty()) env << "DATABASE_URL=" << database_url_ << "\n";
    for (const auto& setting : settings_) env << setting << "\n";  // later lines win
  }
  run({"init"});
  // Channels take at most 100 members by default: a fan-out to 10k needs more.
  for (const auto& channel : channels) {
    std::vector<std::string> args{"channel", "create", channel.name, "--max-members", "1000000"};
    if (channel.ephemeral) args.emplace_back("--ephemeral");
    run(args);
  }
  run({"start"});
  started_ = true;
}

void SpawnedServer::stop() {
  if (started_) {
    started_ = false;
    run({"stop"});
  }
  if (!dir_.empty() && !keep_) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    dir_.clear();
  }
}

}  // namespace nself::bench
