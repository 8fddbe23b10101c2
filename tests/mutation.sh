#!/usr/bin/env bash
# mutation.sh - on demand (not CI, not CTest): plant small bugs one at a time in a copy of the committed tree, rebuild, run the suite, report which were caught.
# usage: bash tests/mutation.sh [NAME...]   (no NAME: every mutation below)
# env:   SP_MUTATION_TESTS=REGEX  run only the CTest tests matching REGEX (default: the whole suite)
#        SP_MUTATION_JOBS=N       ctest -j and build -j (default 2)
#        SP_MUTATION_KEEP=1       keep the work directory
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
jobs=${SP_MUTATION_JOBS:-2}
regex=${SP_MUTATION_TESTS:-}
W=$(mktemp -d "${TMPDIR:-/tmp}/slogpipe-mutation.XXXXXX")
[ "${SP_MUTATION_KEEP:-}" = 1 ] || trap 'rm -rf "$W"' EXIT

# NAME|FILE|SED SCRIPT|what the bug is. Each sed script must change its file (checked).
mutations=(
  "hash-second-half|core/sp_hash.c|/^void sp_hash_hex(/,/^}/s/to_hex(md, 16, out)/to_hex(md + 16, 16, out)/|sp_hash_hex takes the second half of the SHA-256"
  "span-seed|core/sp_hash.c|s/\"start of transcript span\"/\"start of transcript span.\"/|span hash chain starts from the wrong seed"
  "bad-uncounted|pipeline/sp_pipeline.c|s/if (rec->kind == SP_REC_BAD) p->st.bad++;/if (rec->kind == SP_REC_BAD \\&\\& p->st.bad < 12) p->st.bad++;/|the 13th bad line is not counted"
  "resume-early|pipeline/sp_pipeline.c|s/^    s->ck_line = lineno;/    s->ck_line = lineno - 1;/|checkpoint one line early"
  "kafka-offset-far|kafka/sp_kafka_source.c|s/^        kp->next = m->offset + 1;/        kp->next = m->offset + 2;/|Kafka offset stored one too far"
  "replay-live|normalize/sp_assemble.c|s/d->replay = (ev->has \\& SP_HAS_REPLAY) ? ev->replay : 0;/d->replay = 0;/|replayed deliveries treated as live"
  "schedule-off-by-one|timeline/sp_analyze.c|s/? c->sinit : c->sint;/? c->sinit : c->sint + 1;/|snapshot interval threshold off by one"
  "failpoint-late|core/sp_failpoint.c|s/!= f->n) continue;/!= f->n + 1) continue;/|fault points fire one hit late"
  "stage-blind-save|timeline/sp_tl_stream.c|s/^    if (!problem) return SP_OK;/    if (problem) return SP_OK;/|the timeline stage never reports a lying heap-snapshot-save"
)

want=("$@")
selected() { [ ${#want[@]} -eq 0 ] && return 0; local w; for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }

echo "mutation: copying the committed tree (HEAD) to $W/src"
mkdir "$W/src"
git -C "$repo" archive HEAD | tar -x -C "$W/src"
cmake -S "$W/src" -B "$W/build" -DCMAKE_BUILD_TYPE=Debug >"$W/cmake.log" 2>&1
runsuite() { # runsuite LOG: 0 when every selected test passes
  if [ -n "$regex" ]; then ctest --test-dir "$W/build" -j"$jobs" -R "$regex" >"$1" 2>&1
  else ctest --test-dir "$W/build" -j"$jobs" >"$1" 2>&1; fi
}
cmake --build "$W/build" -j"$jobs" >"$W/build.log" 2>&1 || { echo "mutation: the unmodified tree does not build"; tail "$W/build.log"; exit 2; }
if ! runsuite "$W/baseline.log"; then
  echo "mutation: the unmodified tree fails its tests; fix that first:"; grep -E 'Failed|\*\*\*' "$W/baseline.log" | head; exit 2
fi
echo "mutation: baseline passes ($(grep -oE '[0-9]+ tests passed|out of [0-9]+' "$W/baseline.log" | tail -1 | grep -oE '[0-9]+') tests${regex:+ matching $regex})"

caught=0 missed=0 total=0
report=()
for m in "${mutations[@]}"; do
  IFS='|' read -r name file script what <<<"$m"
  selected "$name" || continue
  total=$((total + 1))
  cp "$W/src/$file" "$W/orig"
  sed -i -e "$script" "$W/src/$file"
  if cmp -s "$W/orig" "$W/src/$file"; then
    report+=("$(printf '%-22s %-8s %s' "$name" "STALE" "the sed script no longer matches $file")")
    missed=$((missed + 1))
    continue
  fi
  if ! cmake --build "$W/build" -j"$jobs" >"$W/$name.build.log" 2>&1; then
    result="BUILD"   # does not compile: caught by the compiler, not the tests
    caught=$((caught + 1))
  elif runsuite "$W/$name.log"; then
    result="MISSED"
    missed=$((missed + 1))
  else
    result="caught"
    caught=$((caught + 1))
    what="$what; failed: $(grep -oE '[0-9]+ - [A-Za-z0-9_]+' "$W/$name.log" | sed 's/^[0-9]* - //' | tr '\n' ' ')"
  fi
  report+=("$(printf '%-22s %-8s %s' "$name" "$result" "$what")")
  echo "${report[-1]}"
  cp "$W/orig" "$W/src/$file"
done
cmake --build "$W/build" -j"$jobs" >/dev/null 2>&1 || true
echo
echo "mutation: $caught of $total planted bugs caught${regex:+ (tests matching $regex only)}"
printf '%s\n' "${report[@]}"
[ "$missed" -eq 0 ]
