#!/usr/bin/env bash
# Side-by-side runs of nself-bench scenarios against several server builds or
# settings, interleaved (every configuration runs a scenario before the next
# scenario starts), so that all of them see the same machine conditions.
#
# Usage: bench/ab.sh NSELF_BENCH CONFIG [CONFIG...]
#   CONFIG is LABEL=BINARY[,KEY=VALUE...]: the extra KEY=VALUE lines go to the
#   spawned server's .env (nself-bench --server-env), e.g.
#     bench/ab.sh build/release/bench/nself-bench \
#       before=/tmp/nself-old after-1=build/release/nself,REALTIME_THREADS=1 \
#       after-2=build/release/nself,REALTIME_THREADS=2
# AB_SCENARIOS overrides the scenario list (one nself-bench argument string per
# line); AB_DURATION the measured seconds (default 10); AB_OUT the JSON lines
# file (default ab.jsonl). Prints one markdown table per scenario.
# A scenario that contains the word @pg runs on PostgreSQL: each configuration
# gets a fresh database on the server of scripts/test-env.sh (run ab.sh through
# it: NSELF_TEST_PG_FSYNC=on scripts/test-env.sh bench/ab.sh ...), passed as
# --database-url in place of @pg; the table shows the scenario as written.
set -uo pipefail

bench=${1:?usage: bench/ab.sh NSELF_BENCH LABEL=BINARY[,KEY=VALUE...] ...}
shift
[ $# -ge 1 ] || { echo "bench/ab.sh: name at least one configuration" >&2; exit 2; }
duration=${AB_DURATION:-10}
out=${AB_OUT:-ab.jsonl}
: >"$out"
scenarios=${AB_SCENARIOS:-"idle -n 19000
fanout -n 1000
fanout -n 10000
fanout -n 1000 --rate 100
chat --channels 1000 --subscribers 10 --senders 0.1 --rate 1
churn -n 50
churn -n 50 --subscribe
persist -n 50 --window 16"}

while IFS= read -r scenario; do
  [ -n "$scenario" ] || continue
  for config in "$@"; do
    label=${config%%=*}
    rest=${config#*=}
    IFS=, read -r -a parts <<<"$rest"
    binary=${parts[0]}
    extra=()
    for setting in "${parts[@]:1}"; do extra+=(--server-env "$setting"); done
    run=$scenario
    if [[ " $scenario " == *" @pg "* ]]; then
      [ -n "${NSELF_TEST_POSTGRES_URL:-}" ] || { echo "bench/ab.sh: @pg needs scripts/test-env.sh" >&2; exit 2; }
      runs=$((${runs:-0} + 1))
      database="ab_$$_${runs}"
      psql "$NSELF_TEST_POSTGRES_URL" -qc "CREATE DATABASE $database" >/dev/null || exit 2
      run=${scenario/@pg/--database-url ${NSELF_TEST_POSTGRES_URL%/*}/$database}
    fi
    # shellcheck disable=SC2086 # the scenario is a list of arguments
    if json=$(timeout 300 "$bench" $run --spawn --nself "$binary" "${extra[@]}" \
                --duration "$duration" --json 2>/dev/null); then
      node -e 'const r = JSON.parse(process.argv[1]); r.label = process.argv[2];
               r.args = process.argv[3]; console.log(JSON.stringify(r));' \
        "$json" "$label" "$scenario" >>"$out"
    else
      echo "{\"label\":\"$label\",\"args\":\"$scenario\",\"failed\":true}" >>"$out"
    fi
  done
done <<<"$scenarios"

node - "$out" <<'EOF'
const fs = require("fs");
const rows = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => JSON.parse(l));
const us = (x) => (x >= 1000 ? (x / 1000).toFixed(2) + " ms" : x.toFixed(0) + " us");
const byScenario = new Map();
for (const r of rows) {
  if (!byScenario.has(r.args)) byScenario.set(r.args, []);
  byScenario.get(r.args).push(r);
}
for (const [args, list] of byScenario) {
  console.log(`\n#### nself-bench ${args}\n`);
  console.log("| build | held | KiB/conn (held) | deliveries/s | acks/s | p50 | p99 | p99.9 | connects/s | server CPU s |");
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of list) {
    if (r.failed) { console.log(`| ${r.label} | failed | | | | | | | | |`); continue; }
    const l = r.latency.count ? r.latency : r.ack_latency;
    console.log(`| ${r.label} | ${r.connections_held} | ${(r.server.rss_per_held_connection_bytes / 1024).toFixed(2)} | ` +
      `${r.deliveries_per_s ? r.deliveries_per_s.toFixed(0) : ""} | ${r.acks_per_s ? r.acks_per_s.toFixed(0) : ""} | ` +
      `${l.count ? us(l.p50_us) : ""} | ${l.count ? us(l.p99_us) : ""} | ${l.count ? us(l.p999_us) : ""} | ` +
      `${r.scenario === "churn" ? r.connects_per_s.toFixed(0) : ""} | ${r.server_cpu_seconds >= 0 ? r.server_cpu_seconds.toFixed(1) : ""} |`);
  }
}
EOF
