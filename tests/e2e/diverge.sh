#!/usr/bin/env bash
# diverge.sh - issue #20: two real kernel runs of one workload (basic, node2) with one change injected at a known
# crank: the timeline stage reports it live (X2 activityhash, X2 crankhash, X3 delivery) on both nodes, exactly at
# that crank/delivery, in every sink, in either ingest order and across a kill -9; nothing on identical runs; the
# stage alone gives what the batch analysis gives for the kinds both judge; `slogpipe diverge` names the same
# crank and delivery and the comparable range, also when node B's file starts at a later crank.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
BASIC=("$DATA/basic/slog.jsonl.gz" "$DATA/basic/swingstore.sqlite")
fact() { sed -n "s/^fact $2 //p" "$1/facts"; }
# killed CMD...: run a command that a fault point kills; prints its exit status (the shell's "Killed" note hidden)
killed() { set +e; sh -c '"$@"' sh "$@" 2>/dev/null; echo $?; set -e; }
# the cross-node anomalies of a store, one line each: node kind vat position detail-fields...
xanoms() {
  q "$1" "SELECT node, kind, ifnull(vat_id,'-'), ifnull(position,'-'), json_extract(detail,'\$.crank_num'),
          ifnull(json_extract(detail,'\$.divergent_cranks'), json_extract(detail,'\$.differs')),
          json_extract(detail,'\$.crankhash_equal'), json_extract(detail,'\$.other_node')
          FROM anomalies WHERE kind LIKE 'CROSS_NODE_%' ORDER BY 1, 2, 3, 4" | tr '\n' ';'
}
# every column of the cross-node anomalies (detail included), for parity
xfull() {
  q "$1" "SELECT node, kind, vat_id, position, incarnation, severity, detail, source, line FROM anomalies
          WHERE kind LIKE 'CROSS_NODE_%' ORDER BY 1, 2, 3, 4"
}

for c in same activityhash compute syscall crankhash late; do
  O=$T/$c
  mkdir -p "$O"
  python3 "$HERE/diverge_faults.py" "$c" "$DATA" "$O" >"$O/facts" || { bad "$c: fault generator"; continue; }
  # a normal ingest of both nodes (the batch analysis runs at the end of each)
  "$SP" ingest -q --db "$O/db" --node basic "${BASIC[@]}"
  "$SP" ingest -q --db "$O/db" --node node2 --jsonl "$O/out.jsonl" "$O/slog.jsonl"
  # the stage alone, as records arrive (--stream-only: no end-of-run analysis, which replays each node)
  "$SP" ingest -q --stream-only --db "$O/stage.db" --node basic "${BASIC[@]}"
  "$SP" ingest -q --stream-only --db "$O/stage.db" --node node2 "$O/slog.jsonl"
  if [ "$(xfull "$O/db")" = "$(xfull "$O/stage.db")" ]; then
    ok "$c: streaming = the batch analysis's replay ($(xfull "$O/db" | grep -c . || true) cross-node anomalies, every column)"
  else
    bad "$c: streaming differs from the batch analysis's replay"; diff <(xfull "$O/db") <(xfull "$O/stage.db") | head -6
  fi
  N=$(fact "$O" crank)
  case $c in
    same) want="" ;;
    activityhash)
      want="basic CROSS_NODE_ACTIVITYHASH_DIVERGENCE - - $N  1 node2;node2 CROSS_NODE_ACTIVITYHASH_DIVERGENCE - - $N  1 basic;" ;;
    compute | syscall)
      V=$(fact "$O" vat) DN=$(fact "$O" dn)
      d=$([ $c = compute ] && echo computrons || echo syscall_hash)
      want="basic CROSS_NODE_DELIVERY_DIVERGENCE $V $DN $N $d  node2;node2 CROSS_NODE_DELIVERY_DIVERGENCE $V $DN $N $d  basic;" ;;
    crankhash | late)
      K=$(fact "$O" changed_cranks)
      want="basic CROSS_NODE_ACTIVITYHASH_DIVERGENCE - - $N  0 node2;basic CROSS_NODE_CRANKHASH_DIVERGENCE - - $N $K  node2;"
      want="${want}node2 CROSS_NODE_ACTIVITYHASH_DIVERGENCE - - $N  0 basic;node2 CROSS_NODE_CRANKHASH_DIVERGENCE - - $N $K  basic;" ;;
  esac
  check "$c: the anomalies name exactly the injected crank/delivery, on both nodes" "$(xanoms "$O/db" | tr '|' ' ')" "$want"
  if [ $c = compute ]; then
    check "compute: the evidence carries both nodes' computrons" \
      "$(q "$O/db" "SELECT json_extract(detail,'\$.computrons') || ' ' || json_extract(detail,'\$.other_computrons') FROM anomalies WHERE node='basic' AND kind='CROSS_NODE_DELIVERY_DIVERGENCE'")" \
      "$(fact "$O" computrons) $(fact "$O" other_computrons)"
  fi
  # every sink: the JSONL of node2's run carries the same keys (the stage emitted node basic's anomalies too)
  jk=$(python3 -c '
import json, sys
last = {}
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if r["kind"] == "anomaly" and r["anomalyKind"].startswith("CROSS_NODE_"):
        k = (r["node"], r["anomalyKind"], r.get("vatID") or "-", r.get("position", "-"))
        if r.get("retracted"): last.pop(k, None)
        else: last[k] = 1
print(";".join(" ".join(map(str, k)) for k in sorted(last)))' "$O/out.jsonl")
  check "$c: the JSONL sink carries the same anomalies" "$jk" \
    "$(q "$O/db" "SELECT node, kind, ifnull(vat_id,'-'), ifnull(position,'-') FROM anomalies WHERE kind LIKE 'CROSS_NODE_%' ORDER BY 1,2,3,4" | tr '|' ' ' | paste -sd';')"

  # slogpipe diverge names the same, and the comparable range
  "$SP" diverge --db "$O/db" basic node2 --json >"$O/dv.json"
  read -r R0 R1 < <(fact "$O" range)
  got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
dl = d["delivery"]
print(d["diverged"], d["cranks"]["comparable"], d["activityhash"]["first_divergent_crank"],
      d["crankhash"]["first_divergent_crank"], d["crankhash"]["divergent_cranks"],
      dl and "%s:%d:%s" % (dl["vat"], dl["delivery_num"], dl["differs"]))' "$O/dv.json")
  case $c in
    same) want="False [0, 1899] None None None None" ;;
    activityhash) want="True [0, 1899] $N None None None" ;;
    compute) want="True [0, 1899] None None None $V:$DN:computrons" ;;
    syscall) want="True [0, 1899] None None None $V:$DN:syscall_hash" ;;
    crankhash) want="True [0, 1899] $N $N $K None" ;;
    late) want="True [$R0, $R1] $N $N $K None" ;;
  esac
  check "$c: diverge --json (comparable cranks, activityhash, crankhash, delivery)" "$got" "$want"
  if [ -n "$N" ]; then
    # the deliveries of the divergent crank on each side, as the slog files say
    for node in basic node2; do
      g=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s:%d" % (x["vat"], x["delivery_num"]) for c in d["context"] if c["crank_num"] == int(sys.argv[2])
               and c["node"] == sys.argv[3] for x in c["deliveries"]) or "-")' "$O/dv.json" "$N" "$node")
      check "$c: diverge shows $node's deliveries of crank $N" "$g" "$(fact "$O" deliveries_$node)"
    done
  fi
done

echo "# order: node2's file first, then basic: the same anomalies"
O=$T/crankhash
"$SP" ingest -q --db "$O/rev.db" --node node2 "$O/slog.jsonl"
"$SP" ingest -q --db "$O/rev.db" --node basic "${BASIC[@]}"
check "crankhash: node2 before basic gives the same anomalies" "$(xanoms "$O/rev.db")" "$(xanoms "$O/db")"

echo "# kill -9 two blocks after the divergence (commits every 500 records: the part's counts were checkpointed"
echo "# meanwhile), then resume: each anomaly once, with the counts of one clean run"
"$SP" ingest -q --stream-only --db "$O/kill.db" --node basic "${BASIC[@]}"
rc=$(SLOGPIPE_FAILPOINT=timeline.anomaly:9 killed "$SP" ingest -q --stream-only --db "$O/kill.db" --node node2 \
  --jsonl "$O/kill.jsonl" --batch-rows 500 "$O/slog.jsonl")
check "crankhash: killed at the 9th anomaly record" "$rc" 137
check "crankhash: a partial count was committed before the kill" \
  "$(q "$O/kill.db" "SELECT json_extract(detail,'\$.divergent_cranks') BETWEEN 1 AND $(fact "$O" changed_cranks)-1 FROM anomalies WHERE node='node2' AND kind='CROSS_NODE_CRANKHASH_DIVERGENCE'")" 1
# the resumed run without the end-of-run analysis too (its replay would rewrite the rows): the stage's own rows
"$SP" ingest -q --stream-only --db "$O/kill.db" --node node2 --jsonl "$O/kill.jsonl" --batch-rows 500 "$O/slog.jsonl"
if [ "$(xfull "$O/kill.db")" = "$(xfull "$O/stage.db")" ]; then
  ok "crankhash: after resume, the stage's anomalies of one clean run (every column)"
else
  bad "crankhash: after resume, the stage's anomalies differ from one clean run"; diff <(xfull "$O/stage.db") <(xfull "$O/kill.db") | head -6
fi

echo "# diverge without the stage (--no-analyze): the same answers by index walks"
for c in compute crankhash; do
  O=$T/$c
  "$SP" ingest -q --no-analyze --db "$O/na.db" --node basic "${BASIC[@]}"
  "$SP" ingest -q --no-analyze --db "$O/na.db" --node node2 "$O/slog.jsonl"
  "$SP" diverge --db "$O/na.db" basic node2 --json >"$O/na.json"
  check "$c: --no-analyze store: the same first crank/delivery, found by walking the indexes" \
    "$(python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
print(a["activityhash"]["first_divergent_crank"] == b["activityhash"]["first_divergent_crank"],
      a["crankhash"]["first_divergent_crank"] == b["crankhash"]["first_divergent_crank"],
      a["delivery"] == b["delivery"], b["crankhash"]["how"])' "$O/dv.json" "$O/na.json")" \
    "True True True crank index walk"
done

echo "# diverge: text output and exit codes"
"$SP" diverge --db "$T/crankhash/db" basic node2 >"$T/dv.txt"
check "text names the first divergent crankhash" \
  "$(grep -c '^crankhash     first differs at crank 1000 ' "$T/dv.txt")" 1
check "text names the comparable range of the late file" \
  "$("$SP" diverge --db "$T/late/db" basic node2 | grep -c "comparable $(fact "$T/late" range | tr ' ' '.' | sed 's/\./../') ")" 1
set +e
"$SP" diverge --db "$T/crankhash/db" basic 2>/dev/null; r1=$?
"$SP" diverge --db "$T/crankhash/db" basic nosuchnode 2>/dev/null; r2=$?
"$SP" diverge --db "$T/nonexistent.db" basic node2 2>/dev/null; r3=$?
"$SP" diverge --db "$T/crankhash/db" basic node2 --context 99 2>/dev/null; r4=$?
set -e
check "exit codes: one node 64, unknown node 65, no database 66, bad --context 64" "$r1 $r2 $r3 $r4" "64 65 66 64"
finish
