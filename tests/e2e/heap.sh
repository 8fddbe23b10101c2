#!/usr/bin/env bash
# heap.sh - issue #20 heap watch: the basic sample's slog with vat v9's heap-snapshot-save sizes edited to cross
# 500 MB / 1 GiB / 2 GiB in each of its three incarnations: HEAP_SIZE_THRESHOLD is reported by the timeline stage
# once per threshold and incarnation, at the save that crossed it, in every sink, live under --follow and across a
# kill -9; nothing on the unedited sample; `slogpipe query heap` gives the size, growth and projections.
. "$(dirname "$0")/lib.sh"
STORE="$DATA/basic/swingstore.sqlite"
killed() { set +e; sh -c '"$@"' sh "$@" 2>/dev/null; echo $?; set -e; }
# The edit and the oracle: sizes by v9's save position; the incarnations from the live startVat deliveries;
# each save that first reaches a threshold in its incarnation is expected, with the thresholds it reaches.
python3 - "$DATA/basic/slog.jsonl.gz" "$T/slog.jsonl" >"$T/want" 2>"$T/facts" <<'PY'
import gzip, json, sys
sizes = {4: 600000000, 15: 400000000, 24: 520000000, 33: 800000000, 42: 1200000000, 51: 1300000000,
         62: 550000000, 71: 2300000000, 80: 2400000000, 89: 2500000000}
T = [(500000000, "500 MB"), (1073741824, "1 GiB"), (2147483648, "2 GiB")]
out, inc, crossed, first, done = [], -1, set(), None, 0
for line in gzip.open(sys.argv[1], "rt", encoding="utf-8").read().split("\n")[:-1]:
    o = json.loads(line)
    if o.get("vatID") == "v9" and o["type"] == "deliver" and o.get("dispatch") == "startVat" and not o.get("replay"):
        inc, crossed, first = (0 if o["deliveryNum"] <= 1 else inc + 1), set(), None
    if o.get("vatID") == "v9" and o["type"] == "heap-snapshot-save":
        p, old = o["endPosition"], o["uncompressedSize"]
        new = sizes[p]
        a = '"uncompressedSize":%d,' % old
        assert line.count(a) == 1
        line = line.replace(a, '"uncompressedSize":%d,' % new)
        done += 1
        if first is None:
            first = (p, new)
        fresh = [t for t, _ in T if new >= t and t not in crossed]
        crossed |= set(fresh)
        if fresh:
            top = max(fresh)
            sev = "warning" if top == T[0][0] else "error"
            g = round((new - first[1]) * 1000 / (p - first[0])) if p > first[0] else None
            print("v9|%d|%d|%s|%d|%s|%s" % (p, inc, sev, top, json.dumps(fresh, separators=(",", ":")),
                                           "null" if g is None else g))
        last = (inc, p, new, first)
    out.append(line)
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(out) + "\n")
inc, p, new, first = last
print("saves_edited", done, file=sys.stderr)
print("current", inc, p, new, round((new - first[1]) * 1000 / (p - first[0])), file=sys.stderr)
PY
check "the generator edited every save of v9" "$(sed -n 's/^saves_edited //p' "$T/facts")" 10
check "the oracle expects one anomaly per threshold and incarnation (5 saves)" "$(grep -c . "$T/want")" 5
rows() {
  q "$1" "SELECT vat_id, position, incarnation, severity, json_extract(detail,'\$.threshold'),
          json_extract(detail,'\$.thresholds_crossed'), ifnull(json_extract(detail,'\$.growth_per_1000_deliveries'),'null')
          FROM anomalies WHERE kind='HEAP_SIZE_THRESHOLD' ORDER BY position"
}
full() { q "$1" "SELECT * FROM anomalies WHERE kind='HEAP_SIZE_THRESHOLD' ORDER BY node, vat_id, position"; }

echo "# the stage alone (--stream-only), the batch analysis (its replay), and no database at all"
"$SP" ingest -q --stream-only --db "$T/s.db" --node basic "$STORE" "$T/slog.jsonl"
check "stream: the anomalies the oracle expects" "$(rows "$T/s.db")" "$(cat "$T/want")"
"$SP" ingest -q --db "$T/b.db" --node basic "$STORE" "$T/slog.jsonl"
check "batch (replay): every column as the stream" "$(full "$T/b.db")" "$(full "$T/s.db")"
"$SP" ingest -q --db '' --jsonl "$T/o.jsonl" --node basic "$STORE" "$T/slog.jsonl"
got=$(python3 -c '
import json, sys
last = {}
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if r["kind"] == "anomaly" and r["anomalyKind"] == "HEAP_SIZE_THRESHOLD":
        last[(r["vatID"], r["position"])] = r
for (v, p), r in sorted(last.items(), key=lambda kv: kv[0][1]):
    d = r["detail"]
    print("%s|%d|%d|%s|%d|%s|%s" % (v, p, r["incarnation"], r["severity"], d["threshold"],
          json.dumps(d["thresholds_crossed"], separators=(",", ":")),
          "null" if d["growth_per_1000_deliveries"] is None else d["growth_per_1000_deliveries"]))' "$T/o.jsonl")
check "JSONL only (no store): the same anomalies" "$got" "$(cat "$T/want")"
check "the unedited sample: no heap anomaly" \
  "$("$SP" ingest -q --db "$T/clean.db" --node basic "$STORE" "$DATA/basic/slog.jsonl.gz"; q "$T/clean.db" "SELECT count(*) FROM anomalies WHERE kind='HEAP_SIZE_THRESHOLD'")" 0

echo "# --heap-thresholds: other sizes, the same rule"
"$SP" ingest -q --stream-only --db "$T/t.db" --node basic --heap-thresholds 100MB,3GiB "$STORE" "$T/slog.jsonl"
# each incarnation's first save is above 100 MB (oracle: the sizes the generator wrote), none reaches 3 GiB
check "--heap-thresholds 100MB,3GiB: once per incarnation, at its first save" \
  "$(q "$T/t.db" "SELECT group_concat(position || ':' || incarnation || ':' || json_extract(detail,'\$.threshold_name'), ' ') FROM (SELECT * FROM anomalies WHERE kind='HEAP_SIZE_THRESHOLD' ORDER BY position)")" \
  "4:0:100 MB 15:1:100 MB 62:2:100 MB"
check "--heap-thresholds not ascending: exit 64" \
  "$("$SP" ingest -q --db "$T/u.db" --heap-thresholds 1GiB,500MB "$STORE" 2>/dev/null && echo 0 || echo $?)" 64

echo "# kill -9 after the 3rd anomaly record, resume: each once, as one clean run"
rc=$(SLOGPIPE_FAILPOINT=timeline.anomaly:3 killed "$SP" ingest -q --stream-only --db "$T/k.db" --node basic \
  --batch-rows 2000 "$STORE" "$T/slog.jsonl")
check "killed at the 3rd anomaly" "$rc" 137
"$SP" ingest -q --stream-only --db "$T/k.db" --node basic --batch-rows 2000 "$STORE" "$T/slog.jsonl"
check "after resume: every column as one clean run" "$(full "$T/k.db")" "$(full "$T/s.db")"

echo "# live: a follower reports them while it runs"
"$SP" ingest -q --db "$T/f.db" --node basic "$STORE"
: >"$T/live.jsonl"
"$SP" ingest --follow --db "$T/f.db" --node basic --commit-ms 100 "$T/live.jsonl" 2>"$T/follow.err" &
FPID=$!
cat "$T/slog.jsonl" >>"$T/live.jsonl"
n=0
for _ in $(seq 600); do # up to 60 s: a deadline, not a measurement
  n=$(q "$T/f.db" "SELECT count(*) FROM anomalies WHERE kind='HEAP_SIZE_THRESHOLD'" 2>/dev/null || echo 0)
  [ "$n" = 5 ] && break
  sleep 0.1
done
alive=$(kill -0 "$FPID" 2>/dev/null && echo running || echo exited)
check "follower: the 5 anomalies are committed while it runs" "$n:$alive" "5:running"
kill -TERM "$FPID"
wait "$FPID" || true
check "follower: the same anomalies as one batch run" "$(rows "$T/f.db")" "$(cat "$T/want")"

echo "# Prometheus: the 10 largest live heaps, never one series per vat"
# six more vats, each with one save (a real v9 save line with its vatID and size changed), so that 13 live vats
# have a heap: the metric must show the 10 largest (the oracle reads the last size of each live vat from the file)
python3 - "$T/slog.jsonl" "$T/many.jsonl" >"$T/top" <<'PY'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")[:-1]
src = next(l for l in lines if '"heap-snapshot-save","vatID":"v9"' in l)
o = json.loads(src)
for k in range(6):
    lines.append(src.replace('"vatID":"v9"', '"vatID":"v%d"' % (100 + k))
                 .replace('"uncompressedSize":%d,' % o["uncompressedSize"], '"uncompressedSize":%d,' % (20000000 + k)))
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(lines) + "\n")
size, dead = {}, set()
for l in lines:
    o = json.loads(l)
    if o["type"] == "heap-snapshot-save" and "uncompressedSize" in o:
        size[o["vatID"]] = o["uncompressedSize"]
    if o["type"] in ("terminate", "vat-cleanup", "vat-cleanup-complete"):
        dead.add(o["vatID"])
live = sorted(((-s, v) for v, s in size.items() if v not in dead))
print(len(live))
for s, v in live[:10]:
    print('slogpipe_vat_heap_bytes{node="basic",vat="%s"} %d' % (v, -s))
PY
"$SP" ingest -q --stream-only --db "$T/m.db" --node basic --metrics-file "$T/m.prom" "$T/many.jsonl"
check "the input has more live vats with a heap than the metric shows" "$(head -1 "$T/top")" 13
check "slogpipe_vat_heap_bytes: the 10 largest, largest first" "$(grep '^slogpipe_vat_heap_bytes' "$T/m.prom")" \
  "$(tail -n +2 "$T/top")"

echo "# slogpipe query heap (slog only: the sizes are the edited ones)"
"$SP" ingest -q --db "$T/q.db" --node basic "$T/slog.jsonl"
read -r INC POS SIZE G < <(sed -n 's/^current //p' "$T/facts")
check "query heap: v9's incarnation, newest save, size, growth per 1,000 deliveries, thresholds crossed" \
  "$("$SP" query --db "$T/q.db" heap --vat v9 --csv | tr -d '\r' | sed -n 2p | cut -d, -f2-5,8-11)" \
  "v9,$INC,$POS,$SIZE,$G,crossed,crossed,crossed"
"$SP" query --db "$STORE" heap >/dev/null 2>&1 && r=0 || r=$?
check "query heap on a database that is not slogpipe's: exit 65" "$r" 65
finish
