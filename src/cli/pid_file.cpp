#include "cli/pid_file.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <string>

#include "store/private_files.hpp"

namespace nself::cli {

std::optional<pid_t> PidFile::read() const {
  std::ifstream file(path_);
  long pid = 0;
  if (!(file >> pid) || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

std::optional<pid_t> PidFile::running_pid() const {
  const auto pid = read();
  if (!pid) return std::nullopt;
  if (is_nself_process(*pid)) return pid;
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);  // stale: the server died without cleaning up
  return std::nullopt;
}

void PidFile::write(pid_t pid) const {
  store::create_private_directories(path_.parent_path());
  const auto temporary = path_.string() + ".tmp";
  std::error_code ignored;
  std::filesystem::remove(temporary, ignored);
  store::create_private_file(temporary);  // owner-only, like everything in the state directory
  {
    std::ofstream file(temporary, std::ios::trunc);
    file << pid << '\n';
  }
  std::filesystem::rename(temporary, path_);
}

void PidFile::remove_if_owned(pid_t pid) const {
  if (read() == pid) {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
}

std::vector<int> running_server_ports(const std::filesystem::path& state_dir) {
  std::vector<int> ports;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(state_dir, error)) {
    const auto name = entry.path().filename().string();
    constexpr std::string_view kPrefix = "server-";
    constexpr std::string_view kSuffix = ".pid";
    if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) continue;
    const std::string_view digits = std::string_view(name).substr(
        kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
    int port = 0;
    const auto [end, parsed] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (parsed != std::errc() || end != digits.data() + digits.size() || port < 1 || port > 65535) {
      continue;
    }
    if (PidFile(entry.path()).running_pid()) ports.push_back(port);
  }
  std::sort(ports.begin(), ports.end());
  return ports;
}

bool is_nself_process(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  // A recycled pid may belong to another program: check what it runs.
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string first;
  std::getline(cmdline, first, '\0');
  if (first.empty()) return false;  // a zombie has no command line
  const auto name = std::filesystem::path(first).filename().string();
  return name.find("nself") != std::string::npos;
}

}  // namespace nself::cli
