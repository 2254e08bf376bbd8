#!/usr/bin/env bash
# Installs what a profile of nself realtime needs on Debian 12:
#   run   building and running the server: compiler, CMake, Ninja and the
#         libraries it links (make run, make build, make install);
#   test  run's packages, plus what the tests, fuzzers and benchmarks use:
#         GoogleTest, Google Benchmark, PostgreSQL, Redis, the sqlite3 shell,
#         Node and npm with the test clients (tests/integration/node), Chromium
#         (the browser tests), clang with libFuzzer (make fuzz), and the peers
#         of bench/compare.sh (nginx with nchan, bench/peers) (make test,
#         make test-asan/test-tsan, make bench, make compare).
# Usage: scripts/install-deps.sh [run|test] [--print]   (default profile: test)
# --print installs nothing: it lists the profile's steps, one a line,
# "deb <package>" for each Debian package and "npm <folder>" for each npm
# install (tests/integration/shell/install_deps_profiles_test.sh reads it).
# Idempotent and quiet when everything is present; needs root (or sudo) only
# when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=test
print=0
for arg in "$@"; do
  case "$arg" in
    run | test) profile=$arg ;;
    --print) print=1 ;;
    -h | --help)
      sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install-deps: unknown argument \"$arg\" (usage: scripts/install-deps.sh [run|test] [--print])" >&2
      exit 2
      ;;
  esac
done

run_packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev
  libjwt-dev libsqlite3-dev libpq-dev libhiredis-dev libssl-dev zlib1g-dev
  libcli11-dev libspdlog-dev libfmt-dev
)
test_packages=(
  git
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql redis-server sqlite3
  python3-websockets nodejs npm
  chromium
  clang libclang-rt-14-dev
)
packages=("${run_packages[@]}")
npm_folders=()
if [ "$profile" = test ]; then
  packages+=("${test_packages[@]}")
  # Node's ws and playwright-core for the Node tests; the peers of bench/compare.sh
  # (its smoke test runs in make test), whose script also installs nginx and nchan.
  npm_folders=(tests/integration/node bench/peers)
fi

if [ "$print" -eq 1 ]; then
  printf 'deb %s\n' "${packages[@]}"
  [ "$profile" = test ] && bench/peers/install.sh --print
  [ ${#npm_folders[@]} -eq 0 ] || printf 'npm %s\n' "${npm_folders[@]}"
  exit 0
fi

install_npm_packages() {
  [ "$profile" = test ] || return 0
  scripts/install-test-clients.sh
  bench/peers/install.sh
}

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    # node/npm may come from elsewhere than Debian (the CI image ships Node 20):
    # when the commands exist, do not ask apt for them.
    case "$package" in
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
install_npm_packages
