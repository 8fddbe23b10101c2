#!/usr/bin/env bash
# timeline_supersede_stream.sh - #22 item 1 in the streaming stage: the discarded execution of a block re-executed after a crash is a supersede record in every sink (SQLite, PostgreSQL, JSONL, Kafka), in the metrics, and across kill -9.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.bash"
. "$(dirname "$0")/pg_lib.bash"
SCHEMA="$(cd "$(dirname "$0")/../.." && pwd)/schemas/json/record.schema.json"
gzip -dc "$DATA/basic/slog.jsonl.gz" > "$T/all.jsonl"
# The crash, built as timeline_reexecuted_block.sh builds it from the sample's own lines: block 20
# runs up to its commit-block-start, the node restarts (the sample's real restart lines) and runs
# block 20 again to its commit. The oracle reads the crash slog directly.
python3 - "$T/all.jsonl" "$T/crash.jsonl" "$T/disc_lines" > "$T/oracle" <<'PY'
import json, sys
L = open(sys.argv[1]).read().splitlines()
O = [json.loads(l) for l in L]
T = [o["type"] for o in O]
b20 = next(i for i, o in enumerate(O) if o["type"] == "cosmic-swingset-begin-block" and o["blockHeight"] == 20)
cs = next(i for i in range(b20, len(L)) if T[i] == "cosmic-swingset-commit-block-start")
k2 = [i for i, t in enumerate(T) if t == "kernel-init-start"][1]
nb = next(i for i in range(k2, len(L)) if T[i] == "cosmic-swingset-begin-block")
crash = L[:cs] + L[k2:nb] + L[b20:]
open(sys.argv[2], "w").write("\n".join(crash) + "\n")
CO = [json.loads(l) for l in crash]
disc = range(b20, cs)                  # 0-based indexes in the crash slog; lines are 1-based
open(sys.argv[3], "w").write("".join(f"{i + 1}\n" for i in disc))
live = lambda o: o["type"] == "deliver" and not o.get("replay", False)
kept_live = sum(1 for i, o in enumerate(CO) if live(o) and i not in disc)
disc_live = sum(1 for i in disc if live(CO[i]))
disc_all = sum(1 for i in disc if CO[i]["type"] == "deliver")
all_dlv = sum(1 for o in CO if o["type"] == "deliver")
loads = sum(1 for i, o in enumerate(CO) if o["type"] == "heap-snapshot-load" and i not in disc)
assert CO[cs]["type"] == "kernel-init-start"
# the saves the discarded execution made, and the line of the same save in the kept one
pos = lambda o: (o["vatID"], o.get("endPosition", o.get("snapPos")))
kept_save = {pos(o): i + 1 for i, o in enumerate(CO) if o["type"] == "heap-snapshot-save" and i > cs}
with open(sys.argv[3] + ".saves", "w") as f:
    for i in disc:
        if CO[i]["type"] == "heap-snapshot-save":
            f.write("%s|%d|%d\n" % (*pos(CO[i]), kept_save[pos(CO[i])]))
print(kept_live, disc_live, disc_all, all_dlv, len(disc), loads, b20 + 1, cs, cs + 1)
PY
read -r KEPT DISC DISC_ALL ALL_DLV NDISC LOADS FIRST LAST RESTART < "$T/oracle"
check "the discarded execution holds live deliveries" "$((DISC > 0))" 1
sorted_lines() { LC_ALL=C sort -n "$@"; }
sorted_lines "$T/disc_lines" > "$T/disc_sorted"

# --- the stage alone beside SQLite (--stream-only: no end-of-run analysis) ---
"$SP" ingest -q --stream-only --db "$T/s.db" --metrics-file "$T/s.prom" "$T/crash.jsonl"
check "--stream-only: replay=0 AND superseded=0 counts the block once" \
  "$(q "$T/s.db" "SELECT count(*) FROM deliveries WHERE replay=0 AND superseded=0")" "$KEPT"
check "--stream-only: the discarded execution's live deliveries are marked" \
  "$(q "$T/s.db" "SELECT count(*) FROM deliveries WHERE replay=0 AND superseded=1")" "$DISC"
check "--stream-only: all its deliveries (replays too)" "$(q "$T/s.db" "SELECT count(*) FROM deliveries WHERE superseded=1")" "$DISC_ALL"
q "$T/s.db" "SELECT line FROM slog_events WHERE superseded=1" | sorted_lines > "$T/s_lines"
if cmp -s "$T/s_lines" "$T/disc_sorted"; then ok "--stream-only: exactly the discarded lines are marked ($NDISC)"
else bad "--stream-only: marked lines differ from the oracle's: $(diff "$T/s_lines" "$T/disc_sorted" | head -3 | tr '\n' ' ')"; fi
check "--stream-only: snapshots.loads counts the kept execution's loads" "$(q "$T/s.db" "SELECT sum(loads) FROM snapshots")" "$LOADS"
check "--stream-only: the discarded execution made saves" "$(($(wc -l < "$T/disc_lines.saves") > 0))" 1
check "--stream-only: their snapshots rows hold the kept execution's save line" \
  "$(q "$T/s.db" "SELECT vat_id || '|' || snap_pos || '|' || save_line FROM snapshots WHERE (vat_id, snap_pos) IN (VALUES $(sed "s/^\([^|]*\)|\([^|]*\)|.*/('\1',\2)/" "$T/disc_lines.saves" | paste -sd,)) ORDER BY 1" | LC_ALL=C sort)" \
  "$(LC_ALL=C sort "$T/disc_lines.saves")"
check "--stream-only: no analysis ran" "$(q "$T/s.db" "SELECT count(*) FROM analysis_runs")" 0
metric() { awk -v m="$2" '$1 == m {print $2}' "$1"; }
check "metric: slogpipe_deliveries_superseded_total = the discarded deliveries" \
  "$(metric "$T/s.prom" slogpipe_deliveries_superseded_total)" "$DISC_ALL"
check "metric: deliveries_total - superseded = the kept ones" \
  "$(( $(metric "$T/s.prom" slogpipe_deliveries_total) - $(metric "$T/s.prom" slogpipe_deliveries_superseded_total) ))" "$((ALL_DLV - DISC_ALL))"
if out=$(promtool check metrics < "$T/s.prom" 2>&1); then ok "promtool check metrics"; else bad "promtool: $out"; fi

# --- the batch analysis marks the same rows ---
"$SP" ingest -q --db "$T/b.db" "$T/crash.jsonl"
rows() { echo "== events"; q "$1" "SELECT source, line, offset FROM slog_events WHERE superseded=1 ORDER BY 1, 2, 3"
         echo "== deliveries"; q "$1" "SELECT source, line, vat_id, replay FROM deliveries WHERE superseded=1 ORDER BY 1, 2, 3"; }
rows "$T/s.db" > "$T/s.rows"; rows "$T/b.db" > "$T/b.rows"
if cmp -s "$T/s.rows" "$T/b.rows"; then ok "the batch analysis and the stage mark the same rows"
else bad "batch and stage marks differ: $(diff "$T/s.rows" "$T/b.rows" | head -3 | tr '\n' ' ')"; fi
check "the batch analysis' loads equal the stage's" "$(q "$T/b.db" "SELECT sum(loads) FROM snapshots")" "$LOADS"
"$SP" anomalies --db "$T/s.db" --analyze > /dev/null 2>&1
rows "$T/s.db" > "$T/s2.rows"
if cmp -s "$T/s.rows" "$T/s2.rows"; then ok "an analysis after the stream keeps the stage's marks"; else bad "analysis after --stream-only changed the marks"; fi

# --- more crashes: before the block ran any crank, in the node's first block, and with the slog rotated inside the block ---
python3 - "$T/all.jsonl" "$T/early.jsonl" "$T/early_lines" <<'PY'
import json, sys
L = open(sys.argv[1]).read().splitlines()
O = [json.loads(l) for l in L]
T = [o["type"] for o in O]
b20 = next(i for i, o in enumerate(O) if o["type"] == "cosmic-swingset-begin-block" and o["blockHeight"] == 20)
c0 = next(i for i in range(b20, len(L)) if T[i] == "crank-start")
k2 = [i for i, t in enumerate(T) if t == "kernel-init-start"][1]
nb = next(i for i in range(k2, len(L)) if T[i] == "cosmic-swingset-begin-block")
open(sys.argv[2], "w").write("\n".join(L[:c0] + L[k2:nb] + L[b20:]) + "\n")
open(sys.argv[3], "w").write("".join(f"{i + 1}\n" for i in range(b20, c0)))
PY
"$SP" ingest -q --stream-only --db "$T/e.db" "$T/early.jsonl"
"$SP" ingest -q --db "$T/eb.db" "$T/early.jsonl"
check "crash before the block's first crank: the stage marks its $(wc -l < "$T/early_lines") lines" \
  "$(q "$T/e.db" "SELECT line FROM slog_events WHERE superseded=1" | sorted_lines | cmp -s - <(sorted_lines "$T/early_lines") && echo same)" same
rows "$T/e.db" > "$T/e.rows"; rows "$T/eb.db" > "$T/eb.rows"
if cmp -s "$T/e.rows" "$T/eb.rows"; then ok "crash before the first crank: the batch analysis marks the same rows"
else bad "crash before the first crank: batch and stage differ: $(diff "$T/e.rows" "$T/eb.rows" | head -3 | tr '\n' ' ')"; fi
# the node's first block (no commit seen yet) crashes and runs again
python3 - "$T/all.jsonl" "$T/first.jsonl" <<'PY' > "$T/first.oracle"
import json, sys
L = open(sys.argv[1]).read().splitlines()
T = [json.loads(l)["type"] for l in L]
b1 = T.index("cosmic-swingset-begin-block")
cs = next(i for i in range(b1, len(L)) if T[i] == "cosmic-swingset-commit-block-start")
k2 = [i for i, t in enumerate(T) if t == "kernel-init-start"][1]
nb = next(i for i in range(k2, len(L)) if T[i] == "cosmic-swingset-begin-block")
open(sys.argv[2], "w").write("\n".join(L[:cs] + L[k2:nb] + L[b1:]) + "\n")
print(b1 + 1, cs)
PY
read -r F1 L1 < "$T/first.oracle"
"$SP" ingest -q --stream-only --db "$T/f.db" "$T/first.jsonl"
"$SP" ingest -q --db "$T/fb.db" "$T/first.jsonl"
check "crash in the first block: the stage marks lines $F1..$L1" \
  "$(q "$T/f.db" "SELECT count(*), min(line), max(line) FROM slog_events WHERE superseded=1")" "$((L1 - F1 + 1))|$F1|$L1"
rows "$T/f.db" > "$T/f.rows"; rows "$T/fb.db" > "$T/fb.rows"
if cmp -s "$T/f.rows" "$T/fb.rows"; then ok "crash in the first block: the batch analysis marks the same rows"
else bad "crash in the first block: batch and stage differ: $(diff "$T/f.rows" "$T/fb.rows" | head -3 | tr '\n' ' ')"; fi
# rotated 500 lines into the discarded execution: one record per file, the same rows as one file
head -n $((FIRST + 499)) "$T/crash.jsonl" > "$T/p1.jsonl"
tail -n +$((FIRST + 500)) "$T/crash.jsonl" > "$T/p2.jsonl"
"$SP" ingest -q --stream-only --node node0 --db "$T/r.db" --jsonl "$T/r.jsonl" "$T/p1.jsonl" "$T/p2.jsonl"
"$SP" ingest -q --node node0 --db "$T/rb.db" "$T/p1.jsonl" "$T/p2.jsonl"
check "rotated inside the block: one supersede record per file" \
  "$(grep '"kind":"supersede"' "$T/r.jsonl" | python3 -c 'import json, sys, os
print(" ".join("%s:%d-%d" % (os.path.basename(r["source"]), r["firstLine"], r["lastLine"]) for r in map(json.loads, sys.stdin)))')" \
  "p1.jsonl:$FIRST-$((FIRST + 499)) p2.jsonl:1-$((LAST - FIRST - 499))"
check "rotated: the marked lines are the discarded ones" \
  "$(q "$T/r.db" "SELECT count(*) FROM slog_events WHERE superseded=1")/$(q "$T/r.db" "SELECT count(*) FROM deliveries WHERE replay=0 AND superseded=0")" "$NDISC/$KEPT"
rows "$T/r.db" > "$T/r.rows"; rows "$T/rb.db" > "$T/rb.rows"
if cmp -s "$T/r.rows" "$T/rb.rows"; then ok "rotated: the batch analysis marks the same rows"
else bad "rotated: batch and stage differ: $(diff "$T/r.rows" "$T/rb.rows" | head -3 | tr '\n' ' ')"; fi

# --- a slog without block markers (no cosmic-swingset lines): the range starts at the first crank
# the next epoch runs again; the whole re-execution (139 cranks: found in the store) and a short one
# (30 cranks: remembered by the stage, also without a store) ---
python3 - "$T/all.jsonl" "$T" <<'PY' > "$T/nm.oracle"
import json, sys
L = open(sys.argv[1]).read().splitlines()
O = [json.loads(l) for l in L]
T = [o["type"] for o in O]
b20 = next(i for i, o in enumerate(O) if o["type"] == "cosmic-swingset-begin-block" and o["blockHeight"] == 20)
cs = next(i for i in range(b20, len(L)) if T[i] == "cosmic-swingset-commit-block-start")
k2 = [i for i, t in enumerate(T) if t == "kernel-init-start"][1]
nb = next(i for i in range(k2, len(L)) if T[i] == "cosmic-swingset-begin-block")
def build(cut, name):
    idx = [i for i in list(range(cut)) + list(range(k2, nb)) + list(range(b20, len(L))) if not T[i].startswith("cosmic-swingset-")]
    open(f"{sys.argv[2]}/{name}.jsonl", "w").write("\n".join(L[i] for i in idx) + "\n")
    C = [O[i] for i in idx]
    kis = [j for j, o in enumerate(C) if o["type"] == "kernel-init-start"]
    c0 = next(o["crankNum"] for o in C[kis[2]:] if o["type"] == "crank-start")
    i0 = next(j for j in range(kis[1], kis[2]) if C[j]["type"] == "crank-start" and C[j]["crankNum"] >= c0)
    print(name, i0 + 1, kis[2], sum(1 for j in range(i0, kis[2]) if C[j]["type"] == "crank-start"))
build(cs, "nm_full")
build([i for i in range(b20, cs) if T[i] == "crank-start"][30], "nm_short")
PY
while read -r name first last cranks; do
  "$SP" ingest -q --stream-only --db "$T/$name.s.db" "$T/$name.jsonl"
  "$SP" ingest -q --db "$T/$name.b.db" "$T/$name.jsonl"
  check "no block markers ($name, $cranks cranks re-run): the stage marks lines $first..$last, the kept deliveries remain" \
    "$(q "$T/$name.s.db" "SELECT count(*), min(line), max(line) FROM slog_events WHERE superseded=1")/$(q "$T/$name.s.db" "SELECT count(*) FROM deliveries WHERE replay=0 AND superseded=0")" \
    "$((last - first + 1))|$first|$last/$KEPT"
  rows "$T/$name.s.db" > "$T/$name.s.rows"; rows "$T/$name.b.db" > "$T/$name.b.rows"
  if cmp -s "$T/$name.s.rows" "$T/$name.b.rows"; then ok "no block markers ($name): the batch analysis marks the same rows"
  else bad "no block markers ($name): batch and stage differ: $(diff "$T/$name.s.rows" "$T/$name.b.rows" | head -3 | tr '\n' ' ')"; fi
done < "$T/nm.oracle"
read -r _ NMF NML _ < <(grep '^nm_short ' "$T/nm.oracle")
"$SP" ingest -q --db '' --jsonl "$T/nm.jsonl" "$T/nm_short.jsonl"
check "no block markers, no store: the record names the re-run cranks' lines" \
  "$(grep '"kind":"supersede"' "$T/nm.jsonl" | python3 -c 'import json, sys
print(" ".join("%d-%d:%s" % (r["firstLine"], r["lastLine"], "blockHeight" in r) for r in map(json.loads, sys.stdin)))')" "$NMF-$NML:False"

# --- no store: JSONL carries the record, a consumer marks what it has ---
"$SP" ingest -q --db '' --jsonl "$T/j.jsonl" --metrics-file "$T/j.prom" "$T/crash.jsonl"
python3 - "$T/j.jsonl" "$SCHEMA" "$T/disc_sorted" "$KEPT" "$FIRST" "$LAST" "$RESTART" "$DISC_ALL" <<'PY' > "$T/j.check"
import json, sys
import jsonschema
recs = [json.loads(l) for l in open(sys.argv[1])]
v = jsonschema.Draft202012Validator(json.load(open(sys.argv[2])))
sup = [r for r in recs if r["kind"] == "supersede"]
print("records", len(sup))
for r in sup:
    print("invalid", len(list(v.iter_errors(r))))
    print("fields", r["node"], r["epoch"], r["blockHeight"], r["firstLine"], r["lastLine"], r.get("restartLine"), r["deliveries"])
# the consumer's rule (schemas/kafka.md): keep the last record per key, mark what falls in the range
last = {(r["node"], r["source"], r["epoch"]): r for r in sup}
def in_ev(e):
    r = last.get((e["node"], e["source"], e["epoch"]))
    return r is not None and (r["firstLine"], r.get("firstOffset", -1)) <= (e["line"], e.get("offset", -1)) <= (r["lastLine"], r.get("lastOffset", -1))
def in_dlv(d):
    r = last.get((d["node"], d["source"], d["epoch"]))
    return r is not None and r["firstLine"] <= d["line"] <= r["lastLine"] and d.get("blockHeight", r["blockHeight"]) == r["blockHeight"]
marked = sorted(e["line"] for e in recs if e["kind"] == "event" and in_ev(e))
want = [int(x) for x in open(sys.argv[3])]
print("lines", "same" if marked == want else f"differ {len(marked)} vs {len(want)}")
print("kept", sum(1 for d in recs if d["kind"] == "delivery" and not d["replay"] and not in_dlv(d)))
# the record comes after every line it names (a consumer can apply it at once)
pos = next(i for i, r in enumerate(recs) if r["kind"] == "supersede")
print("after", max(i for i, e in enumerate(recs) if e["kind"] == "event" and in_ev(e)) < pos)
PY
check "JSONL: one supersede record" "$(sed -n 's/^records //p' "$T/j.check")" 1
check "JSONL: it follows schemas/json/record.schema.json" "$(sed -n 's/^invalid //p' "$T/j.check")" 0
check "JSONL: node, epoch, block, first/last line, restart line, deliveries" "$(sed -n 's/^fields //p' "$T/j.check")" \
  "node0 1 20 $FIRST $LAST $RESTART $DISC_ALL"
check "JSONL consumer: the events it marks are the discarded lines" "$(sed -n 's/^lines //p' "$T/j.check")" same
check "JSONL consumer: live deliveries left = the kept execution's" "$(sed -n 's/^kept //p' "$T/j.check")" "$KEPT"
check "JSONL: the record follows the lines it names" "$(sed -n 's/^after //p' "$T/j.check")" True
check "metric without a store: superseded deliveries" "$(metric "$T/j.prom" slogpipe_deliveries_superseded_total)" "$DISC_ALL"

# --- kill -9 and resume: the same rows and the same records as one clean run ---
CLEAN=(ingest -q --stream-only --batch-rows 400 --commit-ms 3600000)
"$SP" "${CLEAN[@]}" --db "$T/c.db" --jsonl "$T/c.jsonl" "$T/crash.jsonl"
canon "$T/c.db" > "$T/c.canon"
# the commit that holds the record: commits come every 400 records, and the JSONL holds every record in order
AT=$(grep -n '"kind":"supersede"' "$T/c.jsonl" | cut -d: -f1)
CN=$(( (AT - 1) / 400 + 1 ))
SLOGPIPE_FAILPOINT=sqlite.committed:$CN "$SP" "${CLEAN[@]}" --db "$T/k0.db" "$T/crash.jsonl" 2>/dev/null || true
check "sqlite.committed:$CN is the commit that holds the marks" "$(q "$T/k0.db" "SELECT count(*) FROM slog_events WHERE superseded=1")" "$NDISC"
# right after the record is emitted (before its batch commits); right after the commit that holds it; mid-block before it
for fp in timeline.supersede:1 sqlite.committed:$CN line.parsed:$((FIRST + 200)); do
  rm -f "$T"/k.db* "$T/k.jsonl"
  set +e
  SLOGPIPE_FAILPOINT=$fp "$SP" "${CLEAN[@]}" --db "$T/k.db" --jsonl "$T/k.jsonl" "$T/crash.jsonl" 2>/dev/null
  rc=$?
  "$SP" "${CLEAN[@]}" --db "$T/k.db" --jsonl "$T/k.jsonl" "$T/crash.jsonl"
  set -e
  check "kill -9 at $fp: killed" "$rc" 137
  if canon "$T/k.db" | cmp -s - "$T/c.canon"; then ok "kill -9 at $fp + resume: the tables equal a clean run's"
  else bad "kill -9 at $fp + resume: tables differ from a clean run's"; fi
  if cmp -s "$T/k.jsonl" "$T/c.jsonl"; then ok "kill -9 at $fp + resume: the JSONL equals a clean run's"
  else bad "kill -9 at $fp + resume: JSONL differs ($(grep -c '"supersede"' "$T/k.jsonl") supersede records)"; fi
done

# --- Kafka: the record on the events topic, keyed by node, after the events it names ---
start_mock --brokers 1 --partitions 1 --topic out.events --topic out.spans --topic out.anomalies --topic out.commits \
  --topic k9.events --topic k9.spans --topic k9.anomalies --topic k9.commits
timeout 300 "$SP" ingest -q --stream-only --db "$T/kf.db" --kafka-out "$BS" --topic-prefix out "$T/crash.jsonl"
check "--kafka-out run succeeded" "$?" 0
readback_committed out "$T/kafka.tsv"
python3 - "$T/kafka.tsv" "$FIRST" "$LAST" <<'PY' > "$T/k.check"
import json, sys
rows = [l.rstrip("\n").split("\t", 2) for l in open(sys.argv[1])]
ev = [(k, json.loads(v)) for t, k, v in rows if t == "events"]
sup = [(i, k, r) for i, (k, r) in enumerate(ev) if r["kind"] == "supersede"]
print("records", len(sup))
for i, k, r in sup:
    print("rec", k, r["firstLine"], r["lastLine"])
    last = max(j for j, (_, e) in enumerate(ev) if e["kind"] == "event" and e["line"] == r["lastLine"])
    print("after", last < i)
PY
check "Kafka: one supersede record on the events topic" "$(sed -n 's/^records //p' "$T/k.check")" 1
check "Kafka: keyed by node, the discarded range" "$(sed -n 's/^rec //p' "$T/k.check")" "node0 $FIRST $LAST"
check "Kafka: published after the last line it names" "$(sed -n 's/^after //p' "$T/k.check")" True
# killed right after the stage handed the record to the sinks (its Kafka transaction not committed), resumed
set +e
SLOGPIPE_FAILPOINT=timeline.supersede:1 timeout 300 "$SP" ingest -q --stream-only --db "$T/k9.db" --batch-rows 400 \
  --kafka-out "$BS" --topic-prefix k9 "$T/crash.jsonl" 2>/dev/null
rc=$?
timeout 300 "$SP" ingest -q --stream-only --db "$T/k9.db" --batch-rows 400 --kafka-out "$BS" --topic-prefix k9 "$T/crash.jsonl"
set -e
check "Kafka, kill -9 at timeline.supersede: killed" "$rc" 137
readback_committed k9 "$T/k9.tsv"
check "Kafka, kill -9 + resume: the record once, as read_committed sees it" \
  "$(awk -F'\t' '$1 == "events"' "$T/k9.tsv" | grep -c '"kind":"supersede"')" 1
check "Kafka, kill -9 + resume: every event once" \
  "$(awk -F'\t' '$1 == "events"' "$T/k9.tsv" | grep -c '"kind":"event"')" "$(wc -l < "$T/crash.jsonl")"

# --- PostgreSQL: the same marks as SQLite ---
pg_start
U=$(pg_url sup)
"$SP" ingest -q --stream-only --db "$U" "$T/crash.jsonl"
check "PostgreSQL: replay=0 AND superseded=0 counts the block once" \
  "$(pq "$U" "SELECT count(*) FROM deliveries WHERE replay=0 AND superseded=0")" "$KEPT"
check "PostgreSQL: all the discarded deliveries marked" "$(pq "$U" "SELECT count(*) FROM deliveries WHERE superseded=1")" "$DISC_ALL"
pq "$U" "SELECT line FROM slog_events WHERE superseded=1" | sorted_lines > "$T/pg_lines"
if cmp -s "$T/pg_lines" "$T/disc_sorted"; then ok "PostgreSQL: exactly the discarded lines are marked"
else bad "PostgreSQL: marked lines differ: $(diff "$T/pg_lines" "$T/disc_sorted" | head -3 | tr '\n' ' ')"; fi
check "PostgreSQL: snapshots.loads" "$(pq "$U" "SELECT sum(loads) FROM snapshots")" "$LOADS"
check "PostgreSQL: no snapshot keeps a save of the discarded execution" \
  "$(pq "$U" "SELECT count(*) FROM snapshots WHERE save_line BETWEEN $FIRST AND $LAST")" 0
check "PostgreSQL: the UPDATE reads the block's pages through the BRIN index" \
  "$(pq "$U" "SET enable_seqscan = off; EXPLAIN UPDATE slog_events SET superseded=1 WHERE block_height=20 AND node='node0' AND superseded=0" | grep -c 'slog_events_block_brin')" 1
finish
