#!/usr/bin/env bash
# explain.sh - runs, block budgets, method per delivery, `explain`, `query slow-blocks` and `query costs` on the blocks sample (real kernel, chain block structure), each checked against a direct scan of the slog; old layouts accepted.
source "$(dirname "$0")/lib.sh"
SLOG="$DATA/blocks/slog.jsonl.gz"
[ -f "$SLOG" ] || { bad "no $SLOG"; finish; exit 1; }

"$SP" ingest -q --db "$T/a.db" --jsonl "$T/a.jsonl" --node n0 "$SLOG"
check "ingest: no dead letter" "$(q "$T/a.db" "SELECT count(*) FROM ingest_errors")" 0

# ---- the oracle: a direct scan of the slog (python3, not slogpipe) ----------------------
python3 - "$SLOG" "$T" <<'PY'
import gzip, json, sys, collections
slog, out = sys.argv[1], sys.argv[2]
runs, blocks, dl = [], {}, []          # dl: live deliveries (line, block, vat, dispatch, method, seconds, computrons)
block, starts, pend = None, {}, {}
begin = {}
for ln, raw in enumerate(gzip.open(slog, "rt", encoding="utf-8"), 1):
    e = json.loads(raw)
    t = e["type"]
    if t == "cosmic-swingset-begin-block":
        block = e["blockHeight"]; begin[block] = e["time"]
    elif t == "cosmic-swingset-bootstrap-block-start":
        block = None; begin["boot"] = e["time"]
    elif t == "cosmic-swingset-run-start":
        if block is None:
            block = e["blockHeight"]; begin[block] = begin.pop("boot")
        starts[e["runNum"]] = ln
    elif t == "cosmic-swingset-run-finish":
        runs.append((e["blockHeight"], e["runNum"], e.get("phase", ""), starts.get(e["runNum"]), ln,
                     e.get("usedBeans"), e["seconds"]))
    elif t == "cosmic-swingset-commit-block-finish":
        blocks[e["blockHeight"]] = e["time"] - begin[e["blockHeight"]]
    elif t == "deliver" and not e.get("replay"):
        vd = e["vd"]; m = ""
        if vd[0] == "message":
            m = json.loads(vd[2]["methargs"]["body"][1:])[0]
        pend[e["vatID"]] = (ln, block, e["vatID"], vd[0], m)
    elif t == "deliver-result" and not e.get("replay"):
        d = pend.pop(e["vatID"])
        m = e["dr"][2] if len(e["dr"]) > 2 else None   # local workers have no meter
        dl.append(d + (e["seconds"], m["compute"] if m else None))
with open(f"{out}/runs.txt", "w") as f:
    for r in sorted(runs):
        f.write("|".join("" if x is None else str(x) for x in r[:6]) + "\n")
slowest = max(blocks, key=lambda b: blocks[b])
top = max((d for d in dl if d[1] == slowest), key=lambda d: d[5])
with open(f"{out}/slowest.txt", "w") as f:
    f.write(f"{slowest} {top[0]} {top[2]} {top[3]}\n")
# blocks by wall time, descending (ties by height)
with open(f"{out}/order.txt", "w") as f:
    f.write(" ".join(str(b) for b in sorted(blocks, key=lambda b: (-blocks[b], b))[:5]) + "\n")
per = collections.defaultdict(lambda: [0, 0.0, 0, []])
for d in dl:
    k = d[4] if d[3] == "message" else f"<{d[3]}>"
    p = per[k]; p[0] += 1; p[1] += d[5]; p[2] += d[6] or 0; p[3].append(d[5])
with open(f"{out}/methods.json", "w") as f:
    json.dump({k: v for k, v in per.items()}, f)
with open(f"{out}/runsec.txt", "w") as f:  # per block: sum of run seconds
    s = collections.defaultdict(float)
    for r in runs: s[r[0]] += r[6]
    f.write(json.dumps({str(k): v for k, v in s.items()}))
PY

echo "# 1. runs: one row per run-start/run-finish pair, same block, number, phase, lines, beans"
check "runs: as many as run-finish lines" "$(q "$T/a.db" "SELECT count(*) FROM runs")" "$(wc -l <"$T/runs.txt")"
q "$T/a.db" "SELECT block_height, run_num, ifnull(phase,''), start_line, finish_line, beans_used FROM runs
             ORDER BY 1, 2" | tr '|' '|' >"$T/runs.db.txt"
if cmp -s "$T/runs.txt" "$T/runs.db.txt"; then ok "runs equal the run-start/run-finish lines"; else
  bad "runs differ from the slog"; diff "$T/runs.txt" "$T/runs.db.txt" | head -5; fi
check "bootstrap run: trigger bootstrap, phase forced" \
  "$(q "$T/a.db" "SELECT trigger || ' ' || phase FROM runs WHERE block_height = 0")" "bootstrap forced"
check "inbound runs name their bridge-inbound (source and body type)" \
  "$(q "$T/a.db" "SELECT count(*) FROM runs WHERE phase = 'inbound' AND trigger = 'bridge-inbound'
                  AND trigger_source IS NOT NULL AND trigger_type IS NOT NULL AND inbound_num LIKE block_height || '-%'")" \
  "$(zcat "$SLOG" | grep -c '"type":"cosmic-swingset-bridge-inbound"')"
check "timer runs name their timer-poll" \
  "$(q "$T/a.db" "SELECT count(*) FROM runs WHERE phase = 'timer' AND trigger = 'timer-poll'")" \
  "$(zcat "$SLOG" | grep -c '"type":"cosmic-swingset-timer-poll"')"
check "every live delivery knows its run" \
  "$(q "$T/a.db" "SELECT count(*) FROM deliveries d LEFT JOIN runs r ON r.node = d.node
                  AND r.block_height = d.block_height AND r.run_num = d.run_num WHERE d.replay = 0 AND r.run_num IS NULL")" 0
check "per run, its deliveries and computrons are those of its rows" \
  "$(q "$T/a.db" "SELECT count(*) FROM runs r WHERE r.deliveries != (SELECT count(*) FROM deliveries d WHERE
                  d.node = r.node AND d.block_height = r.block_height AND d.run_num = r.run_num AND d.replay = 0)
                  OR r.computrons != (SELECT ifnull(sum(computrons), 0) FROM deliveries d WHERE d.node = r.node
                  AND d.block_height = r.block_height AND d.run_num = r.run_num AND d.replay = 0)")" 0
python3 - "$T" <<'PY' && ok "block run_seconds = the sum of its run-finish seconds" || bad "block run_seconds differ"
import json, sqlite3, sys
t = sys.argv[1]
want = json.load(open(f"{t}/runsec.txt"))
got = dict(sqlite3.connect(f"{t}/a.db").execute("SELECT block_height, run_seconds FROM blocks"))
assert len(got) == len(want) == 27, (len(got), len(want))
for k, v in want.items():
    assert abs(got[int(k)] - v) < 1e-9, (k, got[int(k)], v)
PY

echo "# 2. method and target per delivery"
check "message deliveries: method and target" \
  "$(q "$T/a.db" "SELECT count(*) FROM deliveries WHERE dispatch = 'message' AND (method IS NULL OR target NOT LIKE 'o%')")" 0
check "notify deliveries: resolutions" \
  "$(q "$T/a.db" "SELECT count(*) FROM deliveries WHERE dispatch = 'notify' AND NOT resolutions >= 1")" 0

echo "# 3. explain: the slowest block and its slowest delivery, as the scan finds them"
read -r SB SLINE SVAT SDISP <"$T/slowest.txt"
"$SP" explain --db "$T/a.db" --slowest 1 --json >"$T/x.json"
check "explain --slowest 1: the slowest block, its slowest delivery first" \
  "$(python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))[0]; d=b["top_by_seconds"][0]; print(b["block_height"], d["line"], d["vat_id"], d["dispatch"])' "$T/x.json")" \
  "$SB $SLINE $SVAT $SDISP"
"$SP" explain --db "$T/a.db" --block "$SB" >"$T/x.txt"
check "explain --block (text): the first delivery it names is the slowest" \
  "$(grep -m1 '^    1\. ' "$T/x.txt" | sed 's/^    1\. //' | cut -d' ' -f1)|$(grep -m1 '^    1\. ' "$T/x.txt" | grep -o "line [0-9]*")" \
  "$SVAT|line $SLINE"
grep -q "^Block $SB on n0" "$T/x.txt" && ok "explain text names the block" || bad "explain text: no header"
check "query slow-blocks: the slowest blocks in the scan's order" \
  "$("$SP" query --db "$T/a.db" slow-blocks --limit 5 --json | python3 -c 'import json,sys; print(" ".join(str(r["block_height"]) for r in json.load(sys.stdin)))')" \
  "$(cat "$T/order.txt")"
"$SP" explain --db "$T/a.db" --block 999 >/dev/null 2>"$T/e.err" && rc=0 || rc=$?
check "explain: a missing block is a data error (65) with a message" "$rc:$(grep -c 'no block 999' "$T/e.err")" "65:1"
"$SP" explain --db "$T/a.db" >/dev/null 2>&1 && rc=0 || rc=$?
check "explain without --block/--slowest: usage (64)" "$rc" 64
"$SP" explain --db "$T/nope.db" --block 1 >/dev/null 2>&1 && rc=0 || rc=$?
check "explain on a missing database: 66" "$rc" 66
check "explain uses the indexes (no scan of deliveries or blocks)" \
  "$(q "$T/a.db" "EXPLAIN QUERY PLAN SELECT vat_id FROM deliveries d WHERE d.node = 'n0' AND d.block_height = 3 AND d.replay = 0;
                  EXPLAIN QUERY PLAN SELECT node FROM blocks WHERE block_seconds IS NOT NULL ORDER BY block_seconds DESC LIMIT 3;" |
     grep -c 'SCAN')" 0

echo "# 4. query costs: per-method totals equal a direct sum; percentiles are exact"
"$SP" query --db "$T/a.db" costs --by method --period 1000blocks --json >"$T/costs.json"
python3 - "$T" <<'PY' && ok "costs --by method: count, seconds, computrons, p50/p95/max equal the scan's" || bad "costs differ"
import json, math, sys
t = sys.argv[1]
want = json.load(open(f"{t}/methods.json"))
got = {r["group"]: r for r in json.load(open(f"{t}/costs.json"))}
assert set(got) == set(want), (set(got) ^ set(want))
for k, (n, s, c, xs) in want.items():
    r = got[k]
    xs = sorted(xs)
    rank = lambda p: xs[max(1, math.ceil(p / 100 * len(xs))) - 1]
    assert r["count"] == n and r["computrons"] == c, (k, r, n, c)
    same = lambda a, b: abs(a - b) < 1e-12  # JSON prints 16 digits; neighbours differ by >= 1e-9 s
    assert abs(r["seconds"] - s) < 1e-9 and same(r["max_s"], xs[-1]), (k, r["seconds"], s)
    assert same(r["p50_s"], rank(50)) and same(r["p95_s"], rank(95)), (k, r["p50_s"], rank(50), r["p95_s"], rank(95))
PY
"$SP" query --db "$T/a.db" costs --by trigger --csv >"$T/ct.csv"
check "costs --by trigger: wallet actions are a group" "$(grep -c ',bridge-inbound wallet WALLET_SPEND_ACTION,' "$T/ct.csv")" 1
"$SP" query --db "$T/a.db" costs --period week >/dev/null 2>&1 && rc=0 || rc=$?
check "costs --period week: usage (64)" "$rc" 64

echo "# 5. the same records in the JSONL sink, and from the stage without a store"
check "JSONL: run records = runs rows" "$(grep -c '"kind":"run"' "$T/a.jsonl")" "$(q "$T/a.db" "SELECT count(*) FROM runs")"
check "JSONL: block records = blocks with a budget" "$(grep -c '"kind":"block"' "$T/a.jsonl")" \
  "$(q "$T/a.db" "SELECT count(*) FROM blocks WHERE block_seconds IS NOT NULL")"
"$SP" ingest -q --db '' --jsonl "$T/b.jsonl" --node n0 "$SLOG"
if cmp -s <(grep -E '"kind":"(run|block)"' "$T/a.jsonl") <(grep -E '"kind":"(run|block)"' "$T/b.jsonl"); then
  ok "store-less stage: the same run and block records"; else bad "store-less run/block records differ"; fi

echo "# 6. kill -9 mid-block and resume: the same runs and budgets as one clean run"
for fp in line.parsed:7000 commit.before:2; do
  rm -f "$T/k.db" "$T/k.jsonl" "$T/k.jsonl.ckpt"
  set +e
  SLOGPIPE_FAILPOINT=$fp "$SP" ingest -q --db "$T/k.db" --jsonl "$T/k.jsonl" --node n0 --batch-rows 2000 "$SLOG" 2>/dev/null
  rc=$?
  set -e
  check "killed at $fp" "$rc" 137
  "$SP" ingest -q --db "$T/k.db" --jsonl "$T/k.jsonl" --node n0 --batch-rows 2000 "$SLOG"
  if cmp -s <(q "$T/a.db" "SELECT * FROM runs ORDER BY 1,2,3") <(q "$T/k.db" "SELECT * FROM runs ORDER BY 1,2,3") &&
     cmp -s <(q "$T/a.db" "SELECT * FROM blocks ORDER BY 1,2") <(q "$T/k.db" "SELECT * FROM blocks ORDER BY 1,2"); then
    ok "$fp, resumed: runs and blocks equal the clean run's"; else bad "$fp, resumed: runs/blocks differ"; fi
  check "$fp, resumed: each run record once in the JSONL" "$(grep -c '"kind":"run"' "$T/k.jsonl")" 76
done

echo "# 7. old layouts and field-less lines (agoric-formats.md §2.3) are accepted and explained"
cat >"$T/old.jsonl" <<'EOF'
{"type":"cosmic-swingset-begin-block","blockHeight":7,"blockTime":1686000000,"time":100.0}
{"type":"cosmic-swingset-end-block-start","blockHeight":7,"blockTime":1686000000,"time":100.5}
{"type":"cosmic-swingset-deliver-inbound","inboundNum":"7-abc-0","sender":"agoric1xyz","count":2,"time":100.6}
{"type":"cosmic-swingset-run-start","blockHeight":7,"runNum":0,"initialBeans":"6500000000","time":100.7}
{"type":"crank-start","crankType":"delivery","crankNum":1,"time":100.8}
{"type":"deliver","crankNum":1,"vatID":"v9","deliveryNum":4,"replay":false,"kd":["message","ko1",{"method":"go","args":{"body":"[]","slots":[]},"result":"kp1"}],"vd":["message","o+4",{"method":"go","args":{"body":"[]","slots":[]},"result":"p-1"}],"time":100.8}
{"type":"deliver-result","crankNum":1,"vatID":"v9","deliveryNum":4,"replay":false,"dr":["ok",null,{"compute":1234}],"time":101.3}
{"type":"crank-finish","crankNum":1,"crankhash":"aa","activityhash":"bb","time":101.4}
{"type":"cosmic-swingset-run-finish","blockHeight":7,"runNum":0,"remainingBeans":6499000000,"usedBeans":1000000,"time":101.7}
{"type":"cosmic-swingset-bridge-inbound","inboundNum":"7-def-1","source":"bank","time":101.8}
{"type":"cosmic-swingset-run-start","time":101.9}
{"type":"cosmic-swingset-run-finish","time":102.0}
{"type":"cosmic-swingset-end-block-finish","blockHeight":7,"blockTime":1686000000,"time":102.1}
{"type":"cosmic-swingset-commit-block-start","blockHeight":7,"blockTime":1686000000,"time":102.2}
{"type":"cosmic-swingset-commit-block-finish","blockHeight":7,"blockTime":1686000000,"saveTime":0.3,"chainTime":0.1,"fullSaveTime":0.35,"time":102.9}
{"type":"cosmic-swingset-begin-block","blockHeight":8,"blockTime":1686000006,"time":103.0}
{"type":"cosmic-swingset-end-block-start","blockHeight":8,"blockTime":1686000006,"time":103.1}
{"type":"cosmic-swingset-run-start","blockHeight":8,"runNum":0,"phase":"priority","startBeans":0,"remainingBeans":100,"time":103.2}
{"type":"cosmic-swingset-run-finish","blockHeight":8,"runNum":0,"phase":"priority","time":103.4,"seconds":0.2}
{"type":"cosmic-swingset-end-block-finish","blockHeight":8,"blockTime":1686000006,"time":103.5,"seconds":0.4}
{"type":"cosmic-swingset-commit-block-start","blockHeight":8,"blockTime":1686000006,"time":103.6}
{"type":"cosmic-swingset-commit-block-finish","blockHeight":8,"blockTime":1686000006,"runSeconds":0.2,"chainTime":0.1,"saveTime":0.05,"cosmosCommitSeconds":0.25,"fullSaveTime":0.06,"time":104.0,"seconds":0.4}
EOF
"$SP" ingest -q --db "$T/o.db" --node old "$T/old.jsonl"
check "old layout: no dead letter" "$(q "$T/o.db" "SELECT count(*) FROM ingest_errors")" 0
check "upgrade-10 run: no phase, beans and seconds from the lines, the deliver-inbound trigger" \
  "$(q "$T/o.db" "SELECT ifnull(phase,'-'), beans_used, beans_remaining, round(seconds, 3), trigger, trigger_source,
                  trigger_count, deliveries, computrons FROM runs WHERE block_height = 7 AND run_num = 0")" \
  "-|1000000|6499000000|1.0|deliver-inbound|agoric1xyz|2|1|1234"
check "legacy msg.method: the method and target" \
  "$(q "$T/o.db" "SELECT method || ' ' || target || ' ' || run_num FROM deliveries")" "go o+4 0"
check "field-less run lines: kept in the block's budget, no run row without a number" \
  "$(q "$T/o.db" "SELECT runs FROM blocks WHERE block_height = 7"):$(q "$T/o.db" "SELECT count(*) FROM runs WHERE block_height = 7")" \
  "2:1"
check "block 7 budget from the lines' times (no seconds): block 2.9 s, commit 0.7 s, save 0.3 s" \
  "$(q "$T/o.db" "SELECT round(block_seconds, 3), round(commit_seconds, 3), save_seconds, ifnull(cosmos_commit_seconds, '-')
                  FROM blocks WHERE block_height = 7")" "2.9|0.7|0.3|-"
check "block 8 (u18+ layout): end-block and commit seconds from the lines, cosmosCommitSeconds" \
  "$(q "$T/o.db" "SELECT end_block_seconds, commit_seconds, cosmos_commit_seconds FROM blocks WHERE block_height = 8")" \
  "0.4|0.4|0.25"
"$SP" explain --db "$T/o.db" --block 7 >"$T/o.txt"
grep -q 'run 0 -  .*trigger: deliver-inbound agoric1xyz (count 2) inbound 7-abc-0' "$T/o.txt" &&
  ok "explain shows the upgrade-10 run with its trigger" || { bad "explain of the old layout"; cat "$T/o.txt"; }
grep -q 'v9 message go -> o+4' "$T/o.txt" && ok "explain names the legacy method" || bad "explain: no legacy method"
finish
