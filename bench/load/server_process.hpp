#pragma once

// The server under test when nself-bench runs it itself (--spawn): a
// temporary project directory with a .env sized for load (limits raised, a
// distinct port), `nself realtime init`, the channels a scenario needs, then
// `nself realtime start`; stop() runs `nself realtime stop` and removes the
// directory. Infrastructure failures throw std::runtime_error.

#include <string>
#include <vector>

namespace nself::bench {

struct ChannelSpec {
  std::string name;
  bool ephemeral = false;
};

class SpawnedServer {
 public:
  // `settings`: extra KEY=VALUE lines for the project's .env (--server-env).
  SpawnedServer(std::string nself_path, std::string database_url, bool keep,
                std::vector<std::string> settings = {});
  ~SpawnedServer();
  SpawnedServer(const SpawnedServer&) = delete;
  SpawnedServer& operator=(const SpawnedServer&) = delete;

  // Writes the project, creates the channels and starts the server.
  void start(const std::vector<ChannelSpec>& channels);
  void stop();

  int port() const { return port_; }
  const std::string& jwt_secret() const { return secret_; }
  const std::string& project_dir() const { return dir_; }

 private:
  // Runs `nself realtime ARGS...` in the project directory; throws on a
  // non-zero exit with the command's output.
  void run(const std::vector<std::string>& args);

  std::string nself_;
  std::string database_url_;
  bool keep_;
  std::vector<std::string> settings_;
  std::string dir_;
  std::string secret_;
  int port_ = 0;
  bool started_ = false;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

// The process's RSS in KiB from /proc/<pid>/status (VmRSS), 0 when unknown.
long read_rss_kib(long pid);

// The process's user + system CPU time in seconds from /proc/<pid>/stat, -1
// when unknown.
double read_cpu_seconds(long pid);

// Reads KEY's value from a .env file ("" when absent).
std::string read_env_value(const std::string& env_path, const std::string& key);

}  // namespace nself::bench
