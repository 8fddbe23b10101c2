#!/usr/bin/env bash
# test.sh - install dependencies, build with -Werror under ASan+UBSan, run the whole CTest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test
build=${SP_TEST_BUILD:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DSP_WERROR=ON -DSP_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build" --output-on-failure -j2 --timeout 900
