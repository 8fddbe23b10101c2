#!/usr/bin/env bash
# ingest_resume.sh - exactly-once effect: ingesting twice, or resuming after kill -9, gives the same database as one clean run.
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

# kill -9 at many points (small batches so commits are frequent), resume each time.
kills=0
rm -f "$T/k.db"* "$T/k.jsonl"*
for delay in 0.05 0.1 0.15 0.2 0.25 0.12 0.3 0.18 0.22 0.08 0.3 0.14 0.26 0.16 0.2 0.11 0.28 0.19 0.24 0.13 0.3 0.17 0.21 0.09 0.27; do
  "$SP" ingest -q --db "$T/k.db" --jsonl "$T/k.jsonl" --node n1 --batch-rows 3000 "$B" "$SLOG" 2>/dev/null &
  pid=$!
  sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
done
"$SP" ingest -q --db "$T/k.db" --jsonl "$T/k.jsonl" --node n1 --batch-rows 3000 "$B" "$SLOG"
canon "$T/k.db" >"$T/k.txt"
echo "killed $kills runs"
check "at least 20 runs were killed mid-way" "$([ "$kills" -ge 20 ] && echo yes)" yes
check "sources table agrees with slog_events after kills + resume" "$(sources_drift "$T/k.db")" 0
check "sources table agrees with slog_events after one run" "$(sources_drift "$T/ref.db")" 0
check "sources has both inputs" "$(q "$T/ref.db" "SELECT count(*) FROM sources WHERE node='n1'")" 2
if cmp -s "$T/ref.txt" "$T/k.txt"; then ok "database after $kills kills + resume equals one clean run"; else
  bad "database after kills differs"; diff "$T/ref.txt" "$T/k.txt" | head -10; fi
if cmp -s "$T/ref1.jsonl" "$T/k.jsonl"; then ok "JSONL after kills + resume equals one clean run"; else
  bad "JSONL after kills differs ($(wc -l <"$T/k.jsonl") vs $(wc -l <"$T/ref1.jsonl") lines)"; fi
finish
