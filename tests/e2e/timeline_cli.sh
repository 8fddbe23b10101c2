#!/bin/bash
# timeline_cli.sh - `slogpipe timeline` and `slogpipe anomalies` on an ingested sample: tables, filters, JSON, exit codes.
# args: BUILD_DIR DATA_DIR
set -u
B=$1
D=$2
S=$B/slogpipe
T=$(mktemp -d /tmp/timeline_cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok $*"; }
bad() { echo "FAIL $*"; fail=1; }
expect_rc() { # WANT DESC CMD...
    local want=$1 desc=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" = "$want" ]; then ok "$desc (exit $rc)"; else bad "$desc: exit $rc, expected $want"; cat "$T/err"; fi
}

expect_rc 0 "timeline --help" "$S" timeline --help
grep -q "^usage: slogpipe timeline" "$T/out" || bad "timeline --help prints usage on stdout"
expect_rc 0 "anomalies --help" "$S" anomalies --help
expect_rc 64 "timeline without --db" "$S" timeline
expect_rc 64 "anomalies with an unknown kind" "$S" anomalies --db "$T/x.db" --kind NO_SUCH_KIND
expect_rc 64 "timeline --json is not an option" "$S" timeline --db "$T/x.db" --json
expect_rc 64 "anomalies with a stray argument" "$S" anomalies --db "$T/x.db" extra
expect_rc 66 "missing database" "$S" timeline --db "$T/missing.db"

"$S" ingest -q --db "$T/b.db" --node basic "$D/basic/slog.jsonl.gz" "$D/basic/swingstore.sqlite" >/dev/null 2>&1 || bad "ingest"
expect_rc 0 "timeline --vat v6" "$S" timeline --db "$T/b.db" --vat v6
head -1 "$T/out" | grep -q "^node basic  vat v6 (worker1)  worker xsnap" || bad "v6 header: $(head -1 "$T/out")"
# v6 [320,325) incarnation 0 ends with shutdown-worker; the next span starts the new incarnation
grep -Eq "^ +0 +320 +325 +5 +load-snapshot +shutdown-worker +3 " "$T/out" && ok "v6 [320,325) inc 0 shutdown-worker" || bad "v6 [320,325) row"
grep -Eq "^ +1 +325 +330 +5 +initialize-worker +save-snapshot +3 +2a56acc02cbd +- +ok +TS +0$" "$T/out" &&
    ok "v6 [325,330) inc 1 with its 12-char snapshot ID" || bad "v6 [325,330) row"
[ "$(grep -c ' current$' "$T/out")" = 1 ] && ok "one current span" || bad "current spans: $(grep -c ' current$' "$T/out")"
[ "$(grep -Ec '^ +[0-9]+ +[0-9]+ +[0-9]+ ' "$T/out")" = 44 ] && ok "44 v6 spans" || bad "v6 span rows"
expect_rc 0 "timeline, all vats" "$S" timeline --db "$T/b.db"
[ "$(grep -c '^node basic  vat ' "$T/out")" = 13 ] && ok "13 vats listed" || bad "vats listed: $(grep -c '^node basic  vat ' "$T/out")"
grep -A3 "vat v10 " "$T/out" | grep -Eq "^ +0 +0 +5 +5 +initialize-worker +save-snapshot .* S +0$" && ok "v10 lives on in the slog" || bad "v10 slog-only span"
expect_rc 0 "anomalies on a clean run" "$S" anomalies --db "$T/b.db"
[ ! -s "$T/out" ] && grep -q "^0 anomalies" "$T/err" && ok "no anomalies" || bad "clean run lists anomalies"

# one fault, seen through --json / --kind / --node / --analyze
python3 - "$T/b.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE transcript_spans SET hash='00' || substr(hash, 3) WHERE node='basic' AND vat_id='v2' AND start_pos=14")
c.execute("DELETE FROM anomalies")
c.commit()
PY
expect_rc 0 "anomalies before re-analysis" "$S" anomalies --db "$T/b.db" --json
[ ! -s "$T/out" ] && ok "nothing until analysed" || bad "stale anomalies"
expect_rc 0 "anomalies --analyze --json" "$S" anomalies --db "$T/b.db" --analyze --json
python3 - "$T/out" <<'PY' && ok "JSON line: SPAN_HASH_MISMATCH v2 @14 with stored/computed hashes" || bad "anomalies --json"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 1, rows
r = rows[0]
assert (r["kind"], r["vat_id"], r["position"], r["node"], r["incarnation"]) == ("SPAN_HASH_MISMATCH", "v2", 14, "basic", 0), r
assert r["detail"]["stored_hash"].startswith("00") and len(r["detail"]["computed_hash"]) == 64, r
PY
# a database written before schema 5 (no `sources` table): --analyze migrates it first
python3 - "$T/b.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("DROP TABLE sources")
# and what 009 added (its views first: a column a view reads cannot be dropped)
c.executescript("DROP VIEW v_vats; DROP VIEW v_blocks; DROP VIEW v_schedule; DROP INDEX slog_events_superseded;"
                "DROP INDEX deliveries_superseded; ALTER TABLE slog_events DROP COLUMN superseded;"
                "ALTER TABLE deliveries DROP COLUMN superseded")
# and what 012 added (runs, block budgets, delivery method/target/run)
c.executescript("DROP TABLE runs; DROP INDEX blocks_by_seconds; DROP INDEX deliveries_by_block;"
                "DROP INDEX slog_events_block_saves;")
for col in ("bootstrap block_seconds run_seconds end_block_seconds commit_seconds save_seconds cosmos_commit_seconds "
            "runs computrons cranks deliveries beans_used boyd_seconds snapshot_saves snapshot_seconds replays "
            "replay_seconds").split():
    c.execute("ALTER TABLE blocks DROP COLUMN " + col)
for col in ("run_num", "method", "target", "resolutions"):
    c.execute("ALTER TABLE deliveries DROP COLUMN " + col)
c.execute("PRAGMA user_version=4")
c.commit()
PY
expect_rc 0 "anomalies --analyze on a version-4 database" "$S" anomalies --db "$T/b.db" --analyze --json
python3 - "$T/out" "$T/b.db" <<'PY' && ok "version 4 migrated (sources refilled), same single anomaly" || bad "v4 re-analysis"
import json, sqlite3, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [(r["kind"], r["vat_id"], r["position"]) for r in rows] == [("SPAN_HASH_MISMATCH", "v2", 14)], rows
c = sqlite3.connect(sys.argv[2])
assert c.execute("PRAGMA user_version").fetchone()[0] >= 5
n, ev = c.execute("SELECT count(*), sum(events) FROM sources").fetchone()
assert n >= 1 and ev == c.execute("SELECT count(*) FROM slog_events").fetchone()[0], (n, ev)
PY
expect_rc 0 "anomalies --kind other" "$S" anomalies --db "$T/b.db" --kind SNAPSHOT_OVERDUE
[ ! -s "$T/out" ] && ok "--kind filters" || bad "--kind filter"
expect_rc 0 "anomalies --node other" "$S" anomalies --db "$T/b.db" --node elsewhere
[ ! -s "$T/out" ] && ok "--node filters" || bad "--node filter"
expect_rc 0 "timeline shows the mismatch" "$S" timeline --db "$T/b.db" --vat v2
grep -Eq "^ +0 +14 +23 +9 .* MISMATCH +TS +1$" "$T/out" && ok "v2 [14,23) hash MISMATCH, 1 anomaly" || bad "v2 mismatch row"
exit $fail
