#!/usr/bin/env bash
# `make bench-load`: nself-bench at real sizes, each run against its own
# spawned server (a temporary project on SQLite, stopped and removed after).
# Prints each run's table and appends its JSON to $BENCH_LOAD_OUT
# (default build dir/bench-load.jsonl). Every run is bounded by `timeout`.
# Usage: scripts/bench-load.sh BUILD_DIR
set -uo pipefail

build_dir=${1:?usage: scripts/bench-load.sh BUILD_DIR}
bench="$build_dir/bench/nself-bench"
nself="$build_dir/nself"
out=${BENCH_LOAD_OUT:-$build_dir/bench-load.jsonl}
duration=${BENCH_LOAD_DURATION:-10}
: >"$out"
failed=0

run() {
  echo "== nself-bench $*"
  local json
  if json=$(timeout 300 "$bench" "$@" --spawn --nself "$nself" --duration "$duration" --json); then
    echo "$json" >>"$out"
    # The same figures as a table, from the JSON.
    node -e '
      const r = JSON.parse(process.argv[1]); const l = r.latency, a = r.ack_latency;
      const f = (x) => x >= 1000 ? (x / 1000).toFixed(2) + " ms" : x.toFixed(0) + " us";
      console.log(`  held ${r.connections_held}/${r.connections_target} (${r.connect_seconds.toFixed(1)} s)` +
        `, server RSS ${(r.server.rss_ready_kib / 1024).toFixed(1)} MiB` +
        `, ${(r.server.rss_per_connection_bytes / 1024).toFixed(1)} KiB/conn, peak ${(r.server.rss_peak_kib / 1024).toFixed(1)} MiB`);
      if (r.published) console.log(`  published ${r.published}, acks/s ${r.acks_per_s.toFixed(0)}, deliveries/s ${r.deliveries_per_s.toFixed(0)} (${r.deliveries}/${r.expected_deliveries})`);
      if (l.count) console.log(`  latency p50 ${f(l.p50_us)} p90 ${f(l.p90_us)} p99 ${f(l.p99_us)} p99.9 ${f(l.p999_us)} max ${f(l.max_us)}`);
      if (a.count && !l.count) console.log(`  ack latency p50 ${f(a.p50_us)} p90 ${f(a.p90_us)} p99 ${f(a.p99_us)} p99.9 ${f(a.p999_us)} max ${f(a.max_us)}`);
      if (r.scenario === "churn") console.log(`  connects/s ${r.connects_per_s.toFixed(0)}, disconnects/s ${r.disconnects_per_s.toFixed(0)}`);
      if (r.errors || r.unexpected_closes || r.connect_failures) console.log(`  errors ${r.errors}, lost ${r.unexpected_closes}, failed ${r.connect_failures}: ${r.first_error}`);
    ' "$json"
  else
    echo "  FAILED"
    failed=1
  fi
}

run idle -n 5000
run idle -n 10000
run idle -n 19000
for n in 1000 5000 10000; do
  run fanout -n "$n"              # full speed: deliveries per second
  run fanout -n "$n" --rate 1000  # fixed 1k msgs/s: latency
done
run chat --channels 1000 --subscribers 10 --senders 0.1 --rate 1
run churn -n 50
run persist -n 50 --window 16

echo "JSON lines: $out"
exit $failed
