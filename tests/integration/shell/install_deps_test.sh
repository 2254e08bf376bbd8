#!/usr/bin/env bash
# scripts/install-deps.sh is idempotent and quiet when everything is present
# (the test command has just run it).
set -euo pipefail
source_dir=${1:?source dir}
output=$("$source_dir/scripts/install-deps.sh" 2>&1)
[ -z "$output" ] || { echo "FAIL: install-deps printed:"; echo "$output"; exit 1; }
echo "install-deps: quiet"
