#!/usr/bin/env bash
# `make install` (cmake --install) puts nself and nself-realtime in the bin
# directory, and nself-realtime takes the realtime subcommand's arguments.
set -euo pipefail
build_dir=${1:?build dir}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
[ -x "$prefix/bin/nself" ] || { echo "FAIL: $prefix/bin/nself missing"; exit 1; }
[ -L "$prefix/bin/nself-realtime" ] || { echo "FAIL: nself-realtime is not a link"; exit 1; }
version=$("$prefix/bin/nself" --version)
[ "$version" = "nself $("$prefix/bin/nself" realtime --version | awk '{print $3}')" ] \
  || { echo "FAIL: versions differ: $version"; exit 1; }
out=$("$prefix/bin/nself-realtime" --version)
case "$out" in "nself realtime "*) ;; *) echo "FAIL: nself-realtime --version printed '$out'"; exit 1 ;; esac
cd "$prefix"
set +e
"$prefix/bin/nself-realtime" status --port 3999 >/dev/null 2>&1
code=$?
set -e
[ "$code" -eq 3 ] || { echo "FAIL: nself-realtime status exited $code, expected 3 (stopped)"; exit 1; }
echo "install: ok"
