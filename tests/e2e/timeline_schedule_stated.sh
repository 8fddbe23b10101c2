#!/usr/bin/env bash
# timeline_schedule_stated.sh - #22 item 2: the snapshot schedule is judged only against a configuration known for the node.
. "$(dirname "$0")/lib.sh"
X="$DATA/basic/export"
mkdir -p "$T/arc" "$T/one"
cp "$X"/transcript.* "$T/arc/"
anoms() { q "$1" "SELECT kind, vat_id, position FROM anomalies ORDER BY 1, 2, 3"; }

echo "the transcript files of the export alone (no kvStore): never judged against 3/200"
"$SP" ingest --db "$T/arc.db" "$T/arc" 2> "$T/arc.err" || bad "archive ingest exit $?"
check "archive alone: 0 schedule warnings" \
  "$(q "$T/arc.db" "SELECT count(*) FROM anomalies WHERE kind IN ('SNAPSHOT_SCHEDULE_DEVIATION','SNAPSHOT_OVERDUE')")" 0
# oracle: the lengths the archive's closed snapshot spans agree on, read from the files by this test
read -r ini itv n_load <<<"$(python3 - "$T/arc" <<'PY'
import collections, json, os, re, sys
d = sys.argv[1]
by = {0: collections.Counter(), 1: collections.Counter()}
for f in os.listdir(d):
    m = re.match(r"transcript\.v\d+\.(\d+)\.(\d+)$", f)
    if not m: continue
    items = [json.loads(l) for l in open(os.path.join(d, f)) if l.strip()]
    if not items: continue
    first, last = items[0]["d"][0], items[-1]["d"][0]
    if last != "save-snapshot": continue
    if first == "load-snapshot": by[1][len(items) - 2] += 1
    elif first == "initialize-worker" and m.group(1) == "0": by[0][len(items) - 2] += 1
print(by[0].most_common(1)[0][0], by[1].most_common(1)[0][0], sum(by[1].values()))
PY
)"
check "archive alone: thresholds inferred from the spans" \
  "$(q "$T/arc.db" "SELECT snapshot_initial || '/' || snapshot_initial_source || ' ' || snapshot_interval || '/' || snapshot_interval_source FROM analysis_runs")" \
  "$ini/inferred $itv/inferred"
grep -q "no stated snapshot schedule: snapshotInitial $ini (inferred), snapshotInterval $itv (inferred)" "$T/arc.err" \
  && ok "summary says the schedule was inferred" || bad "summary: $(cat "$T/arc.err")"

echo "with its config given, the same anomalies as the swing-store"
"$SP" ingest -q --db "$T/arcopt.db" --snapshot-initial 3 --snapshot-interval 7 "$T/arc" || bad "archive+options exit $?"
"$SP" ingest -q --db "$T/store.db" "$DATA/basic/swingstore.sqlite" || bad "store exit $?"
check "archive + options == store (anomalies)" "$(anoms "$T/arcopt.db")" "$(anoms "$T/store.db")"
check "store states the schedule" "$(q "$T/store.db" "SELECT snapshot_initial_source || snapshot_interval FROM analysis_runs")" "store_kv7"
check "options recorded" "$(q "$T/arcopt.db" "SELECT snapshot_initial_source || snapshot_interval FROM analysis_runs")" "option7"

echo "a stated schedule the spans break is judged, and the detail says where it came from"
"$SP" ingest -q --db "$T/arc5.db" --snapshot-interval 5 "$T/arc" || bad "archive --snapshot-interval 5 exit $?"
check "every load-snapshot span of the archive is late under interval 5" \
  "$(q "$T/arc5.db" "SELECT count(*) FROM anomalies WHERE kind='SNAPSHOT_SCHEDULE_DEVIATION'")" "$n_load"
check "detail names the option" \
  "$(q "$T/arc5.db" "SELECT DISTINCT json_extract(detail, '$.threshold_source') FROM anomalies")" "--snapshot-interval"

echo "one span: nothing to agree on, the schedule is unknown and not judged"
cp "$X/transcript.v1.104.113" "$T/one/"
"$SP" ingest --db "$T/one.db" "$T/one" 2> "$T/one.err" || bad "one-span exit $?"
check "unknown: NULL thresholds" \
  "$(q "$T/one.db" "SELECT quote(snapshot_initial) || snapshot_initial_source || quote(snapshot_interval) || snapshot_interval_source FROM analysis_runs")" \
  "NULLunknownNULLunknown"
check "unknown: no schedule anomalies" "$(q "$T/one.db" "SELECT count(*) FROM anomalies WHERE kind LIKE 'SNAPSHOT_%'")" 0
check "unknown: v_schedule has no threshold" "$(q "$T/one.db" "SELECT count(*) FROM v_schedule WHERE threshold IS NOT NULL OR overdue IS NOT NULL")" 0
grep -q "snapshotInitial unknown, snapshotInterval unknown" "$T/one.err" && ok "summary says unknown" || bad "summary: $(cat "$T/one.err")"
finish
