#!/usr/bin/env bash
# pg_kafka_out.sh - --kafka-out with the PostgreSQL store: kill -9 before, between and after the Kafka transaction's commit and PostgreSQL's, resume: the read_committed output equals a clean run's, each slog line and transcript item once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kafka_lib.bash"
. "$(dirname "$0")/pg_lib.bash"
trap 'for p in "${BG_PIDS[@]}" $MOCK_PID; do kill -9 "$p" 2>/dev/null || true; done; pg_cleanup' EXIT
pg_start
start_mock --brokers 1 --partitions 4
topics() { for s in events spans anomalies; do mock_cmd topic "$1.$s" 4 >/dev/null; done; mock_cmd topic "$1.commits" 1 >/dev/null; }
IN=("$DATA/basic/slog.jsonl.gz" "$DATA/basic/swingstore.sqlite")
# file runs commit every 3000 records and never on time: the Nth commit is at the same place anywhere
RUN=(--node basic --batch-rows 3000 --commit-ms 3600000)
EV=$(zcat "$DATA/basic/slog.jsonl.gz" | grep -c .)
TI=$(q "$DATA/basic/swingstore.sqlite" "SELECT count(*) FROM transcriptItems")

topics pclean
"$SP" ingest -q --db "$(pg_url clean)" "${RUN[@]}" --kafka-out "$BS" --topic-prefix pclean "${IN[@]}"
check "clean run into PostgreSQL succeeded" "$?" 0
readback_committed pclean "$T/clean.tsv"
kinds "$T/clean.tsv" >"$T/clean.kinds"
check "clean: one event per slog line" "$(kind "$T/clean.kinds" events:event)" "$EV"
check "clean: one record per transcript item of the store" "$(kind "$T/clean.kinds" events:transcript_item)" "$TI"
check "clean: no event record twice" "$(dups "$T/clean.tsv")" 0
sort "$T/clean.tsv" >"$T/clean.sorted"

for fp in commit.before:3 kafka.sink.committed:3 pg.committed:3; do
  name=p$(echo "$fp" | tr -c 'a-z0-9\n' '_')
  U=$(pg_url "$name")
  topics "$name"
  SLOGPIPE_FAILPOINT=$fp "$SP" ingest -q --db "$U" "${RUN[@]}" --kafka-out "$BS" --topic-prefix "$name" "${IN[@]}" \
    2>"$T/$name.killed.err" && rc=0 || rc=$?
  check "$fp: killed there" "$rc:$(grep -c "failpoint $fp: kill" "$T/$name.killed.err")" "137:1"
  "$SP" ingest --db "$U" "${RUN[@]}" --kafka-out "$BS" --topic-prefix "$name" "${IN[@]}" 2>"$T/$name.err" && rc=0 || rc=$?
  check "$fp: resumed run finished" "$rc" 0
  [ "$rc" = 0 ] || tail -3 "$T/$name.err"
  readback_committed "$name" "$T/$name.tsv"
  check "$fp: no event record twice (read_committed)" "$(dups "$T/$name.tsv")" 0
  kinds "$T/$name.tsv" >"$T/$name.kinds"
  check "$fp: every slog line once" "$(kind "$T/$name.kinds" events:event)" "$EV"
  check "$fp: every transcript item once" "$(kind "$T/$name.kinds" events:transcript_item)" "$TI"
  if sort "$T/$name.tsv" | cmp -s - "$T/clean.sorted"; then ok "$fp: output equals the clean run's, record for record"; else
    bad "$fp: output differs from the clean run's"; sort "$T/$name.tsv" | diff - "$T/clean.sorted" | head -5 || true; fi
done
check "between the two commits, the resumed run did not publish the batch again" \
  "$(grep -c 'published but not committed to the database' "$T/pkafka_sink_committed_3.err")" 1
finish
