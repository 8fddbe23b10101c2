#!/usr/bin/env bash
# ingest_inputs.sh - input forms: stdin (plain and gzip), multi-member and concatenated gzip, block-slog dirs, config files.
. "$(dirname "$0")/lib.sh"
S="$DATA/basic/slog.jsonl.gz"
N=24851

zcat "$S" | "$SP" ingest -q --db "$T/in1.db" -
check "stdin (plain)" "$(q "$T/in1.db" "SELECT count(*) FROM slog_events")" $N
check "stdin source name" "$(q "$T/in1.db" "SELECT DISTINCT source FROM slog_events")" "<stdin>"
"$SP" ingest -q --db "$T/in2.db" - <"$S"
check "stdin (gzip)" "$(q "$T/in2.db" "SELECT count(*) FROM slog_events")" $N

# Split the slog in three, gzip each part, concatenate the members into one file.
zcat "$S" >"$T/all.jsonl"
split -n l/3 -d "$T/all.jsonl" "$T/part."
for f in "$T"/part.0*; do gzip -c "$f"; done >"$T/multi.gz"
gzip -c /dev/null >>"$T/multi.gz"   # an empty member too
"$SP" ingest -q --db "$T/in3.db" "$T/multi.gz"
check "multi-member gzip" "$(q "$T/in3.db" "SELECT count(*) FROM slog_events")" $N
check "multi-member gzip: same events as the plain file" \
  "$(q "$T/in3.db" "SELECT sum(crank_num) || '/' || sum(delivery_num) FROM slog_events")" \
  "$(q "$T/in1.db" "SELECT sum(crank_num) || '/' || sum(delivery_num) FROM slog_events")"

# Several inputs in the order given, each its own source.
"$SP" ingest -q --db "$T/in4.db" "$T/part.00" "$T/part.01" "$T/part.02"
check "several files" "$(q "$T/in4.db" "SELECT count(*) || '/' || count(DISTINCT source) FROM slog_events")" "$N/3"
# Block/crank context is per source (deterministic whatever the run boundaries):
# a file that starts mid-block has no block height until its first begin-block.
check "a file starting mid-block has no block context before its first begin-block" \
  "$(q "$T/in4.db" "SELECT count(*) > 0 FROM slog_events WHERE source LIKE '%part.01' AND block_height IS NULL")" 1

# A block-slog directory: one gzip per block, named as block-slog.js does.
mkdir "$T/blocks"
python3 - "$T/all.jsonl" "$T/blocks" <<'PY'
import gzip, json, sys
src, out = sys.argv[1], sys.argv[2]
chunks, cur, name = [], [], "slogfile_init_1700000000000.gz"
for line in open(src, "rb"):
    t = json.loads(line).get("type")
    if t == "cosmic-swingset-begin-block":
        chunks.append((name, cur)); cur = []
        h = json.loads(line)["blockHeight"]
        name = f"slogfile_block_{h}_{1700000000000 + h * 1000}.gz"
    cur.append(line)
chunks.append((name, cur))
for n, lines in chunks:
    with gzip.open(f"{out}/{n}", "wb") as f: f.writelines(lines)
PY
"$SP" ingest -q --db "$T/in5.db" "$T/blocks"
check "block-slog directory" "$(q "$T/in5.db" "SELECT count(*) || '/' || count(DISTINCT source) FROM slog_events")" "$N/28"
"$SP" ingest -q --db "$T/in5.db" "$T/blocks"
check "block-slog directory again: nothing new" "$(q "$T/in5.db" "SELECT count(*) FROM slog_events")" $N

# A plain directory (a backfill of many files): every file, in name order, sub-directories
# included; the database and JSONL written into that same directory are not read back.
mkdir -p "$T/backfill/node-a"
cp "$T/part.00" "$T/backfill/node-a/1.jsonl"; gzip -c "$T/part.01" >"$T/backfill/node-a/2.jsonl.gz"
cp "$T/part.02" "$T/backfill/3.jsonl"
"$SP" ingest -q --db "$T/backfill/out.db" --jsonl "$T/backfill/out.jsonl" "$T/backfill"
check "directory backfill: every file" "$(q "$T/backfill/out.db" "SELECT count(*) || '/' || count(DISTINCT source) FROM slog_events")" "$N/3"
check "directory backfill: own outputs not read back" "$(q "$T/backfill/out.db" "SELECT count(*) FROM ingest_errors")" 0
"$SP" ingest -q --db "$T/backfill/out.db" --jsonl "$T/backfill/out.jsonl" "$T/backfill"
check "directory backfill again: nothing new" "$(q "$T/backfill/out.db" "SELECT count(*) FROM slog_events")" $N

# Config file: keys are option names; the command line overrides it; unknown keys name the nearest one.
cat >"$T/conf" <<CONF
# slogpipe ingest settings
db = $T/conf.db
node = from-config
batch_rows = 5000
input = $T/part.00
CONF
"$SP" ingest -q -c "$T/conf"
check "config file: db, node, input" "$(q "$T/conf.db" "SELECT DISTINCT node FROM slog_events")" from-config
"$SP" ingest -q -c "$T/conf" --node override "$T/part.01"
check "command line overrides the config file" "$(q "$T/conf.db" "SELECT count(*) FROM slog_events WHERE node='override'")" \
  "$(wc -l <"$T/part.01")"
echo "nodee = x" >"$T/bad.conf"
set +e
"$SP" ingest -c "$T/bad.conf" "$T/part.00" 2>"$T/cerr"
rc=$?
set -e
check "unknown config key: usage error" "$rc" 64
grep -q "unknown key 'nodee' (did you mean 'node'?)" "$T/cerr" && ok "unknown key names the nearest valid key" || bad "message: $(cat "$T/cerr")"

# Usage errors and help.
set +e
"$SP" ingest --db "$T/x.db" >/dev/null 2>&1; check "no input: exit 64" "$?" 64
"$SP" ingest --batch-rows abc x >/dev/null 2>&1; check "bad number: exit 64" "$?" 64
"$SP" frobnicate >/dev/null 2>&1; check "unknown command: exit 64" "$?" 64
set -e
"$SP" ingest --help | grep -q "usage: slogpipe ingest" && ok "--help on stdout" || bad "--help"
"$SP" --version | grep -q "^slogpipe " && ok "--version" || bad "--version"
finish
