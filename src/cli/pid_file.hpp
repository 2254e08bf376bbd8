#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <vector>

namespace nself::cli {

// The pid file of a server: one per port under the state directory, written by
// the server process when it listens and removed when it exits.
class PidFile {
 public:
  explicit PidFile(std::filesystem::path path) : path_(std::move(path)) {}

  const std::filesystem::path& path() const { return path_; }
  // The pid written in the file, if the file exists and holds a number.
  std::optional<pid_t> read() const;
  // The pid of a live nself process named by the file. A file naming a dead
  // (or foreign) process is stale: it is removed and nullopt returned.
  std::optional<pid_t> running_pid() const;
  void write(pid_t pid) const;
  // Removes the file if it still names `pid` (a newer server may own it).
  void remove_if_owned(pid_t pid) const;

 private:
  std::filesystem::path path_;
};

// The ports of the project's running servers: those of the pid files
// (server-<port>.pid) under `state_dir` that name a live nself process, in
// increasing order. Stale pid files are removed on the way.
std::vector<int> running_server_ports(const std::filesystem::path& state_dir);

// True when `pid` is alive and runs the nself binary.
bool is_nself_process(pid_t pid);

}  // namespace nself::cli
