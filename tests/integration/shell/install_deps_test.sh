#!/usr/bin/env bash
# scripts/install-deps.sh is idempotent and quiet when everything is present
# (the test command has just run it), for both profiles.
set -euo pipefail
source_dir=${1:?source dir}
for profile in run test; do
  output=$("$source_dir/scripts/install-deps.sh" "$profile" 2>&1)
  [ -z "$output" ] || { echo "FAIL: install-deps $profile printed:"; echo "$output"; exit 1; }
done
echo "install-deps: quiet"
