#!/bin/bash
# timeline_crossnode.sh - the basic and node2 runs ingested as two nodes of one chain agree (no anomaly);
# a different heap snapshot or crankhash on one node is reported as a cross-node divergence on both.
# args: BUILD_DIR DATA_DIR
set -u
B=$1
D=$2
S=$B/slogpipe
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/timeline_crossnode.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
anoms() {
    python3 -c "
import sqlite3, sys
for r in sqlite3.connect(sys.argv[1]).execute('SELECT node, kind, COALESCE(vat_id, \"-\"), COALESCE(position, \"-\") FROM anomalies ORDER BY node, kind, vat_id, position'):
    print(*r)
" "$1"
}
ingest2() { # DB NODE2-INPUTS...
    local db=$1
    shift
    "$S" ingest -q --db "$db" --node basic "$D/basic/slog.jsonl.gz" "$D/basic/swingstore.sqlite" >/dev/null 2>&1 &&
        "$S" ingest -q --db "$db" --node node2 "$@" >/dev/null 2>&1
}
if ingest2 "$T/clean.db" "$D/node2/slog.jsonl.gz" "$D/node2/swingstore.sqlite"; then
    got=$(anoms "$T/clean.db")
    nodes=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM analysis_runs').fetchone()[0])" "$T/clean.db")
    if [ -z "$got" ] && [ "$nodes" = 2 ]; then echo "ok basic+node2: two nodes, no anomaly"; else echo "FAIL basic+node2: [$got] nodes=$nodes"; fail=1; fi
else
    echo "FAIL ingest basic+node2"; fail=1
fi
for f in cross-node-snapshot cross-node-crankhash; do
    O=$T/$f
    mkdir -p "$O"
    python3 "$HERE/timeline_faults.py" "$f" "$D" "$O" >"$O/plan" || { echo "FAIL $f: generator"; fail=1; continue; }
    read -r _ kind vat pos < <(grep '^expect ' "$O/plan")
    # shellcheck disable=SC2046
    if ! ingest2 "$O/db" $(sed -n 's/^inputs //p' "$O/plan"); then echo "FAIL $f: ingest"; fail=1; continue; fi
    got=$(anoms "$O/db" | tr '\n' ';')
    want="basic $kind $vat $pos;node2 $kind $vat $pos;"
    # node2's own slog/transcript/store agree with each other: only the cross-node kind may appear
    if [ "$got" = "$want" ]; then echo "ok $f: $kind on both nodes"; else echo "FAIL $f: expected [$want] got [$got]"; fail=1; fi
done
exit $fail
