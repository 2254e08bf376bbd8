#include "cli/pid_file.hpp"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <string>

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
  std::filesystem::create_directories(path_.parent_path());
  const auto temporary = path_.string() + ".tmp";
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
