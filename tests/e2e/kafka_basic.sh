#!/usr/bin/env bash
# kafka_basic.sh - kafka-mock + kcat smoke test, then two nodes' slogs through Kafka equal a file ingest of the same slogs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.bash"

start_mock --brokers 3 --partitions 16 --topic slog --topic smoke
check "kafka-mock prints the bootstrap servers" "$(echo "$BS" | grep -cE '^127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+){2}$')" 1
check "kafka-mock answers a command" "$(mock_cmd ping)" "ok ping"
check "kafka-mock rejects a bad command" "$(mock_cmd nonsense | cut -c1-5)" "error"
printf 'one\ntwo\nthree\n' | kcat -b "$BS" -P -t smoke -k k
check "kcat reads back what kcat wrote" "$(timeout 60 kcat -b "$BS" -C -t smoke -e -q -f '%k=%s\n' | sort | tr '\n' ' ')" \
  "k=one k=three k=two "

produce_two_nodes slog
file_reference "$T/ref.db"

slogpipe_kafka "$T/k.db" g1
check "all lines of both nodes stored" "$(q "$T/k.db" "SELECT count(*) FROM slog_events")" $((2 * 24851))
check "node from the key (basic) and from the header (node2)" \
  "$(q "$T/k.db" "SELECT group_concat(node || ':' || n, ' ') FROM (SELECT node, count(*) n FROM slog_events GROUP BY node ORDER BY node)")" \
  "basic:24851 node2:24851"
check "provenance is topic/partition and the message offset" \
  "$(q "$T/k.db" "SELECT count(*) FROM slog_events WHERE source LIKE 'slog/%' AND line BETWEEN 0 AND 24850 AND offset = 0")" \
  $((2 * 24851))
check "offsets stored with the rows" \
  "$(q "$T/k.db" "SELECT group_concat(next_offset) FROM kafka_offsets WHERE group_id = 'g1' AND next_offset > 0")" "24851,24851"
canon_noprov "$T/ref.db" >"$T/ref.txt"
canon_noprov "$T/k.db" >"$T/k.txt"
if cmp -s "$T/ref.txt" "$T/k.txt"; then ok "Kafka ingest equals the file ingest (all tables, anomalies)"; else
  bad "Kafka ingest differs from the file ingest"; diff "$T/ref.txt" "$T/k.txt" | head -10; fi

slogpipe_kafka "$T/k.db" g1
check "a second run of the group adds nothing" "$(q "$T/k.db" "SELECT count(*) FROM slog_events")" $((2 * 24851))

# The prefetch bounds (docs/kafka.md, Backpressure and memory): slogpipe's defaults, each -X wins,
# and fetch.max.bytes is raised to a larger message.max.bytes (which librdkafka requires).
slogpipe_kafka "$T/k.db" g1 -v 2>"$T/bounds.err"
check "default prefetch bounds (-v log of the effective config)" "$(grep -o 'consumer bounds: .*' "$T/bounds.err")" \
  "consumer bounds: queued.max.messages.kbytes=2048 queued.min.messages=1000000 fetch.max.bytes=1048576 max.partition.fetch.bytes=1048576"
slogpipe_kafka "$T/k.db" g1 -v -X queued.max.messages.kbytes=65536 -X message.max.bytes=2000000 2>"$T/bounds.err"
check "-X overrides the queue bound; fetch.max.bytes follows message.max.bytes" \
  "$(grep -o 'consumer bounds: .*' "$T/bounds.err")" \
  "consumer bounds: queued.max.messages.kbytes=65536 queued.min.messages=1000000 fetch.max.bytes=2000000 max.partition.fetch.bytes=1048576"
slogpipe_kafka "$T/k.db" g1 -v -X fetch.max.bytes=52428800 2>"$T/bounds.err"
check "-X fetch.max.bytes is kept" "$(grep -o 'fetch.max.bytes=[0-9]*' "$T/bounds.err" | tail -1)" "fetch.max.bytes=52428800"
check "these runs added nothing" "$(q "$T/k.db" "SELECT count(*) FROM slog_events")" $((2 * 24851))

# Bad envelopes are dead-lettered with topic/partition@offset, the run goes on.
printf '\x1f\x8bnot gzip' | kcat -b "$BS" -P -t slog -k basic
slogpipe_kafka "$T/k.db" g1
check "bad gzip envelope dead-lettered" \
  "$(q "$T/k.db" "SELECT count(*) FROM ingest_errors WHERE node = 'basic' AND reason LIKE 'slog/%@24851: gzip:%'")" 1
check "rows unchanged by the bad envelopes" "$(q "$T/k.db" "SELECT count(*) FROM slog_events")" $((2 * 24851))
# Last (kcat's group member may linger in the group for its session timeout):
# Kafka's committed offsets (for lag monitors) follow the database: a kcat in the same group
# finds nothing left to read, one in a fresh group reads everything.
timeout 60 kcat -b "$BS" -G g1 -e -f '%o\n' -X enable.auto.commit=false slog >"$T/kc.out" 2>"$T/kc.err" || true
check "kcat in the same group reached the end of every partition" "$(grep -c 'Reached end' "$T/kc.err")" 16
check "... finding nothing left to read: Kafka's committed offsets are at the end" "$(wc -l <"$T/kc.out")" 0
check "a fresh group reads everything" \
  "$(timeout 60 kcat -b "$BS" -G fresh -e -q -f '%o\n' -X auto.offset.reset=earliest "${KCAT_BIG[@]}" slog 2>/dev/null | wc -l)" \
  $((2 * 24851 + 1))
finish
