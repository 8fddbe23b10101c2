#!/usr/bin/env bash
# timeline_stream.sh - issue #15: the timeline stage judges as records arrive: a follower's anomaly is in the database while it runs, a JSONL-only pipeline has spans and anomalies, the answer does not depend on input order, and kill -9 neither loses nor doubles an anomaly.
. "$(dirname "$0")/lib.sh"
STORE="$DATA/basic/swingstore.sqlite"
# The basic sample's slog with one heap-snapshot-save made to lie: vat v9's save
# at endPosition 24 names a snapshot the transcript's save-snapshot item does not.
zcat "$DATA/basic/slog.jsonl.gz" >"$T/slog.jsonl"
LINE=$(grep -n '"type":"heap-snapshot-save","vatID":"v9"' "$T/slog.jsonl" | grep '"endPosition":24,' | cut -d: -f1)
check "the sample has v9's save at endPosition 24 on one line" "$(echo "$LINE" | wc -w)" 1
FAKE=$(printf 'f%.0s' $(seq 64))
sed "${LINE}s/\"snapshotID\":\"[0-9a-f]*\"/\"snapshotID\":\"$FAKE\"/" "$T/slog.jsonl" >"$T/bad.jsonl"
check "exactly one line changed" "$(cmp -l "$T/slog.jsonl" "$T/bad.jsonl" | wc -l | awk '{print ($1 > 0)}'):$(diff "$T/slog.jsonl" "$T/bad.jsonl" | grep -c '^<')" "1:1"
# the oracle: what the swing-store itself holds at v9's position 24
WANT=$(q "$STORE" "SELECT json_extract(item, '$.r.snapshotID') FROM transcriptItems WHERE vatID='v9' AND position=24")
check "the store's own save-snapshot item at v9:24" "${#WANT}" 64
KEY="SLOG_SNAPSHOT_ID_MISMATCH|v9|24|$WANT|$FAKE"
anoms() { q "$1" "SELECT kind, vat_id, position, json_extract(detail,'$.expected_snapshot_id'), json_extract(detail,'$.slog_snapshot_id') FROM anomalies"; }
# jsonl_anoms FILE: the anomaly records of a JSONL output in the same shape
jsonl_anoms() {
  python3 -c '
import json, sys
last = {}
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if r["kind"] != "anomaly":
        continue
    key = (r["anomalyKind"], r["vatID"], r["position"])
    last.pop(key, None)
    if not r.get("retracted"):
        last[key] = r
for r in last.values():
    d = r["detail"]
    print(r["anomalyKind"], r["vatID"], r["position"], d.get("expected_snapshot_id"), d.get("slog_snapshot_id"), sep="|")
' "$1"
}
# span_view FILE: the last record of each span key (vat|start|end|save), retractions applied
span_view() {
  python3 -c '
import json, sys
spans = {}
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if r["kind"] != "span": continue
    k = (r["vatID"], r["startPos"])
    if r.get("retracted"): spans.pop(k, None)
    else: spans[k] = r
for (v, s), r in spans.items():
    print(v, s, r.get("endPos", -1), r.get("saveSnapshotID", ""), sep="|")
' "$1" | LC_ALL=C sort
}

# span_full FILE: every field of the spans a JSONL output ends with (last record per key, retractions applied)
span_full() {
  python3 -c '
import json, sys
last = {}
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if r["kind"] != "span": continue
    k = (r["vatID"], r["startPos"])
    if r.get("retracted"): last.pop(k, None)
    else: last[k] = r
for (v, s), r in last.items():
    ho = r.get("hashOk")
    print(v, s, r.get("endPos", -1), r.get("incarnation", -1), r.get("firstType", ""), r.get("lastType", ""),
          int(bool(r.get("isCurrent"))), r.get("hash", ""), -1 if ho is None else int(ho), r.get("deliveries", 0),
          int(bool(r.get("fromTranscript"))), int(bool(r.get("fromSlog"))), r.get("saveSnapshotID", ""),
          r.get("loadSnapshotID", ""), sep="|")
' "$1" | LC_ALL=C sort
}
# span_rows DB: the same fields of a database's spans table
span_rows() {
  q "$1" "SELECT vat_id, start_pos, ifnull(end_pos,-1), ifnull(incarnation,-1), ifnull(first_type,''), ifnull(last_type,''),
          is_current, ifnull(hash,''), ifnull(hash_ok,-1), ifnull(deliveries,0), from_transcript, from_slog,
          ifnull(save_snapshot_id,''), ifnull(load_snapshot_id,'') FROM spans" | LC_ALL=C sort
}

echo "# 1. a follower: the anomaly is in the database while it runs"
"$SP" ingest -q --db "$T/f.db" --node basic "$STORE"
: >"$T/live.jsonl"
"$SP" ingest --follow --db "$T/f.db" --node basic --commit-ms 100 --metrics-file "$T/f.prom" "$T/live.jsonl" \
  2>"$T/follow.err" &
FPID=$!
"$SP" anomalies --db "$T/f.db" --follow --interval 0.05 --json >"$T/watch.out" 2>"$T/watch.err" &
WPID=$!
cat "$T/bad.jsonl" >>"$T/live.jsonl"
got=""
for _ in $(seq 600); do # up to 60 s: a deadline, not a measurement
  got=$(anoms "$T/f.db" 2>/dev/null || true)
  [ -n "$got" ] && break
  sleep 0.1
done
alive=$(kill -0 "$FPID" 2>/dev/null && echo running || echo exited)
check "the follower is still running when the anomaly is there" "$alive" running
check "the anomaly, while following: kind, vat, position, the store's id, the slog's id" "$got" "$KEY"
check "... with the slog line that told it" "$(q "$T/f.db" "SELECT source || ':' || line FROM anomalies")" "$T/live.jsonl:$LINE"
# v9's spans that closed before that save (the store's own transcriptSpans say which) are
# committed no later than the anomaly: the stage emitted them first
WANT_SPANS=$(q "$STORE" "SELECT group_concat(startPos) FROM (SELECT startPos FROM transcriptSpans WHERE vatID='v9' AND endPos <= 24 ORDER BY startPos)")
check "v9's spans closed before it, from the slog, while following" \
  "$(q "$T/f.db" "SELECT group_concat(start_pos) FROM (SELECT start_pos FROM spans WHERE vat_id='v9' AND from_slog=1 AND end_pos BETWEEN 0 AND 24 ORDER BY start_pos)")" "$WANT_SPANS"
for _ in $(seq 600); do grep -q SLOG_SNAPSHOT_ID_MISMATCH "$T/watch.out" && break; sleep 0.1; done
check "anomalies --follow printed it while the ingest follows" \
  "$(grep -c SLOG_SNAPSHOT_ID_MISMATCH "$T/watch.out"):$(kill -0 "$FPID" 2>/dev/null && echo running)" "1:running"
for _ in $(seq 600); do # the metrics are published after the commit that holds the anomaly
  grep -q '^slogpipe_anomalies_total{kind="SLOG_SNAPSHOT_ID_MISMATCH"} 1$' "$T/f.prom" 2>/dev/null && break
  sleep 0.1
done
check "while following, the metric counts it" \
  "$(grep -c '^slogpipe_anomalies_total{kind="SLOG_SNAPSHOT_ID_MISMATCH"} 1$' "$T/f.prom")" 1
if promtool check metrics <"$T/f.prom" >"$T/lint" 2>&1; then ok "promtool: the metrics lint clean"; else
  bad "promtool: $(head -3 "$T/lint")"; fi
# stop it once it has read everything (a deadline, not a measurement), so its
# final state is the whole slog's
NLINES=$(wc -l <"$T/bad.jsonl")
for _ in $(seq 600); do [ "$(q "$T/f.db" "SELECT count(*) FROM slog_events")" = "$NLINES" ] && break; sleep 0.1; done
kill -TERM "$FPID"
wait "$FPID" && rc=0 || rc=$?
# v9's current span against the store's own current transcript span and kvStore schedule
check "metric: v9's current span length is the store's current span" \
  "$(sed -n 's/^slogpipe_vat_span_items{node="basic",vat="v9"} //p' "$T/f.prom")" \
  "$(q "$STORE" "SELECT endPos - startPos FROM transcriptSpans WHERE vatID='v9' AND isCurrent=1")"
check "metric: v9's threshold is the store's snapshotInterval (its span starts from a snapshot)" \
  "$(sed -n 's/^slogpipe_vat_span_threshold_items{node="basic",vat="v9"} //p' "$T/f.prom")" \
  "$(q "$STORE" "SELECT value FROM kvStore WHERE key='kernel.snapshotInterval'")"
check "the follower stops cleanly on SIGTERM" "$rc" 0
check "after the end-of-run analysis: the same one anomaly" "$(anoms "$T/f.db")" "$KEY"
check "the summary counts it once" "$(grep -c 'anomalies by kind: SLOG_SNAPSHOT_ID_MISMATCH=1$' "$T/follow.err")" 1
# `anomalies --follow` printed it while the ingest ran, and once only, though the
# end-of-run analysis rewrote the row: a sentinel row written after that analysis
# shows the watcher has read the table since.
sqlite3 "$T/f.db" "INSERT INTO anomalies (node, vat_id, kind, position, severity, detail)
                   VALUES ('sentinel', NULL, 'SENTINEL', NULL, 'info', '{}')"
for _ in $(seq 600); do grep -q SENTINEL "$T/watch.out" && break; sleep 0.1; done
kill -TERM "$WPID"
wait "$WPID" && rc=0 || rc=$?
check "anomalies --follow stops cleanly on SIGTERM" "$rc" 0
check "anomalies --follow: the anomaly once, then the sentinel" \
  "$(python3 -c 'import json,sys; [print(r["kind"], r["vat_id"], r["position"], sep="|") for r in map(json.loads, open(sys.argv[1]))]' "$T/watch.out")" \
  "$(printf 'SLOG_SNAPSHOT_ID_MISMATCH|v9|24\nSENTINEL|None|None')"

echo "# 2. no database: JSONL only, in both orders"
"$SP" ingest -q --db '' --jsonl "$T/a.jsonl" --node basic "$STORE" "$T/bad.jsonl"
"$SP" ingest -q --db '' --jsonl "$T/b.jsonl" --node basic "$T/bad.jsonl" "$STORE"
check "store then slog: the anomaly is in the JSONL" "$(jsonl_anoms "$T/a.jsonl")" "$KEY"
check "slog then store: the same anomaly (judged when the transcript item arrives)" "$(jsonl_anoms "$T/b.jsonl")" "$KEY"
# Without a store the stage merges a slog span with the transcript's record of the same span only within
# a window of recent spans per vat (its state is bounded), so the slog's spans alone and the store's alone
# are compared here, each with the batch analysis of the same input; together they need a store (section 8).
"$SP" ingest -q --db '' --jsonl "$T/so.jsonl" --node basic "$T/bad.jsonl"
span_view "$T/so.jsonl" >"$T/a.view"
check "spans were emitted" "$([ "$(wc -l <"$T/a.view")" -gt 100 ] && echo yes)" yes
# The batch analysis (SQL over a database, written independently) of the slog
# alone must give the same slog spans; comms-like vats (useTranscript false)
# have no transcript and so no spans in the stage.
"$SP" ingest -q --db "$T/s.db" --node basic "$T/bad.jsonl"
q "$T/s.db" "SELECT s.vat_id, s.start_pos, s.end_pos, ifnull(s.save_snapshot_id,'') FROM spans s JOIN vats v
             ON v.node = s.node AND v.vat_id = s.vat_id WHERE ifnull(v.use_transcript, 1) = 1" | LC_ALL=C sort >"$T/s.view"
if cmp -s "$T/a.view" "$T/s.view"; then ok "spans: the stage equals the batch analysis of the same slog"; else
  bad "spans: the stage and the batch analysis differ"; diff "$T/a.view" "$T/s.view" | head -5; fi
for d in mainnet node2; do
  "$SP" ingest -q --db '' --jsonl "$T/$d.jsonl" --node n "$DATA/$d/slog.jsonl.gz"
  "$SP" ingest -q --db "$T/$d.db" --node n "$DATA/$d/slog.jsonl.gz"
  q "$T/$d.db" "SELECT s.vat_id, s.start_pos, s.end_pos, ifnull(s.save_snapshot_id,'') FROM spans s JOIN vats v
               ON v.node = s.node AND v.vat_id = s.vat_id WHERE ifnull(v.use_transcript, 1) = 1" | LC_ALL=C sort >"$T/$d.sview"
  if cmp -s <(span_view "$T/$d.jsonl") "$T/$d.sview"; then ok "$d: the stage's spans equal the batch analysis's ($(wc -l <"$T/$d.sview"))"; else
    bad "$d: the stage's spans differ from the batch analysis's"; diff <(span_view "$T/$d.jsonl") "$T/$d.sview" | head -5; fi
done

echo "# 3. save against load, from transcript items as they arrive"
# v9's load-snapshot at 25 made to name another snapshot than the save at 24
cp "$STORE" "$T/ls.sqlite"
SAVED=$(q "$STORE" "SELECT json_extract(item, '$.r.snapshotID') FROM transcriptItems WHERE vatID='v9' AND position=24")
sqlite3 "$T/ls.sqlite" "UPDATE transcriptItems SET item=replace(item, '$SAVED', '$FAKE') WHERE vatID='v9' AND position=25"
"$SP" ingest -q --db '' --jsonl "$T/ls.jsonl" --node basic "$T/ls.sqlite"
"$SP" ingest -q --db "$T/ls.db" --node basic "$T/ls.sqlite"
# the batch analysis (written independently, SQL over the store) is the oracle for the kind, key and evidence
# the load names a snapshot no save produced, and the span no longer hashes to its stored hash: each
# violated invariant is its own anomaly, in the stage as in the batch analysis
check "the stage reports the load that names another snapshot, as the batch analysis does" \
  "$(python3 -c '
import json, sys
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if r["kind"] == "anomaly":
        print(r["anomalyKind"], r["vatID"], r["position"], json.dumps(r["detail"], separators=(",", ":"), ensure_ascii=False), sep="|")
' "$T/ls.jsonl" | LC_ALL=C sort)" \
  "$(q "$T/ls.db" "SELECT kind, vat_id, position, detail FROM anomalies" | LC_ALL=C sort)"
check "... the mismatch among them" "$(grep -c '"anomalyKind":"LOAD_SAVE_ID_MISMATCH"' "$T/ls.jsonl")" 1
check "... naming the store's own save and the altered load" \
  "$(q "$T/ls.db" "SELECT json_extract(detail, '$.previous_save_snapshot_id') || '|' || json_extract(detail, '$.load_snapshot_id') FROM anomalies WHERE kind = 'LOAD_SAVE_ID_MISMATCH'")" \
  "$SAVED|$FAKE"
for d in basic mainnet node2; do
  "$SP" ingest -q --db '' --jsonl "$T/clean-$d.jsonl" --node n "$DATA/$d/swingstore.sqlite" "$DATA/$d/slog.jsonl.gz"
  "$SP" ingest -q --db '' --jsonl "$T/clean2-$d.jsonl" --node n "$DATA/$d/slog.jsonl.gz" "$DATA/$d/swingstore.sqlite"
  check "$d (clean sample), both orders: the stage reports nothing" \
    "$(cat "$T/clean-$d.jsonl" "$T/clean2-$d.jsonl" | grep -c '"kind":"anomaly"' || true)" 0
done

echo "# 4. the schedule: the stage's judgements equal the batch analysis's, evidence included"
# basic's real schedule is 3/7; stated as 3/5, every span closes late: each is overdue at a
# block commit (SNAPSHOT_OVERDUE) and its save came late (SNAPSHOT_SCHEDULE_DEVIATION)
"$SP" ingest -q --db '' --jsonl "$T/sch.jsonl" --node basic --snapshot-initial 3 --snapshot-interval 5 "$T/slog.jsonl"
"$SP" ingest -q --db "$T/sch.db" --node basic --snapshot-initial 3 --snapshot-interval 5 "$T/slog.jsonl"
python3 -c '
import json, sys
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if r["kind"] == "anomaly":
        print(r["anomalyKind"], r["vatID"], r["position"], json.dumps(r["detail"], sort_keys=True), sep="|")
' "$T/sch.jsonl" | LC_ALL=C sort >"$T/sch.stage"
q "$T/sch.db" "SELECT kind, vat_id, position, detail FROM anomalies" | python3 -c '
import json, sys
for ln in sys.stdin:
    k, v, p, d = ln.rstrip("\n").split("|", 3)
    print(k, v, p, json.dumps(json.loads(d), sort_keys=True), sep="|")
' | LC_ALL=C sort >"$T/sch.batch"
check "both kinds are judged" "$(cut -d'|' -f1 "$T/sch.batch" | sort -u | tr '\n' ' ')" "SNAPSHOT_OVERDUE SNAPSHOT_SCHEDULE_DEVIATION "
if [ -s "$T/sch.batch" ] && cmp -s "$T/sch.stage" "$T/sch.batch"; then
  ok "stage = batch: $(wc -l <"$T/sch.batch") anomalies, key and evidence"
else bad "stage and batch differ"; diff "$T/sch.stage" "$T/sch.batch" | head -4 | cut -c1-200; fi

echo "# 5. a delivery whose vatID is empty names no vat: the stage skips it (it crashed on one)"
printf '%s\n' '{"type":"crank-start","crankNum":2,"crankType":"delivery","time":2}' \
  '{"type":"deliver","vatID":"","deliveryNum":2,"crankNum":2,"replay":false,"kd":["message","o+0",{}],"time":2}' \
  '{"type":"deliver-result","vatID":"","deliveryNum":2,"crankNum":2,"dr":["ok",null,null],"time":3}' \
  '{"type":"crank-finish","crankNum":2,"time":4}' >"$T/emptyvat.jsonl"
"$SP" ingest -q --db '' --jsonl "$T/ev.jsonl" --node x "$T/emptyvat.jsonl" && rc=0 || rc=$?
check "empty vatID: exit 0, no span" "$rc:$(grep -c '"kind":"span"' "$T/ev.jsonl" || true)" "0:0"

echo "# 6. kill -9 at exact points: no anomaly lost or doubled"
"$SP" ingest -q --db "$T/ref.db" --jsonl "$T/ref.jsonl" --node basic --batch-rows 3000 --commit-ms 3600000 "$STORE" "$T/bad.jsonl"
check "clean run: one anomaly record" "$(jsonl_anoms "$T/ref.jsonl")" "$KEY"
for fp in timeline.anomaly:1 commit.before:3 sqlite.committed:4 line.parsed:$((LINE + 10)); do
  rm -f "$T/k.db" "$T/k.jsonl" "$T/k.jsonl.ckpt"
  set +e
  SLOGPIPE_FAILPOINT=$fp "$SP" ingest -q --db "$T/k.db" --jsonl "$T/k.jsonl" --node basic --batch-rows 3000 \
    --commit-ms 3600000 "$STORE" "$T/bad.jsonl" 2>"$T/fp.err"
  rc=$?
  set -e
  check "killed at $fp" "$rc:$(grep -c "failpoint $fp: kill" "$T/fp.err")" "137:1"
  "$SP" ingest -q --db "$T/k.db" --jsonl "$T/k.jsonl" --node basic --batch-rows 3000 --commit-ms 3600000 \
    "$STORE" "$T/bad.jsonl"
  check "$fp, resumed: the anomaly once in the database" "$(anoms "$T/k.db")" "$KEY"
  check "$fp, resumed: the anomaly once in the JSONL" "$(jsonl_anoms "$T/k.jsonl")" "$KEY"
  if cmp -s "$T/ref.jsonl" "$T/k.jsonl"; then ok "$fp, resumed: JSONL equals the clean run's"; else
    bad "$fp, resumed: JSONL differs ($(wc -l <"$T/k.jsonl") vs $(wc -l <"$T/ref.jsonl") lines)"; fi
  if cmp -s <(canon "$T/ref.db") <(canon "$T/k.db"); then ok "$fp, resumed: database equals the clean run's"; else
    bad "$fp, resumed: database differs"; diff <(canon "$T/ref.db") <(canon "$T/k.db") | head -4 | cut -c1-200; fi
done
echo "# 7. kill -9 with the transcript's anomalies in the run: each reported once after resume"
# ls.sqlite (section 3): v9's span [25,34) breaks three invariants; the store is one transaction, so a kill
# inside it redoes it from the state before it, and a kill in the slog after it resumes with the part's
# state of the whole store (its spans, snapshot rows) from the checkpoint
ins=("$T/ls.sqlite" "$T/bad.jsonl")
"$SP" ingest -q --db "$T/lref.db" --jsonl "$T/lref.jsonl" --node basic --batch-rows 3000 --commit-ms 3600000 "${ins[@]}"
# the slog's save at 24 names the snapshot the load at 25 names: that load is not unknown after all, and
# the stage withdraws what it said when only the store was in
check "clean run: the anomalies in the database" \
  "$(q "$T/lref.db" "SELECT kind FROM anomalies ORDER BY kind" | tr '\n' ' ')" \
  "LOAD_SAVE_ID_MISMATCH SLOG_SNAPSHOT_ID_MISMATCH SPAN_HASH_MISMATCH "
check "... and the JSONL's last record per key" "$(python3 -c '
import json, sys
last = {}
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if r["kind"] == "anomaly":
        last[(r["anomalyKind"], r["vatID"], r["position"])] = r
print(" ".join(sorted(k[0] for k, r in last.items() if not r.get("retracted"))), end=" ")
' "$T/lref.jsonl")" \
  "LOAD_SAVE_ID_MISMATCH SLOG_SNAPSHOT_ID_MISMATCH SPAN_HASH_MISMATCH "
# lastkinds FILE: the anomaly kinds of a JSONL output, last record per key, retractions applied
lastkinds() {
  python3 -c '
import json, sys
last = {}
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if r["kind"] == "anomaly":
        last[(r["anomalyKind"], r["vatID"], r["position"])] = r
print(" ".join(sorted(k[0] for k, r in last.items() if not r.get("retracted"))))
' "$1"
}
"$SP" ingest -q --db '' --jsonl "$T/lsa.jsonl" --node basic "$T/ls.sqlite" "$T/bad.jsonl"
"$SP" ingest -q --db '' --jsonl "$T/lsb.jsonl" --node basic "$T/bad.jsonl" "$T/ls.sqlite"
check "no store, both orders: the same three kinds" "$(lastkinds "$T/lsa.jsonl")|$(lastkinds "$T/lsb.jsonl")" \
  "LOAD_SAVE_ID_MISMATCH SLOG_SNAPSHOT_ID_MISMATCH SPAN_HASH_MISMATCH|LOAD_SAVE_ID_MISMATCH SLOG_SNAPSHOT_ID_MISMATCH SPAN_HASH_MISMATCH"
for fp in timeline.anomaly:2 sqlite.committed:4 sqlite.committed:5 line.parsed:$((LINE + 10)); do
  rm -f "$T/lk.db" "$T/lk.jsonl" "$T/lk.jsonl.ckpt"
  set +e
  SLOGPIPE_FAILPOINT=$fp "$SP" ingest -q --db "$T/lk.db" --jsonl "$T/lk.jsonl" --node basic --batch-rows 3000 \
    --commit-ms 3600000 "${ins[@]}" 2>"$T/lfp.err"
  rc=$?
  set -e
  check "transcript: killed at $fp" "$rc:$(grep -c "failpoint $fp: kill" "$T/lfp.err")" "137:1"
  "$SP" ingest -q --db "$T/lk.db" --jsonl "$T/lk.jsonl" --node basic --batch-rows 3000 --commit-ms 3600000 "${ins[@]}"
  if cmp -s "$T/lref.jsonl" "$T/lk.jsonl"; then ok "transcript $fp, resumed: JSONL equals the clean run's"; else
    bad "transcript $fp, resumed: JSONL differs"; diff "$T/lref.jsonl" "$T/lk.jsonl" | head -4 | cut -c1-200; fi
  if cmp -s <(canon "$T/lref.db") <(canon "$T/lk.db"); then ok "transcript $fp, resumed: database equals the clean run's"; else
    bad "transcript $fp, resumed: database differs"; diff <(canon "$T/lref.db") <(canon "$T/lk.db") | head -4 | cut -c1-200; fi
done

echo "# 8. the transcript's spans: the stage's span records equal the batch analysis's spans table"
# every field, the slog's and the transcript's view of a span merged as the batch analysis merges them:
# beside a store (--stream-only: the records the stage emitted while the rows went in) in both input
# orders, and without one for a single input (nothing to merge across inputs)
for d in basic mainnet node2; do
  for order in store-first slog-first; do
    if [ $order = store-first ]; then ins=("$DATA/$d/swingstore.sqlite" "$DATA/$d/slog.jsonl.gz"); else
      ins=("$DATA/$d/slog.jsonl.gz" "$DATA/$d/swingstore.sqlite"); fi
    rm -f "$T/sb.db" "$T/ss.db" "$T/ss.jsonl" "$T/ss.jsonl.ckpt"
    "$SP" ingest -q --db "$T/sb.db" --node n "${ins[@]}"
    "$SP" ingest -q --stream-only --db "$T/ss.db" --jsonl "$T/ss.jsonl" --node n "${ins[@]}"
    if cmp -s <(span_full "$T/ss.jsonl") <(span_rows "$T/sb.db"); then
      ok "$d, $order, beside a store: the stage's spans = the batch analysis's ($(span_rows "$T/sb.db" | grep -c .))"
    else
      bad "$d, $order, beside a store: the stage's spans differ from the batch analysis's (< stage, > batch)"
      diff <(span_full "$T/ss.jsonl") <(span_rows "$T/sb.db") | head -4 | cut -c1-220
    fi
  done
done
for input in basic/swingstore.sqlite basic/export mainnet/swingstore.sqlite; do
  rm -f "$T/sb.db" "$T/sn.jsonl" "$T/sn.jsonl.ckpt"
  "$SP" ingest -q --db "$T/sb.db" --node n "$DATA/$input"
  "$SP" ingest -q --db '' --jsonl "$T/sn.jsonl" --node n "$DATA/$input"
  if cmp -s <(span_full "$T/sn.jsonl") <(span_rows "$T/sb.db"); then
    ok "$input alone, no store: the stage's spans = the batch analysis's ($(span_rows "$T/sb.db" | grep -c .))"
  else
    bad "$input alone, no store: the stage's spans differ from the batch analysis's (< stage, > batch)"
    diff <(span_full "$T/sn.jsonl") <(span_rows "$T/sb.db") | head -4 | cut -c1-220
  fi
done

echo "# 9. a transcript span's schedule, judged again when the slog shows the snapshot's crank"
# The store's kvStore made to state snapshotInterval 5 (basic's real one is 7): every closed span of the
# transcript breaks it. Judged from the transcript alone the snapshot crank is an estimate; the slog's
# heap-snapshot-save tells the crank, and the batch analysis's evidence is the slog's. Store first, the
# stage judges each span when it arrives and again when the slog's save does (beside a store: its spans
# are all in reach; without one only its last few per vat are).
cp "$STORE" "$T/sch5.sqlite"
sqlite3 "$T/sch5.sqlite" "UPDATE kvStore SET value='5' WHERE key='kernel.snapshotInterval'"
"$SP" ingest -q --db "$T/sch5.db" --node basic "$T/sch5.sqlite" "$T/slog.jsonl"
anom_view() { # FILE [KIND]: kind|vat|position|detail, last record per key
  python3 - "$@" <<'PY'
import json, sqlite3, sys
only = sys.argv[2] if len(sys.argv) > 2 else None
if sys.argv[1].endswith(".db"):
    rows = [(k, v, p, json.loads(d)) for k, v, p, d in
            sqlite3.connect(sys.argv[1]).execute("SELECT kind, vat_id, position, detail FROM anomalies")]
else:
    last = {}
    for ln in open(sys.argv[1]):
        r = json.loads(ln)
        if r["kind"] != "anomaly": continue
        k = (r["anomalyKind"], r.get("vatID"), r.get("position"))
        if r.get("retracted"): last.pop(k, None)
        else: last[k] = r["detail"]
    rows = [(k, v, p, d) for (k, v, p), d in last.items()]
for k, v, p, d in sorted(rows, key=lambda x: (x[0], x[1] or "", x[2] if x[2] is not None else -1)):
    if only is None or k == only: print(k, v, p, json.dumps(d, sort_keys=True), sep="|")
PY
}
n_dev=$(anom_view "$T/sch5.db" SNAPSHOT_SCHEDULE_DEVIATION | grep -c . || true)
check "the batch analysis: deviations, all with the slog's crank as evidence" \
  "$([ "$n_dev" -gt 50 ] && echo many):$(anom_view "$T/sch5.db" SNAPSHOT_SCHEDULE_DEVIATION | grep -c '"crank_evidence": "slog"')" \
  "many:$n_dev"
rm -f "$T/sch5s.db"
"$SP" ingest -q --stream-only --db "$T/sch5s.db" --jsonl "$T/sch5s.jsonl" --node basic "$T/sch5.sqlite" "$T/slog.jsonl"
if cmp -s <(anom_view "$T/sch5s.jsonl") <(anom_view "$T/sch5.db"); then
  ok "store first, beside a store: every anomaly = the batch analysis's ($(anom_view "$T/sch5.db" | grep -c .))"
else bad "store first, beside a store: the stage differs"; diff <(anom_view "$T/sch5s.jsonl") <(anom_view "$T/sch5.db") | head -4 | cut -c1-220; fi
rm -f "$T/sch5r.db"
"$SP" ingest -q --stream-only --db "$T/sch5r.db" --jsonl "$T/sch5r.jsonl" --node basic "$T/slog.jsonl" "$T/sch5.sqlite"
# slog first, the slog's own SNAPSHOT_OVERDUE at each commit cannot be judged (the schedule comes with the store)
if cmp -s <(anom_view "$T/sch5r.jsonl" SNAPSHOT_SCHEDULE_DEVIATION) <(anom_view "$T/sch5.db" SNAPSHOT_SCHEDULE_DEVIATION); then
  ok "slog first, beside a store: the deviations = the batch analysis's"
else bad "slog first, beside a store: the deviations differ"; fi
finish
