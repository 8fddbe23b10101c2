#!/usr/bin/env bash
# pg_kafka_group.sh - instances of one consumer group share one PostgreSQL database: one kills itself (kill -9 at a fault point) mid-stream, then three run together to the end: the database equals a single-instance SQLite run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.bash"
. "$(dirname "$0")/pg_lib.bash"
trap 'for p in "${BG_PIDS[@]}" $MOCK_PID; do kill -9 "$p" 2>/dev/null || true; done; pg_cleanup' EXIT
pg_start

start_mock --brokers 3 --partitions 16 --topic slog
produce_two_nodes slog
# reference: one instance into SQLite (no end-of-run analysis: it is SQLite-only)
slogpipe_kafka "$T/single.db" g --no-analyze
sqlite_canon "$T/single.db" >"$T/single.txt"
check "reference has both slogs" "$(q "$T/single.db" "SELECT count(*) FROM slog_events")" $((2 * 24851))

U=$(pg_url shared)
ARGS=(--no-analyze -X partition.assignment.strategy=cooperative-sticky --batch-rows 1500 --commit-ms 100)
instance() { # instance NAME [ENV...]: one consumer of group g in the background
  local name=$1; shift
  env "$@" timeout 300 "$SP" ingest -q --db "$U" --exit-at-end -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 \
    "${ARGS[@]}" "kafka://$BS/slog?group=g" 2>"$T/$name.err" &
  BG_PIDS+=($!)
}
# a, alone in the group (so it holds the partitions with data), kills itself right after its
# 4th PostgreSQL commit; then three instances share the rest, a's partitions resumed from
# what a committed
instance a SLOGPIPE_FAILPOINT=pg.committed:4; A=$!
wait "$A" && rc=0 || rc=$?
check "instance a killed itself after its 4th commit (exit 137)" "$rc:$(grep -c 'failpoint pg.committed:4: kill' "$T/a.err")" "137:1"
before=$(pq "$U" "SELECT coalesce(sum(next_offset), 0) FROM kafka_offsets")
check "... mid-stream (offsets committed: $before of $((2 * 24851)))" \
  "$([ "$before" -gt 0 ] && [ "$before" -lt $((2 * 24851)) ] && echo yes)" yes
instance b; B=$!
instance c; C=$!
instance a2; A2=$!
for n in B C A2; do
  wait "${!n}" && r=0 || r=$?
  check "instance ${n,,} finished cleanly" "$r" 0
  [ "$r" = 0 ] || tail -n 5 "$T/${n,,}.err"
done
check "no row lost, none duplicated" "$(pq "$U" "SELECT count(*) FROM slog_events")" $((2 * 24851))
check "every partition's offset at the end" \
  "$(pq "$U" "SELECT string_agg(next_offset || '/' || skip_lines, ',') FROM kafka_offsets WHERE group_id = 'g' AND next_offset > 0")" \
  "24851/0,24851/0"
pg_canon "$U" >"$T/shared.txt"
if cmp -s "$T/single.txt" "$T/shared.txt"; then
  ok "three instances + kill -9 + restart on PostgreSQL equal one instance on SQLite (every table, provenance and checkpoints)"
else
  bad "PostgreSQL differs from the single-instance SQLite run"; diff "$T/single.txt" "$T/shared.txt" | head -10
fi
finish
