#!/usr/bin/env bash
# ux_query.sh - `slogpipe query`: every canned report as table, JSON and CSV on the basic sample, checked against FACTS.md and the raw slog.
set -euo pipefail
BUILD=${1:?BUILD_DIR}
DATA=${2:?DATA_DIR}
SP="$BUILD/slogpipe"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "ingest tests/data/basic (slog + swing-store) with the real ingest"
"$SP" ingest -q --db "$T/basic.db" --node basic "$DATA/basic/slog.jsonl.gz" "$DATA/basic/swingstore.sqlite" \
    || fail "ingest exited $?"
DB="$T/basic.db"
q() { "$SP" query --db "$DB" "$@"; }

echo "vats (table): FACTS.md per-vat values"
q vats > "$T/vats.txt"
head -1 "$T/vats.txt" | grep -q '^node  *vat_id  *name  *status  *manager  *incarnations  *spans  *deliveries  *last_snap_pos  *last_snap_id  *last_snap_time' \
    || fail "vats header: $(head -1 "$T/vats.txt")"
row() { grep -E "^basic +$1 " "$T/vats.txt" | tr -s ' '; }
row v1 | grep -q '^basic v1 bootstrap alive xsnap 1 22 143 184 c8d3a24e1d1f 20' || fail "v1 row: $(row v1)"
row v6 | grep -q '^basic v6 worker1 alive xsnap 2 44 289 374 d13f26b93b68 ' || fail "v6 row: $(row v6)"
row v8 | grep -q '^basic v8 workerLocal1 alive local 2 2 254 - - -$' || fail "v8 row: $(row v8)"
row v9 | grep -q '^basic v9 counter alive xsnap 3 13 71 89 0a5070b1b8ae ' || fail "v9 row: $(row v9)"
row v3 | grep -q '^basic v3 comms alive local 1 1 3 - - -$' || fail "v3 row: $(row v3)"
[ "$(grep -cE '^basic +v[0-9]+ ' "$T/vats.txt")" = 13 ] || fail "expected 13 vats"
# The header and rows line up: every row is as wide as the separator line up to the last column.
awk 'NR==2 { n = split($0, d, "  "); } END { if (n != 11) exit 1 }' "$T/vats.txt" || fail "separator has not 11 columns"

echo "vats (--json): array of objects with typed values"
q vats --json > "$T/vats.json"
python3 - "$T/vats.json" <<'EOF' || fail "vats --json"
import json, sys
rows = json.load(open(sys.argv[1]))
assert isinstance(rows, list) and len(rows) == 13, len(rows)
by = {r["vat_id"]: r for r in rows}
exp = {  # FACTS.md: name, manager, DB incarnations, spans (DB), non-replay slog deliveries, last snapshot
    "v1": ("bootstrap", "xsnap", 1, 22, 143, 184, "c8d3a24e1d1f"),
    "v2": ("vatAdmin", "xsnap", 1, 10, 59, 76, "e1ea54abb753"),
    "v3": ("comms", "local", 1, 1, 3, None, None),
    "v4": ("vattp", "xsnap", 1, 2, 4, 4, "1091e719e7ee"),
    "v5": ("timer", "xsnap", 1, 2, 4, 4, "ad51a9a37ad6"),
    "v6": ("worker1", "xsnap", 2, 44, 289, 374, "d13f26b93b68"),
    "v7": ("worker2", "xsnap", 2, 47, 314, 402, "7d5c69a4a5fb"),
    "v8": ("workerLocal1", "local", 2, 2, 254, None, None),
    "v9": ("counter", "xsnap", 3, 13, 71, 89, "0a5070b1b8ae"),
}
for v, (name, mgr, inc, spans, dl, sp, sid) in exp.items():
    r = by[v]
    got = (r["name"], r["manager"], r["incarnations"], r["spans"], r["deliveries"], r["last_snap_pos"], r["last_snap_id"])
    assert got == (name, mgr, inc, spans, dl, sp, sid), (v, got)
    assert r["status"] == "alive", (v, r["status"])
    assert r["node"] == "basic"
# Terminated vats: their transcripts were deleted; deliveries counts committed live deliveries
# (the analysis drops the aborted fatal delivery of a vat killed by its delivery), at most
# the non-replay deliver lines of FACTS.md.
for v, dl in (("v10", 4), ("v11", 7), ("v12", 5), ("v13", 4)):
    assert by[v]["status"] in ("terminated", "cleaned"), by[v]
    assert dl - 1 <= by[v]["deliveries"] <= dl, by[v]
    assert by[v]["last_snap_pos"] == 4, by[v]
assert by["v10"]["last_snap_id"] == "18b693284827"
assert isinstance(by["v1"]["last_snap_time"], float) and by["v1"]["last_snap_time"] > 1.7e9
EOF

echo "vats (--csv): RFC 4180, CRLF, same values"
q vats --csv > "$T/vats.csv"
python3 - "$T/vats.csv" <<'EOF' || fail "vats --csv"
import csv, sys
raw = open(sys.argv[1], "rb").read()
assert raw.count(b"\r\n") == 14 and raw.count(b"\n") == 14, "CRLF line ends"
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["node", "vat_id", "name", "status", "manager", "incarnations", "spans", "deliveries",
                   "last_snap_pos", "last_snap_id", "last_snap_time"], rows[0]
v9 = [r for r in rows if r[1] == "v9"][0]
assert v9[:10] == ["basic", "v9", "counter", "alive", "xsnap", "3", "13", "71", "89", "0a5070b1b8ae"], v9
v3 = [r for r in rows if r[1] == "v3"][0]
assert v3[8:] == ["", "", ""], v3  # NULL = empty field
EOF

echo "--vat / --node filters"
[ "$(q vats --vat v9 --json | python3 -c 'import json,sys; r=json.load(sys.stdin); print(len(r), r[0]["vat_id"])')" = "1 v9" ] \
    || fail "--vat v9"
[ "$(q vats --node nosuchnode --json)" = "[]" ] || fail "--node nosuchnode should give []"
q vats --node nosuchnode | grep -q '^(no rows)$' || fail "empty table says (no rows)"

echo "schedule: current span length vs threshold (kernel.snapshotInitial 3 / snapshotInterval 7)"
q schedule > "$T/sched.txt"
grep -E '^basic +v9 ' "$T/sched.txt" | tr -s ' ' | grep -q '^basic v9 xsnap 2 90 96 6 5 load-snapshot interval 7 0 27$' \
    || fail "v9 schedule: $(grep -E '^basic +v9 ' "$T/sched.txt")"
q schedule --json > "$T/sched.json"
python3 - "$T/sched.json" <<'EOF' || fail "schedule --json"
import json, sys
by = {r["vat_id"]: r for r in json.load(open(sys.argv[1]))}
# FACTS.md current spans: v1 [185,186) v2 [77,78) v3 [0,0) v4 [5,7) v5 [5,7) v6 [375,376) v7 [403,407) v8 [202,257) v9 [90,96)
cur = {"v1": (185, 186), "v2": (77, 78), "v3": (0, 0), "v4": (5, 7), "v5": (5, 7), "v6": (375, 376),
       "v7": (403, 407), "v8": (202, 257), "v9": (90, 96)}
assert set(by) == set(cur), sorted(by)
for v, (s, e) in cur.items():
    r = by[v]
    assert (r["span_start"], r["span_end"], r["span_len"]) == (s, e, e - s), (v, r)
    assert r["last_block"] == 27, r
assert by["v8"]["threshold_kind"] == "initial" and by["v8"]["threshold"] == 3, by["v8"]
assert by["v8"]["overdue"] is None and by["v3"]["overdue"] is None  # local workers never snapshot
for v in ("v1", "v2", "v4", "v5", "v6", "v7", "v9"):
    assert by[v]["threshold_kind"] == "interval" and by[v]["threshold"] == 7 and by[v]["overdue"] == 0, by[v]
assert by["v7"]["deliveries"] == 3 and by["v9"]["deliveries"] == 5, (by["v7"], by["v9"])
EOF
q schedule --csv --vat v7 | python3 -c '
import csv, sys
rows = list(csv.DictReader(sys.stdin))
assert len(rows) == 1 and rows[0]["span_len"] == "4" and rows[0]["overdue"] == "0", rows' || fail "schedule --csv"

echo "schedule: overdue when the current span reaches the threshold"
cp "$DB" "$T/sched.db"
sqlite3 "$T/sched.db" "UPDATE analysis_runs SET snapshot_interval = 4 WHERE node = 'basic'"
"$SP" query --db "$T/sched.db" schedule --json | python3 -c '
import json, sys
by = {r["vat_id"]: r for r in json.load(sys.stdin)}
over = sorted(v for v, r in by.items() if r["overdue"] == 1)
assert over == ["v7", "v9"], over          # spans of 4 and 6 items reach 4; v4/v5 (2), v1/v2/v6 (1) do not
assert by["v9"]["threshold"] == 4' || fail "schedule overdue"
sqlite3 "$T/sched.db" "DELETE FROM analysis_runs; UPDATE store_kv SET value = '2' WHERE key = 'kernel.snapshotInterval'"
"$SP" query --db "$T/sched.db" schedule --json --vat v4 | grep -q '"threshold":2,"overdue":1' || fail "threshold from store_kv"
sqlite3 "$T/sched.db" "DELETE FROM store_kv WHERE key LIKE 'kernel.snapshot%'"
# no schedule stated anywhere (#22): no default, the threshold and overdue are unknown
"$SP" query --db "$T/sched.db" schedule --json --vat v8 | grep -q '"threshold_kind":"initial","threshold":null,' || fail "no default snapshotInitial"
"$SP" query --db "$T/sched.db" schedule --json --vat v9 | grep -q '"threshold_kind":"interval","threshold":null,"overdue":null' || fail "no default snapshotInterval"

echo "snapshots: ordered by time, sizes from the slog"
q snapshots --json > "$T/snaps.json"
python3 - "$T/snaps.json" "$DATA/basic/slog.jsonl.gz" <<'EOF' || fail "snapshots --json"
import gzip, json, sys
rows = json.load(open(sys.argv[1]))
saves = [json.loads(l) for l in gzip.open(sys.argv[2], "rt") if '"heap-snapshot-save"' in l]
saves = [s for s in saves if s["type"] == "heap-snapshot-save"]
assert len(rows) == len(saves) == 133, (len(rows), len(saves))
times = [r["save_time"] for r in rows]
assert times == sorted(times), "ordered by save time"
by = {(r["vat_id"], r["snap_pos"]): r for r in rows}
for s in saves:
    r = by[(s["vatID"], s["endPosition"])]
    assert r["snapshot_id"] == s["snapshotID"][:12], (r, s["snapshotID"])
    assert r["uncompressed_size"] == s["uncompressedSize"] and r["compressed_size"] == s["compressedSize"], r
    assert abs(r["save_seconds"] - s["dbSaveSeconds"]) < 1e-9 and abs(r["save_time"] - s["time"]) < 1e-6, r
assert sum(1 for r in rows if r["vat_id"] == "v1") == 21 and sum(1 for r in rows if r["vat_id"] == "v9") == 10
v9 = [r for r in rows if r["vat_id"] == "v9"]
assert v9[0]["uncompressed_delta"] is None and v9[1]["uncompressed_delta"] == v9[1]["uncompressed_size"] - v9[0]["uncompressed_size"]
EOF
q snapshots --vat v1 | grep -cE '^basic +v1 ' | grep -qx 21 || fail "snapshots table v1 rows"
q snapshots --csv | python3 -c '
import csv, sys
rows = list(csv.DictReader(sys.stdin))
assert len(rows) == 133, len(rows)
r = [x for x in rows if x["vat_id"] == "v1" and x["snap_pos"] == "184"][0]
assert r["snapshot_id"] == "c8d3a24e1d1f" and r["in_use"] == "1", r' || fail "snapshots --csv"

echo "blocks: per-block cranks, deliveries, computrons, duration recomputed from the raw slog"
q blocks --json > "$T/blocks.json"
python3 - "$T/blocks.json" "$DATA/basic/slog.jsonl.gz" <<'EOF' || fail "blocks --json"
import gzip, json, sys
rows = json.load(open(sys.argv[1]))
blk = None; exp = {}
for line in gzip.open(sys.argv[2], "rt"):
    e = json.loads(line); t = e["type"]
    if t == "cosmic-swingset-begin-block":
        blk = e["blockHeight"]; exp[blk] = {"cranks": set(), "deliveries": 0, "computrons": 0, "begin": e["time"], "time": e["blockTime"]}
    if blk is None: continue
    b = exp[blk]
    if "crankNum" in e: b["cranks"].add(e["crankNum"])
    if t == "deliver" and not e.get("replay"): b["deliveries"] += 1
    if t == "deliver-result" and not e.get("replay") and len(e["dr"]) > 2 and e["dr"][2]:
        b["computrons"] += e["dr"][2].get("compute", 0)
    if t == "cosmic-swingset-commit-block-finish": b["commit"] = e["time"]; blk = None
assert [r["block_height"] for r in rows] == sorted(exp) and len(rows) == 27, [r["block_height"] for r in rows]
for r in rows:
    b = exp[r["block_height"]]
    got = (r["block_time"], r["cranks"], r["deliveries"], r["computrons"])
    want = (b["time"], len(b["cranks"]), b["deliveries"], b["computrons"])
    assert got == want, (r["block_height"], got, want)
    assert abs(r["duration"] - (b["commit"] - b["begin"])) < 1e-6, r
EOF
q blocks | grep -E '^basic +1 ' | tr -s ' ' | grep -q '^basic 1 2023-11-14T22:13:26Z 114 75 201678327 13\.172$' \
    || fail "blocks table row 1: $(q blocks | grep -E '^basic +1 ')"
q blocks --csv > "$T/blocks.csv"
head -1 "$T/blocks.csv" | grep -q $'^node,block_height,block_time,cranks,deliveries,computrons,duration\r$' || fail "blocks csv header"
grep -q $'^basic,1,1700000006,114,75,201678327,13\.17' "$T/blocks.csv" || fail "blocks csv row 1: $(sed -n 2p "$T/blocks.csv")"
[ "$(wc -l < "$T/blocks.csv")" = 28 ] || fail "blocks csv: 27 rows + header"

echo "anomalies: counts and list agree with the anomalies table; CSV quoting and JSON escaping of details"
cp "$DB" "$T/anom.db"
sqlite3 "$T/anom.db" "INSERT INTO anomalies (node, vat_id, kind, incarnation, position, severity, detail, source, line)
  VALUES ('basic', 'v9', 'UX_TEST_KIND', 1, 16, 'warning', '{\"note\":\"a, \\\"quoted\\\" </script> value\"}', 'swingstore.sqlite', NULL),
         ('basic', 'v9', 'UX_TEST_KIND', 1, 25, 'warning', '{}', 'swingstore.sqlite', NULL),
         ('basic', NULL, 'UX_TEST_NODE', NULL, -1, 'error', '{\"crankNum\":12}', 'slog.jsonl.gz', 100);"
"$SP" query --db "$T/anom.db" anomaly-counts --json > "$T/ac.json"
python3 - "$T/ac.json" "$T/anom.db" <<'EOF' || fail "anomaly-counts"
import json, sqlite3, sys
rows = json.load(open(sys.argv[1]))
db = sqlite3.connect(sys.argv[2])
want = {(n, k, v, s): c for n, k, v, s, c in db.execute(
    "SELECT node, kind, vat_id, severity, COUNT(*) FROM anomalies GROUP BY 1, 2, 3, 4")}
got = {(r["node"], r["kind"], r["vat_id"], r["severity"]): r["count"] for r in rows}
assert got == want, (got, want)
assert got[("basic", "UX_TEST_KIND", "v9", "warning")] == 2
EOF
"$SP" query --db "$T/anom.db" anomalies --csv > "$T/an.csv"
python3 - "$T/an.csv" "$T/anom.db" <<'EOF' || fail "anomalies --csv"
import csv, sqlite3, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
n = sqlite3.connect(sys.argv[2]).execute("SELECT COUNT(*) FROM anomalies").fetchone()[0]
assert len(rows) == n, (len(rows), n)
t = [r for r in rows if r["kind"] == "UX_TEST_KIND" and r["position"] == "16"][0]
assert t["detail"] == '{"note":"a, \\"quoted\\" </script> value"}', t["detail"]
EOF
"$SP" query --db "$T/anom.db" anomalies --json --vat v9 | python3 -c '
import json, sys
rows = json.load(sys.stdin)
t = [r for r in rows if r["kind"] == "UX_TEST_KIND"]
assert [r["position"] for r in t] == [16, 25] and all(r["vat_id"] == "v9" for r in rows), rows' || fail "anomalies --json --vat"
"$SP" query --db "$T/anom.db" anomalies > "$T/an.txt"
grep -qE '^node +kind +vat_id +severity +count$' "$T/an.txt" || fail "anomalies table starts with the counts"
grep -qE '^basic +v9 +UX_TEST_KIND +warning +1 +16 +swingstore.sqlite +- +\{"note"' "$T/an.txt" || fail "anomalies list row"

echo "hostile text: invalid UTF-8, control characters and U+2028 stay valid JSON/CSV and printable in tables"
sqlite3 "$T/anom.db" "INSERT INTO anomalies (node, vat_id, kind, incarnation, position, severity, detail, source, line)
  VALUES ('basic', 'v8', 'UX_BYTES', 0, 3, 'info', CAST(X'6261643AC328FF0A0962656C6C07E280A8656E64' AS TEXT), 'x', 1);"
"$SP" query --db "$T/anom.db" anomalies --json --vat v8 | python3 -c '
import json, sys
rows = json.load(sys.stdin)
d = [r for r in rows if r["kind"] == "UX_BYTES"][0]["detail"]
assert d == "bad:\ufffd(\ufffd\n\tbell\x07\u2028end", repr(d)' || fail "JSON of invalid UTF-8"
"$SP" query --db "$T/anom.db" anomalies --vat v8 | grep -E 'UX_BYTES' | grep -q 'bad:?(?' || fail "table of invalid UTF-8"
[ "$("$SP" query --db "$T/anom.db" anomalies --vat v8 | grep -c .)" = "$(( $("$SP" query --db "$T/anom.db" anomalies --vat v8 --json | grep -c '"kind"') + 5 ))" ] \
    || fail "a control character broke a table row"
"$SP" query --db "$T/anom.db" anomalies --csv --vat v8 > "$T/bytes.csv"
python3 - "$T/bytes.csv" <<'EOF' || fail "CSV: valid UTF-8, newline kept inside a quoted field"
import csv, io, sys
text = open(sys.argv[1], "rb").read().decode("utf-8")  # strict: invalid bytes were replaced
rows = [r for r in csv.DictReader(io.StringIO(text, newline="")) if r["kind"] == "UX_BYTES"]
assert len(rows) == 1 and rows[0]["detail"] == "bad:\ufffd(\ufffd\n\tbell\x07\u2028end", rows
EOF

echo "database opened read-only: query works on a read-only file and leaves it unchanged"
cp "$DB" "$T/ro.db"; chmod 0444 "$T/ro.db"
sum1=$(sha256sum < "$T/ro.db")
q_ro=$("$SP" query --db "$T/ro.db" vats --vat v1 --json)
[ "$(sha256sum < "$T/ro.db")" = "$sum1" ] || fail "read-only DB changed"
echo "$q_ro" | grep -q '"last_snap_id":"c8d3a24e1d1f"' || fail "query on read-only DB"
echo "ok"
