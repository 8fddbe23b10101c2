#!/usr/bin/env bash
# ingest_resume.sh - exactly-once effect: ingesting twice, or resuming after kill -9 at exact fault points (mid-batch, before and after a commit, inside a migration), gives the same database as one clean run.
. "$(dirname "$0")/lib.sh"
SLOG="$DATA/mainnet/slog.jsonl.gz"
B="$DATA/basic/slog.jsonl.gz"

# Reference: one clean run over two inputs (SQLite + JSONL).
"$SP" ingest -q --db "$T/ref.db" --jsonl "$T/ref.jsonl" --node n1 "$B" "$SLOG"
canon "$T/ref.db" >"$T/ref.txt"
check "reference has rows" "$(q "$T/ref.db" "SELECT count(*) FROM slog_events")" $((24851 + 220097))

# Same input again: nothing new, identical database and JSONL.
"$SP" ingest -q --db "$T/ref.db" --jsonl "$T/ref.jsonl" --node n1 "$B" "$SLOG"
canon "$T/ref.db" >"$T/again.txt"
if cmp -s "$T/ref.txt" "$T/again.txt"; then ok "second ingest of the same inputs changes nothing"; else
  bad "second ingest changed the database"; diff "$T/ref.txt" "$T/again.txt" | head -5; fi
cp "$T/ref.jsonl" "$T/ref1.jsonl"

# One input at a time, in two runs: same result as one run.
"$SP" ingest -q --db "$T/two.db" --jsonl "$T/two.jsonl" --node n1 "$B"
"$SP" ingest -q --db "$T/two.db" --jsonl "$T/two.jsonl" --node n1 "$B" "$SLOG"
canon "$T/two.db" >"$T/two.txt"
if cmp -s "$T/ref.txt" "$T/two.txt"; then ok "two runs equal one run"; else
  bad "two runs differ from one"; diff "$T/ref.txt" "$T/two.txt" | head -5; fi

# kill -9 at exact fault points (core/sp_failpoint.h; N counts from each resume; commits every
# 3000 rows and never on time, so the Nth commit is at the same place on any machine), resume each time: a line parsed, the start of a commit (rows and
# JSONL written, nothing committed), right after the SQLite COMMIT, across the two inputs.
kills=0
rm -f "$T/k.db"* "$T/k.jsonl"*
for fp in line.parsed:1 commit.before:1 line.parsed:2500 sqlite.committed:1 commit.before:2 sqlite.committed:3 \
          line.parsed:20000 commit.before:7 sqlite.committed:20 line.parsed:90000 sqlite.committed:2 commit.before:5; do
  rc=0
  SLOGPIPE_FAILPOINT=$fp "$SP" ingest -q --db "$T/k.db" --jsonl "$T/k.jsonl" --node n1 --batch-rows 3000 \
    --commit-ms 3600000 "$B" "$SLOG" 2>"$T/fp.err" || rc=$?
  check "killed at failpoint $fp (exit 137)" "$rc:$(grep -c "failpoint $fp: kill" "$T/fp.err")" "137:1"
  [ "$rc" = 137 ] && kills=$((kills + 1))
done
# An extra: kills at random times (not asserted on: where they land depends on the machine).
for delay in 0.1 0.3; do
  "$SP" ingest -q --db "$T/k.db" --jsonl "$T/k.jsonl" --node n1 --batch-rows 3000 "$B" "$SLOG" 2>/dev/null &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
"$SP" ingest -q --db "$T/k.db" --jsonl "$T/k.jsonl" --node n1 --batch-rows 3000 "$B" "$SLOG"
canon "$T/k.db" >"$T/k.txt"
check "sources table agrees with slog_events after kills + resume" "$(sources_drift "$T/k.db")" 0
check "sources table agrees with slog_events after one run" "$(sources_drift "$T/ref.db")" 0
check "sources has both inputs" "$(q "$T/ref.db" "SELECT count(*) FROM sources WHERE node='n1'")" 2
if cmp -s "$T/ref.txt" "$T/k.txt"; then ok "database after $kills kills + resume equals one clean run"; else
  bad "database after kills differs"; diff "$T/ref.txt" "$T/k.txt" | head -10; fi
if cmp -s "$T/ref1.jsonl" "$T/k.jsonl"; then ok "JSONL after kills + resume equals one clean run"; else
  bad "JSONL after kills differs ($(wc -l <"$T/k.jsonl") vs $(wc -l <"$T/ref1.jsonl") lines)"; fi

# kill -9 inside a migration: a database at schema version 4 (migrations 001-004 applied, as an
# older slogpipe left it) is killed after the next migration; all of them are one transaction,
# so the database is still at version 4, and the resumed run migrates and ingests as a new one.
SCHEMAS="$(cd "$(dirname "$0")/../../schemas/sqlite" && pwd)"
nschema=$(ls "$SCHEMAS"/*.sql | wc -l)
cat "$SCHEMAS"/00[1-4]-*.sql | sqlite3 -batch "$T/m.db"
sqlite3 -batch "$T/m.db" "PRAGMA user_version=4"
rc=0
SLOGPIPE_FAILPOINT=sqlite.migration:1 "$SP" ingest -q --db "$T/m.db" --node n1 "$B" 2>"$T/fp.err" || rc=$?
check "killed inside the migration (exit 137)" "$rc:$(grep -c "failpoint sqlite.migration:1: kill" "$T/fp.err")" "137:1"
check "the killed migration left version 4" "$(q "$T/m.db" "PRAGMA user_version")" 4
"$SP" ingest -q --db "$T/m.db" --node n1 "$B"
check "the resumed run migrated to the last version" "$(q "$T/m.db" "PRAGMA user_version")" "$nschema"
"$SP" ingest -q --db "$T/mref.db" --node n1 "$B"
if cmp -s <(canon "$T/mref.db") <(canon "$T/m.db"); then ok "migrated database after the kill equals a new one"; else
  bad "migrated database after the kill differs"; diff <(canon "$T/mref.db") <(canon "$T/m.db") | head -10; fi
finish
