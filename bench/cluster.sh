#!/usr/bin/env bash
# Cross-node fan-out vs a single node (bench/cluster.mjs; docs/BENCHMARKS.md).
# Usage: bench/cluster.sh [NSELF_BINARY] [messages] [subscribers]
# Run under scripts/test-env.sh for PostgreSQL (else one SQLite file).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export NSELF_BINARY=$(realpath "${1:-$here/../build/release/nself}")
exec node "$here/cluster.mjs" "${2:-2000}" "${3:-50}"
