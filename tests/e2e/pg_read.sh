#!/usr/bin/env bash
# pg_read.sh - the read commands (query in every report and format, anomalies, timeline, report, extract) on a PostgreSQL URL print what they print on the SQLite store holding the same rows; their exit codes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.bash"
pg_start

# An analysed SQLite store, and a PostgreSQL store holding the same rows (every table copied by
# pg_canon.py load into the schema slogpipe created), so both must answer alike.
"$SP" ingest -q --db "$T/a.db" --node basic "$DATA/basic/slog.jsonl.gz" "$DATA/basic/swingstore.sqlite"
"$SP" ingest -q --db "$T/a.db" --node mainnet "$DATA/mainnet/slog.jsonl.gz" "$DATA/mainnet/swingstore.sqlite"
U=$(pg_url an)
: >"$T/empty.jsonl"
"$SP" ingest -q --db "$U" "$T/empty.jsonl" 2>/dev/null || true
check "the schema is in place" "$(pq "$U" "SELECT max(version) FROM slogpipe_schema")" "$(ls "$(dirname "$0")/../../schemas/postgres/"*.sql | wc -l)"
python3 "$(dirname "$0")/pg_canon.py" load "$T/a.db" "$U"
check "anomalies copied" "$(pq "$U" "SELECT count(*) FROM anomalies")" "$(q "$T/a.db" "SELECT count(*) FROM anomalies")"

same() { # same DESCRIPTION ARGS...: slogpipe ARGS --db SQLite vs --db URL, stdout and exit code
  local d=$1; shift
  local r1=0 r2=0
  "$SP" "$@" --db "$T/a.db" >"$T/o1" 2>"$T/e1" || r1=$?
  "$SP" "$@" --db "$U" >"$T/o2" 2>"$T/e2" || r2=$?
  if [ "$r1:$r2" = 0:0 ] && [ -s "$T/o1" ] && cmp -s "$T/o1" "$T/o2"; then ok "$d: same output ($(wc -l <"$T/o1") lines)"; else
    bad "$d: exit $r1/$r2"; diff "$T/o1" "$T/o2" | head -5; cat "$T/e2" | head -3; fi
}
for r in vats schedule snapshots blocks anomalies anomaly-counts; do
  for f in "" --json --csv; do same "query $r $f" query $r $f; done
done
same "query vats --node mainnet --vat v9" query vats --node mainnet --vat v9
same "anomalies" anomalies
kind=$(q "$T/a.db" "SELECT kind FROM anomalies ORDER BY kind LIMIT 1")
same "anomalies --json --kind $kind" anomalies --json --kind "$kind"
same "timeline" timeline
same "timeline --node mainnet --vat v9" timeline --node mainnet --vat v9

"$SP" report --db "$T/a.db" -o "$T/r1.html"
"$SP" report --db "$U" -o "$T/r2.html"
# the page names its database and the second it was generated: those may differ
gen='s/"generated":"[^"]*"/"generated":"-"/'
sed "s|$T/a.db|DB|g; $gen" "$T/r1.html" >"$T/r1n"
shown="postgresql host=$PG_DIR port=5432 dbname=an user=slog"
sed "s|$shown|DB|g; $gen" "$T/r2.html" >"$T/r2n"
if cmp -s "$T/r1n" "$T/r2n"; then ok "report: the same page (but the database's name and the time)"; else bad "report differs"; diff "$T/r1n" "$T/r2n" | head -3; fi
"$SP" extract --db "$T/a.db" --node mainnet --vat v9 -o "$T/x1" >/dev/null
"$SP" extract --db "$U" --node mainnet --vat v9 -o "$T/x2" >/dev/null
if diff -r "$T/x1" "$T/x2" >/dev/null && [ "$(ls "$T/x1" | wc -l)" -gt 1 ]; then ok "extract: the same files ($(ls "$T/x1" | wc -l))"; else bad "extract differs"; fi

# Exit codes: no such database 66, not a slogpipe database 65, --analyze on PostgreSQL 64.
rc=0; "$SP" query vats --db "postgresql://slog@/nosuch?host=$PG_DIR" >/dev/null 2>"$T/e" || rc=$?
check "query on a missing database: exit 66" "$rc" 66
grep -q 'dbname=nosuch' "$T/e" && ok "... naming the server and database" || bad "... message: $(cat "$T/e")"
E=$(pg_url empty)
rc=0; "$SP" query vats --db "$E" >/dev/null 2>"$T/e" || rc=$?
check "query on a database without the slogpipe schema: exit 65" "$rc" 65
rc=0; "$SP" anomalies --analyze --db "$U" >/dev/null 2>&1 || rc=$?
check "anomalies --analyze on PostgreSQL: exit 64" "$rc" 64
finish
