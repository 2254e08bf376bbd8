#pragma once

// The figures of one nself-bench run, merged over its worker processes, as a
// human table or one JSON object.

#include <boost/json.hpp>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "histogram.hpp"
#include "options.hpp"

namespace nself::bench {

struct Report {
  std::string scenario;
  std::string target = "nself";  // --target: nself or a peer
  std::uint64_t target_connections = 0;
  std::uint64_t ready = 0;  // upgraded (and subscribed) in the connect phase
  int processes = 1;
  int threads = 1;
  double duration = 0;
  double rate = 0;
  double connect_seconds = 0;
  long server_pid = 0;
  long rss_baseline_kib = 0;       // before connecting
  long rss_ready_kib = 0;          // every connection up, before the measured phase
  long rss_peak_kib = 0;           // highest seen during the run
  long rss_held_kib = 0;           // the last sample of the run (connections still held)
  double run_seconds = 0;          // measured phase plus drain, wall clock
  double server_cpu_seconds = -1;  // server CPU time over run_seconds (-1: unknown)
  double bench_cpu_seconds = 0;    // the workers' CPU time over the same phase
  std::uint64_t deliveries = 0;
  std::uint64_t deliveries_in_window = 0;
  std::uint64_t expected_deliveries = 0;  // fanout, chat: published x subscribers
  std::uint64_t published = 0;
  std::uint64_t acks = 0;
  std::uint64_t acks_in_window = 0;
  std::uint64_t errors = 0;
  std::uint64_t unexpected_closes = 0;
  std::uint64_t connects = 0;
  std::uint64_t disconnects = 0;
  std::uint64_t connect_failures = 0;
  std::uint64_t worker_failures = 0;
  std::string first_error;
  Histogram latency;      // ns
  Histogram ack_latency;  // ns

  // Connections still open at the end (for churn: the loops).
  std::uint64_t held() const;
  // Bytes of server RSS per held connection (ready - baseline), 0 when unknown.
  double rss_per_connection_bytes() const;
  // The same from rss_held_kib: the steady state after the connect burst
  // (what an idle connection costs once the server has settled).
  double rss_per_held_connection_bytes() const;

  boost::json::object to_json() const;
  void print_table(std::ostream& out) const;
  // What makes the run unsound, empty when it is fine: failed connections,
  // error events, lost connections, dead workers, and nothing measured
  // (no delivery, ack or churn cycle) for the scenarios that measure one.
  std::vector<std::string> check(Scenario scenario) const;
};

}  // namespace nself::bench
