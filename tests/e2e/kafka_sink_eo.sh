#!/usr/bin/env bash
# kafka_sink_eo.sh - --kafka-out exactly once: kill -9 at exact fault points (around the Kafka transaction's commit and the SQLite commit, in the analysis, twice in a row), resume; a consumer group whose member stops between the two commits and loses its partitions to another; each record read back once, none lost.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.bash"
IN=("$DATA/basic/slog.jsonl.gz" "$DATA/basic/swingstore.sqlite")
SS="$DATA/basic/swingstore.sqlite"

start_mock --brokers 3 --partitions 4
# topics of prefix P: the three output topics (4 partitions) and P.commits (the markers)
topics() { for s in events spans anomalies; do mock_cmd topic "$1.$s" 4 >/dev/null; done; mock_cmd topic "$1.commits" 1 >/dev/null; }

# The expected records, from the inputs themselves (not from slogpipe).
EV=$(zcat "$DATA/basic/slog.jsonl.gz" | grep -c .)
DL=$(zcat "$DATA/basic/slog.jsonl.gz" | grep -c '"type":"deliver"')
TI=$(q "$SS" "SELECT count(*) FROM transcriptItems")
TS=$(q "$SS" "SELECT count(*) FROM transcriptSpans")
SN=$(q "$SS" "SELECT count(*) FROM snapshots")

# lastview OUT DB: the changelogs' last record per key (retractions applied) against the tables
lastview() {
  python3 - "$1" <<'PY' | LC_ALL=C sort >"$1.last"
import json, sys
spans, anoms = {}, {}
for ln in open(sys.argv[1], encoding="utf-8"):
    t, k, v = ln.rstrip("\n").split("\t", 2)
    r = json.loads(v)
    if t == "spans":
        key, d = (r["node"], r["vatID"], r["startPos"]), spans
    elif t == "anomalies":
        key, d = (r["node"], r.get("vatID", ""), r["anomalyKind"], r.get("position", -1)), anoms
    else:
        continue
    if r.get("retracted"): d.pop(key, None)
    else: d[key] = r
for k, r in spans.items():
    print("span", *k, r.get("endPos", -1), int(r["isCurrent"]), r.get("hash", ""), r["deliveries"], sep="|")
for k, r in anoms.items():
    print("anomaly", *k, r["severity"], sep="|")
PY
  { q "$2" "SELECT 'span', node, vat_id, start_pos, ifnull(end_pos, -1), is_current, ifnull(hash,''), deliveries FROM spans"
    q "$2" "SELECT 'anomaly', node, ifnull(vat_id,''), kind, ifnull(position,-1), severity FROM anomalies"; } |
    LC_ALL=C sort | cmp -s - "$1.last" && echo same || echo differs
}

# A clean run: the reference, itself checked against the inputs.
topics clean
"$SP" ingest -v --db "$T/clean.db" --node basic --batch-rows 3000 --commit-ms 3600000 --kafka-out "$BS" --topic-prefix clean \
  "${IN[@]}" 2>"$T/clean.err"
check "clean run succeeded" "$?" 0
readback_committed clean "$T/clean.tsv"
kinds "$T/clean.tsv" >"$T/clean.kinds"
check "clean: one event per slog line" "$(kind "$T/clean.kinds" events:event)" "$EV"
check "clean: one delivery per deliver line" "$(kind "$T/clean.kinds" events:delivery)" "$DL"
check "clean: one record per transcript item of the store" "$(kind "$T/clean.kinds" events:transcript_item)" "$TI"
check "clean: one record per transcript span of the store" "$(kind "$T/clean.kinds" events:transcript_span)" "$TS"
check "clean: one record per snapshot of the store" "$(kind "$T/clean.kinds" events:store_snapshot)" "$SN"
check "clean: spans were published at all" "$([ "$(kind "$T/clean.kinds" spans:span)" -gt 100 ] && echo yes)" yes
check "clean: spans/anomalies topics, last record per key, equal the tables" "$(lastview "$T/clean.tsv" "$T/clean.db")" same
check "clean: no event record twice" "$(dups "$T/clean.tsv")" 0
sort "$T/clean.tsv" >"$T/clean.sorted"
TXNS=$(grep -c 'kafka sink: committed transaction' "$T/clean.err")
check "clean: several transactions, the analysis last ($TXNS)" "$([ "$TXNS" -ge 5 ] && echo yes)" yes

# (file runs commit every 3000 records and never on time: the Nth commit is at the same place
# on any machine)
# crash NAME FAULTPOINT... : a run killed at each fault point in turn (one run per point, the same
# database and prefix), then a run to the end; its output must equal the clean run's.
crash() {
  local name=$1 fp rc n=0
  shift
  topics "$name"
  for fp in "$@"; do
    n=$((n + 1))
    SLOGPIPE_FAILPOINT=$fp "$SP" ingest -q --db "$T/$name.db" --node basic --batch-rows 3000 --commit-ms 3600000 \
      --kafka-out "$BS" --topic-prefix "$name" "${IN[@]}" 2>"$T/$name.$n.err" && rc=0 || rc=$?
    check "$name: run $n killed at $fp" "$rc:$(grep -c "failpoint $fp: kill" "$T/$name.$n.err")" "137:1"
  done
  "$SP" ingest --db "$T/$name.db" --node basic --batch-rows 3000 --commit-ms 3600000 --kafka-out "$BS" --topic-prefix "$name" \
    "${IN[@]}" 2>"$T/$name.err" && rc=0 || rc=$?
  check "$name: resumed run finished" "$rc" 0
  [ "$rc" = 0 ] || tail -3 "$T/$name.err"
  readback_committed "$name" "$T/$name.tsv"
  check "$name: no event record twice (read_committed)" "$(dups "$T/$name.tsv")" 0
  kinds "$T/$name.tsv" >"$T/$name.kinds"
  check "$name: every slog line once" "$(kind "$T/$name.kinds" events:event)" "$EV"
  check "$name: every delivery once" "$(kind "$T/$name.kinds" events:delivery)" "$DL"
  check "$name: every transcript item once" "$(kind "$T/$name.kinds" events:transcript_item)" "$TI"
  if sort "$T/$name.tsv" | cmp -s - "$T/clean.sorted"; then ok "$name: output equals the clean run's, record for record"; else
    bad "$name: output differs from the clean run's"; sort "$T/$name.tsv" | diff - "$T/clean.sorted" | head -5 || true; fi
  check "$name: database equals the clean run's" "$(canon "$T/$name.db" | md5sum)" "$(canon "$T/clean.db" | md5sum)"
}

# Before the Kafka transaction commits: it is aborted, the resumed run publishes the batch.
crash open commit.before:3
crash acked kafka.sink.acked:3
check "acked: the killed transaction's messages were on the broker, uncommitted" \
  "$([ "$(cat "$T/acked.tsv.aborted")" -gt 0 ] && echo yes)" yes
# Between the Kafka commit and the SQLite commit: the resumed run skips what Kafka has.
crash window1 kafka.sink.committed:1
crash window3 kafka.sink.committed:3
check "window3: the resumed run said what it did not publish again" \
  "$(grep -c 'src:.*slog.jsonl.gz: the last [0-9]* records were published but not committed' "$T/window3.err")" 1
# Both committed.
crash after sqlite.committed:3
# The analysis (the last transaction) published, the database not committed: not published twice.
crash analysis "kafka.sink.committed:$TXNS"
check "analysis: the resumed run did not publish the analysis again" \
  "$(grep -c 'published but not committed to the database' "$T/analysis.err")" 1
# Twice in the window: the second crash in the resumed run's first transaction.
crash twice kafka.sink.committed:2 kafka.sink.committed:1 commit.before:2

# A consumer group: member a stops between the Kafka and the SQLite commit (SIGSTOP at the
# fault point) and is killed there; its partitions move to member b (which joined meanwhile, or
# joins now: either way after a's session times out). b must not publish a's last transaction again.
produce_two_nodes slog
topics kg
topics kc
"$SP" ingest -q --db "$T/kc.db" --exit-at-end -X session.timeout.ms=6000 --batch-rows 1500 \
  --kafka-out "$BS" --topic-prefix kc "kafka://$BS/slog?group=kc"
check "group reference run succeeded" "$?" 0
readback_committed kc "$T/kc.tsv"
GA=(--db "$T/kg.db" --exit-at-end -X session.timeout.ms=6000 -X heartbeat.interval.ms=500
  -X partition.assignment.strategy=cooperative-sticky --batch-rows 1500 --kafka-out "$BS" --topic-prefix kg)
SLOGPIPE_FAILPOINT=kafka.sink.committed:3:stop "$SP" ingest -q "${GA[@]}" "kafka://$BS/slog?group=kg" 2>"$T/a.err" &
A=$!
BG_PIDS+=($A)
state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo gone; }
for _ in $(seq 1200); do [ "$(state $A)" = T ] && break; sleep 0.1; done
check "member a stopped between the Kafka commit and the SQLite commit" "$(state $A)" T
"$SP" ingest "${GA[@]}" "kafka://$BS/slog?group=kg" 2>"$T/b.err" &
B=$!
BG_PIDS+=($B)
sleep 1
kill -9 "$A"
wait "$A" 2>/dev/null && ra=0 || ra=$?
check "member a killed (SIGKILL) holding its partitions" "$ra" 137
wait "$B" && rb=0 || rb=$?
check "member b took a's partitions over and finished" "$rb" 0
[ "$rb" = 0 ] || tail -3 "$T/b.err"
check "b did not publish again what a had published" \
  "$(grep -c 'published but not committed to the database' "$T/b.err" | awk '{print ($1 > 0) ? "yes" : "no"}')" yes
readback_committed kg "$T/kg.tsv"
check "group: no event record twice (read_committed)" "$(dups "$T/kg.tsv")" 0
kinds "$T/kg.tsv" >"$T/kg.kinds"
check "group: every slog line of both nodes once" "$(kind "$T/kg.kinds" events:event)" \
  "$(( $(zcat "$DATA/basic/slog.jsonl.gz" "$DATA/node2/slog.jsonl.gz" | grep -c .) ))"
if sort "$T/kg.tsv" | cmp -s - <(sort "$T/kc.tsv"); then ok "group: output equals a single member's, record for record"; else
  bad "group: output differs from a single member's"; sort "$T/kg.tsv" | diff - <(sort "$T/kc.tsv") | head -5 || true; fi

# A zombie: member z stops between two batches (after its database commit, fault point
# kafka.src.committed), its session times out and member y takes its partitions and finishes.
# Woken up, z still holds messages of those partitions: its next commit must be refused before
# it publishes anything (the database says y stored those sources meanwhile).
topics kz
GZ=(--db "$T/kz.db" --exit-at-end -X session.timeout.ms=6000 -X heartbeat.interval.ms=500
  -X partition.assignment.strategy=cooperative-sticky --batch-rows 1500 --kafka-out "$BS" --topic-prefix kz)
SLOGPIPE_FAILPOINT=kafka.src.committed:3:stop "$SP" ingest -q "${GZ[@]}" "kafka://$BS/slog?group=kz" 2>"$T/z.err" &
Z=$!
BG_PIDS+=($Z)
for _ in $(seq 1200); do [ "$(state $Z)" = T ] && break; sleep 0.1; done
check "member z stopped between two batches" "$(state $Z)" T
"$SP" ingest -q "${GZ[@]}" "kafka://$BS/slog?group=kz" 2>"$T/y.err" && ry=0 || ry=$?
check "member y took z's partitions over and finished" "$ry" 0
[ "$ry" = 0 ] || tail -3 "$T/y.err"
kill -CONT "$Z"
wait "$Z" && rz=0 || rz=$?
check "the zombie z stops with sysexits 74" "$rz" 74
check "... refused by the database before publishing" "$(grep -c 'published by another instance meanwhile' "$T/z.err")" 1
readback_committed kz "$T/kz.tsv"
check "zombie: no event record twice (read_committed)" "$(dups "$T/kz.tsv")" 0
if sort "$T/kz.tsv" | cmp -s - <(sort "$T/kc.tsv"); then ok "zombie: output equals a single member's, record for record"; else
  bad "zombie: output differs from a single member's"; sort "$T/kz.tsv" | diff - <(sort "$T/kc.tsv") | head -5 || true; fi
finish
