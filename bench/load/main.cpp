// nself-bench: the load generator for the nself realtime server.
// See docs/BENCHMARKS.md ("Load generator (nself-bench)") for the scenarios,
// the commands and the figures.

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/auth/jwt_verifier.hpp"
#include "histogram.hpp"
#include "options.hpp"
#include "report.hpp"
#include "server_process.hpp"
#include "worker.hpp"

#ifndef NSELF_BENCH_DEFAULT_NSELF
#define NSELF_BENCH_DEFAULT_NSELF "nself"
#endif

namespace nself::bench {

std::vector<std::string> Options::channel_names() const {
  switch (scenario) {
    case Scenario::kFanout:
      return {"bench-fanout"};
    case Scenario::kChat: {
      std::vector<std::string> names;
      for (int c = 0; c < channels; ++c) names.push_back("bench-chat-" + std::to_string(c));
      return names;
    }
    case Scenario::kPersist:
      return {"bench-persist"};
    case Scenario::kChurn:
      if (churn_subscribe) return {"bench-churn"};
      return {};
    default:
      return {};
  }
}

int Options::total_connections() const {
  switch (scenario) {
    case Scenario::kFanout:
      return connections + 1;  // the subscribers and one publisher
    case Scenario::kChat:
      return channels * subscribers;
    default:
      return connections;
  }
}

namespace {

// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the limit.
rlim_t raise_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

struct WorkerHandle {
  pid_t pid = 0;
  int report_fd = -1;   // read end
  int control_fd = -1;  // write end
  std::string buffer;
};

// Reads complete lines from the workers until each has sent one starting with
// `prefix`, calling `tick` about every 200 ms meanwhile. Returns the JSON
// after the prefix, per worker (null for a worker that died).
std::vector<boost::json::value> collect(std::vector<WorkerHandle>& workers,
                                        const std::string& prefix,
                                        const std::function<void()>& tick) {
  std::vector<boost::json::value> out(workers.size());
  std::vector<bool> done(workers.size(), false);
  std::size_t remaining = workers.size();
  while (remaining > 0) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < workers.size(); ++i) {
      if (done[i]) continue;
      fds.push_back(pollfd{workers[i].report_fd, POLLIN, 0});
      which.push_back(i);
    }
    const int ready = ::poll(fds.data(), fds.size(), 200);
    if (tick) tick();
    if (ready <= 0) continue;
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      auto& worker = workers[which[k]];
      char chunk[65536];
      const ssize_t got = ::read(worker.report_fd, chunk, sizeof chunk);
      if (got <= 0) {  // the worker died
        done[which[k]] = true;
        --remaining;
        continue;
      }
      worker.buffer.append(chunk, static_cast<std::size_t>(got));
      std::size_t newline = 0;
      while (!done[which[k]] && (newline = worker.buffer.find('\n')) != std::string::npos) {
        const std::string line = worker.buffer.substr(0, newline);
        worker.buffer.erase(0, newline + 1);
        if (line.rfind(prefix + " ", 0) == 0) {
          boost::system::error_code error;
          out[which[k]] = boost::json::parse(line.substr(prefix.size() + 1), error);
          done[which[k]] = true;
          --remaining;
        }
      }
    }
  }
  return out;
}

std::uint64_t get_u64(const boost::json::value& value, const char* key) {
  if (!value.is_object()) return 0;
  const auto* field = value.as_object().if_contains(key);
  if (field == nullptr) return 0;
  if (field->is_uint64()) return field->as_uint64();
  if (field->is_int64())
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, field->as_int64()));
  return 0;
}

void merge_histogram(Histogram& into, const boost::json::value& result, const char* key) {
  if (!result.is_object()) return;
  const auto* field = result.as_object().if_contains(key);
  if (field == nullptr || !field->is_object()) return;
  Histogram part;
  for (const auto& bucket : field->as_object().at("buckets").as_array()) {
    const auto& pair = bucket.as_array();
    part.add_bucket(static_cast<std::size_t>(pair[0].to_number<std::uint64_t>()),
                    pair[1].to_number<std::uint64_t>());
  }
  part.set_extremes(field->as_object().at("min").to_number<std::uint64_t>(),
                    field->as_object().at("max").to_number<std::uint64_t>());
  into.merge(part);
}

long find_server_pid(const Options& options, const std::string& project_dir) {
  if (options.server_pid > 0) return options.server_pid;
  if (project_dir.empty()) return 0;
  std::ifstream file(project_dir + "/.nself/realtime/server-" + std::to_string(options.port) +
                     ".pid");
  long pid = 0;
  if (file >> pid) return pid;
  return 0;
}

int run(Options options) {
  const rlim_t file_limit = raise_file_limit();
  // A worker that died must not kill the coordinator when it writes "go".
  ::signal(SIGPIPE, SIG_IGN);
  boost::system::error_code bad_host;
  boost::asio::ip::make_address_v4(options.host, bad_host);
  if (bad_host) throw std::runtime_error("--host must be an IPv4 address: " + options.host);

  if (options.target != Target::kNself) {
    if (options.spawn) {
      throw std::runtime_error("--spawn runs nself only; start a peer with bench/compare.sh");
    }
    if (options.target == Target::kNchan && options.scenario != Scenario::kIdle &&
        options.scenario != Scenario::kFanout && options.scenario != Scenario::kChurn) {
      throw std::runtime_error("--target nchan runs idle, fanout and churn only");
    }
    // The peers take any non-empty token without verifying it.
    if (options.jwt_secret.empty()) options.jwt_secret = "peer";
  }

  std::optional<SpawnedServer> server;
  std::string project_dir = options.project_dir;
  if (options.spawn) {
    server.emplace(options.nself_path, options.database_url, options.keep_project,
                   options.server_env);
    std::vector<ChannelSpec> channels;
    for (const auto& name : options.channel_names()) {
      bool ephemeral = options.ephemeral;
      if (options.scenario == Scenario::kFanout) ephemeral = !options.persistent;
      channels.push_back({name, ephemeral});
    }
    server->start(channels);
    options.host = "127.0.0.1";
    options.port = server->port();
    options.jwt_secret = server->jwt_secret();
    project_dir = server->project_dir();
  }
  if (options.jwt_secret.empty() && !project_dir.empty()) {
    options.jwt_secret = read_env_value(project_dir + "/.env", "REALTIME_JWT_SECRET");
  }
  if (options.jwt_secret.empty()) {
    if (const char* secret = std::getenv("REALTIME_JWT_SECRET")) options.jwt_secret = secret;
  }
  if (options.jwt_secret.empty()) {
    throw std::runtime_error(
        "no JWT secret: pass --jwt-secret, --project DIR (its .env) or --spawn");
  }
  const long server_pid = find_server_pid(options, project_dir);

  // One distinct user per connection: per-user limits never bind.
  const int total = options.total_connections();
  const core::auth::JwtKey key{core::auth::JwtAlgorithm::kHS256, options.jwt_secret};
  const auto expires = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() +
                       86400;
  WorkerPlan plan;
  plan.tokens.reserve(static_cast<std::size_t>(total));
  for (int i = 0; i < total; ++i) {
    auto token = core::auth::sign_jwt(key, R"({"sub":"bench-)" + std::to_string(i) + R"(","exp":)" +
                                               std::to_string(expires) + "}");
    if (!token) throw std::runtime_error("signing a token: " + token.error().message);
    plan.tokens.push_back(std::move(*token));
  }

  // Each process keeps a margin of descriptors below its limit.
  const long per_process = std::max<long>(1000, static_cast<long>(file_limit) - 1000);
  int processes = options.processes;
  if (processes <= 0) {
    processes = static_cast<int>(std::max<long>(1, (total + 14999) / 15000));
    processes =
        static_cast<int>(std::max<long>(processes, (total + per_process - 1) / per_process));
  }
  plan.options = options;
  plan.processes = processes;

  const long rss_baseline = read_rss_kib(server_pid);
  std::fflush(nullptr);
  std::vector<WorkerHandle> workers;
  for (int p = 0; p < processes; ++p) {
    int report[2];
    int control[2];
    if (::pipe(report) != 0 || ::pipe(control) != 0) throw std::runtime_error("pipe failed");
    const pid_t child = ::fork();
    if (child < 0) throw std::runtime_error("fork failed");
    if (child == 0) {
      ::close(report[0]);
      ::close(control[1]);
      for (const auto& other : workers) {
        ::close(other.report_fd);
        ::close(other.control_fd);
      }
      plan.process_index = p;
      // A worker never unwinds into the coordinator's code (which would stop
      // a spawned server): it reports and leaves with _Exit.
      int status = 1;
      try {
        status = run_worker(plan, report[1], control[0]);
      } catch (const std::exception& error) {
        std::cerr << "nself-bench: worker " << p << ": " << error.what() << "\n";
      }
      std::_Exit(status);
    }
    ::close(report[1]);
    ::close(control[0]);
    workers.push_back(WorkerHandle{child, report[0], control[1], {}});
  }

  const auto connect_start = std::chrono::steady_clock::now();
  const auto readies = collect(workers, "ready", nullptr);
  const double connect_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - connect_start).count();
  std::uint64_t ready = 0;
  for (const auto& r : readies) ready += get_u64(r, "ready");
  // Let the server settle (its buffers, the allocator) before measuring.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const long rss_ready = read_rss_kib(server_pid);

  const double server_cpu_at_go = read_cpu_seconds(server_pid);
  const auto go_time = std::chrono::steady_clock::now();
  for (const auto& worker : workers) {
    const ssize_t written = ::write(worker.control_fd, "go\n", 3);
    (void)written;
  }
  long rss_peak = rss_ready;
  long rss_held = rss_ready;  // the last sample while the connections are held
  const auto results = collect(workers, "result", [&] {
    rss_held = read_rss_kib(server_pid);
    rss_peak = std::max(rss_peak, rss_held);
  });
  const double server_cpu_at_end = read_cpu_seconds(server_pid);
  const double run_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - go_time).count();
  for (auto& worker : workers) {
    ::close(worker.control_fd);
    ::close(worker.report_fd);
    int status = 0;
    ::waitpid(worker.pid, &status, 0);
  }

  Report report;
  report.scenario = options.scenario_name;
  report.target = options.target_name;
  report.target_connections = static_cast<std::uint64_t>(total);
  report.ready = ready;
  report.processes = processes;
  report.threads = options.threads;
  report.duration = options.duration;
  report.rate = options.rate;
  report.connect_seconds = connect_seconds;
  report.server_pid = server_pid;
  report.rss_baseline_kib = rss_baseline;
  report.rss_ready_kib = rss_ready;
  report.rss_peak_kib = rss_peak;
  report.rss_held_kib = rss_held;
  report.run_seconds = run_seconds;
  if (server_cpu_at_go >= 0 && server_cpu_at_end >= 0) {
    report.server_cpu_seconds = server_cpu_at_end - server_cpu_at_go;
  }
  for (const auto& r : results) {
    if (r.is_null()) ++report.worker_failures;
    report.deliveries += get_u64(r, "deliveries");
    report.deliveries_in_window += get_u64(r, "deliveries_in_window");
    report.published += get_u64(r, "published");
    report.acks += get_u64(r, "acks");
    report.acks_in_window += get_u64(r, "acks_in_window");
    report.errors += get_u64(r, "errors");
    report.unexpected_closes += get_u64(r, "unexpected_closes");
    report.connects += get_u64(r, "connects");
    report.disconnects += get_u64(r, "disconnects");
    report.connect_failures += get_u64(r, "connect_failures");
    if (report.first_error.empty() && r.is_object()) {
      if (const auto* e = r.as_object().if_contains("first_error"); e && e->is_string()) {
        report.first_error = std::string(e->as_string());
      }
    }
    if (r.is_object()) {
      if (const auto* cpu = r.as_object().if_contains("cpu_seconds"); cpu && cpu->is_number()) {
        report.bench_cpu_seconds += cpu->to_number<double>();
      }
    }
    merge_histogram(report.latency, r, "latency");
    merge_histogram(report.ack_latency, r, "ack_latency");
  }
  if (options.scenario == Scenario::kFanout) {
    report.expected_deliveries = report.published * static_cast<std::uint64_t>(options.connections);
  } else if (options.scenario == Scenario::kChat) {
    report.expected_deliveries = report.published * static_cast<std::uint64_t>(options.subscribers);
  }

  if (server) server->stop();

  if (options.json) {
    std::cout << boost::json::serialize(report.to_json()) << "\n";
  } else {
    report.print_table(std::cout);
  }
  if (options.check) {
    const auto problems = report.check(options.scenario);
    for (const auto& problem : problems)
      std::cerr << "nself-bench: check failed: " << problem << "\n";
    if (!problems.empty()) return 1;
  }
  return 0;
}

}  // namespace
}  // namespace nself::bench

int main(int argc, char** argv) {
  using nself::bench::Scenario;
  using nself::bench::Target;
  nself::bench::Options options;
  options.nself_path = NSELF_BENCH_DEFAULT_NSELF;

  CLI::App app{"nself-bench: load generator for the nself realtime server"};
  app.require_subcommand(1);
  // Options may come before or after the scenario name (subcommands inherit this).
  app.fallthrough();
  const std::map<std::string, Scenario> scenarios{{"idle", Scenario::kIdle},
                                                  {"fanout", Scenario::kFanout},
                                                  {"chat", Scenario::kChat},
                                                  {"churn", Scenario::kChurn},
                                                  {"persist", Scenario::kPersist}};
  const std::map<std::string, std::string> descriptions{
      {"idle", "N authenticated idle connections; server memory per connection"},
      {"fanout", "1 channel, N subscribers, 1 publisher (--rate 0: full speed)"},
      {"chat", "--channels C x --subscribers S, a fraction (--senders) sending --rate msg/s"},
      {"churn",
       "N loops of connect, authenticate (--subscribe: and subscribe), close; connects and "
       "disconnects per second"},
      {"persist", "N connections publishing to one persistent channel; acks (stored) per second"}};
  for (const auto& [name, scenario] : scenarios) {
    auto* sub = app.add_subcommand(name, descriptions.at(name));
    sub->callback([&options, name = name, scenario = scenario] {
      options.scenario = scenario;
      options.scenario_name = name;
    });
  }
  const std::map<std::string, Target> targets{{"nself", Target::kNself},
                                              {"uws", Target::kUws},
                                              {"ws", Target::kWs},
                                              {"socketio", Target::kSocketIo},
                                              {"nchan", Target::kNchan}};
  app.add_option("--target", options.target_name,
                 "Server kind, so the protocol: nself, or a peer of bench/peers "
                 "(uws, ws, socketio, nchan)")
      ->capture_default_str()
      ->check(CLI::IsMember({"nself", "uws", "ws", "socketio", "nchan"}));
  app.add_option("--host", options.host, "Server address (default 127.0.0.1)");
  app.add_option("--port", options.port, "Server port (default 3100)");
  app.add_flag("--spawn", options.spawn,
               "Run a server in a temporary project (init, channels, start, stop)");
  app.add_option("--nself", options.nself_path, "The nself binary for --spawn")
      ->capture_default_str();
  app.add_option("--database-url", options.database_url,
                 "--spawn: DATABASE_URL (PostgreSQL); default the embedded SQLite");
  app.add_flag("--batch", options.batch,
               "nself: batch mode (?batch=1): several events per frame, one per line");
  app.add_flag("--keep", options.keep_project, "--spawn: keep the temporary project directory");
  app.add_option("--server-env", options.server_env,
                 "--spawn: a KEY=VALUE line for the server's .env (repeatable), e.g. "
                 "REALTIME_THREADS=1");
  app.add_option("--project", options.project_dir,
                 "Project directory of a running server (its .env and pid file)");
  app.add_option("--server-pid", options.server_pid, "Server process for RSS (/proc/PID/status)");
  app.add_option("--jwt-secret", options.jwt_secret,
                 "HS256 secret (default REALTIME_JWT_SECRET from --project's .env or the "
                 "environment)");
  app.add_option("-n,--connections", options.connections,
                 "idle/fanout/churn/persist: connections (fanout: subscribers)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  app.add_option("--channels", options.channels, "chat: channels")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--subscribers", options.subscribers, "chat: subscribers per channel")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--senders", options.sender_fraction, "chat: fraction of connections sending")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--rate", options.rate,
                 "Messages per second per sending connection; 0: as fast as --window allows "
                 "(chat default 1)")
      ->check(CLI::Range(0.0, 1e7));
  app.add_option("--window", options.window, "Unacknowledged messages per sender at full speed")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_flag("--ephemeral", options.ephemeral, "chat/persist: ephemeral channels");
  app.add_flag("--persistent", options.persistent, "fanout: a persistent channel");
  app.add_flag("--subscribe", options.churn_subscribe,
               "churn: each loop also subscribes to one persistent channel and closes on "
               "`subscribed`");
  app.add_option("-d,--duration", options.duration, "Seconds of the measured phase")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  app.add_option("--drain", options.drain, "Seconds to wait for in-flight messages afterwards")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  app.add_option("--connect-timeout", options.connect_timeout, "Seconds for the connect phase")
      ->capture_default_str();
  app.add_option("--processes", options.processes,
                 "Worker processes (0: one per 15,000 connections)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  app.add_option("--threads", options.threads, "io_context threads per process")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--source-addresses", options.source_addresses,
                 "Spread connections over 127.0.0.1..127.0.0.N")
      ->capture_default_str()
      ->check(CLI::Range(1, 254));
  app.add_option("--connect-concurrency", options.connect_concurrency,
                 "Handshakes in flight per process")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_flag("--json", options.json, "One JSON object on stdout");
  app.add_flag("--check", options.check,
               "Exit 1 when the run is not sound (errors, failed connections, nothing delivered)");

  bool rate_given = false;
  app.parse_complete_callback([&] { rate_given = app.count("--rate") > 0; });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  if (!rate_given && options.scenario == Scenario::kChat) options.rate = 1;
  options.target = targets.at(options.target_name);
  try {
    return nself::bench::run(options);
  } catch (const std::exception& error) {
    std::cerr << "nself-bench: error: " << error.what() << "\n";
    return 1;
  }
}
