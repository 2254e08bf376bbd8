#!/usr/bin/env bash
# Soak test (docs/BENCHMARKS.md, "Soak"): a server in a temporary project under
# bounded churn + chat + presence traffic from nself-bench for SOAK_MINUTES.
# Every SOAK_SAMPLE seconds it samples the server's RSS (/proc/PID/status),
# its open file descriptors (/proc/PID/fd) and the realtime.connections rows
# still marked connected; prints a table; then stops the traffic and checks
# that nothing is left behind. CI does not run it (it is long).
#
# Fails (exit 1) when, over the second half of the run (after warm-up):
#   RSS grows faster than SOAK_MAX_RSS_SLOPE MB per hour (least squares), or
#   the fd count grows faster than SOAK_MAX_FD_SLOPE per hour, or
#   a chat run's ack p99 is above SOAK_MAX_ACK_P99_MS, or
# once the traffic stopped (and SOAK_SETTLE seconds passed):
#   a connection row is still marked connected, or the server holds more
#   than SOAK_MAX_FD_LEFT descriptors above its count before the traffic, or
#   the server is not running.
#
# Usage: bench/soak.sh [BUILD_DIR]          (default build/release)
# Environment:
#   SOAK_MINUTES=30         traffic duration
#   SOAK_SAMPLE=10          seconds between samples
#   SOAK_CHURN=20           concurrent connect/authenticate/close loops
#   SOAK_CHAT="10 20 5"     chat: channels, subscribers per channel, msgs/s per sender
#   SOAK_MAX_RSS_SLOPE=20   MB/hour
#   SOAK_MAX_FD_SLOPE=20    descriptors/hour
#   SOAK_MAX_FD_LEFT=8
#   SOAK_MAX_ACK_P99_MS=50  the chat senders' ack p99 in every chat run
#   SOAK_SETTLE=15
#   DATABASE_URL            PostgreSQL for the project (default: embedded SQLite)
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir=$(cd "${1:-$root/build/release}" && pwd) || exit 2
nself="$build_dir/nself"
[ -x "$nself" ] || nself="$build_dir/src/nself"
bench="$build_dir/bench/nself-bench"
minutes=${SOAK_MINUTES:-30}
sample=${SOAK_SAMPLE:-10}
churn=${SOAK_CHURN:-20}
read -r chat_channels chat_subscribers chat_rate <<<"${SOAK_CHAT:-10 20 5}"
max_rss_slope=${SOAK_MAX_RSS_SLOPE:-20}
max_fd_slope=${SOAK_MAX_FD_SLOPE:-20}
max_fd_left=${SOAK_MAX_FD_LEFT:-8}
max_ack_p99_ms=${SOAK_MAX_ACK_P99_MS:-50}
settle=${SOAK_SETTLE:-15}

for tool in "$nself" "$bench"; do
  [ -x "$tool" ] || { echo "soak: $tool is missing (build it: cmake --build $build_dir --target nself nself-bench)" >&2; exit 2; }
done

project=$(mktemp -d "${TMPDIR:-/tmp}/nself-soak-XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  (cd "$project" && "$nself" realtime stop >/dev/null 2>&1)
  rm -rf "$project"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
  echo "WEBSOCKET_HOST=127.0.0.1"
  echo "WEBSOCKET_PORT=$port"
  echo "WEBSOCKET_MAX_CONNECTIONS=10000"
  echo "REALTIME_MAX_CONNECTIONS_PER_USER=1000"
  echo "REALTIME_MAX_MESSAGES_PER_SECOND=1000"
  [ -n "${DATABASE_URL:-}" ] && echo "DATABASE_URL=$DATABASE_URL"
} >"$project/.env"
realtime() { (cd "$project" && "$nself" realtime "$@"); }
realtime init >/dev/null || exit 2
for ((i = 0; i < chat_channels; ++i)); do realtime channel create "bench-chat-$i" >/dev/null || exit 2; done
realtime start >/dev/null || exit 2
pid=$(realtime status --json | python3 -c 'import json, sys; print(json.load(sys.stdin).get("pid", ""))')
[ -n "$pid" ] && [ -d "/proc/$pid" ] || { echo "soak: cannot find the server's pid" >&2; exit 2; }

rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null; }
fds() { ls "/proc/$pid/fd" 2>/dev/null | wc -l; }
connected_rows() {
  if [ -n "${DATABASE_URL:-}" ]; then
    psql "$DATABASE_URL" -tAc "SELECT count(*) FROM realtime.connections WHERE status = 'connected'" 2>/dev/null
  else
    sqlite3 "$project/.nself/realtime/realtime.db" \
      "SELECT count(*) FROM connections WHERE status = 'connected'" 2>/dev/null
  fi
}

fds_before=$(fds)
echo "soak: server pid $pid on port $port, $minutes min: churn $churn loops, chat $chat_channels x $chat_subscribers at $chat_rate msg/s per sender"

# Traffic in loops of at most 60 s runs until the deadline (each run reconnects:
# the chat subscribers' joins and leaves are the presence traffic).
end=$(($(date +%s) + minutes * 60))
traffic() {
  while [ "$(date +%s)" -lt "$end" ]; do
    local left=$((end - $(date +%s)))
    [ "$left" -gt 60 ] && left=60
    [ "$left" -lt 2 ] && break
    "$bench" "$@" --project "$project" --port "$port" -d "$left" --drain 1 --json >>"$project/traffic.jsonl" 2>>"$project/traffic.err" || echo "soak: nself-bench $1 failed (see below)" >&2
  done
}
traffic churn -n "$churn" &
pids+=($!)
traffic chat --channels "$chat_channels" --subscribers "$chat_subscribers" --rate "$chat_rate" &
pids+=($!)

printf '%8s %10s %6s %10s\n' "t (s)" "RSS (MB)" "fds" "connected"
samples=()
start=$(date +%s)
while [ "$(date +%s)" -lt "$end" ]; do
  sleep "$sample"
  [ -d "/proc/$pid" ] || { echo "soak: the server died" >&2; exit 1; }
  t=$(($(date +%s) - start))
  line="$t $(rss_mb) $(fds) $(connected_rows)"
  samples+=("$line")
  read -r a b c d <<<"$line"
  printf '%8s %10s %6s %10s\n' "$a" "$b" "$c" "$d"
done
wait "${pids[@]}" 2>/dev/null
pids=()
sleep "$settle"

rows_left=$(connected_rows)
fds_after=$(fds)
alive=1
[ -d "/proc/$pid" ] || alive=0
printf '%s\n' "${samples[@]}" | python3 -c '
import sys
rows = [list(map(float, line.split())) for line in sys.stdin if line.strip()]
half = rows[len(rows) // 2:]
def slope(column):
    if len(half) < 2: return 0.0
    xs = [r[0] / 3600 for r in half]; ys = [r[column] for r in half]
    mx = sum(xs) / len(xs); my = sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0
rss = [r[1] for r in rows]
print(f"{slope(1):.2f} {slope(2):.2f} {min(rss):.1f} {max(rss):.1f}")
' >"$project/slopes"
read -r rss_slope fd_slope rss_min rss_max <"$project/slopes"
errors=$(grep -c . "$project/traffic.err" 2>/dev/null || true)
python3 - "$project/traffic.jsonl" "$max_ack_p99_ms" >"$project/summary" <<'EOF'
import json, sys
totals = {}
acks = []
for line in open(sys.argv[1]):
    try: run = json.loads(line)
    except ValueError: continue
    name = run.get("scenario", "?")
    totals.setdefault(name, []).append(run)
    if name == "chat" and isinstance(run.get("ack_latency"), dict):
        acks.append(run["ack_latency"].get("p99_us", 0) / 1000)
for name, runs in totals.items():
    numeric = [k for k, v in runs[0].items() if isinstance(v, (int, float))]
    wanted = ("per_s", "p50", "p99", "fail", "error", "lost")
    keys = [k for k in numeric if any(w in k for w in wanted)] or numeric[:8]
    print(f"soak: {name}: {len(runs)} runs; " + ", ".join(f"{k} {sum(r.get(k, 0) for r in runs) / len(runs):.6g}" for k in keys[:10]) + " (mean per run)")
if acks:
    worst = max(acks)
    print(f"soak: chat ack p99 per run: max {worst:.2f} ms, mean {sum(acks) / len(acks):.2f} ms over {len(acks)} runs (limit {sys.argv[2]} ms)")
    if worst > float(sys.argv[2]): print("ACK_P99_OVER")
else:
    print("soak: no chat run reported ack latency")
    print("ACK_P99_OVER")
EOF
grep -v '^ACK_P99_OVER$' "$project/summary"

echo "soak: RSS $rss_min..$rss_max MB, slope (second half) $rss_slope MB/h (limit $max_rss_slope); fds slope $fd_slope/h (limit $max_fd_slope)"
echo "soak: after the traffic: $rows_left rows still connected, fds $fds_after (before the traffic $fds_before), server alive: $alive, nself-bench error lines: ${errors:-0}"
status=0
awk -v s="$rss_slope" -v m="$max_rss_slope" 'BEGIN { exit !(s > m) }' && { echo "soak: FAIL: memory grows" >&2; status=1; }
awk -v s="$fd_slope" -v m="$max_fd_slope" 'BEGIN { exit !(s > m) }' && { echo "soak: FAIL: descriptors grow" >&2; status=1; }
[ "${rows_left:-1}" -eq 0 ] || { echo "soak: FAIL: connection rows left marked connected" >&2; status=1; }
[ $((fds_after - fds_before)) -le "$max_fd_left" ] || { echo "soak: FAIL: descriptors left open" >&2; status=1; }
[ "$alive" = 1 ] || { echo "soak: FAIL: the server is gone" >&2; status=1; }
grep -q '^ACK_P99_OVER$' "$project/summary" && { echo "soak: FAIL: chat ack p99 over ${max_ack_p99_ms} ms" >&2; status=1; }
if [ -s "$project/traffic.err" ]; then
  echo "soak: nself-bench stderr (last lines):"
  tail -5 "$project/traffic.err"
fi
[ "$status" = 0 ] && echo "soak: PASS"
exit "$status"
