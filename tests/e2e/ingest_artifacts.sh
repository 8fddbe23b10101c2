#!/usr/bin/env bash
# ingest_artifacts.sh - #22 items 3, 4: bad, truncated, refused and missing export artifacts are located, counted, never stored, never quiet.
. "$(dirname "$0")/lib.sh"
X="$DATA/basic/export"
ART=transcript.v9.25.34
# items of the whole export, counted here from the artifact files
ALL=$(cat "$X"/transcript.* | grep -c .)
N_ART=$(grep -c . "$X/$ART")
export_copy() { rm -rf "$T/$1"; cp -r "$X" "$T/$1"; }
set_file() { # set_file DIR NEW_FILE_NAME: the manifest entry of $ART names another file
  python3 - "$1/export-manifest.json" "$2" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for a in m["artifacts"]:
    if a[0] == "transcript.v9.25.34": a[1] = sys.argv[2]
json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
}

echo "3: a transcript artifact cut in half: the torn item is dead-lettered with file, line and byte offset, not stored"
export_copy cut
size=$(stat -c %s "$X/$ART")
head -c $((size / 2)) "$X/$ART" > "$T/cut/$ART"
# oracle: the torn last line of the cut file, its line number and byte offset
read -r tline toff <<<"$(python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
start = d.rfind(b"\n") + 1
print(d[:start].count(b"\n") + 1, start)' "$T/cut/$ART")"
code=0; "$SP" ingest --db "$T/cut.db" "$T/cut" 2> "$T/cut.err" || code=$?
check "one torn item is not a failed job: exit" "$code" 0
check "dead letter columns: source, line, offset" \
  "$(q "$T/cut.db" "SELECT source || '|' || line || '|' || offset FROM ingest_errors")" "$T/cut/$ART|$tline|$toff"
r=$(q "$T/cut.db" "SELECT reason FROM ingest_errors")
case "$r" in "$T/cut/$ART:$tline: byte $toff: v9 position $((25 + tline - 1)): transcript item: invalid JSON"*) ok "reason names file:line and byte offset";;
  *) bad "reason: $r";; esac
case "$r" in *"<fd:"*|*"at byte 1:"*) bad "reason has no real location: $r";; *) ok "no <fd:N> / byte 1";; esac
check "the torn item is not stored" "$(q "$T/cut.db" "SELECT count(*) FROM transcript_items WHERE vat_id='v9' AND position=$((25 + tline - 1))")" 0
check "no invalid JSON stored" "$(q "$T/cut.db" "SELECT count(*) FROM transcript_items WHERE NOT json_valid(item)")" 0
check "items stored = whole lines before the cut" "$(q "$T/cut.db" "SELECT count(*) FROM transcript_items")" $((ALL - N_ART + tline - 1))
check "the missing positions are an anomaly" \
  "$(q "$T/cut.db" "SELECT kind || ' ' || position FROM anomalies WHERE vat_id='v9'")" "POSITION_GAP $((25 + tline - 1))"

echo "3: a truncated gzip artifact: the file and where it stopped, no <fd:N>"
export_copy gz
gzip -c "$X/$ART" > "$T/gz/x.gz"
gsz=$(stat -c %s "$T/gz/x.gz")
head -c $((gsz - 40)) "$T/gz/x.gz" > "$T/gz/$ART.gz"
rm "$T/gz/x.gz"
set_file "$T/gz" "$ART.gz"
code=0; "$SP" ingest --db "$T/gz.db" "$T/gz" 2> "$T/gz.err" || code=$?
check "corrupt artifact: exit 65 (bad data)" "$code" 65
r=$(q "$T/gz.db" "SELECT reason FROM ingest_errors WHERE reason LIKE '%gzip%'")
case "$r" in "$T/gz/$ART.gz: truncated or corrupt gzip data after byte "*) ok "gzip error names the file and the byte";; *) bad "gzip reason: $r";; esac
case "$r" in *"<fd:"*) bad "gzip reason has <fd:N>: $r";; *) ok "no <fd:N>";; esac
check "gzip dead letter has line and offset columns" \
  "$(q "$T/gz.db" "SELECT line IS NOT NULL AND offset IS NOT NULL FROM ingest_errors WHERE reason LIKE '%gzip%'")" 1

echo "4: an artifact with an escaping name: refused, counted, exit 65, its span named"
export_copy esc
set_file "$T/esc" "../../etc/passwd"
code=0; "$SP" ingest --db "$T/esc.db" "$T/esc" "$DATA/basic/slog.jsonl.gz" 2> "$T/esc.err" || code=$?
check "escaping artifact: exit 65" "$code" 65
check "ingest_errors names the artifact" "$(q "$T/esc.db" "SELECT count(*) FROM ingest_errors WHERE reason LIKE '%artifact $ART%../../etc/passwd%rejected%'")" 1
grep -q "error: input $T/esc: .*refused: .*artifact $ART.*span v9 \[25,34) has no items: exit 65" "$T/esc.err" \
  && ok "summary names the input, the artifact and the missing span" || bad "summary: $(cat "$T/esc.err")"
grep -q "1 input(s) rejected as bad data (exit 65)" "$T/esc.err" && ok "counted as a rejected input" || bad "count: $(tail -2 "$T/esc.err")"
check "the other artifacts are stored" "$(q "$T/esc.db" "SELECT count(*) FROM transcript_items")" $((ALL - N_ART))
check "the slog on the same command line is committed" "$(q "$T/esc.db" "SELECT count(*) FROM slog_events")" 24851

echo "4: a named artifact that is missing: unreadable, exit 66"
export_copy miss
rm "$T/miss/$ART"
code=0; "$SP" ingest --db "$T/miss.db" "$T/miss" 2> "$T/miss.err" || code=$?
check "missing artifact: exit 66" "$code" 66
grep -q "error: input $T/miss: cannot be read: .*artifact $ART missing.*span v9 \[25,34) has no items; exit 66" "$T/miss.err" \
  && ok "summary names the missing artifact and span" || bad "summary: $(cat "$T/miss.err")"
check "missing artifact dead-lettered" "$(q "$T/miss.db" "SELECT count(*) FROM ingest_errors WHERE source='$T/miss/$ART'")" 1

echo "4: an archive file that is a symlink out of the directory: refused, exit 65"
mkdir -p "$T/arc"
cp "$X"/transcript.* "$T/arc/"
rm "$T/arc/$ART"
ln -s /etc/passwd "$T/arc/$ART"
code=0; "$SP" ingest --db "$T/arc.db" "$T/arc" 2> "$T/arc.err" || code=$?
check "escaping archive file: exit 65" "$code" 65
grep -q "refused: .*$ART.*outside.*span v9 \[25,34) has no items" "$T/arc.err" && ok "archive summary names the span" || bad "summary: $(cat "$T/arc.err")"
finish
