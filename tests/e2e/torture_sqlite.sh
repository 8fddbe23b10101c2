#!/usr/bin/env bash
# torture_sqlite.sh - every fallible sqlite3 call of the SQLite sink fails once in turn (slogpipe-torture, SP_TORTURE_FAIL_AT=N): clear error, no crash, and a normal rerun gives the clean run's database.
. "$(dirname "$0")/lib.sh"
TS="$BUILD/slogpipe-torture"
if [ ! -x "$TS" ]; then cmake --build "$BUILD" --target slogpipe-torture >/dev/null; fi

# A small real slog: the kernel start and a stretch with blocks, deliveries, syscalls and
# snapshots (lines of the basic sample under 3000 bytes, to keep each run fast).
zcat "$DATA/basic/slog.jsonl.gz" | awk 'length($0) < 3000' | sed -n '1,10p;3000,3150p' >"$T/s.jsonl"
IN="$T/s.jsonl"
run() { "$TS" ingest -q --db "$1" --node n1 --batch-rows 40 "$IN"; }
# canon1 DB: the tables canon (lib.sh) compares, dumped by ONE sqlite3 process (this loop runs hundreds of times)
canon1() {
  local sql="" t
  for t in slog_events deliveries vats snapshots blocks ingest_errors transcript_items transcript_spans \
           store_snapshots store_kv spans anomalies; do sql+="SELECT '$t', * FROM $t;"; done
  sql+="SELECT 'checkpoints', node, source, line, offset, state FROM checkpoints;"
  sqlite3 -batch -noheader "$1" "$sql" | LC_ALL=C sort
}

run "$T/ref.db"
canon1 "$T/ref.db" >"$T/ref.txt"
check "clean run stored every line" "$(q "$T/ref.db" "SELECT count(*) FROM slog_events")" "$(wc -l <"$IN")"

# Number of fallible calls in a clean run: the smallest N whose run injects nothing.
lo=0 hi=30000
while [ $((hi - lo)) -gt 1 ]; do
  m=$(((lo + hi) / 2))
  rm -f "$T/b.db"*
  if SP_TORTURE_FAIL_AT=$m run "$T/b.db" 2>"$T/b.err" && ! grep -q injected "$T/b.err"; then hi=$m; else lo=$m; fi
done
total=$lo
echo "a clean run makes $total fallible sqlite3 calls"
check "the run makes sqlite3 calls" "$([ "$total" -gt 100 ] && echo yes)" yes

# Every call of the first 30 (open, migrations, first inserts) and the last 15 (final commit,
# analysis), and 30 spread evenly between them; SP_TORTURE_ALL=1 fails every call in turn.
if [ "${SP_TORTURE_ALL:-0}" = 1 ]; then
  points=$(seq 1 "$total")
else
  step=$(((total - 45) / 30))
  [ "$step" -lt 1 ] && step=1
  points=$( { seq 1 30; seq 31 "$step" $((total - 16)); seq $((total - 15)) "$total"; } | sort -nu)
fi
runs=0 crashes=0 silent=0 differ=0 recovered=0 badexit=0
for n in $points; do
  rm -f "$T/f.db"*
  set +e
  SP_TORTURE_FAIL_AT=$n run "$T/f.db" >/dev/null 2>"$T/f.err"
  rc=$?
  set -e
  runs=$((runs + 1))
  if [ "$rc" -ge 128 ] || grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$T/f.err"; then
    crashes=$((crashes + 1)); echo "call $n: crash (rc $rc)"; head -5 "$T/f.err"
  elif [ "$rc" -ne 0 ]; then
    if ! grep -q 'injected fault' "$T/f.err"; then silent=$((silent + 1)); echo "call $n: rc $rc without a clear message"; head -3 "$T/f.err"; fi
    case $rc in 70|73|74) ;; *) badexit=$((badexit + 1)); echo "call $n: unexpected exit $rc" ;; esac
  else
    recovered=$((recovered + 1))
  fi
  # the database left behind must be sound, and a normal rerun completes it exactly
  if [ -e "$T/f.db" ]; then
    ic=$(q "$T/f.db" "PRAGMA integrity_check" 2>&1 || true)
    [ "$ic" = ok ] || { differ=$((differ + 1)); echo "call $n: integrity_check: $ic"; }
  fi
  if ! run "$T/f.db" 2>"$T/r.err"; then
    differ=$((differ + 1)); echo "call $n: rerun failed: $(head -2 "$T/r.err")"; continue
  fi
  canon1 "$T/f.db" >"$T/f.txt"
  if ! cmp -s "$T/ref.txt" "$T/f.txt"; then
    differ=$((differ + 1)); echo "call $n: rerun differs from the clean run"; diff "$T/ref.txt" "$T/f.txt" | head -6
  fi
done
echo "$runs fault runs ($recovered recovered with exit 0)"
check "no run crashed" "$crashes" 0
check "every failed run names the injected fault" "$silent" 0
check "every failed run exits 70/73/74" "$badexit" 0
check "after every fault, a rerun gives the clean database (no loss, no duplicates, integrity ok)" "$differ" 0
finish
