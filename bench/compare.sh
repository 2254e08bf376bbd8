#!/usr/bin/env bash
# `make compare`: nself and its peers side by side in one run, each driven by
# the same load generator (nself-bench --target ...), each scenario against a
# fresh server: nself (Release build, spawned on SQLite by nself-bench) and
# the peers of bench/peers/ (uWebSockets.js, ws, Socket.IO, nginx + nchan),
# started here as plain processes on loopback and stopped after each run.
# Prints one table of figures and ratios (docs/BENCHMARKS.md, "Peers").
#
# Usage: bench/compare.sh [BUILD_DIR]     (default build/release)
# Environment:
#   COMPARE_QUICK=1          tiny sizes, 1 s runs, --check (the CTest smoke test)
#   COMPARE_PEERS="uws ws socketio nchan"   the peers to run (nself always runs)
#   COMPARE_SCENARIOS="idle fanout latency chat churn"   the scenarios to run
#   COMPARE_SKIP_MISSING="..."  peers to skip when not installed (the smoke test
#                            only; otherwise a missing peer is an error)
#   COMPARE_DURATION=10      seconds of each measured phase
#   COMPARE_IDLE=10000       idle connections
#   COMPARE_FANOUT="1000 10000"  subscribers of the full-speed fan-out runs
#   COMPARE_LATENCY="1000 100"   subscribers and msgs/s of the fixed-rate run
#   COMPARE_CHAT="1000 10"   chat channels and subscribers per channel
#   COMPARE_CHURN=50         concurrent connect/close loops
#   COMPARE_OUT=FILE         JSON lines of every run (default BUILD_DIR/compare.jsonl)
# Exit status 1 when a run failed (its cells say "failed").
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir=${1:-$root/build/release}
bench="$build_dir/bench/nself-bench"
nself="$build_dir/nself"
peers_dir="$root/bench/peers"
out=${COMPARE_OUT:-$build_dir/compare.jsonl}

if [ "${COMPARE_QUICK:-0}" = 1 ]; then
  duration=${COMPARE_DURATION:-1}
  drain=0.3
  idle=${COMPARE_IDLE:-50}
  fanout=${COMPARE_FANOUT:-20}
  latency=${COMPARE_LATENCY:-"20 50"}
  chat=${COMPARE_CHAT:-"2 10"}
  churn=${COMPARE_CHURN:-5}
  chat_rate=5
  extra=(--check)
else
  duration=${COMPARE_DURATION:-10}
  drain=3
  idle=${COMPARE_IDLE:-10000}
  fanout=${COMPARE_FANOUT:-"1000 10000"}
  latency=${COMPARE_LATENCY:-"1000 100"}
  chat=${COMPARE_CHAT:-"1000 10"}
  churn=${COMPARE_CHURN:-50}
  chat_rate=1
  extra=()
fi
read -r latency_n latency_rate <<<"$latency"
read -r chat_channels chat_subscribers <<<"$chat"
peers=${COMPARE_PEERS:-"uws ws socketio nchan"}
scenarios=" ${COMPARE_SCENARIOS:-idle fanout latency chat churn} "
wanted() { [[ "$scenarios" == *" $1 "* ]]; }
skip_missing=" ${COMPARE_SKIP_MISSING:-} "

for tool in "$bench" "$nself"; do
  [ -x "$tool" ] || { echo "compare.sh: $tool not built (cmake --build $build_dir --target nself-bench)" >&2; exit 2; }
done
command -v node >/dev/null || { echo "compare.sh: node not found (make deps)" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

installed() {
  case "$1" in
    uws) [ -d "$peers_dir/node_modules/uwebsockets" ] ;;
    ws) [ -d "$peers_dir/node_modules/ws" ] ;;
    socketio) [ -d "$peers_dir/node_modules/socket.io" ] ;;
    nchan) command -v nginx >/dev/null && [ -e /usr/lib/nginx/modules/ngx_nchan_module.so ] ;;
    *) return 1 ;;
  esac
}

targets=(nself)
for peer in $peers; do
  if installed "$peer"; then
    targets+=("$peer")
  elif [[ "$skip_missing" == *" $peer "* ]]; then
    echo "compare.sh: skipping $peer (not installed: bench/peers/install.sh)"
  else
    echo "compare.sh: peer $peer not installed: run bench/peers/install.sh" >&2
    exit 2
  fi
done

free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

wait_listening() {  # port pid
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# Starts peer $1 on a free port: sets peer_pid (the process to stop),
# peer_rss_pid (the process whose memory is the server's), peer_port.
peer_pid=""
peer_dir=""
start_peer() {
  peer_port=$(free_port)
  peer_dir=$(mktemp -d /tmp/nself-compare.XXXXXX)
  case "$1" in
    nchan)
      sed -e "s|@DIR@|$peer_dir|g" -e "s|@PORT@|$peer_port|g" \
        "$peers_dir/nchan-nginx.conf.template" >"$peer_dir/nginx.conf"
      nginx -p "$peer_dir" -c "$peer_dir/nginx.conf" >"$peer_dir/out.log" 2>&1 &
      ;;
    *)
      node "$peers_dir/$1-server.mjs" --port "$peer_port" >"$peer_dir/out.log" 2>&1 &
      ;;
  esac
  peer_pid=$!
  if ! wait_listening "$peer_port" "$peer_pid"; then
    echo "compare.sh: $1 did not start:" >&2
    cat "$peer_dir/out.log" "$peer_dir/error.log" 2>/dev/null >&2
    stop_peer
    return 1
  fi
  peer_rss_pid=$peer_pid
  if [ "$1" = nchan ]; then  # the worker process serves the connections
    peer_rss_pid=$(pgrep -P "$peer_pid" | head -1)
  fi
}

stop_peer() {
  if [ -n "$peer_pid" ]; then
    kill "$peer_pid" 2>/dev/null
    wait "$peer_pid" 2>/dev/null
  fi
  peer_pid=""
  [ -n "$peer_dir" ] && rm -rf "$peer_dir"
  peer_dir=""
}
trap stop_peer EXIT

: >"$out"
failed=0
# run LABEL TARGET nself-bench-arguments...
run() {
  local label=$1 target=$2
  shift 2
  local json="" status=0
  echo "== $label: $target: nself-bench $*" >&2
  if [ "$target" = nself ]; then
    json=$(timeout 300 "$bench" "$@" --spawn --nself "$nself" --duration "$duration" \
      --drain "$drain" --json ${extra[@]+"${extra[@]}"}) || status=$?
  elif start_peer "$target"; then
    json=$(timeout 300 "$bench" "$@" --target "$target" --port "$peer_port" \
      --server-pid "$peer_rss_pid" --duration "$duration" --drain "$drain" --json \
      ${extra[@]+"${extra[@]}"}) || status=$?
    stop_peer
  else
    status=1
  fi
  if [ "$status" -ne 0 ] || [ -z "$json" ]; then
    echo "   FAILED (exit $status)" >&2
    failed=1
    json='{"failed":true}'
  fi
  node -e 'const r = JSON.parse(process.argv[1]); r.label = process.argv[2]; r.target = process.argv[3]; console.log(JSON.stringify(r));' \
    "$json" "$label" "$target" >>"$out"
}

for target in "${targets[@]}"; do
  wanted idle && run "idle $idle" "$target" idle -n "$idle"
  if wanted fanout; then
    for n in $fanout; do
      run "fanout $n full speed" "$target" fanout -n "$n"
    done
  fi
  wanted latency &&
    run "fanout $latency_n at $latency_rate/s" "$target" fanout -n "$latency_n" --rate "$latency_rate"
  # nself's chat channels are ephemeral here, like the peers' (no store).
  if wanted chat && [ "$target" != nchan ]; then
    run "chat ${chat_channels}x$chat_subscribers" "$target" chat --channels "$chat_channels" \
      --subscribers "$chat_subscribers" --rate "$chat_rate" --ephemeral
  fi
  wanted churn && run "churn $churn" "$target" churn -n "$churn"
done

echo
node "$peers_dir/table.mjs" "$out" "${targets[@]}"
echo
echo "JSON lines: $out"
exit $failed
