#!/usr/bin/env bash
# timeline_reexecuted_block.sh - #22 item 1: a block re-executed after a crash (agoric-sdk #8264) is kept twice but counted once.
. "$(dirname "$0")/lib.sh"
gzip -dc "$DATA/basic/slog.jsonl.gz" > "$T/all.jsonl"
# The crash, built from the sample's own lines: block 20 runs up to its commit-block-start, the node
# crashes, restarts (the sample's real restart lines: kernel-init-start up to the next begin-block)
# and runs block 20 again, this time to its commit. The oracle counts are taken from these lines.
python3 - "$T/all.jsonl" "$T/crash.jsonl" > "$T/oracle" <<'PY'
import json, sys
L = open(sys.argv[1]).read().splitlines()
T = [json.loads(l)["type"] for l in L]
O = [json.loads(l) for l in L]
b20 = next(i for i, o in enumerate(O) if o["type"] == "cosmic-swingset-begin-block" and o["blockHeight"] == 20)
cs = next(i for i in range(b20, len(L)) if T[i] == "cosmic-swingset-commit-block-start")
k2 = [i for i, t in enumerate(T) if t == "kernel-init-start"][1]
nb = next(i for i in range(k2, len(L)) if T[i] == "cosmic-swingset-begin-block")
crash = L[:cs] + L[k2:nb] + L[b20:]
open(sys.argv[2], "w").write("\n".join(crash) + "\n")
discarded = range(b20, cs)             # 0-based indexes in the crash slog
live = lambda o: o["type"] == "deliver" and not o.get("replay", False)
CO = [json.loads(l) for l in crash]
kept_live = sum(1 for i, o in enumerate(CO) if live(o) and i not in discarded)
disc_live = sum(1 for i in discarded if live(CO[i]))
orig_live = sum(1 for o in O if live(o))
loads = sum(1 for i, o in enumerate(CO) if o["type"] == "heap-snapshot-load" and i not in discarded)
b20_live = sum(1 for i in range(b20, next(j for j in range(b20, len(L)) if T[j] == "cosmic-swingset-commit-block-finish")) if live(O[i]))
print(kept_live, disc_live, orig_live, len(discarded), loads, b20_live)
PY
read -r KEPT DISC ORIG NDISC LOADS B20 < "$T/oracle"
check "the re-executed block adds live deliveries to the slog" "$((DISC > 0))" 1
check "kept execution has the original's live deliveries" "$KEPT" "$ORIG"

"$SP" ingest -q --db "$T/c.db" --metrics-file "$T/c.prom" "$T/crash.jsonl"
"$SP" ingest -q --db "$T/o.db" --metrics-file "$T/o.prom" "$T/all.jsonl"
check "both executions stored" "$(q "$T/c.db" "SELECT count(*) FROM deliveries WHERE replay=0")" $((KEPT + DISC))
check "replay=0 AND superseded=0 counts the block once" "$(q "$T/c.db" "SELECT count(*) FROM deliveries WHERE replay=0 AND superseded=0")" "$KEPT"
check "the discarded execution is marked superseded" "$(q "$T/c.db" "SELECT count(*) FROM deliveries WHERE replay=0 AND superseded=1")" "$DISC"
check "its slog lines too (syscalls included)" "$(q "$T/c.db" "SELECT count(*) FROM slog_events WHERE superseded=1")" "$NDISC"
check "the superseded lines are block 20 of the epoch before the crash (the sample restarted once before)" \
  "$(q "$T/c.db" "SELECT DISTINCT block_height || '/' || epoch FROM slog_events WHERE superseded=1 AND block_height IS NOT NULL")" "20/1"
readme_q="SELECT dispatch, count(*) AS n, sum(computrons) AS computrons FROM deliveries WHERE replay=0 AND superseded=0 GROUP BY dispatch ORDER BY n DESC"
check "the README's example query: as without the crash" "$(q "$T/c.db" "$readme_q")" "$(q "$T/o.db" "$readme_q")"
check "v_vats deliveries: as without the crash" "$(q "$T/c.db" "SELECT sum(deliveries) FROM v_vats")" "$(q "$T/o.db" "SELECT sum(deliveries) FROM v_vats")"
check "v_blocks: block 20 counted once" "$(q "$T/c.db" "SELECT deliveries FROM v_blocks WHERE block_height=20")" "$B20"
check "snapshots.loads: the kept execution's heap-snapshot-load lines" "$(q "$T/c.db" "SELECT sum(loads) FROM snapshots")" "$LOADS"
live_metric() { sed -n 's/^slogpipe_live_deliveries{node="node0"} //p' "$1"; }
check "the live-deliveries metric counts the block once: as without the crash" "$(live_metric "$T/c.prom")" "$(live_metric "$T/o.prom")"
check "... and as the analysis's SQL counts them (vats.live_deliveries)" "$(live_metric "$T/c.prom")" \
  "$(q "$T/c.db" "SELECT sum(live_deliveries) FROM vats")"
check "the analysis agrees (vats.live_deliveries)" "$(q "$T/c.db" "SELECT sum(live_deliveries) FROM vats")" "$(q "$T/o.db" "SELECT sum(live_deliveries) FROM vats")"
"$SP" query --db "$T/c.db" blocks --csv > "$T/qb"
grep -q '^node0,20,.*' "$T/qb" && check "slogpipe query blocks: block 20 once" "$(grep '^node0,20,' "$T/qb" | cut -d, -f5)" "$B20" || bad "query blocks: $(head -3 "$T/qb")"
# the marks are the analysis' own: a second analysis gives the same
"$SP" anomalies --db "$T/c.db" --analyze > /dev/null 2>&1
check "re-analysis: same marks" "$(q "$T/c.db" "SELECT sum(superseded) FROM deliveries")/$(q "$T/c.db" "SELECT sum(superseded) FROM slog_events")" \
  "$((DISC + $(q "$T/c.db" "SELECT count(*) FROM deliveries WHERE replay=1 AND superseded=1")))/$NDISC"
check "no marks without a crash" "$(q "$T/o.db" "SELECT sum(superseded) FROM slog_events") $(q "$T/o.db" "SELECT sum(superseded) FROM deliveries")" "0 0"
finish
