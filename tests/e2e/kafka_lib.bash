# kafka_lib.bash - helpers for the tests/e2e/kafka_*.sh scripts (sourced after lib.sh): mock cluster, producing the samples, canonical dumps, reading --kafka-out back as read_committed.
MOCK="$BUILD/kafka-mock"
MOCK_PID=
BG_PIDS=()
KCAT_BIG=(-X message.max.bytes=10000000)
trap 'for p in "${BG_PIDS[@]}" $MOCK_PID; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT

if ! command -v kcat >/dev/null; then echo "kcat not installed"; exit 1; fi

# start_mock ARGS...: start kafka-mock; sets BS (bootstrap servers); fd 7 is its control channel.
start_mock() {
  mkfifo "$T/mock.ctl"
  "$MOCK" "$@" <"$T/mock.ctl" >"$T/mock.out" 2>"$T/mock.err" &
  MOCK_PID=$!
  disown "$MOCK_PID"
  exec 7>"$T/mock.ctl"
  for _ in $(seq 100); do [ -s "$T/mock.out" ] && break; sleep 0.1; done
  BS=$(head -1 "$T/mock.out")
  [ -n "$BS" ] || { echo "kafka-mock did not start: $(cat "$T/mock.err")"; exit 1; }
}

# mock_cmd COMMAND...: send one control command, print its answer line.
mock_cmd() {
  local n
  n=$(wc -l <"$T/mock.out")
  echo "$*" >&7
  for _ in $(seq 100); do [ "$(wc -l <"$T/mock.out")" -gt "$n" ] && break; sleep 0.05; done
  tail -1 "$T/mock.out"
}

# produce_two_nodes TOPIC: the two sample slogs, one line per message, each node on one
# partition (basic: key "basic"; node2: key "n2" and header node=node2, the header wins).
produce_two_nodes() {
  zcat "$DATA/basic/slog.jsonl.gz" | timeout 120 kcat -b "$BS" -P -t "$1" -k basic -z gzip "${KCAT_BIG[@]}"
  zcat "$DATA/node2/slog.jsonl.gz" | timeout 120 kcat -b "$BS" -P -t "$1" -k n2 -H node=node2 -z gzip "${KCAT_BIG[@]}"
}

# file_reference DB: the same two slogs ingested from files.
file_reference() {
  "$SP" ingest -q --db "$1" --node basic "$DATA/basic/slog.jsonl.gz"
  "$SP" ingest -q --db "$1" --node node2 "$DATA/node2/slog.jsonl.gz"
}

# canon_noprov DB: canonical dump without the provenance columns (source, line, offset,
# *_line) that differ between a file and a Kafka ingest of the same lines.
canon_noprov() {
  local db=$1
  for sql in \
    "SELECT node,type,time,monotime,seconds,vat_id,crank_num,delivery_num,syscall_num,replay,block_height,epoch,raw FROM slog_events" \
    "SELECT node,vat_id,delivery_num,crank_num,block_height,epoch,dispatch,replay,status,computrons,syscalls,time,seconds,vd_hash,sc_hash FROM deliveries" \
    "SELECT node,vat_id,name,dynamic,manager_type,status FROM vats" \
    "SELECT node,vat_id,snap_pos,snapshot_id,slog_snapshot_id,save_time,uncompressed_size,compressed_size,save_seconds,compress_seconds,loads FROM snapshots" \
    "SELECT node,block_height,block_time,begin_time,end_time,commit_time,committed FROM blocks" \
    "SELECT node,vat_id,incarnation,start_pos,end_pos,first_type,last_type,is_current,hash,hash_ok,deliveries,from_transcript,from_slog,save_snapshot_id,load_snapshot_id,items FROM spans" \
    "SELECT node,vat_id,kind,incarnation,position,severity FROM anomalies"; do
    echo "== $sql"
    sqlite3 -batch -noheader "$db" "$sql" | LC_ALL=C sort
  done
}

# slogpipe_kafka DB GROUP [ARGS...]: one consumer instance, to the end of the topic "slog".
slogpipe_kafka() {
  local db=$1 group=$2
  shift 2
  timeout 300 "$SP" ingest -q --db "$db" --exit-at-end -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 \
    "$@" "kafka://$BS/slog?group=$group"
}

# readback_committed P OUT: every message of P's output topics as "topic<TAB>key<TAB>value", as a
# read_committed consumer sees it. librdkafka's mock cluster (2.0.2, and upstream still)
# ignores isolation.level: its Fetch reports no aborted transactions and the high watermark as
# the last stable offset, so the messages of an aborted transaction stay visible there. A real
# broker hides them; here the same rule is applied by hand: a message counts only if its
# transaction (header slogpipe.txn) committed, i.e. its commit marker on P.commits is there.
readback_committed() {
  local p=$1 out=$2 t
  for t in events spans anomalies commits; do
    timeout 120 kcat -b "$BS" -C -t "$p.$t" -e -q -X isolation.level=read_committed \
      -X fetch.message.max.bytes=20000000 -f "$t\t%k\t%h\t%s\n" 2>/dev/null
  done | python3 -c '
import json, sys
rows = [l.rstrip("\n").split("\t", 3) for l in sys.stdin]
committed = {json.loads(v)["txn"] for t, k, h, v in rows if t == "commits"}
aborted = 0
for t, k, h, v in rows:
    if t == "commits":
        continue
    txn = dict(x.split("=", 1) for x in h.split(",") if "=" in x).get("slogpipe.txn")
    if txn not in committed:
        aborted += 1
        continue
    print(f"{t}\t{k}\t{v}")
print(aborted, file=sys.stderr)
' >"$out" 2>"$out.aborted"
}
# kinds OUT: "topic:kind count" lines
kinds() { python3 -c '
import json, sys, collections
c = collections.Counter()
for l in open(sys.argv[1]):
    t, k, v = l.rstrip("\n").split("\t", 2)
    c[t + ":" + json.loads(v)["kind"]] += 1
for k in sorted(c): print(k, c[k])' "$1"; }
kind() { awk -v k="$2" '$1 == k { n = $2 } END { print n + 0 }' "$1"; }
# dups OUT: records of P.events seen more than once. (P.spans and P.anomalies are keyed
# changelogs: the timeline stage may send a span again unchanged; there the whole sequence is
# compared with the clean run's, and its last record per key with the database.)
dups() { grep $'^events\t' "$1" | sort | uniq -d | wc -l; }
