#!/bin/bash
# timeline_live.sh - issue #15: every fault of timeline_faults.py whose kinds the streaming stage judges is
# reported while the pipeline runs: by a follower (`ingest --follow`, the slog appended to a growing file) and
# by a Kafka consumer without --exit-at-end (mock cluster), committed in the database (and on P.anomalies)
# before the process is stopped, and exactly the expected anomalies after it stopped cleanly.
# args: BUILD_DIR DATA_DIR. Expected anomalies come from the fault generator, not from the code under test.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/kafka_lib.bash"
# a slog alone states no schedule: only the analysis of the whole history infers one (timeline_parity.sh)
INFERRED="slog-snapshot-overdue slog-early-snapshot"
faults=${LIVE_FAULTS:-$(python3 "$HERE/timeline_faults.py" --list all)}
# the Kafka consumer takes longer to start and stop: a few faults, one per family, go that way too
KAFKA_FAULTS=${KAFKA_FAULTS:-"load-save-id-mismatch slog-snapshot-id-mismatch incarnation-jump"}
keys() { q "$1" "SELECT kind || ' ' || COALESCE(vat_id, '-') || ' ' || COALESCE(position, '-') FROM anomalies ORDER BY kind, vat_id, position"; }
# wait_for CMD WANT: run CMD until it prints WANT (a deadline for the pipeline to get there, not a measurement)
wait_for() {
  local got="" end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ]; do
    got=$(eval "$1" 2>/dev/null || true)
    [ "$got" = "$2" ] && break
    sleep 0.1
  done
  printf '%s' "$got"
}
kafka_up=0
n_live=0
for f in $faults; do
  O=$T/$f
  mkdir -p "$O"
  python3 "$HERE/timeline_faults.py" "$f" "$DATA" "$O" >"$O/plan" || { bad "$f: fault generator"; continue; }
  want=$(sed -n 's/^expect //p' "$O/plan" | grep -v '^NONE' | sort -k1,1 -k2,2 -k3,3n || true)
  if [[ " $INFERRED " == *" $f "* ]]; then echo "# $f: judged against a schedule inferred from the whole history, by the analysis"; continue; fi
  ins=$(sed -n 's/^inputs //p' "$O/plan")
  ins=${ins//SLOG/$DATA/basic/slog.jsonl.gz}
  ins=${ins//STORE/$DATA/basic/swingstore.sqlite}
  slog="" rest=()
  for i in $ins; do
    if [[ $i == *slog.jsonl* ]]; then slog=$i; else rest+=("$i"); fi
  done
  if [ -z "$slog" ]; then echo "# $f: no slog among its inputs (a swing-store is read once, not followed)"; continue; fi
  n_live=$((n_live + 1))
  # a follower: the store first (if any), then the slog appended to a file the follower reads
  if [ ${#rest[@]} -gt 0 ]; then "$SP" ingest -q --stream-only --db "$O/f.db" --node basic "${rest[@]}"; fi
  : >"$O/live.jsonl"
  "$SP" ingest -q --follow --stream-only --db "$O/f.db" --node basic --commit-ms 100 "$O/live.jsonl" 2>"$O/f.err" &
  FPID=$!
  BG_PIDS+=("$FPID")
  if [[ $slog == *.gz ]]; then zcat "$slog" >>"$O/live.jsonl"; else cat "$slog" >>"$O/live.jsonl"; fi
  # every line committed (the follower's checkpoint): a fault with nothing to report is judged after that
  nl=$(wc -l <"$O/live.jsonl")
  wait_for "q '$O/f.db' \"SELECT line FROM checkpoints WHERE source='$O/live.jsonl'\"" "$nl" >/dev/null
  got=$(wait_for "keys '$O/f.db'" "$want")
  alive=$(kill -0 "$FPID" 2>/dev/null && echo running || echo exited)
  kill -TERM "$FPID" 2>/dev/null || true
  wait "$FPID" && rc=0 || rc=$?
  if [ "$got" = "$want" ] && [ "$alive" = running ] && [ "$rc" = 0 ]; then
    ok "$f: --follow: [$(echo "$want" | tr '\n' ';')] committed while following, exit 0 on SIGTERM"
  else
    bad "$f: --follow: got [$(echo "$got" | tr '\n' ';')] want [$(echo "$want" | tr '\n' ';')] while $alive, exit $rc"
    tail -3 "$O/f.err"
  fi
  check "$f: --follow: after the stop, exactly those" "$(keys "$O/f.db")" "$want"
  [[ " $KAFKA_FAULTS " == *" $f "* ]] || continue
  # a Kafka consumer that never ends: the anomaly on out.anomalies and in the store while it consumes
  if [ $kafka_up = 0 ]; then
    start_mock --brokers 1 --partitions 2
    kafka_up=1
  fi
  top=t$n_live
  if [[ $slog == *.gz ]]; then zcat "$slog"; else cat "$slog"; fi |
    timeout 120 kcat -b "$BS" -P -t "$top" -k basic -z gzip "${KCAT_BIG[@]}"
  if [ ${#rest[@]} -gt 0 ]; then
    "$SP" ingest -q --stream-only --db "$O/k.db" --node basic --kafka-out "$BS" --topic-prefix "o$n_live" "${rest[@]}"
  fi
  "$SP" ingest -q --stream-only --db "$O/k.db" --node basic --kafka-out "$BS" --topic-prefix "o$n_live" \
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 "kafka://$BS/$top?group=g$n_live" 2>"$O/k.err" &
  KPID=$!
  BG_PIDS+=("$KPID")
  topic_keys="timeout 20 kcat -b '$BS' -C -t 'o$n_live.anomalies' -e -q -f '%s\n' | python3 -c '
import json, sys
last = {}
for ln in sys.stdin:
    r = json.loads(ln)
    k = (r[\"anomalyKind\"], r.get(\"vatID\") or \"-\", r.get(\"position\", \"-\"))
    if r.get(\"retracted\"): last.pop(k, None)
    else: last[k] = 1
print(\"\n\".join(\" \".join(map(str, k)) for k in sorted(last, key=lambda k: (k[0], k[1], -1 if k[2] == \"-\" else k[2]))))'"
  # every message committed (the consumer's checkpoint: the last offset of the topic's one keyed partition)
  nl=$(if [[ $slog == *.gz ]]; then zcat "$slog"; else cat "$slog"; fi | wc -l)
  wait_for "q '$O/k.db' \"SELECT max(line) + 1 FROM checkpoints WHERE source LIKE '$top/%'\"" "$nl" >/dev/null
  got=$(wait_for "$topic_keys" "$want")
  dbgot=$(keys "$O/k.db")
  alive=$(kill -0 "$KPID" 2>/dev/null && echo running || echo exited)
  kill -TERM "$KPID" 2>/dev/null || true
  wait "$KPID" && rc=0 || rc=$?
  if [ "$got" = "$want" ] && [ "$dbgot" = "$want" ] && [ "$alive" = running ] && [ "$rc" = 0 ]; then
    ok "$f: Kafka, no --exit-at-end: on o$n_live.anomalies and in the store while consuming, exit 0 on SIGTERM"
  else
    bad "$f: Kafka: topic [$(echo "$got" | tr '\n' ';')] store [$(echo "$dbgot" | tr '\n' ';')] want [$(echo "$want" | tr '\n' ';')] while $alive, exit $rc"
    tail -3 "$O/k.err"
  fi
done
check "faults reported live: all 21 with a slog among their inputs, but the two of an inferred schedule" \
  "$([ "$n_live" -ge 21 ] && echo yes)" yes
finish
