#pragma once

// nself-bench's command line, shared by the coordinator and its workers.

#include <cstdint>
#include <string>
#include <vector>

namespace nself::bench {

enum class Scenario { kIdle, kFanout, kChat, kChurn, kPersist };

// The server under test and so the protocol adapter (docs/BENCHMARKS.md,
// "Peers"): nself, or a peer of bench/peers/ that speaks the same JSON
// subset (uws, ws), the same events in Socket.IO framing (socketio), or
// nchan (subscribe over WebSocket, publish by HTTP POST).
enum class Target { kNself, kUws, kWs, kSocketIo, kNchan };

struct Options {
  Scenario scenario = Scenario::kIdle;
  std::string scenario_name = "idle";

  // Server under test: an address, or --spawn.
  Target target = Target::kNself;
  std::string target_name = "nself";
  std::string host = "127.0.0.1";
  int port = 3100;
  bool spawn = false;
  std::string nself_path;               // --spawn: the nself binary
  std::string database_url;             // --spawn: PostgreSQL instead of SQLite
  std::vector<std::string> server_env;  // --spawn: extra .env lines (--server-env)
  bool keep_project = false;            // --spawn: keep the temp project directory
  std::string project_dir;              // --project: pid file and .env of a running server
  long server_pid = 0;                  // --server-pid
  std::string jwt_secret;               // --jwt-secret, else REALTIME_JWT_SECRET

  // Sizes.
  int connections = 100;         // idle, fanout (subscribers), churn (concurrent loops), persist
  int channels = 10;             // chat
  int subscribers = 10;          // chat: per channel
  double sender_fraction = 0.1;  // chat: the fraction of connections that send
  double rate = 0;               // messages/s per sending connection; 0: as fast as acks allow
  int window = 32;               // unacknowledged messages per sender at full speed
  bool ephemeral = false;        // fanout defaults to ephemeral; chat/persist persistent
  bool persistent = false;       // fanout: store messages
  bool churn_subscribe = false;  // churn: subscribe to bench-churn before closing
  double duration = 10;          // seconds of the measured phase
  double drain = 3;              // seconds to wait for in-flight deliveries afterwards
  double connect_timeout = 120;  // seconds for the connect phase

  // Load generator layout.
  int processes = 0;              // 0: one per 15,000 connections
  int threads = 1;                // io_context threads per process
  int source_addresses = 16;      // 127.0.0.1 .. 127.0.0.N
  int connect_concurrency = 256;  // handshakes in flight per process

  bool batch = false;  // nself: ask for batch mode (?batch=1, "\n"-joined events)
  bool json = false;
  bool check = false;

  // Derived.
  std::vector<std::string> channel_names() const;
  int total_connections() const;  // including fanout's publisher
};

}  // namespace nself::bench
