#!/usr/bin/env bash
# Stored messages per second, two builds side by side in one run (docs/BENCHMARKS.md,
# "Store batching"): the store alone (store_benchmark) and the whole path
# (nself-bench persist and chat, acks after commit), on SQLite and on the
# PostgreSQL of scripts/test-env.sh. Run it through test-env with fsync on:
#   NSELF_TEST_PG_FSYNC=on scripts/test-env.sh bench/store_compare.sh OLD_BUILD NEW_BUILD
# where each build dir holds nself, bench/nself-bench and bench/store_benchmark
# (cmake --build DIR --target nself-bench store_benchmark).
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OLD_BUILD_DIR NEW_BUILD_DIR" >&2; exit 2; }
[ -n "${NSELF_TEST_POSTGRES_URL:-}" ] || { echo "$0: run through scripts/test-env.sh" >&2; exit 2; }
builds=("old:$1" "new:$2")
seconds=${STORE_COMPARE_SECONDS:-3}
duration=${STORE_COMPARE_DURATION:-8}

database() {  # a fresh PostgreSQL database named $1; prints its URL
  psql "$NSELF_TEST_POSTGRES_URL" -qc "CREATE DATABASE $1" >/dev/null
  echo "${NSELF_TEST_POSTGRES_URL%/*}/$1"
}

echo "# store alone: Store::append_messages, 1 channel, 40-byte messages"
for backend in sqlite postgres; do
  for batch in 16 256 1024; do
    for entry in "${builds[@]}"; do
      name=${entry%%:*} dir=${entry#*:}
      url=()
      [ $backend = postgres ] && url=(--database-url "$(database "sb_${name}_${batch}")")
      echo -n "$name  "
      "$dir/bench/store_benchmark" "${url[@]}" --batch "$batch" --seconds "$seconds"
    done
  done
done

run_load() {  # label, args...
  local label=$1; shift
  for backend in sqlite postgres; do
    for entry in "${builds[@]}"; do
      name=${entry%%:*} dir=${entry#*:}
      url=()
      [ $backend = postgres ] && url=(--database-url "$(database "lb_${label}_${name}")")
      echo "== $label $backend $name"
      timeout 300 "$dir/bench/nself-bench" "$@" --spawn --nself "$dir/nself" "${url[@]}" \
        --duration "$duration" 2>&1 | grep -E "acks/s|publish->ack|CPU|errors"
    done
  done
}
echo "# whole path: 50 connections publishing to one channel they are not subscribed to"
run_load persist persist -n 50 --window 16
echo "# whole path: 50 connections, each subscribed to its own channel and publishing to it"
run_load chat chat --channels 50 --subscribers 1 --senders 1 --rate 0 --window 64
