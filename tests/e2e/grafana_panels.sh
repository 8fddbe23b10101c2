#!/usr/bin/env bash
# grafana_panels.sh - docs/grafana/slogpipe.json: every PostgreSQL panel's SQL returns rows on a real server filled by slogpipe ingest; every PromQL metric is in a real --metrics-file and promtool parses the queries.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.bash"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
command -v promtool >/dev/null || { echo "SKIP - promtool not installed (bash scripts/deps.sh --test)"; exit 77; }
pg_start
U=$(pg_url grafana)

# The basic and node2 samples, and basic once more with the heap-snapshot-save of v9 at
# endPosition 24 naming another snapshot (the README's "Anomalies as they happen"): the
# streaming timeline stage finds that as a SLOG_SNAPSHOT_ID_MISMATCH, so the anomaly
# panels have a row (the samples themselves have no anomaly the PostgreSQL store finds).
zcat "$DATA/basic/slog.jsonl.gz" |
  sed '7885s/"snapshotID":"[0-9a-f]*"/"snapshotID":"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"/' >"$T/lying.jsonl"
check "the lying line is changed" "$(sed -n 7885p "$T/lying.jsonl" | grep -c '"type":"heap-snapshot-save".*ffffffff')" 1
"$SP" ingest -q --db "$U" --metrics-file "$T/m.prom" --node basic \
  "$DATA/basic/slog.jsonl.gz" "$DATA/basic/swingstore.sqlite" "$DATA/basic/export"
"$SP" ingest -q --db "$U" --node node2 "$DATA/node2/slog.jsonl.gz" "$DATA/node2/swingstore.sqlite"
"$SP" ingest -q --db "$U" --node lying "$DATA/basic/swingstore.sqlite" "$T/lying.jsonl"
check "the PostgreSQL store has the lying node's anomaly" \
  "$(pq "$U" "SELECT kind || ' ' || vat_id || ' ' || position FROM anomalies WHERE node = 'lying'")" "SLOG_SNAPSHOT_ID_MISMATCH v9 24"

rc=0
python3 "$(dirname "$0")/grafana_panels.py" "$REPO/docs/grafana/slogpipe.json" "$U" "$T/m.prom" "$T/rules.yml" >"$T/out" || rc=$?
cat "$T/out"
PASS=$((PASS + $(grep -c '^ok - ' "$T/out" || true)))
FAIL=$((FAIL + $(grep -c '^FAIL - ' "$T/out" || true)))
[ "$rc" = 0 ] || [ "$(grep -c '^FAIL - ' "$T/out")" -gt 0 ] || bad "grafana_panels.py exited $rc"
if promtool check rules "$T/rules.yml" >"$T/promtool.out" 2>&1; then
  ok "promtool parses every PromQL query ($(grep -c 'record:' "$T/rules.yml") expressions)"
else bad "promtool rejects a PromQL query"; cat "$T/promtool.out"; fi
finish
