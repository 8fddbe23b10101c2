#!/usr/bin/env bash
# ingest_epochs.sh - #22 item 5: the same slog lines get the same epochs however the slog was split.
. "$(dirname "$0")/lib.sh"
SLOG="$DATA/basic/slog.jsonl.gz"
gzip -dc "$SLOG" > "$T/all.jsonl"
N=$(grep -c . "$T/all.jsonl")
# oracle: the epoch of every line by the rule of agoric-formats (kernel-init-start that is not the first line: +1)
python3 - "$T/all.jsonl" > "$T/want" <<'PY'
import json, sys
e = 0
for i, line in enumerate(open(sys.argv[1], "rb")):
    if json.loads(line).get("type") == "kernel-init-start" and i > 0: e += 1
    print(e)
PY
check "the sample has a kernel restart" "$(sort -u "$T/want" | wc -l)" 2
# in reading order: block-slog members by the time in their names, files by name
epochs() { q "$1" "SELECT epoch FROM slog_events ORDER BY CASE WHEN source LIKE '%.gz' THEN substr(source, -16) ELSE source END, line"; }

"$SP" ingest -q --db "$T/one.db" "$T/all.jsonl"
epochs "$T/one.db" > "$T/one"
cmp -s "$T/one" "$T/want" && ok "one file: epochs as counted" || bad "one file: epochs differ from the count"

# a block-slog directory: one gzip per block (as block-slog.js names them), the restart inside a member
mkdir "$T/blocks"
python3 - "$T/all.jsonl" "$T/blocks" <<'PY'
import gzip, json, sys
src, out = sys.argv[1], sys.argv[2]
chunks, cur, name = [], [], "slogfile_init_1700000000000.gz"
for line in open(src, "rb"):
    o = json.loads(line)
    if o.get("type") == "cosmic-swingset-begin-block":
        chunks.append((name, cur)); cur = []
        name = "slogfile_block_%d_%d.gz" % (o["blockHeight"], 1700000000000 + len(chunks) * 1000)
    cur.append(line)
chunks.append((name, cur))
for n, lines in chunks:
    with gzip.open(f"{out}/{n}", "wb") as f: f.writelines(lines)
PY
"$SP" ingest -q --db "$T/dir.db" "$T/blocks"
check "block-slog directory: every line" "$(q "$T/dir.db" "SELECT count(*) FROM slog_events")" "$N"
epochs "$T/dir.db" > "$T/dir"
cmp -s "$T/dir" "$T/want" && ok "block-slog directory: the single file's epochs" \
  || bad "block-slog directory: $(diff "$T/dir" "$T/want" | grep -c '^<') lines with another epoch"
check "block-slog directory: deliveries' epochs" \
  "$(q "$T/dir.db" "SELECT epoch, count(*) FROM deliveries GROUP BY 1")" "$(q "$T/one.db" "SELECT epoch, count(*) FROM deliveries GROUP BY 1")"

# split exactly before the kernel restart: the restart is the first line of a member
restart=$(grep -n '"type":"kernel-init-start"' "$T/all.jsonl" | sed -n 2p | cut -d: -f1)
mkdir "$T/cut"
head -n $((restart - 1)) "$T/all.jsonl" | gzip > "$T/cut/slogfile_a_1700000000000.gz"
tail -n +"$restart" "$T/all.jsonl" | gzip > "$T/cut/slogfile_b_1700000001000.gz"
"$SP" ingest -q --db "$T/cut.db" "$T/cut"
epochs "$T/cut.db" > "$T/cutd"
cmp -s "$T/cutd" "$T/want" && ok "member starting with kernel-init-start: a restart" || bad "split at the restart: epochs differ"

# the members of one directory ingested over two runs (new members appended later)
mkdir "$T/grow"
ls "$T/blocks" | awk '{print substr($0, length($0) - 15), $0}' | sort | head -n 10 | while read -r _ f; do cp "$T/blocks/$f" "$T/grow/"; done
"$SP" ingest -q --db "$T/grow.db" "$T/grow"
cp "$T/blocks"/* "$T/grow/"
"$SP" ingest -q --db "$T/grow.db" "$T/grow"
epochs "$T/grow.db" > "$T/growd"
cmp -s "$T/growd" "$T/want" && ok "directory read over two runs: same epochs" || bad "two runs: epochs differ"

# several files of one node, in order on one command line
split -l 9000 -d "$T/all.jsonl" "$T/part."
"$SP" ingest -q --db "$T/parts.db" "$T"/part.0*
epochs "$T/parts.db" > "$T/partsd"
cmp -s "$T/partsd" "$T/want" && ok "files in order on one command line: same epochs" || bad "files: epochs differ"
finish
