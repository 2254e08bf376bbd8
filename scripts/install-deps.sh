#!/usr/bin/env bash
# Installs the Debian packages that building and testing nself realtime need.
# Idempotent and quiet when everything is present; needs root (or sudo) only
# when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libboost-json1.81-dev
  libjwt-dev libsqlite3-dev libpq-dev libhiredis-dev libssl-dev
  libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql redis-server sqlite3
  python3-websockets nodejs npm
  chromium
)

install_npm_packages() {
  # npm packages for the tests that use Node clients (ws), from the lockfile.
  scripts/install-test-clients.sh
  # The peers of bench/compare.sh (its smoke test runs in make test).
  bench/peers/install.sh
}

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  install_npm_packages
  exit 0
fi

# node/npm may come from elsewhere than Debian (the CI image ships Node 20):
# when the commands exist, do not ask apt for them.
filtered=()
for package in "${missing[@]}"; do
  case "$package" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  filtered+=("$package")
done
if [ ${#filtered[@]} -eq 0 ]; then
  install_npm_packages
  exit 0
fi

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "install-deps: installing ${filtered[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${filtered[@]}" >/dev/null
install_npm_packages
