#!/usr/bin/env bash
# test.sh - install dependencies, build with -Werror under ASan+UBSan, run the whole CTest suite; fails on any failed or skipped test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test
build=${SP_TEST_BUILD:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DSP_WERROR=ON -DSP_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
ctest --test-dir "$build" --output-on-failure -j2 --timeout 900 2>&1 | tee "$log" || rc=$?
# A skipped test (exit 77) is not a pass: CI has everything deps.sh --test installs, so it must have none.
if grep -q '(Skipped)$' "$log"; then
  echo "test.sh: FAIL: skipped tests (a test that cannot run here is not a pass):" >&2
  grep '(Skipped)$' "$log" >&2
  exit 1
fi
exit "$rc"
