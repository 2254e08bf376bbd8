#!/usr/bin/env bash
# `make run` installs and builds only what running the server needs; `make
# test` everything (issue 16 item 18: make run installed Chromium and nginx
# with nchan before it could start the server).
#  1. scripts/install-deps.sh run --print lists none of the test and benchmark
#     tools; test --print lists every run package and those tools.
#  2. make run asks for the run profile, make test (and the sanitizer and
#     benchmark targets) for the test profile.
#  3. make run's configure step succeeds with GoogleTest and Google Benchmark
#     made unfindable, so a machine with only the run profile can build.
set -euo pipefail
source_dir=${1:?source dir}
cd "$source_dir"
fail() {
  echo "FAIL: $*"
  exit 1
}

run_list=$(scripts/install-deps.sh run --print)
test_list=$(scripts/install-deps.sh test --print)
[ "$(scripts/install-deps.sh --print)" = "$test_list" ] || fail "the default profile is not test"
[ -n "$run_list" ] || fail "the run profile lists nothing"

test_only=(chromium nginx libnginx-mod-nchan libgtest-dev libgmock-dev libbenchmark-dev
  postgresql redis-server nodejs npm clang libclang-rt-14-dev)
for package in "${test_only[@]}"; do
  ! grep -qx "deb $package" <<<"$run_list" || fail "the run profile installs $package"
  grep -qx "deb $package" <<<"$test_list" || fail "the test profile lacks $package"
done
! grep -q '^npm ' <<<"$run_list" || fail "the run profile runs npm: $(grep '^npm ' <<<"$run_list")"
grep -qx 'npm tests/integration/node' <<<"$test_list" || fail "the test profile lacks the Node test clients"
grep -qx 'npm bench/peers' <<<"$test_list" || fail "the test profile lacks bench/peers"
while read -r line; do
  grep -qxF "$line" <<<"$test_list" || fail "the test profile lacks the run profile's $line"
done <<<"$run_list"
for package in build-essential cmake ninja-build libboost-json1.81-dev libjwt-dev zlib1g-dev; do
  grep -qx "deb $package" <<<"$run_list" || fail "the run profile lacks $package"
done
! scripts/install-deps.sh nonsense >/dev/null 2>&1 || fail "an unknown profile was accepted"

build_dir=$(mktemp -d)
trap 'rm -rf "$build_dir"' EXIT
make_run=$(make -n run BUILD_DIR="$build_dir" \
  CMAKE_ARGS="-DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON")
grep -qx 'scripts/install-deps.sh run' <<<"$make_run" || fail "make run does not install the run profile: $make_run"
! grep -q 'install-deps.sh test\|bench/peers\|install-test-clients' <<<"$make_run" ||
  fail "make run installs test tools: $make_run"
for target in test test-asan test-tsan bench; do
  grep -qx 'scripts/install-deps.sh test' <<<"$(make -n "$target" BUILD_DIR="$build_dir")" ||
    fail "make $target does not install the test profile"
done

configure=$(grep -E '^cmake -S ' <<<"$make_run") || fail "no configure step in make run: $make_run"
grep -q -- '-DNSELF_BUILD_TESTS=OFF' <<<"$configure" || fail "make run configures the tests: $configure"
if ! output=$(eval "$configure" 2>&1); then
  fail "make run's configure needs a test package: $configure"$'\n'"$output"
fi
grep -q '^NSELF_BUILD_TESTS:BOOL=OFF' "$build_dir/CMakeCache.txt" || fail "tests configured"
grep -q '^NSELF_BUILD_BENCH:BOOL=OFF' "$build_dir/CMakeCache.txt" || fail "benchmarks configured"
echo "install-deps profiles: run installs and configures only what the server needs"
