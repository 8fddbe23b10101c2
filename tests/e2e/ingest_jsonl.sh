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

# Reference: one clean JSONL-only run; then the same with kill -9 at many points.
"$SP" ingest -q --db '' --jsonl "$T/ref.jsonl" --node n "$S" "$M"
kills=0
for delay in 0.05 0.1 0.2 0.15 0.3 0.25 0.12 0.18 0.22 0.3 0.1 0.2; do
  "$SP" ingest -q --db '' --jsonl "$T/k.jsonl" --node n --batch-rows 2000 "$S" "$M" 2>/dev/null &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
  wait "$pid" 2>/dev/null || true
done
"$SP" ingest -q --db '' --jsonl "$T/k.jsonl" --node n --batch-rows 2000 "$S" "$M"
echo "killed $kills runs"
check "some runs were killed mid-way" "$([ "$kills" -ge 8 ] && echo yes)" yes
if cmp -s "$T/ref.jsonl" "$T/k.jsonl"; then ok "JSONL-only: kills + resume give the clean run's bytes"; else
  bad "JSONL-only output differs after kills ($(wc -l <"$T/k.jsonl") vs $(wc -l <"$T/ref.jsonl") lines)"; fi
test -s "$T/k.jsonl.ckpt" && ok "sidecar checkpoint kept next to the output" || bad "no sidecar"
"$SP" ingest -q --db '' --jsonl "$T/k.jsonl" --node n "$S" "$M"
if cmp -s "$T/ref.jsonl" "$T/k.jsonl"; then ok "JSONL-only: same inputs again add nothing"; else bad "second run appended"; fi

# A file that already holds lines: they are kept, even when the first run is killed
# before its first commit.
printf '{"kind":"foreign"}\n' >"$T/f.jsonl"
"$SP" ingest -q --db '' --jsonl "$T/f.jsonl" --node n "$S" "$M" 2>/dev/null &
pid=$!; sleep 0.02; kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
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
