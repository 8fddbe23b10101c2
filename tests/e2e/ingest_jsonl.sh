#!/usr/bin/env bash
# ingest_jsonl.sh - JSONL output: schema-shaped lines, stdout mode, and exactly-once without a database (sidecar checkpoints).
. "$(dirname "$0")/lib.sh"
S="$DATA/basic/slog.jsonl.gz"
M="$DATA/mainnet/slog.jsonl.gz"

"$SP" ingest -q --db '' --jsonl - --node n "$S" >"$T/out.jsonl"
check "stdout: one record per line (events + deliveries)" "$(grep -c '"kind":"event"' "$T/out.jsonl")" 24851
check "stdout: deliveries" "$(grep -c '"kind":"delivery"' "$T/out.jsonl")" 1459
python3 - "$T/out.jsonl" <<'PY' && ok "every line is a JSON object with kind/node/source" || bad "JSONL lines malformed"
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    o = json.loads(line)
    assert isinstance(o, dict) and "kind" in o and o.get("node") == "n", line[:200]
PY

# Reference: one clean JSONL-only run; then the same run killed (SIGKILL) at exact fault
# points (core/sp_failpoint.h; N counts from each resume; commits every 2000 rows, never on
# time, so the Nth commit is at the same place on any machine), resumed each time. Every kill lands
# where it is meant to whatever the machine's speed: before the first line, mid-batch, at the
# start of a commit (lines written, the sidecar checkpoint not), across the two inputs.
"$SP" ingest -q --db '' --jsonl "$T/ref.jsonl" --node n "$S" "$M"
for fp in line.parsed:1 line.parsed:3000 commit.before:1 commit.before:3 line.parsed:30000 commit.before:10 \
          line.parsed:100000; do
  rc=0
  SLOGPIPE_FAILPOINT=$fp "$SP" ingest -q --db '' --jsonl "$T/k.jsonl" --node n --batch-rows 2000 --commit-ms 3600000 \
    "$S" "$M" 2>"$T/fp.err" || rc=$?
  check "killed at failpoint $fp (exit 137)" "$rc:$(grep -c "failpoint $fp: kill" "$T/fp.err")" "137:1"
done
# An extra: a few kills at random times (not asserted on: where they land depends on the machine).
for delay in 0.05 0.2; do
  "$SP" ingest -q --db '' --jsonl "$T/k.jsonl" --node n --batch-rows 2000 "$S" "$M" 2>/dev/null &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
"$SP" ingest -q --db '' --jsonl "$T/k.jsonl" --node n --batch-rows 2000 "$S" "$M"
if cmp -s "$T/ref.jsonl" "$T/k.jsonl"; then ok "JSONL-only: kills + resume give the clean run's bytes"; else
  bad "JSONL-only output differs after kills ($(wc -l <"$T/k.jsonl") vs $(wc -l <"$T/ref.jsonl") lines)"; fi
test -s "$T/k.jsonl.ckpt" && ok "sidecar checkpoint kept next to the output" || bad "no sidecar"
"$SP" ingest -q --db '' --jsonl "$T/k.jsonl" --node n "$S" "$M"
if cmp -s "$T/ref.jsonl" "$T/k.jsonl"; then ok "JSONL-only: same inputs again add nothing"; else bad "second run appended"; fi

# A file that already holds lines: they are kept, even when the first run is killed
# before its first commit.
printf '{"kind":"foreign"}\n' >"$T/f.jsonl"
rc=0
SLOGPIPE_FAILPOINT=commit.before:1 "$SP" ingest -q --db '' --jsonl "$T/f.jsonl" --node n "$S" "$M" 2>/dev/null || rc=$?
check "killed at the start of the first commit" "$rc" 137
"$SP" ingest -q --db '' --jsonl "$T/f.jsonl" --node n "$S" "$M"
check "existing lines kept" "$(head -1 "$T/f.jsonl")" '{"kind":"foreign"}'
if cmp -s <(tail -n +2 "$T/f.jsonl") "$T/ref.jsonl"; then ok "then exactly the clean run's lines"; else
  bad "lines after the foreign one differ from a clean run"; fi

# A device as output (/dev/null): nothing to sync, cut back or checkpoint beside it.
"$SP" ingest -q --db "$T/dn.db" --jsonl /dev/null --node n "$S" && ok "--jsonl /dev/null with a database" || bad "--jsonl /dev/null with a database"
"$SP" ingest -q --db "$T/dn.db" --jsonl /dev/null --node n "$S" && ok "--jsonl /dev/null again" || bad "--jsonl /dev/null again"
"$SP" ingest -q --db '' --jsonl /dev/null --node n "$S" && ok "--jsonl /dev/null alone" || bad "--jsonl /dev/null alone"
check "no sidecar next to a device" "$(ls /dev/null.ckpt 2>/dev/null | wc -l)" 0

# Swing-stores are snapshots: unchanged ones are skipped, changed ones re-read.
cp "$DATA/basic/swingstore.sqlite" "$T/ss.sqlite"
"$SP" ingest -q --db "$T/s.db" --node n "$T/ss.sqlite"
"$SP" ingest --db "$T/s.db" --node n "$T/ss.sqlite" 2>"$T/log"
grep -q "unchanged since the last ingest, skipped" "$T/log" && ok "unchanged swing-store skipped" || bad "not skipped"
sqlite3 "$T/ss.sqlite" "UPDATE kvStore SET value='4' WHERE key='kernel.snapshotInitial'"
"$SP" ingest -q --db "$T/s.db" --node n "$T/ss.sqlite"
check "changed swing-store re-read" "$(q "$T/s.db" "SELECT value FROM store_kv WHERE key='kernel.snapshotInitial'")" 4
check "no duplicated transcript rows" "$(q "$T/s.db" "SELECT count(*) FROM transcript_items")" 1414
finish
