#!/usr/bin/env bash
# metrics_inputs.sh - the counters and lag of every kind of input (gzip, flight recorder, block-slog dir, swing-store, Kafka), mid-run and at the end, against sizes and counts measured here.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.bash"
GZ="$DATA/basic/slog.jsonl.gz"
LINES=24851 # FACTS.md

# mval FILE 'NAME{labels}': the sample's value in a Prometheus text file ("" if absent)
mval() { awk -v m="$2" '$1 == m { print $2 }' "$1"; }
# stopped PID: the process is stopped (SIGSTOP by a fault point)
stopped() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ]; }
wait_stopped() {
  for _ in $(seq 1200); do stopped "$1" && return 0; kill -0 "$1" 2>/dev/null || return 1; sleep 0.05; done
  return 1
}

# gzip, read ahead on a thread: stopped at the second commit, the file the
# first commit wrote shows the counters part-way and the lag of what is left.
SLOGPIPE_FAILPOINT=commit.before:2:stop "$SP" ingest -q --batch-rows 5000 --db "$T/g.db" --metrics-file "$T/g.prom" \
  "$GZ" 2>"$T/g.log" &
pid=$!
if wait_stopped $pid; then
  size=$(stat -c %s "$GZ")
  l=$(mval "$T/g.prom" slogpipe_lines_total)
  b=$(mval "$T/g.prom" slogpipe_read_bytes_total)
  lag=$(mval "$T/g.prom" "slogpipe_source_lag_bytes{source=\"$GZ\"}")
  check "gzip mid-run: lines counted part-way" "$([ "$l" -gt 0 ] && [ "$l" -lt $LINES ] && echo yes)" yes
  check "gzip mid-run: bytes counted part-way" "$([ "$b" -gt 0 ] && [ "$b" -lt "$size" ] && echo yes)" yes
  check "gzip mid-run: lag > 0 and bytes read + lag = file size" "$([ "$lag" -gt 0 ] && echo $((b + lag)))" "$size"
  kill -CONT $pid
else
  bad "gzip: the fault point did not stop the run: $(cat "$T/g.log")"
fi
wait $pid && rc=0 || rc=$?
check "gzip: run completes" "$rc" 0
check "gzip: every line counted" "$(mval "$T/g.prom" slogpipe_lines_total)" $LINES
check "gzip: every compressed byte counted (stat)" "$(mval "$T/g.prom" slogpipe_read_bytes_total)" "$(stat -c %s "$GZ")"
check "gzip: lag 0 at the end" "$(mval "$T/g.prom" "slogpipe_source_lag_bytes{source=\"$GZ\"}")" 0

# flight recorder: header + live ring bytes (FACTS: 408202 bytes in 1411 records)
FR="$DATA/basic/flight-recorder.bin"
"$SP" ingest -q --db "$T/fr.db" --metrics-file "$T/fr.prom" "$FR"
check "flight recorder: records counted" "$(mval "$T/fr.prom" slogpipe_lines_total)" 1411
check "flight recorder: header + live bytes counted" "$(mval "$T/fr.prom" slogpipe_read_bytes_total)" $((32 + 408202))
check "flight recorder: lag 0 at the end" "$(mval "$T/fr.prom" "slogpipe_source_lag_bytes{source=\"$FR\"}")" 0

# block-slog directory: one gzip per block (as ingest_inputs.sh makes it)
mkdir "$T/blocks"
zcat "$GZ" | python3 -c '
import gzip, json, sys
out = sys.argv[1]
chunks, cur, name = [], [], "slogfile_init_1700000000000.gz"
for line in sys.stdin.buffer:
    if json.loads(line).get("type") == "cosmic-swingset-begin-block":
        chunks.append((name, cur)); cur = []
        h = json.loads(line)["blockHeight"]
        name = f"slogfile_block_{h}_{1700000000000 + h * 1000}.gz"
    cur.append(line)
chunks.append((name, cur))
for n, lines in chunks:
    with gzip.open(f"{out}/{n}", "wb") as f: f.writelines(lines)' "$T/blocks"
"$SP" ingest -q --db "$T/b.db" --metrics-file "$T/b.prom" "$T/blocks"
check "block-slog dir: every line counted" "$(mval "$T/b.prom" slogpipe_lines_total)" $LINES
check "block-slog dir: every member's bytes counted (stat)" "$(mval "$T/b.prom" slogpipe_read_bytes_total)" \
  "$(cat "$T"/blocks/* | wc -c)"
check "block-slog dir: lag 0 at the end" "$(mval "$T/b.prom" "slogpipe_source_lag_bytes{source=\"$T/blocks\"}")" 0

# swing-store: its transcript items (counted and measured with sqlite3)
SS="$DATA/basic/swingstore.sqlite"
"$SP" ingest -q --db "$T/s.db" --metrics-file "$T/s.prom" "$SS"
check "swing-store: transcript items counted" "$(mval "$T/s.prom" slogpipe_transcript_items_total)" \
  "$(q "$SS" "SELECT count(*) FROM transcriptItems")"
check "swing-store: item bytes counted" "$(mval "$T/s.prom" slogpipe_read_bytes_total)" \
  "$(q "$SS" "SELECT sum(length(CAST(item AS BLOB))) FROM transcriptItems")"

# every metrics file passes promtool's linter
if command -v promtool >/dev/null; then
  for f in g fr b s; do
    lint=$(promtool check metrics <"$T/$f.prom" 2>&1) && rc=0 || rc=$?
    check "promtool check metrics: $f.prom" "$rc:$lint" "0:"
  done
else
  skip "promtool not installed (scripts/deps.sh --test installs it)"
fi

# Kafka: one line per message on one partition. Stopped as the 3rd commit
# begins: the metrics (published after the 2nd, offsets included) say high
# watermark - committed = messages produced - the offset stored in the database.
start_mock --brokers 1 --partitions 4 --topic slog
zcat "$GZ" | timeout 120 kcat -b "$BS" -P -t slog -k basic -z gzip "${KCAT_BIG[@]}"
VALUE_BYTES=$(zcat "$GZ" | LC_ALL=C awk '{ s += length($0) } END { print s }')
SLOGPIPE_FAILPOINT=commit.before:3:stop "$SP" ingest -q --db "$T/k.db" --batch-rows 2000 \
  --exit-at-end --metrics-file "$T/k.prom" "kafka://$BS/slog?group=m" 2>"$T/k.log" &
pid=$!
BG_PIDS+=($pid)
if wait_stopped $pid; then
  part=$(q "$T/k.db" "SELECT partition FROM kafka_offsets WHERE group_id = 'm' AND next_offset > 0")
  stored=$(q "$T/k.db" "SELECT next_offset FROM kafka_offsets WHERE group_id = 'm' AND next_offset > 0")
  lag=$(mval "$T/k.prom" "slogpipe_partition_lag_messages{topic=\"slog\",partition=\"$part\"}")
  b=$(mval "$T/k.prom" slogpipe_read_bytes_total)
  check "Kafka mid-run: lag > 0" "$([ -n "$lag" ] && [ "$lag" -gt 0 ] && echo yes)" yes
  check "Kafka mid-run: lag = messages produced - offset stored" "$lag" "$((LINES - stored))"
  check "Kafka mid-run: bytes counted part-way" "$([ "$b" -gt 0 ] && [ "$b" -lt "$VALUE_BYTES" ] && echo yes)" yes
  kill -CONT $pid
else
  bad "Kafka: the fault point did not stop the run: $(cat "$T/k.log")"
fi
wait $pid && rc=0 || rc=$?
check "Kafka: run completes" "$rc" 0
check "Kafka: every line counted" "$(mval "$T/k.prom" slogpipe_lines_total)" $LINES
check "Kafka: every message value byte counted" "$(mval "$T/k.prom" slogpipe_read_bytes_total)" "$VALUE_BYTES"
check "Kafka: every partition's lag 0 at the end" \
  "$(grep -c '^slogpipe_partition_lag_messages{topic="slog",partition="[0-3]"} 0$' "$T/k.prom")" 4
check "Kafka: no file lag series" "$(grep -c '^slogpipe_source_lag_bytes{' "$T/k.prom")" 0
if command -v promtool >/dev/null; then
  lint=$(promtool check metrics <"$T/k.prom" 2>&1) && rc=0 || rc=$?
  check "promtool check metrics: k.prom" "$rc:$lint" "0:"
fi
finish
