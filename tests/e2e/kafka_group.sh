#!/usr/bin/env bash
# kafka_group.sh - two slogpipe instances in one consumer group on a shared DB, one killed with SIGKILL mid-stream and restarted: same DB as one instance.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.bash"

start_mock --brokers 3 --partitions 16 --topic slog
produce_two_nodes slog
file_reference "$T/ref.db"
slogpipe_kafka "$T/single.db" gs
canon "$T/single.db" >"$T/single.txt"
canon_noprov "$T/ref.db" >"$T/ref.txt"
canon_noprov "$T/single.db" >"$T/single-np.txt"
if cmp -s "$T/ref.txt" "$T/single-np.txt"; then ok "one instance equals the file ingest"; else
  bad "one instance differs from the file ingest"; diff "$T/ref.txt" "$T/single-np.txt" | head -5; fi

GROUP_ARGS=(-X partition.assignment.strategy=cooperative-sticky --batch-rows 1500 --commit-ms 100)
instance() { # instance NAME: start one consumer of group g in the background
  "$SP" ingest -q --db "$T/shared.db" --exit-at-end -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 \
    "${GROUP_ARGS[@]}" "kafka://$BS/slog?group=g" 2>"$T/$1.err" &
  BG_PIDS+=($!)
}
instance a; A=$!
for _ in $(seq 300); do
  [ -f "$T/shared.db" ] && [ "$(q "$T/shared.db" "SELECT coalesce(sum(next_offset), 0) FROM kafka_offsets" 2>/dev/null || echo 0)" -gt 1000 ] && break
  sleep 0.1
done
instance b; B=$!
# let b join (the rebalance commits a's batch before handing partitions over), then kill a
for _ in $(seq 300); do
  grep -q . "$T/b.err" 2>/dev/null && break
  [ "$(q "$T/shared.db" "SELECT coalesce(sum(next_offset), 0) FROM kafka_offsets" 2>/dev/null || echo 0)" -gt 8000 ] && break
  sleep 0.1
done
before=$(q "$T/shared.db" "SELECT coalesce(sum(next_offset), 0) FROM kafka_offsets")
kill -9 "$A"
wait "$A" 2>/dev/null && rc=0 || rc=$?
check "instance a was killed with SIGKILL" "$rc" 137
check "... mid-stream (offsets committed: $before of $((2 * 24851)))" \
  "$([ "$before" -gt 0 ] && [ "$before" -lt $((2 * 24851)) ] && echo yes)" yes
instance a2; A2=$!
wait "$B" && rb=0 || rb=$?
wait "$A2" && ra=0 || ra=$?
check "instance b finished cleanly" "$rb" 0
check "restarted instance finished cleanly" "$ra" 0
[ "$rb" = 0 ] || tail -n 5 "$T/b.err"
[ "$ra" = 0 ] || tail -n 5 "$T/a2.err"
check "no row lost, none duplicated" "$(q "$T/shared.db" "SELECT count(*) FROM slog_events")" $((2 * 24851))
check "every partition's offset at the end" \
  "$(q "$T/shared.db" "SELECT group_concat(next_offset || '/' || skip_lines) FROM kafka_offsets WHERE group_id = 'g' AND next_offset > 0")" \
  "24851/0,24851/0"
canon "$T/shared.db" >"$T/shared.txt"
if cmp -s "$T/single.txt" "$T/shared.txt"; then
  ok "two instances + SIGKILL + restart equal one instance (every table, provenance and checkpoints included)"
else
  bad "shared DB differs from the single-instance DB"; diff "$T/single.txt" "$T/shared.txt" | head -10
fi
canon_noprov "$T/shared.db" >"$T/shared-np.txt"
if cmp -s "$T/ref.txt" "$T/shared-np.txt"; then ok "... and the file ingest (anomalies included)"; else
  bad "shared DB differs from the file ingest"; diff "$T/ref.txt" "$T/shared-np.txt" | head -5; fi
finish
