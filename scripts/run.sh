#!/usr/bin/env bash
# `make run`: initialises the project on its first run, then runs the server in
# the foreground on the embedded SQLite store (or DATABASE_URL when set).
set -euo pipefail
nself=${1:?usage: scripts/run.sh path/to/nself}
if [ ! -f .env ] || ! "$nself" realtime channel list >/dev/null 2>&1; then
  "$nself" realtime init
fi
exec "$nself" realtime start --foreground
