#!/usr/bin/env bash
# Runs CTest in a sanitizer build (make test-asan, make test-tsan) under
# scripts/test-env.sh, with every sanitizer report fatal, and fails when any
# process wrote a report -- also a process whose exit status no test looks at,
# such as a server that `nself realtime start` put in the background (its
# stderr goes to a log file in a temporary project).
#
# Every sanitized process (test binaries, the nself binaries they and the Node
# tests start, nself-bench) writes its ASan, LeakSanitizer and TSan reports to
# <build>/sanitizer-reports/<kind>.<pid> instead of stderr (log_path); the run
# fails if that directory is not empty afterwards, and the reports are
# printed. UBSan reports (stderr, see below) are looked for in CTest's log. A
# report also ends its process (halt_on_error), so the test that ran it
# usually fails too.
#
# NSELF_TEST_MEMORY_SCALE is exported for the tests that bound the server's
# RSS (node.hostile): 3 under ASan, its documented memory overhead (shadow
# memory, the quarantine of freed blocks); 1 under TSan, which stays in bounds.
#
# Usage: scripts/test-sanitized.sh address|thread BUILD_DIR [CTEST_ARGS...]
set -euo pipefail

kind=${1:?usage: scripts/test-sanitized.sh address|thread BUILD_DIR [CTEST_ARGS...]}
build_dir=${2:?usage: scripts/test-sanitized.sh address|thread BUILD_DIR [CTEST_ARGS...]}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$(cd "$build_dir" && pwd)
supp="$root/tests/sanitizers"
reports="$build_dir/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
# Test processes may run as another user (none today); let them write here.
chmod 1777 "$reports"

case "$kind" in
  address)
    # detect_leaks: LeakSanitizer at every sanitized process's exit.
    export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:log_path=$reports/asan"
    export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
    export NSELF_TEST_MEMORY_SCALE=3
    ;;
  thread)
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp:print_suppressions=0:log_path=$reports/tsan"
    ;;
  *)
    echo "test-sanitized: unknown sanitizer '$kind' (address or thread)" >&2
    exit 2
    ;;
esac

last_log="$build_dir/Testing/Temporary/LastTest.log"
rm -f "$last_log"
status=0
"$root/scripts/test-env.sh" ctest --test-dir "$build_dir" --output-on-failure "$@" || status=$?

# GCC's UBSan runtime, a library of its own next to ASan's, ignores log_path:
# its reports go to stderr (and end the process). CTest keeps the output of
# every test, and of the processes whose output a test passes on, in
# LastTest.log: a report there fails the run even if its test passed.
# (A server that `nself realtime start` put in the background writes its
# stderr to a log file: a UBSan report there is seen only through its end.)
if [ -f "$last_log" ] && grep -qE ':[0-9]+:[0-9]+: runtime error: ' "$last_log"; then
  echo "==== UBSan reports in $last_log ===="
  grep -E -A6 ':[0-9]+:[0-9]+: runtime error: ' "$last_log"
  echo "test-sanitized: UBSan report(s) in the tests' output" >&2
  [ "$status" -ne 0 ] || status=1
fi

shopt -s nullglob
found=("$reports"/*)
if [ ${#found[@]} -gt 0 ]; then
  for report in "${found[@]}"; do
    echo "==== sanitizer report $(basename "$report") ===="
    cat "$report"
  done
  echo "test-sanitized: ${#found[@]} sanitizer report(s) in $reports" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
