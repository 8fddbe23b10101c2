#!/bin/bash
# timeline_parity.sh - the streaming stage reports what the batch analysis reports, kind, vat, position and
# evidence, for every fault of timeline_faults.py, with its inputs in both orders: alone (no store, JSONL only),
# and beside a store (--stream-only: the JSONL records it emitted while the rows went in) against the analysis
# of that same store afterwards (`timeline --analyze`: its replay through the stage, and its SQL passes).
# args: BUILD_DIR DATA_DIR. The batch analysis (SQL over the SQLite store, written independently) is the oracle.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
S=$SP
D=$DATA
faults=${PARITY_FAULTS:-$(python3 "$HERE/timeline_faults.py" --list all)}
# Faults whose evidence lies in the other input at a position the stage no longer remembers when it runs
# without a store (it keeps a bounded window per vat, e.g. the last 8 saves of each side): store-less, the
# stage may report less than the batch analysis, never something else; with a store it must report the same.
NEEDS_STORE="slog-snapshot-id-mismatch slog-end-position slog-transcript-divergence replay-divergence replay-computron-drift"
# A slog alone states no schedule: only the analysis of the whole history infers one from the node's own
# closed spans (sp_analyze.c infer_config, passed into its replay); the stream judges a schedule only when
# it is stated (store, export data, option). Store-less and --stream-only, the stage reports less here.
INFERRED="slog-snapshot-overdue slog-early-snapshot"
# view: one line per anomaly, "kind|vat|position|detail" with the detail's keys sorted
view_db() {
  python3 - "$1" <<'PY'
import json, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT kind, vat_id, position, detail FROM anomalies")
out = sorted(f"{k}|{v}|{p}|{json.dumps(json.loads(d), sort_keys=True)}" for k, v, p, d in rows)
print("\n".join(out))
PY
}
view_jsonl() {
  python3 - "$1" <<'PY'
import json, sys
last = {}
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if r["kind"] != "anomaly":
        continue
    key = (r["anomalyKind"], r.get("vatID"), r.get("position"))
    if r.get("retracted"):
        last.pop(key, None)
    else:
        last[key] = r
out = sorted(f"{k}|{v}|{p}|{json.dumps(r['detail'], sort_keys=True)}" for (k, v, p), r in last.items())
print("\n".join(out))
PY
}
for f in $faults; do
  O=$T/$f
  mkdir -p "$O"
  if ! python3 "$HERE/timeline_faults.py" "$f" "$D" "$O" >"$O/plan"; then bad "$f: fault generator"; continue; fi
  ins=$(sed -n 's/^inputs //p' "$O/plan")
  ins=${ins//SLOG/$D/basic/slog.jsonl.gz}
  ins=${ins//STORE/$D/basic/swingstore.sqlite}
  rev=$(echo "$ins" | tr ' ' '\n' | tac | tr '\n' ' ')
  # shellcheck disable=SC2086
  # shellcheck disable=SC2086
  "$S" ingest -q --db "$O/db" --node basic $ins >"$O/log" 2>&1 || { bad "$f: batch ingest"; cat "$O/log"; continue; }
  view_db "$O/db" >"$O/batch"
  for order in given reversed; do
    if [ $order = given ]; then set -- $ins; else set -- $rev; fi
    "$S" ingest -q --db '' --jsonl "$O/$order.jsonl" --node basic "$@" >"$O/log.$order" 2>&1 ||
      { bad "$f: stage-only ingest ($order order)"; cat "$O/log.$order"; continue; }
    view_jsonl "$O/$order.jsonl" >"$O/stage.$order"
    if [[ " $NEEDS_STORE $INFERRED " == *" $f "* ]]; then
      # bounded memory: the other input's evidence is beyond what the stage keeps; it may say less, never else
      extra=$(comm -13 "$O/batch" "$O/stage.$order" | grep -c . || true)
      if [ "$extra" = 0 ]; then
        ok "$f ($order order, no store): nothing the batch analysis does not report ($(grep -c . "$O/stage.$order" || true) of $(grep -c . "$O/batch"); the rest needs a store)"
      else
        bad "$f ($order order, no store): $extra anomalies the batch analysis does not report"
        comm -13 "$O/batch" "$O/stage.$order" | head -3 | cut -c1-300
      fi
    elif cmp -s "$O/batch" "$O/stage.$order"; then
      ok "$f ($order order, no store): the stage = the batch analysis ($(grep -c . "$O/batch") anomalies)"
    else
      bad "$f ($order order, no store): the stage differs from the batch analysis (< batch, > stage)"
      diff "$O/batch" "$O/stage.$order" | head -6 | cut -c1-300 || true
    fi
    # beside a store: what the stage emitted while the run went on, against the store's analysis after it
    "$S" ingest -q --stream-only --db "$O/s.$order.db" --jsonl "$O/s.$order.jsonl" --node basic "$@" \
      >"$O/slog.$order" 2>&1 || { bad "$f: --stream-only ingest ($order order)"; cat "$O/slog.$order"; continue; }
    view_jsonl "$O/s.$order.jsonl" >"$O/sstage.$order"
    "$S" timeline --analyze --db "$O/s.$order.db" >/dev/null 2>&1 || bad "$f: timeline --analyze"
    view_db "$O/s.$order.db" >"$O/sbatch.$order"
    if [[ " $INFERRED " == *" $f "* ]]; then
      extra=$(comm -13 "$O/sbatch.$order" "$O/sstage.$order" | grep -c . || true)
      check "$f ($order order, store): the stream reports nothing the analysis does not (the inferred schedule is the analysis's)" "$extra" 0
    elif cmp -s "$O/sbatch.$order" "$O/sstage.$order"; then
      ok "$f ($order order, store): the stream = the analysis of its store ($(grep -c . "$O/sbatch.$order") anomalies)"
    else
      bad "$f ($order order, store): the stream differs from the analysis of its store (< analysis, > stream)"
      diff "$O/sbatch.$order" "$O/sstage.$order" | head -6 | cut -c1-300 || true
    fi
  done
done
finish
