#!/usr/bin/env bash
# Runs a command with real PostgreSQL and Redis servers started for it on
# loopback, in a temporary directory that is removed afterwards, also when the
# command fails or is interrupted. The command sees:
#   NSELF_TEST_POSTGRES_URL  postgres://postgres@127.0.0.1:PORT/postgres (trust auth;
#                            tests create and drop their own databases in it)
#   NSELF_TEST_REDIS_URL     redis://127.0.0.1:PORT/0
#   NSELF_TEST_REQUIRE_SERVICES=1 (tests fail, rather than skip, without them)
# PostgreSQL runs with fsync=off for speed; benchmarks set NSELF_TEST_PG_FSYNC=on.
# Usage: scripts/test-env.sh COMMAND [ARGS...]
set -euo pipefail

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pg_bin/initdb" ] || { echo "test-env: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

workdir=$(mktemp -d /tmp/nself-test-env.XXXXXX)
chmod 755 "$workdir"
pg_port=$(free_port)
redis_port=$(free_port)
redis_pid=""

# initdb and postgres refuse to run as root: run them as an unprivileged user.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  as_pg=(runuser -u postgres --)
  chown postgres "$workdir"
fi

cleanup() {
  local status=$?
  if [ -f "$workdir/pg/postmaster.pid" ]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$workdir/pg" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
  rm -rf "$workdir"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${as_pg[@]}" "$pg_bin/initdb" -D "$workdir/pg" -U postgres -A trust --no-sync -E UTF8 >"$workdir/initdb.log" 2>&1 \
  || { cat "$workdir/initdb.log" >&2; exit 1; }
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$workdir/pg" -l "$workdir/pg.log" -w -t 30 \
  -o "-h 127.0.0.1 -p $pg_port -k $workdir -c fsync=${NSELF_TEST_PG_FSYNC:-off} -c max_connections=300" start >/dev/null \
  || { cat "$workdir/pg.log" >&2; exit 1; }

command -v redis-server >/dev/null 2>&1 \
  || { echo "test-env: redis-server not found (apt-get install redis-server)" >&2; exit 1; }
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
  --dir "$workdir" --logfile "$workdir/redis.log" &
redis_pid=$!
# Ready when it answers PING; a server that exited (port taken, bad option) or
# never answers within 30 s is a failure, with its log.
redis_ready() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ]
  else
    python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),1); s.sendall(b"PING\r\n"); sys.exit(0 if s.recv(7)==b"+PONG\r\n" else 1)' "$redis_port" 2>/dev/null
  fi
}
for _ in $(seq 300); do
  redis_ready && break
  kill -0 "$redis_pid" 2>/dev/null || break
  sleep 0.1
done
if ! redis_ready; then
  echo "test-env: Redis did not start on 127.0.0.1:$redis_port" >&2
  cat "$workdir/redis.log" >&2 2>/dev/null || true
  exit 1
fi

export NSELF_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
export NSELF_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
export NSELF_TEST_REQUIRE_SERVICES=1
echo "test-env: PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port, in $workdir"
"$@"
