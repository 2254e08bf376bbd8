#!/usr/bin/env bash
# Installs the npm packages of the external-client tests (Node's `ws` and
# `playwright-core` in tests/integration/node) from the committed
# package-lock.json. Idempotent and quick when they are already installed; a
# lockfile newer than the installed tree (a pull that changed it) reinstalls.
# Run before the tests (make test). playwright-core never downloads a browser:
# the browser test drives Debian's /usr/bin/chromium (scripts/install-deps.sh).
set -euo pipefail
dir="$(cd "$(dirname "$0")/.." && pwd)/tests/integration/node"
if [ -d "$dir/node_modules/ws" ] && [ -d "$dir/node_modules/playwright-core" ] &&
  [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "install-test-clients: npm not found (make deps)" >&2; exit 1; }
npm ci --prefix "$dir" --no-audit --no-fund --silent
