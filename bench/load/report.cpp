#include "report.hpp"

#include <fmt/format.h>

namespace nself::bench {
namespace {

boost::json::object percentiles_json(const Histogram& histogram) {
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  return {{"count", histogram.count()},
          {"p50_us", us(histogram.value_at_percentile(50))},
          {"p90_us", us(histogram.value_at_percentile(90))},
          {"p99_us", us(histogram.value_at_percentile(99))},
          {"p999_us", us(histogram.value_at_percentile(99.9))},
          {"max_us", us(histogram.max())},
          {"mean_us", histogram.mean() / 1000.0}};
}

std::string format_us(std::uint64_t ns) {
  if (ns >= 10'000'000) return fmt::format("{:.0f} ms", static_cast<double>(ns) / 1e6);
  if (ns >= 1'000'000) return fmt::format("{:.2f} ms", static_cast<double>(ns) / 1e6);
  return fmt::format("{:.0f} us", static_cast<double>(ns) / 1e3);
}

std::string percentiles_line(const Histogram& h) {
  return fmt::format("p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  (n={})",
                     format_us(h.value_at_percentile(50)), format_us(h.value_at_percentile(90)),
                     format_us(h.value_at_percentile(99)), format_us(h.value_at_percentile(99.9)),
                     format_us(h.max()), h.count());
}

}  // namespace

std::uint64_t Report::held() const {
  return ready > unexpected_closes ? ready - unexpected_closes : 0;
}

double Report::rss_per_connection_bytes() const {
  if (rss_ready_kib <= 0 || rss_baseline_kib <= 0 || ready == 0) return 0;
  return static_cast<double>(rss_ready_kib - rss_baseline_kib) * 1024.0 /
         static_cast<double>(ready);
}

double Report::rss_per_held_connection_bytes() const {
  if (rss_held_kib <= 0 || rss_baseline_kib <= 0 || ready == 0) return 0;
  return static_cast<double>(rss_held_kib - rss_baseline_kib) * 1024.0 / static_cast<double>(ready);
}

boost::json::object Report::to_json() const {
  const double seconds = duration > 0 ? duration : 1;
  boost::json::object out{
      {"scenario", scenario},
      {"target", target},
      {"connections_target", target_connections},
      {"connections_ready", ready},
      {"connections_held", held()},
      {"connect_failures", connect_failures},
      {"connect_seconds", connect_seconds},
      {"processes", processes},
      {"threads", threads},
      {"duration_s", duration},
      {"rate", rate},
      {"errors", errors},
      {"unexpected_closes", unexpected_closes},
      {"worker_failures", worker_failures},
      {"first_error", first_error},
      {"server",
       boost::json::object{{"pid", server_pid},
                           {"rss_baseline_kib", rss_baseline_kib},
                           {"rss_ready_kib", rss_ready_kib},
                           {"rss_peak_kib", rss_peak_kib},
                           {"rss_per_connection_bytes", rss_per_connection_bytes()},
                           {"rss_held_kib", rss_held_kib},
                           {"rss_per_held_connection_bytes", rss_per_held_connection_bytes()}}},
      {"run_seconds", run_seconds},
      {"server_cpu_seconds", server_cpu_seconds},
      {"bench_cpu_seconds", bench_cpu_seconds},
      {"published", published},
      {"acks", acks},
      {"acks_per_s", static_cast<double>(acks_in_window) / seconds},
      {"deliveries", deliveries},
      {"expected_deliveries", expected_deliveries},
      {"deliveries_per_s", static_cast<double>(deliveries_in_window) / seconds},
      {"latency", percentiles_json(latency)},
      {"ack_latency", percentiles_json(ack_latency)},
  };
  if (scenario == "churn") {
    out["connects"] = connects;
    out["disconnects"] = disconnects;
    out["connects_per_s"] = static_cast<double>(connects) / seconds;
    out["disconnects_per_s"] = static_cast<double>(disconnects) / seconds;
  }
  return out;
}

void Report::print_table(std::ostream& out) const {
  const double seconds = duration > 0 ? duration : 1;
  auto row = [&out](const std::string& name, const std::string& value) {
    out << fmt::format("  {:<24} {}\n", name, value);
  };
  out << fmt::format(
      "nself-bench {}{}: {} connection(s), {} process(es) x {} thread(s), {:.1f} s\n", scenario,
      target == "nself" ? "" : " against " + target, target_connections, processes, threads,
      duration);
  row("connections held", fmt::format("{} of {} (connected in {:.1f} s, {} failed)", held(),
                                      target_connections, connect_seconds, connect_failures));
  if (server_pid > 0) {
    row("server RSS",
        fmt::format("{:.1f} MiB before, {:.1f} MiB connected, {:.1f} MiB peak",
                    rss_baseline_kib / 1024.0, rss_ready_kib / 1024.0, rss_peak_kib / 1024.0));
    if (scenario != "churn") {
      row("RSS per connection", fmt::format("{:.1f} KiB (connected - before, over {} connections)",
                                            rss_per_connection_bytes() / 1024.0, ready));
      row("RSS per held connection", fmt::format("{:.2f} KiB (at the end of the run - before)",
                                                 rss_per_held_connection_bytes() / 1024.0));
    }
  } else {
    row("server RSS", "unknown (no --server-pid, --project or --spawn)");
  }
  if (scenario == "churn") {
    row("connects/s", fmt::format("{:.0f}", static_cast<double>(connects) / seconds));
    row("disconnects/s", fmt::format("{:.0f}", static_cast<double>(disconnects) / seconds));
  }
  if (published > 0) {
    row("published",
        fmt::format("{} ({:.0f}/s)", published, static_cast<double>(published) / seconds));
    row("acks/s",
        fmt::format("{:.0f} ({} in total)", static_cast<double>(acks_in_window) / seconds, acks));
  }
  if (deliveries > 0 || expected_deliveries > 0) {
    row("deliveries/s", fmt::format("{:.0f} ({} of {} expected)",
                                    static_cast<double>(deliveries_in_window) / seconds, deliveries,
                                    expected_deliveries));
  }
  if (latency.count() > 0) row("latency publish->recv", percentiles_line(latency));
  if (ack_latency.count() > 0) row("latency publish->ack", percentiles_line(ack_latency));
  row("CPU during the run",
      fmt::format("server {}, load generator {:.1f} s, over {:.1f} s wall clock",
                  server_cpu_seconds < 0 ? std::string("unknown")
                                         : fmt::format("{:.1f} s", server_cpu_seconds),
                  bench_cpu_seconds, run_seconds));
  row("errors", fmt::format("{} error event(s), {} connection(s) lost{}", errors, unexpected_closes,
                            first_error.empty() ? "" : "; first: " + first_error));
}

std::vector<std::string> Report::check(Scenario kind) const {
  std::vector<std::string> problems;
  if (worker_failures > 0) problems.push_back(fmt::format("{} worker(s) died", worker_failures));
  if (kind != Scenario::kChurn && ready < target_connections) {
    problems.push_back(fmt::format("{} of {} connections ready", ready, target_connections));
  }
  if (connect_failures > 0)
    problems.push_back(fmt::format("{} connect failures", connect_failures));
  if (errors > 0) problems.push_back(fmt::format("{} error events: {}", errors, first_error));
  if (unexpected_closes > 0) {
    problems.push_back(fmt::format("{} connections lost: {}", unexpected_closes, first_error));
  }
  switch (kind) {
    case Scenario::kIdle:
      if (server_pid > 0 && rss_ready_kib <= 0) problems.push_back("server RSS unreadable");
      break;
    case Scenario::kFanout:
    case Scenario::kChat:
      if (deliveries == 0) problems.push_back("no message delivered");
      if (latency.count() == 0) problems.push_back("no latency recorded");
      break;
    case Scenario::kChurn:
      if (connects == 0 || disconnects == 0) problems.push_back("no connect/disconnect cycle");
      break;
    case Scenario::kPersist:
      if (acks == 0) problems.push_back("no message acknowledged");
      break;
  }
  return problems;
}

}  // namespace nself::bench
