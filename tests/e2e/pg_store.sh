#!/usr/bin/env bash
# pg_store.sh - the PostgreSQL store on a real server started here: every sample equals the SQLite result table by table; ingesting twice adds nothing; kill -9 at exact fault points and resume equals one clean run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.bash"
pg_start
B="$DATA/basic"
INPUTS=(--node basic "$B/slog.jsonl.gz" "$B/swingstore.sqlite" "$B/export")

# Reference: SQLite, without the end-of-run analysis (SQLite-only, not run on PostgreSQL).
ingest_all() { # DB EXTRA-ARGS...: the three samples, one node each
  local db=$1; shift
  "$SP" ingest -q --no-analyze --db "$db" "$@" "${INPUTS[@]}"
  "$SP" ingest -q --no-analyze --db "$db" "$@" --node node2 "$DATA/node2/slog.jsonl.gz" "$DATA/node2/swingstore.sqlite"
  "$SP" ingest -q --no-analyze --db "$db" "$@" --node mainnet "$DATA/mainnet/slog.jsonl.gz" "$DATA/mainnet/swingstore.sqlite"
}
ingest_all "$T/ref.db"
sqlite_canon "$T/ref.db" >"$T/ref.txt"

# The three URL forms select PostgreSQL.
U=$(pg_url ref)
ingest_all "$U"
pg_canon "$U" >"$T/pg.txt"
check "slog_events rows (basic + node2 + mainnet, counted by zcat)" "$(pq "$U" "SELECT count(*) FROM slog_events")" \
  "$(( $(zcat "$B/slog.jsonl.gz" "$DATA/node2/slog.jsonl.gz" "$DATA/mainnet/slog.jsonl.gz" | grep -c '"type"') ))"
if cmp -s "$T/ref.txt" "$T/pg.txt"; then ok "PostgreSQL equals SQLite, table by table ($(wc -l <"$T/ref.txt") lines)"; else
  bad "PostgreSQL differs from SQLite"; diff "$T/ref.txt" "$T/pg.txt" | head -10; fi
check "every table of the SQLite store exists in PostgreSQL" \
  "$(sqlite3 "$T/ref.db" "SELECT name FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE 'sqlite%' ORDER BY 1" |
     while read -r t; do pq "$U" "SELECT to_regclass('$t') IS NOT NULL" ; done | sort -u)" "t"
check "schema version recorded" "$(pq "$U" "SELECT max(version) FROM slogpipe_schema")" \
  "$(ls "$(dirname "$0")/../../schemas/postgres/"*.sql | wc -l)"

PG_HOST=${U#*host=}
U2="postgres://slog@/kw?host=$PG_HOST"; pg_url kw >/dev/null
"$SP" ingest -q --no-analyze --db "$U2" "${INPUTS[@]}"
check "postgres:// URL" "$(pq "$U2" "SELECT count(*) FROM slog_events")" "$(sqlite3 "$T/ref.db" "SELECT count(*) FROM slog_events WHERE node='basic'")"
U3="host=$PG_HOST user=slog dbname=kw3"; pg_url kw3 >/dev/null
"$SP" ingest -q --no-analyze --db "$U3" "${INPUTS[@]}"
check "libpq keyword string" "$(pq "$(pg_url kw3)" "SELECT count(*) FROM deliveries")" "$(sqlite3 "$T/ref.db" "SELECT count(*) FROM deliveries WHERE node='basic'")"

# Ingesting twice adds nothing.
ingest_all "$U"
pg_canon "$U" >"$T/again.txt"
if cmp -s "$T/pg.txt" "$T/again.txt"; then ok "second ingest of the same inputs changes nothing"; else
  bad "second ingest changed the database"; diff "$T/pg.txt" "$T/again.txt" | head -5; fi

# kill -9 at exact fault points, resume each time (commits every 3000 rows, never on time).
K=$(pg_url kills)
for fp in pg.migration:1 line.parsed:1 commit.before:1 pg.before_commit:1 pg.committed:1 line.parsed:2500 \
          commit.before:3 pg.committed:4 pg.before_commit:6 line.parsed:90000 pg.committed:30 commit.before:2; do
  rc=0
  SLOGPIPE_FAILPOINT=$fp "$SP" ingest -q --no-analyze --db "$K" --batch-rows 3000 --commit-ms 3600000 "${INPUTS[@]}" \
    "$DATA/mainnet/slog.jsonl.gz" 2>"$T/fp.err" || rc=$?
  check "killed at failpoint $fp (exit 137)" "$rc:$(grep -c "failpoint $fp: kill" "$T/fp.err")" "137:1"
done
"$SP" ingest -q --no-analyze --db "$K" --batch-rows 3000 "${INPUTS[@]}" "$DATA/mainnet/slog.jsonl.gz"
C=$(pg_url clean)
"$SP" ingest -q --no-analyze --db "$C" "${INPUTS[@]}" "$DATA/mainnet/slog.jsonl.gz"
pg_canon "$C" >"$T/clean.txt"
pg_canon "$K" >"$T/killed.txt"
if cmp -s "$T/clean.txt" "$T/killed.txt"; then ok "kills and resumes equal one clean run"; else
  bad "kills and resumes differ from one clean run"; diff "$T/clean.txt" "$T/killed.txt" | head -10; fi

# The same with the streaming timeline stage on (no --no-analyze): its spans, anomalies and its
# per-node state (checkpoints of source "@timeline") commit with the rows and resume after a kill.
TABLES=slog_events,deliveries,vats,snapshots,blocks,transcript_items,spans,anomalies
KS=$(pg_url kills_tl)
for fp in commit.before:2 pg.committed:3 line.parsed:30000 pg.before_commit:9 pg.committed:25; do
  rc=0
  SLOGPIPE_FAILPOINT=$fp "$SP" ingest -q --db "$KS" --batch-rows 3000 --commit-ms 3600000 "${INPUTS[@]}" \
    "$DATA/mainnet/slog.jsonl.gz" 2>"$T/fp.err" || rc=$?
  check "stage on: killed at failpoint $fp (exit 137)" "$rc:$(grep -c "failpoint $fp: kill" "$T/fp.err")" "137:1"
done
"$SP" ingest -q --db "$KS" --batch-rows 3000 "${INPUTS[@]}" "$DATA/mainnet/slog.jsonl.gz"
CS=$(pg_url clean_tl)
"$SP" ingest -q --db "$CS" --batch-rows 3000 "${INPUTS[@]}" "$DATA/mainnet/slog.jsonl.gz"
pg_canon "$CS" --tables "$TABLES" >"$T/clean_tl.txt"
pg_canon "$KS" --tables "$TABLES" >"$T/killed_tl.txt"
check "stage on: spans written" "$([ "$(pq "$CS" "SELECT count(*) FROM spans")" -gt 0 ] && echo yes)" yes
check "stage on: its state is a checkpoint of source @timeline" "$(pq "$CS" "SELECT count(*) FROM checkpoints WHERE source = '@timeline' AND state IS NOT NULL")" 1
if cmp -s "$T/clean_tl.txt" "$T/killed_tl.txt"; then ok "stage on: kills and resumes equal one clean run (spans and anomalies included)"; else
  bad "stage on: kills and resumes differ from one clean run"; diff "$T/clean_tl.txt" "$T/killed_tl.txt" | head -10; fi

# Runs and block budgets (the stage's runs part, issue #19) on the blocks sample: PostgreSQL equals SQLite.
RB=$(pg_url runs)
"$SP" ingest -q --db "$RB" --node blocks "$DATA/blocks/slog.jsonl.gz"
"$SP" ingest -q --db "$T/runs.db" --node blocks "$DATA/blocks/slog.jsonl.gz"
check "runs: rows in PostgreSQL (one per run-finish line)" "$(pq "$RB" "SELECT count(*) FROM runs")" \
  "$(zcat "$DATA/blocks/slog.jsonl.gz" | grep -c '"type":"cosmic-swingset-run-finish"')"
# (the tables only: the stage's checkpoint state may say which store it had)
rows_only() { sed '/^== checkpoints/,$d'; }
if cmp -s <(sqlite_canon "$T/runs.db" --tables runs,blocks,deliveries | rows_only) \
          <(pg_canon "$RB" --tables runs,blocks,deliveries | rows_only); then
  ok "runs, block budgets, deliveries with run/method/target: PostgreSQL equals SQLite"; else
  bad "runs/blocks/deliveries differ between PostgreSQL and SQLite"
  diff <(sqlite_canon "$T/runs.db" --tables runs,blocks,deliveries) <(pg_canon "$RB" --tables runs,blocks,deliveries) | head -6 | cut -c1-200; fi
check "explain reads a PostgreSQL store" "$("$SP" explain --db "$RB" --slowest 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["block_height"])')" \
  "$("$SP" explain --db "$T/runs.db" --slowest 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["block_height"])')"

finish
