#!/usr/bin/env bash
# deadletter_location.sh - #22 items 6, 7: every dead letter has its location in columns and in its reason; --max-line holds for Kafka too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.bash"
SLOG="$DATA/basic/slog.jsonl.gz"
gzip -dc "$SLOG" > "$T/all.jsonl"
N=$(grep -c . "$T/all.jsonl")

echo "6: a truncated gzip member of a slog: line and offset columns, file:line in the reason"
gzip -c "$T/all.jsonl" > "$T/full.gz"
head -c $(( $(stat -c %s "$T/full.gz") - 5000 )) "$T/full.gz" > "$T/cut.gz"
"$SP" ingest -q --db "$T/cut.db" "$T/cut.gz" || true
# oracle: what the cut stream still inflates to, counted here
gzip -dc "$T/cut.gz" 2>/dev/null > "$T/cut.jsonl" || true
whole=$(grep -c '' "$T/cut.jsonl" | awk -v c="$(tail -c1 "$T/cut.jsonl" | od -An -c | tr -d ' ')" '{print ($0 - (c == "\\n" ? 0 : 1))}')
cutoff=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print(d.rfind(b"\n")+1)' "$T/cut.jsonl")
check "gzip dead letter: line = the cut line, offset = its start" \
  "$(q "$T/cut.db" "SELECT line || ' ' || offset FROM ingest_errors")" "$((whole + 1)) $cutoff"
r=$(q "$T/cut.db" "SELECT reason FROM ingest_errors")
case "$r" in "$T/cut.gz:$((whole + 1)): truncated gzip data"*) ok "reason starts with file:line";; *) bad "reason: $r";; esac
check "the complete lines before it are stored" "$(q "$T/cut.db" "SELECT count(*) FROM slog_events")" "$whole"

echo "6: a line over --max-line in a file: line and offset columns"
read -r big_line big_off <<<"$(python3 -c '
import sys
off = 0
for i, l in enumerate(open(sys.argv[1], "rb"), 1):
    if len(l) > 900000: print(i, off); break
    off += len(l)' "$T/all.jsonl")"
code=0; "$SP" ingest -q --db "$T/long.db" --max-line 100000 "$T/all.jsonl" || code=$?
check "overlong line: line and offset columns" \
  "$(q "$T/long.db" "SELECT line || ' ' || offset FROM ingest_errors WHERE line=$big_line")" "$big_line $big_off"

echo "6, 7: Kafka: a message of many real lines with a bad line and a 2 MB line in it"
start_mock --brokers 1 --partitions 1 --topic slog
# the message: lines 1-200 of the sample, a bad line, a 2 MB real create-vat line (its bundle doubled), lines 201-300
python3 - "$T/all.jsonl" "$T/msg" "$T/big.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
big = next(json.loads(l) for l in lines if b'"create-vat"' in l and len(l) > 900000)
key = max(big, key=lambda k: len(json.dumps(big[k])))
while len(json.dumps(big)) < 2 * 1024 * 1024: big[key] = big[key] + big[key] if isinstance(big[key], str) else [big[key], big[key]]
bigline = json.dumps(big, separators=(",", ":")).encode()
open(sys.argv[3], "wb").write(lines[0] + b"\n" + bigline + b"\n")
open(sys.argv[2], "wb").write(b"\n".join(lines[:200] + [b"this is not json"] + [bigline] + lines[200:300]) + b"\n")
PY
timeout 60 kcat -b "$BS" -P -t slog -k basic "${KCAT_BIG[@]}" -X message.max.bytes=20000000 "$T/msg" \
  || bad "kcat could not produce the message"
slogpipe_kafka "$T/k.db" g1 --max-line 1048576 || true
check "Kafka: the good lines stored" "$(q "$T/k.db" "SELECT count(*) FROM slog_events")" 300
check "Kafka: the 2 MB line is not stored under --max-line 1048576" \
  "$(q "$T/k.db" "SELECT count(*) FROM slog_events WHERE length(raw) > 1048576 OR type='create-vat' AND line=0 AND offset=201")" 0
check "Kafka: bad line's columns: topic/partition, message offset, index in the message" \
  "$(q "$T/k.db" "SELECT source || ' ' || line || ' ' || offset FROM ingest_errors WHERE reason LIKE '%line 201 of the message%'")" "slog/0 0 200"
check "Kafka: bad line's reason starts with topic/partition@offset" \
  "$(q "$T/k.db" "SELECT count(*) FROM ingest_errors WHERE reason LIKE 'slog/0@0: line 201 of the message: %'")" 1
check "Kafka: the long line dead-lettered with its location" \
  "$(q "$T/k.db" "SELECT source || ' ' || line || ' ' || offset FROM ingest_errors WHERE reason LIKE 'slog/0@0: line 202 of the message: line longer than 1048576 bytes%'")" "slog/0 0 201"
# the same line in a file is refused the same way
"$SP" ingest -q --db "$T/f.db" --max-line 1048576 "$T/big.jsonl" || true
check "file: the same 2 MB line refused" "$(q "$T/f.db" "SELECT count(*) FROM ingest_errors WHERE reason LIKE '%longer than 1048576%'")" 1
finish
