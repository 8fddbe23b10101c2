# lib.sh - shared helpers for the end-to-end test scripts (sourced; args of the caller: BUILD_DIR DATA_DIR).
set -euo pipefail
BUILD=$(cd "$1" && pwd)
DATA=$(cd "$2" && pwd)
SP="$BUILD/slogpipe"
T=$(mktemp -d "${TMPDIR:-/tmp}/slogpipe-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
PASS=0
FAIL=0
SKIP=0

ok()   { PASS=$((PASS + 1)); echo "ok - $*"; }
bad()  { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
# check DESCRIPTION ACTUAL EXPECTED
check() { if [ "$2" == "$3" ]; then ok "$1"; else bad "$1: got '$2', expected '$3'"; fi; }
# q DB SQL: one value
q() { sqlite3 -batch -noheader "$1" "$2"; }
# skip REASON: a part that could not run here; finish then exits 77, which CTest shows as skipped (never as passed)
skip() { SKIP=$((SKIP + 1)); echo "SKIP - $*"; }
# finish: the plain closing line CTest output is read for; exit status (1 on a failure, else 77 if anything was skipped)
finish() {
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ] || return 1
  if [ "$SKIP" -gt 0 ]; then echo "$SKIP skipped: exit 77"; return 77; fi
}

# sources_drift DB: rows where the sink-kept `sources` table and slog_events
# disagree (must print 0).
sources_drift() {
  q "$1" "SELECT count(*) FROM (SELECT * FROM (SELECT node, source, count(*), min(line), max(line), min(time),
          max(time) FROM slog_events GROUP BY 1, 2 EXCEPT SELECT * FROM sources) UNION ALL
          SELECT * FROM (SELECT * FROM sources EXCEPT SELECT node, source, count(*), min(line), max(line),
          min(time), max(time) FROM slog_events GROUP BY 1, 2))"
}

# canon DB: a canonical text dump of the tables that must be identical
# between runs (rows sorted, wall-clock bookkeeping columns left out).
canon() {
  local db=$1
  for t in slog_events deliveries vats snapshots blocks ingest_errors transcript_items transcript_spans \
           store_snapshots store_kv spans anomalies sources runs; do
    echo "== $t"
    if [ "$(q "$db" "SELECT count(*) FROM sqlite_master WHERE name='$t'")" = 1 ]; then
      sqlite3 -batch -noheader "$db" "SELECT * FROM $t" | LC_ALL=C sort
    fi
  done
  echo "== checkpoints"
  q "$db" "SELECT node, source, line, offset, state FROM checkpoints ORDER BY 1,2"
}
