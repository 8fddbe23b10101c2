#!/usr/bin/env bash
# kafka_timeline.sh - issue #15: a Kafka consumer that never reaches the end (no --exit-at-end) publishes the timeline stage's anomaly and spans to its output topics while it runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.bash"
STORE="$DATA/basic/swingstore.sqlite"
zcat "$DATA/basic/slog.jsonl.gz" >"$T/slog.jsonl"
LINE=$(grep -n '"type":"heap-snapshot-save","vatID":"v9"' "$T/slog.jsonl" | grep '"endPosition":24,' | cut -d: -f1)
FAKE=$(printf 'f%.0s' $(seq 64))
sed "${LINE}s/\"snapshotID\":\"[0-9a-f]*\"/\"snapshotID\":\"$FAKE\"/" "$T/slog.jsonl" >"$T/bad.jsonl"
WANT=$(q "$STORE" "SELECT json_extract(item, '$.r.snapshotID') FROM transcriptItems WHERE vatID='v9' AND position=24")

start_mock --brokers 1 --partitions 4 --topic slog --topic out.events --topic out.spans --topic out.anomalies --topic vt
timeout 120 kcat -b "$BS" -P -t slog -k basic -z gzip "${KCAT_BIG[@]}" <"$T/bad.jsonl"
"$SP" ingest -q --db "$T/k.db" --node basic "$STORE"
"$SP" ingest -q --db "$T/k.db" --kafka-out "$BS" --topic-prefix out -X session.timeout.ms=6000 \
  -X heartbeat.interval.ms=500 "kafka://$BS/slog?group=g" 2>"$T/c.err" &
CPID=$!
BG_PIDS+=("$CPID")
got=""
for _ in $(seq 120); do # a deadline for the consumer to get there, not a measurement
  got=$(timeout 20 kcat -b "$BS" -C -t out.anomalies -e -q -f '%s\n' 2>/dev/null | python3 -c '
import json, sys
for ln in sys.stdin:
    r = json.loads(ln)
    print(r["anomalyKind"], r["vatID"], r["position"], r["detail"].get("expected_snapshot_id"),
          r["detail"].get("slog_snapshot_id"), r["source"] + "@" + str(r.get("line")), sep="|")')
  [ -n "$got" ] && break
  sleep 0.5
done
check "consumer still running" "$(kill -0 "$CPID" 2>/dev/null && echo running)" running
PART=$(q "$T/k.db" "SELECT DISTINCT source FROM slog_events WHERE source LIKE 'slog/%'")
check "the anomaly on out.anomalies while consuming, with its topic/partition and line" "$got" \
  "SLOG_SNAPSHOT_ID_MISMATCH|v9|24|$WANT|$FAKE|$PART@$((LINE - 1))"
spans=$(timeout 20 kcat -b "$BS" -C -t out.spans -e -q -f '%s\n' 2>/dev/null | grep -c '"vatID":"v9"' || true)
check "v9's spans on out.spans while consuming" "$([ "$spans" -gt 0 ] && echo yes)" yes
kill -TERM "$CPID"
wait "$CPID" && rc=0 || rc=$?
check "the consumer stops cleanly on SIGTERM" "$rc" 0
check "the store has it too, once" "$(q "$T/k.db" "SELECT kind || '|' || vat_id || '|' || position FROM anomalies")" \
  "SLOG_SNAPSHOT_ID_MISMATCH|v9|24"

# A transcript over Kafka, each vat's items in position order and each span record after its last item;
# the current span is published twice, as it grows (3 items, then all): the stage judges it each time
# against the span before it, and reports nothing on the clean sample (schemas/kafka.md).
python3 - "$STORE" "$T/tr.jsonl" <<'PY'
import hashlib, json, sqlite3, sys
sha = lambda s: hashlib.sha256(s.encode()).hexdigest()
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
with open(sys.argv[2], "w") as out:
    for vat, in c.execute("SELECT DISTINCT vatID FROM transcriptSpans ORDER BY vatID").fetchall():
        for a, b, h, cur, inc in c.execute("SELECT startPos, endPos, hash, isCurrent, incarnation FROM transcriptSpans "
                                           "WHERE vatID=? ORDER BY startPos", (vat,)).fetchall():
            items = c.execute("SELECT position, item, incarnation FROM transcriptItems WHERE vatID=? AND position>=? "
                              "AND position<? ORDER BY position", (vat, a, b)).fetchall()
            k = 3 if cur and len(items) > 3 else 0
            hh = sha("start of transcript span")
            for n, (p, it, i) in enumerate(items):
                out.write(json.dumps({"vatID": vat, "position": p, "incarnation": i, "item": it}) + "\n")
                hh = sha(hh + sha(it))
                if n + 1 == k:
                    out.write(json.dumps({"vatID": vat, "startPos": a, "endPos": a + k, "hash": hh, "isCurrent": True,
                                          "incarnation": inc}) + "\n")
            out.write(json.dumps({"vatID": vat, "startPos": a, "endPos": b, "hash": h, "isCurrent": bool(cur),
                                  "incarnation": inc}) + "\n")
PY
check "some current span is published twice" "$(python3 -c '
import json, sys
seen = {}
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if "startPos" in r: seen[(r["vatID"], r["startPos"])] = seen.get((r["vatID"], r["startPos"]), 0) + 1
print(any(n > 1 for n in seen.values()))' "$T/tr.jsonl")" True
timeout 120 kcat -b "$BS" -P -t vt -k basic "${KCAT_BIG[@]}" <"$T/tr.jsonl"
"$SP" ingest -q --db '' --jsonl "$T/tr.out" --exit-at-end -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 \
  "kafka://$BS/vt?group=gt" 2>"$T/tr.err" || { bad "transcript consumer failed"; cat "$T/tr.err"; }
check "the transcript over Kafka, current spans published as they grew: no anomaly" \
  "$(grep -c '"kind":"anomaly"' "$T/tr.out" || true)" 0
check "... and a span record for every span of the store" \
  "$(python3 -c '
import json, sys
print(len({(r["vatID"], r["startPos"]) for r in map(json.loads, open(sys.argv[1])) if r["kind"] == "span" and r.get("fromTranscript")}))' "$T/tr.out")" \
  "$(q "$STORE" "SELECT count(*) FROM transcriptSpans")"
finish
