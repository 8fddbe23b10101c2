#!/bin/bash
# timeline_faults.sh - one fault derived from real sample data per run (timeline_faults.py): the analysis
# reports exactly that anomaly kind, vat and position, and nothing else; a #8264 crash re-execution reports nothing.
# args: BUILD_DIR DATA_DIR
set -u
B=$1
D=$2
S=$B/slogpipe
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/timeline_faults.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
# two halves (this script: swing-store faults; timeline_faults_slog.sh: slog faults), so each
# stays well inside the CTest timeout under ASan on a loaded machine
faults=$(python3 "$HERE/timeline_faults.py" --list "${FAULT_SET:-store}")
for f in $faults; do
    O=$T/$f
    mkdir -p "$O"
    if ! python3 "$HERE/timeline_faults.py" "$f" "$D" "$O" >"$O/plan"; then
        echo "FAIL $f: fault generator"; fail=1; continue
    fi
    ins=$(sed -n 's/^inputs //p' "$O/plan")
    ins=${ins//SLOG/$D/basic/slog.jsonl.gz}
    ins=${ins//STORE/$D/basic/swingstore.sqlite}
    read -r _ kind vat pos < <(grep '^expect ' "$O/plan")
    # every expected anomaly, in the order of the query below
    want=$(sed -n 's/^expect //p' "$O/plan" | sort -k1,1 -k2,2 -k3,3n)
    # shellcheck disable=SC2086
    if ! "$S" ingest --fast-backfill --db "$O/db" --node basic $ins >"$O/log" 2>&1; then
        echo "FAIL $f: ingest"; cat "$O/log"; fail=1; continue
    fi
    got=$(python3 -c "
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for k, v, p, d in c.execute('SELECT kind, COALESCE(vat_id, \"-\"), COALESCE(position, \"-\"), detail FROM anomalies ORDER BY kind, vat_id, position'):
    print(k, v, p)
" "$O/db")
    if [ "$kind" = NONE ]; then want=""; fi
    if [ "$got" = "$want" ]; then
        echo "ok $f: ${want:-no anomaly}"
    else
        echo "FAIL $f: expected [$(echo "$want" | tr '\n' ';')] got [$(echo "$got" | tr '\n' ';')]"
        fail=1
    fi
    # the detail is evidence a person can act on: a JSON object naming the rule
    if [ -n "$want" ] && ! python3 -c "
import sqlite3, sys, json
d = json.loads(sqlite3.connect(sys.argv[1]).execute('SELECT detail FROM anomalies').fetchone()[0])
sys.exit(0 if isinstance(d, dict) and 'rule' in d and len(d) >= 2 else 1)" "$O/db"; then
        echo "FAIL $f: detail is not a JSON object with evidence"; fail=1
    fi
done
# the dedupe really is what keeps the re-executed block quiet
if [ -f "$T/crash-reexecution/db" ]; then
    n=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT deduped_deliveries FROM analysis_runs').fetchone()[0])" "$T/crash-reexecution/db")
    if [ "$n" -gt 0 ]; then echo "ok crash-reexecution: $n live deliveries of the uncommitted execution dropped"; else echo "FAIL crash-reexecution: nothing deduplicated"; fail=1; fi
fi
# a store older than the slog: the span the slog saw closed is shown closed, the slog's newer span current
if [ -f "$T/store-older-than-slog/db" ]; then
    got=$(python3 -c "
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(*c.execute(\"SELECT group_concat(start_pos||'-'||end_pos||':'||is_current||from_transcript||from_slog, ' ') FROM spans WHERE vat_id='v9' AND start_pos>=81\").fetchone())
" "$T/store-older-than-slog/db")
    if [ "$got" = "81-90:011 90--1:101" ]; then echo "ok store-older-than-slog: spans $got"; else echo "FAIL store-older-than-slog: spans $got"; fail=1; fi
fi
exit $fail
