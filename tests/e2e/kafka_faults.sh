#!/usr/bin/env bash
# kafka_faults.sh - broker faults injected through kafka-mock (request errors, broker down/up, leader moves) while consuming: no loss, no duplicates, recovers by itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.bash"

start_mock --brokers 3 --partitions 16 --topic slog
produce_two_nodes slog
slogpipe_kafka "$T/clean.db" gclean
canon "$T/clean.db" >"$T/clean.txt"

offsets() { q "$T/f.db" "SELECT coalesce(sum(next_offset), 0) FROM kafka_offsets" 2>/dev/null || echo 0; }

# Before the run: both data partitions and the group coordinator on broker 2, which goes down.
p3=$(q "$T/clean.db" "SELECT partition FROM kafka_offsets WHERE group_id = 'gclean' AND next_offset > 0 ORDER BY 1 LIMIT 1")
p6=$(q "$T/clean.db" "SELECT partition FROM kafka_offsets WHERE group_id = 'gclean' AND next_offset > 0 ORDER BY 1 DESC LIMIT 1")
check "leader of partition $p3 moved" "$(mock_cmd leader slog "$p3" 2)" "ok leader"
check "leader of partition $p6 moved" "$(mock_cmd leader slog "$p6" 2)" "ok leader"
check "coordinator moved" "$(mock_cmd coordinator group gf 2)" "ok coordinator"
check "broker 2 down" "$(mock_cmd broker-down 2)" "ok broker-down"
check "fetch errors queued" "$(mock_cmd error Fetch 8 NOT_LEADER_FOR_PARTITION)" "ok error Fetch 8"
check "offset-commit errors queued" "$(mock_cmd error OffsetCommit 3 REQUEST_TIMED_OUT)" "ok error OffsetCommit 3"

# The run stops itself (SIGSTOP) at its 10000th line (fault point line.parsed, core/sp_failpoint.h),
# so the mid-stream faults below arrive mid-stream whatever the machine's speed: with
# --batch-rows 1500 some batches are committed by then, and most of the 2 x 24851 lines are not.
SLOGPIPE_FAILPOINT=line.parsed:10000:stop \
"$SP" ingest -q --db "$T/f.db" --exit-at-end -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 \
  --batch-rows 1500 --commit-ms 100 "kafka://$BS/slog?group=gf" 2>"$T/f.err" &
PID=$!
BG_PIDS+=($PID)
sleep 4
check "nothing consumed while broker 2 is down" "$(offsets)" 0
check "broker 2 up" "$(mock_cmd broker-up 2)" "ok broker-up"
state() { awk '{print $3}' "/proc/$PID/stat" 2>/dev/null || echo gone; }
for _ in $(seq 1200); do [ "$(state)" = T ] && break; sleep 0.1; done
check "the run stopped itself at its 10000th line" "$(state):$(grep -c 'failpoint line.parsed:10000: stop' "$T/f.err")" "T:1"
# Mid-stream (the run stopped): leaders move, more request errors, another broker bounces.
mock_cmd leader slog "$p3" 1 >/dev/null
mock_cmd leader slog "$p6" 3 >/dev/null
mock_cmd error Fetch 5 NOT_LEADER_FOR_PARTITION >/dev/null
mock_cmd error Heartbeat 2 REBALANCE_IN_PROGRESS >/dev/null
mid=$(offsets)
check "broker 3 down mid-stream" "$(mock_cmd broker-down 3)" "ok broker-down"
kill -CONT "$PID"
sleep 2
check "broker 3 up" "$(mock_cmd broker-up 3)" "ok broker-up"
wait "$PID" && rc=0 || rc=$?
check "the run recovered by itself and finished cleanly" "$rc" 0
check "faults hit mid-stream (offsets at the leader moves: $mid)" \
  "$([ "$mid" -gt 0 ] && [ "$mid" -lt $((2 * 24851)) ] && echo yes)" yes
check "no row lost, none duplicated" "$(q "$T/f.db" "SELECT count(*) FROM slog_events")" $((2 * 24851))
canon "$T/f.db" >"$T/f.txt"
if cmp -s "$T/clean.txt" "$T/f.txt"; then ok "DB after the faults equals the fault-free run"; else
  bad "DB after the faults differs"; diff "$T/clean.txt" "$T/f.txt" | head -10; fi
finish
