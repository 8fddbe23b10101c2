#!/usr/bin/env bash
# run-long.sh - run every libFuzzer target for a while (not part of CI), then merge new coverage into the seed corpora.
# usage: tests/fuzz/run-long.sh [SECONDS_PER_TARGET] [TARGET...]   (default 300 s, all targets)
# Builds build-fuzz-clang (CC=clang, -DSP_FUZZ=ON -DSP_SANITIZE=ON) if needed. Crashes are left in
# build-fuzz-clang/fuzz-out/<target>/ as crash-*; the summary line of each run (execs, cov, ft) is printed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
B=${SP_FUZZ_BUILD:-$SRC/build-fuzz-clang}
SECS=${1:-300}
shift || true
TARGETS=${*:-normalize reader flightrec titem export kafka config}

if [ ! -f "$B/CMakeCache.txt" ]; then
  CC=clang cmake -S "$SRC" -B "$B" -DSP_FUZZ=ON -DSP_SANITIZE=ON >/dev/null
fi
cmake --build "$B" -j2 --target $(for t in $TARGETS; do printf 'fuzz_%s ' "$t"; done) >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in $TARGETS; do
  out="$B/fuzz-out/$t"
  mkdir -p "$out/new"
  dict=()
  [ -f "$HERE/dict/$t.dict" ] && dict=(-dict="$HERE/dict/$t.dict")
  echo "== $t: ${SECS}s"
  ( cd "$out" && "$B/tests/fuzz/fuzz_$t" -max_total_time="$SECS" -max_len=65536 -timeout=20 -rss_limit_mb=2048 \
      -print_final_stats=1 "${dict[@]}" "$out/new" "$HERE/corpus/$t" ) >"$out/log" 2>&1 || true
  grep -E '^#[0-9]+ +(DONE|pulse|NEW|REDUCE)' "$out/log" | tail -1 || true
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$out/log" || true
  if ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* >/dev/null 2>&1; then
    echo "   FINDINGS:"; ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* 2>/dev/null
  fi
  # keep the committed corpus minimal: merge what is new into it
  mkdir -p "$out/merged"
  "$B/tests/fuzz/fuzz_$t" -merge=1 -max_len=65536 "$out/merged" "$HERE/corpus/$t" "$out/new" >"$out/merge.log" 2>&1 || true
done
echo "merged corpora are in $B/fuzz-out/<target>/merged (copy over tests/fuzz/corpus/<target> to keep them)"
