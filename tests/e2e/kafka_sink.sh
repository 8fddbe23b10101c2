#!/usr/bin/env bash
# kafka_sink.sh - --kafka-out: records, spans and anomalies read back with kcat, validated against schemas/json/record.schema.json; a failed produce stops the run without advancing checkpoints.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.bash"
SCHEMA="$(cd "$(dirname "$0")/../.." && pwd)/schemas/json/record.schema.json"
IN=("$DATA/basic/slog.jsonl.gz" "$DATA/basic/swingstore.sqlite")

start_mock --brokers 3 --partitions 4 --topic out.events --topic out.spans --topic out.anomalies --topic bad.events \
  --topic bad.spans --topic bad.anomalies
timeout 300 "$SP" ingest -q --db "$T/o.db" --node basic --kafka-out "$BS" --topic-prefix out "${IN[@]}"
check "ingest with --kafka-out succeeded" "$?" 0

readback() { # readback TOPIC: "key<TAB>value" lines
  timeout 120 kcat -b "$BS" -C -t "$1" -e -q -f '%k\t%s\n' -X fetch.message.max.bytes=20000000 2>/dev/null
}
readback out.events >"$T/events.tsv"
readback out.spans >"$T/spans.tsv"
readback out.anomalies >"$T/anomalies.tsv"

# Validate every message against the JSON Schema, check keys, count kinds.
python3 - "$SCHEMA" "$T" >"$T/kinds.txt" <<'PY'
import json, sys, collections
import jsonschema
schema = json.load(open(sys.argv[1]))
cls = jsonschema.validators.validator_for(schema)
v = cls(schema)
kinds = collections.Counter()
bad = badkey = 0
for topic in ("events", "spans", "anomalies"):
    for ln in open(f"{sys.argv[2]}/{topic}.tsv", encoding="utf-8"):
        key, _, val = ln.rstrip("\n").partition("\t")
        rec = json.loads(val)
        errs = list(v.iter_errors(rec))
        if errs:
            bad += 1
            if bad <= 3:
                print("INVALID", topic, errs[0].message[:200], file=sys.stderr)
        per_vat = rec["kind"] not in ("event", "delivery", "error", "kv") and "vatID" in rec
        want = f'{rec["node"]}/{rec["vatID"]}' if per_vat else rec["node"]
        if key != want:
            badkey += 1
        kinds[f"{topic}:{rec['kind']}"] += 1
print("invalid", bad)
print("badkey", badkey)
for k in sorted(kinds):
    print(k, kinds[k])
PY
kind() { awk -v k="$1" '$1 == k { n = $2 } END { print n + 0 }' "$T/kinds.txt"; }
check "every message valid against record.schema.json" "$(kind invalid)" 0
check "keys are the node, or node/vatID for per-vat records" "$(kind badkey)" 0
check "events topic: one message per slog_events row" "$(kind events:event)" "$(q "$T/o.db" "SELECT count(*) FROM slog_events")"
check "events topic: one message per delivery" "$(kind events:delivery)" "$(q "$T/o.db" "SELECT count(*) FROM deliveries")"
check "events topic: transcript items" "$(kind events:transcript_item)" "$(q "$T/o.db" "SELECT count(*) FROM transcript_items")"
check "events topic: transcript spans" "$(kind events:transcript_span)" "$(q "$T/o.db" "SELECT count(*) FROM transcript_spans")"
# Spans and anomalies are keyed changelogs (a span is emitted as it opens, grows
# block by block and closes; the end-of-run reconciliation sends corrections and
# retractions): the last record of each key, retractions applied, is the table.
python3 - "$T" >"$T/lastview.txt" <<'PY'
import json, sys
spans, anoms = {}, {}
for ln in open(f"{sys.argv[1]}/spans.tsv", encoding="utf-8"):
    r = json.loads(ln.partition("\t")[2])
    k = (r["node"], r["vatID"], r["startPos"])
    if r.get("retracted"): spans.pop(k, None)
    else: spans[k] = r
for ln in open(f"{sys.argv[1]}/anomalies.tsv", encoding="utf-8"):
    r = json.loads(ln.partition("\t")[2])
    k = (r["node"], r.get("vatID", ""), r["anomalyKind"], r.get("position", -1))
    if r.get("retracted"): anoms.pop(k, None)
    else: anoms[k] = r
for k, r in sorted(spans.items()):
    print("span", *k, r.get("endPos", -1), int(r["isCurrent"]), r.get("hash", ""), r["deliveries"],
          int(r["fromTranscript"]), int(r["fromSlog"]), r.get("saveSnapshotID", ""), sep="|")
for k, r in sorted(anoms.items()):
    print("anomaly", *k, r["severity"], sep="|")
PY
{ q "$T/o.db" "SELECT 'span', node, vat_id, start_pos, end_pos, is_current, ifnull(hash,''), deliveries,
               from_transcript, from_slog, ifnull(save_snapshot_id,'') FROM spans"
  q "$T/o.db" "SELECT 'anomaly', node, ifnull(vat_id,''), kind, ifnull(position,-1), severity FROM anomalies"; } \
  | LC_ALL=C sort >"$T/dbview.txt"
LC_ALL=C sort "$T/lastview.txt" >"$T/lastview.sorted"
if cmp -s "$T/dbview.txt" "$T/lastview.sorted"; then ok "spans/anomalies topics, last record per key, equal the tables"; else
  bad "topics' last-per-key view differs from the tables"; diff "$T/dbview.txt" "$T/lastview.sorted" | head -5; fi
check "every span of the table is on the topic" "$(grep -c '^span' "$T/lastview.txt")" "$(q "$T/o.db" "SELECT count(*) FROM spans")"
check "spans were produced at all" "$([ "$(kind spans:span)" -gt 100 ] && echo yes)" yes

# A produce that fails permanently stops the run: exit 74, no checkpoint advanced, nothing dropped silently.
check "produce errors queued" "$(mock_cmd error Produce 1000 TOPIC_AUTHORIZATION_FAILED)" "ok error Produce 1000"
timeout 300 "$SP" ingest -q --db "$T/f.db" --node basic --kafka-out "$BS" --topic-prefix bad \
  -X message.timeout.ms=5000 "$DATA/basic/slog.jsonl.gz" 2>"$T/f.err" && rc=0 || rc=$?
check "run with undeliverable output fails (sysexits 74)" "$rc" 74
check "the error says what was not delivered" "$(grep -c 'not delivered' "$T/f.err")" 1
check "no checkpoint advanced" "$(q "$T/f.db" "SELECT count(*) FROM checkpoints")" 0
check "no rows committed" "$(q "$T/f.db" "SELECT count(*) FROM slog_events")" 0
mock_cmd clear Produce >/dev/null
timeout 300 "$SP" ingest -q --db "$T/f.db" --node basic --kafka-out "$BS" --topic-prefix bad "$DATA/basic/slog.jsonl.gz"
check "after the fault clears, a rerun completes" "$(q "$T/f.db" "SELECT count(*) FROM slog_events")" 24851
finish
