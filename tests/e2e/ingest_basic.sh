#!/usr/bin/env bash
# ingest_basic.sh - a real slog ingested end to end matches the sample's FACTS (counts per type, vats, deliveries, snapshots).
. "$(dirname "$0")/lib.sh"
"$SP" ingest --db "$T/a.db" --node basic -q "$DATA/basic/slog.jsonl.gz"
check "exit status" $? 0
if python3 "$(dirname "$0")/check_facts.py" "$T/a.db" "$DATA/basic/facts.json" basic >"$T/facts.out"; then
  ok "basic sample matches FACTS ($(tail -1 "$T/facts.out"))"
else
  bad "basic sample vs FACTS"; grep FAIL "$T/facts.out" | head -20
fi
check "snapshots rows with a slog save" "$(q "$T/a.db" "SELECT count(*) FROM snapshots WHERE save_line IS NOT NULL")" 133
check "v9 snapshot at 15 id" "$(q "$T/a.db" "SELECT substr(snapshot_id,1,12) FROM snapshots WHERE vat_id='v9' AND snap_pos=15")" 3b45ffeef345
check "blocks committed" "$(q "$T/a.db" "SELECT count(*) FROM blocks WHERE committed=1")" 27
check "epochs (one restart)" "$(q "$T/a.db" "SELECT max(epoch) FROM slog_events")" 1
check "deliveries with computrons on xsnap vats" \
  "$(q "$T/a.db" "SELECT count(*) > 500 FROM deliveries WHERE computrons IS NOT NULL AND replay=0")" 1
check "every live delivery has its result" \
  "$(q "$T/a.db" "SELECT count(*) FROM deliveries WHERE result_line IS NULL")" 0
check "schema version" "$(q "$T/a.db" "PRAGMA user_version")" "$(ls "$(dirname "$0")/../../schemas/sqlite/"*.sql | wc -l)"

# The flight recorder of the same run: its surviving tail, records 1..1411 = slog lines 23441..24851.
"$SP" ingest --db "$T/fr.db" --node basic -q "$DATA/basic/flight-recorder.bin"
check "flight recorder records" "$(q "$T/fr.db" "SELECT count(*) FROM slog_events")" 1411
check "flight recorder last record" "$(q "$T/fr.db" "SELECT type FROM slog_events WHERE line=1411")" \
  cosmic-swingset-commit-block-finish
check "flight recorder same events as slog tail" \
  "$(q "$T/fr.db" "SELECT group_concat(type||crank_num, ',') FROM (SELECT type, crank_num FROM slog_events ORDER BY line)")" \
  "$(q "$T/a.db" "SELECT group_concat(type||crank_num, ',') FROM (SELECT type, crank_num FROM slog_events WHERE line>=23441 ORDER BY line)")"
finish
