#!/bin/bash
# timeline_stage_slog.sh - the stage's slog checks (timeline/sp_tl_slogchk.c) on their own: no anomaly on any clean
# sample (stage alone and beside a store, inputs in both orders, overlapping sources), each slog fault reported at the
# generator's key, and a run killed with -9 at its first anomaly reports it exactly once after resume.
# args: BUILD_DIR DATA_DIR. Expected keys come from timeline_faults.py (the fault generator), not from slogpipe.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
S=$SP
D=$DATA
# keys FILE: "kind|vat|position" of the anomalies a JSONL output ends with (last record per key, retractions applied)
keys() {
  python3 - "$1" <<'PY'
import json, sys
last = {}
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if r["kind"] != "anomaly":
        continue
    k = (r["anomalyKind"], r.get("vatID"), r.get("position"))
    last.pop(k, None)
    if not r.get("retracted"):
        last[k] = r
print("\n".join(sorted(f"{k}|{v}|{p}" for k, v, p in last)))
PY
}
# records FILE KEY: how many anomaly records of that key the JSONL holds
records() {
  python3 - "$1" "$2" <<'PY'
import json, sys
n = 0
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if r["kind"] == "anomaly" and f'{r["anomalyKind"]}|{r.get("vatID")}|{r.get("position")}' == sys.argv[2]:
        n += 1
print(n)
PY
}

echo "# 1. clean samples: no anomaly from the stage, alone or beside a store, in either order"
B=$D/basic
samples=(
  "basic:$B/slog.jsonl.gz"
  "basic:$B/slog.jsonl.gz $B/swingstore.sqlite"
  "basic:$B/swingstore.sqlite $B/slog.jsonl.gz"
  "basic:$B/slog.jsonl.gz $B/flight-recorder.bin $B/swingstore.sqlite"
  "basic:$B/slog.jsonl.gz $B/export"
  "basic:$B/flight-recorder.bin $B/swingstore.sqlite"
  "mainnet:$D/mainnet/slog.jsonl.gz $D/mainnet/swingstore.sqlite"
  "mainnet:$D/mainnet/swingstore.sqlite $D/mainnet/slog.jsonl.gz"
  "node2:$D/node2/slog.jsonl.gz $D/node2/swingstore.sqlite"
)
i=0
for s in "${samples[@]}"; do
  node=${s%%:*}
  ins=${s#*:}
  i=$((i + 1))
  # shellcheck disable=SC2086
  "$S" ingest -q --db '' --jsonl "$T/c$i.jsonl" --node "$node" $ins
  # shellcheck disable=SC2086
  "$S" ingest -q --stream-only --db "$T/c$i.db" --jsonl "$T/cs$i.jsonl" --node "$node" $ins
  check "$node ${ins//$D\//} (no store): no anomaly" "$(keys "$T/c$i.jsonl")" ""
  check "$node ${ins//$D\//} (store): no anomaly" "$(keys "$T/cs$i.jsonl")$(q "$T/c$i.db" "SELECT count(*) FROM anomalies")" "0"
done

echo "# 2. each slog fault at the generator's key, stage alone, both orders"
for f in deliverynum-regression activity-after-termination replay-span-mismatch slog-reload-mismatch slog-only-snapshot-id; do
  O=$T/$f
  mkdir -p "$O"
  python3 "$HERE/timeline_faults.py" "$f" "$D" "$O" >"$O/plan"
  want=$(sed -n 's/^expect \([^ ]*\) \([^ ]*\) \([^ ]*\)$/\1|\2|\3/p' "$O/plan")
  ins=$(sed -n 's/^inputs //p' "$O/plan")
  ins=${ins//SLOG/$B/slog.jsonl.gz}
  ins=${ins//STORE/$B/swingstore.sqlite}
  rev=$(echo "$ins" | tr ' ' '\n' | tac | tr '\n' ' ')
  # shellcheck disable=SC2086
  "$S" ingest -q --db '' --jsonl "$O/a.jsonl" --node basic $ins
  # shellcheck disable=SC2086
  "$S" ingest -q --db '' --jsonl "$O/b.jsonl" --node basic $rev
  check "$f (given order)" "$(keys "$O/a.jsonl")" "$want"
  check "$f (reversed order)" "$(keys "$O/b.jsonl")" "$want"
done

echo "# 3. kill -9 at the first anomaly, resume: reported exactly once"
for f in deliverynum-regression activity-after-termination; do
  O=$T/$f
  want=$(sed -n 's/^expect \([^ ]*\) \([^ ]*\) \([^ ]*\)$/\1|\2|\3/p' "$O/plan")
  ins=$(sed -n 's/^inputs //p' "$O/plan")
  ins=${ins//SLOG/$B/slog.jsonl.gz}
  ins=${ins//STORE/$B/swingstore.sqlite}
  for mode in store jsonl; do
    if [ $mode = store ]; then db=(--stream-only --db "$O/k.db"); ref=(--stream-only --db "$O/ref.db"); else db=(--db ''); ref=(--db ''); fi
    rm -f "$O/k.db" "$O/k.jsonl" "$O/k.jsonl.ckpt" "$O/ref.db" "$O/ref.jsonl" "$O/ref.jsonl.ckpt"
    # shellcheck disable=SC2086
    "$S" ingest -q "${ref[@]}" --jsonl "$O/ref.jsonl" --node basic --batch-rows 2000 --commit-ms 3600000 $ins
    set +e
    # shellcheck disable=SC2086
    SLOGPIPE_FAILPOINT=timeline.anomaly:1 "$S" ingest -q "${db[@]}" --jsonl "$O/k.jsonl" --node basic --batch-rows 2000 \
      --commit-ms 3600000 $ins 2>"$O/fp.err"
    rc=$?
    set -e
    check "$f ($mode): killed at its first anomaly" "$rc:$(grep -c 'failpoint timeline.anomaly:1: kill' "$O/fp.err")" "137:1"
    # shellcheck disable=SC2086
    "$S" ingest -q "${db[@]}" --jsonl "$O/k.jsonl" --node basic --batch-rows 2000 --commit-ms 3600000 $ins
    check "$f ($mode), resumed: the anomaly at its key" "$(keys "$O/k.jsonl")" "$want"
    check "$f ($mode), resumed: one record of it" "$(records "$O/k.jsonl" "$want")" 1
    if cmp -s "$O/ref.jsonl" "$O/k.jsonl"; then ok "$f ($mode), resumed: JSONL equals the clean run's"; else
      bad "$f ($mode), resumed: JSONL differs from the clean run's"; diff "$O/ref.jsonl" "$O/k.jsonl" | head -4 | cut -c1-200; fi
    if [ $mode = store ]; then
      check "$f (store), resumed: one row" "$(q "$O/k.db" "SELECT kind || '|' || vat_id || '|' || position FROM anomalies")" "$want"
    fi
  done
done
finish
