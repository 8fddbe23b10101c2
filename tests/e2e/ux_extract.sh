#!/usr/bin/env bash
# ux_extract.sh - `slogpipe extract`: spans written byte-exact as swing-store artifacts, hashes verified, pruned spans refused.
set -euo pipefail
BUILD=${1:?BUILD_DIR}
DATA=${2:?DATA_DIR}
SP="$BUILD/slogpipe"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "ingest tests/data/basic/swingstore.sqlite with the real ingest"
"$SP" ingest -q --db "$T/basic.db" --node basic "$DATA/basic/swingstore.sqlite" || fail "ingest exited $?"
DB="$T/basic.db"

echo "every span of v6 equals the export artifact byte for byte"
"$SP" extract --db "$DB" --vat v6 -o "$T/v6" > "$T/v6.list" || fail "extract v6 exited $?"
[ "$(wc -l < "$T/v6.list")" = 44 ] || fail "expected 44 spans of v6 (FACTS.md), got $(wc -l < "$T/v6.list")"
n=0
for f in "$T"/v6/transcript.v6.*; do
    name=$(basename "$f")
    ref="$DATA/basic/export/$name"
    if [ -f "$ref" ]; then
        cmp -- "$f" "$ref" || fail "$name differs from the export artifact"
        n=$((n + 1))
    fi
done
[ "$n" -ge 40 ] || fail "only $n of the 44 v6 artifacts were compared (export copy incomplete?)"
echo "  $n artifacts identical"
[ -z "$(ls -A "$T/v6" | grep -v '^transcript\.v6\.[0-9]*\.[0-9]*$')" ] || fail "stray files in the output dir"

echo "span hashes recomputed over the extracted lines (agoric-formats.md §1.6) equal transcript_spans.hash"
python3 - "$T/v6" "$DB" <<'EOF' || fail "span hash check"
import hashlib, os, sqlite3, sys
d, db = sys.argv[1], sqlite3.connect(sys.argv[2])
H = lambda b: hashlib.sha256(b).hexdigest()
stored = {(s, e): h for s, e, h in db.execute(
    "SELECT start_pos, end_pos, hash FROM transcript_spans WHERE node = 'basic' AND vat_id = 'v6'")}
assert len(stored) == 44
for name in os.listdir(d):
    _, vat, s, e = name.split(".")
    data = open(os.path.join(d, name), "rb").read()
    lines = data.split(b"\n")
    assert lines[-1] == b"", name          # every item ends with "\n"
    lines = lines[:-1]
    assert len(lines) == int(e) - int(s), name
    h = H(b"start of transcript span")
    for line in lines:
        h = H((h + H(line.rstrip())).encode())
    assert h == stored[(int(s), int(e))], (name, h)
print("  44 span hashes verified")
EOF

echo "the C hash check (sp_span_hash) agrees: a span with a wrong stored hash is refused"
cp "$DB" "$T/badhash.db"
sqlite3 "$T/badhash.db" "UPDATE transcript_spans SET hash = '00' || substr(hash, 3) WHERE node = 'basic' AND vat_id = 'v6' AND start_pos = 14"
rc=0; "$SP" extract --db "$T/badhash.db" --vat v6 --span 14 -o "$T/bad" 2> "$T/bad.err" || rc=$?
[ "$rc" = 65 ] || fail "hash mismatch: expected exit 65, got $rc"
grep -q 'refusing span \[14,23) of v6 on node basic: items hash to' "$T/bad.err" || fail "hash mismatch message: $(cat "$T/bad.err")"
[ ! -e "$T/bad/transcript.v6.14.23" ] || fail "a refused span left a file"

echo "--span and --incarnation select spans"
"$SP" extract --db "$DB" --vat v9 --span 58 -o "$T/one" > /dev/null
[ "$(ls "$T/one")" = "transcript.v9.58.63" ] || fail "--span 58: $(ls "$T/one")"
cmp "$T/one/transcript.v9.58.63" "$DATA/basic/export/transcript.v9.58.63" || fail "v9 58-63 differs"
"$SP" extract --db "$DB" --vat v9 --incarnation 1 -o "$T/inc1" > /dev/null
[ "$(ls "$T/inc1" | sort -t. -k3n | tr '\n' ' ')" = "transcript.v9.11.16 transcript.v9.16.25 transcript.v9.25.34 transcript.v9.34.43 transcript.v9.43.52 transcript.v9.52.58 " ] \
    || fail "--incarnation 1: $(ls "$T/inc1" | tr '\n' ' ')"
"$SP" extract --db "$DB" --vat v3 -o "$T/comms" > /dev/null
[ -f "$T/comms/transcript.v3.0.0" ] && [ ! -s "$T/comms/transcript.v3.0.0" ] || fail "v3 empty span [0,0) gives an empty file"
rc=0; "$SP" extract --db "$DB" --vat v9 --span 59 -o "$T/none" 2> "$T/none.err" || rc=$?
[ "$rc" = 65 ] && grep -q 'no span starting at 59' "$T/none.err" || fail "--span 59 (no such span): rc $rc $(cat "$T/none.err")"

echo "a pruned span (items missing) is refused with a clear error; the complete ones are still written"
cp "$DB" "$T/pruned.db"
sqlite3 "$T/pruned.db" "DELETE FROM transcript_items WHERE node = 'basic' AND vat_id = 'v9' AND position >= 16 AND position < 25"
rc=0; "$SP" extract --db "$T/pruned.db" --vat v9 -o "$T/pruned" > "$T/pruned.list" 2> "$T/pruned.err" || rc=$?
[ "$rc" = 65 ] || fail "pruned span: expected exit 65, got $rc"
grep -q 'refusing span \[16,25) of v9 on node basic: 0 of its 9 items are in the database' "$T/pruned.err" \
    || fail "pruned message: $(cat "$T/pruned.err")"
[ ! -e "$T/pruned/transcript.v9.16.25" ] || fail "pruned span written"
[ "$(wc -l < "$T/pruned.list")" = 12 ] || fail "the 12 complete v9 spans should be written"
sqlite3 "$T/pruned.db" "DELETE FROM transcript_items WHERE node = 'basic' AND vat_id = 'v9' AND position = 30"
rc=0; "$SP" extract --db "$T/pruned.db" --vat v9 --span 25 -o "$T/pruned2" 2> "$T/p2.err" || rc=$?
[ "$rc" = 65 ] && grep -q 'refusing span \[25,34) of v9 on node basic: 8 of its 9 items are in the database.*first missing position 30' "$T/p2.err" \
    || fail "partially pruned span: rc $rc $(cat "$T/p2.err")"

echo "node selection: several nodes need --node"
"$SP" ingest -q --db "$T/basic.db" --node other "$DATA/basic/swingstore.sqlite" || fail "second ingest"
rc=0; "$SP" extract --db "$DB" --vat v9 -o "$T/two" 2> "$T/two.err" || rc=$?
[ "$rc" = 64 ] && grep -q 'v9 has spans on several nodes (basic, other): choose one with --node' "$T/two.err" \
    || fail "two nodes: rc $rc $(cat "$T/two.err")"
"$SP" extract --db "$DB" --vat v9 --node other --span 90 -o "$T/two" > /dev/null || fail "--node other"
cmp "$T/two/transcript.v9.90.96" "$DATA/basic/export/transcript.v9.90.96" || fail "node other v9 90-96"

echo "vat IDs are validated, so nothing escapes DIR"
for bad in '../v1' 'v1/../../x' 'v' 'V1' '' 'v1x'; do
    rc=0; "$SP" extract --db "$DB" --vat "$bad" -o "$T/esc" 2> "$T/esc.err" || rc=$?
    [ "$rc" = 64 ] || fail "--vat '$bad': expected 64, got $rc"
done
grep -q "bad vat ID 'v1x'" "$T/esc.err" || fail "bad vat message: $(cat "$T/esc.err")"
[ ! -e "$T/esc" ] || fail "output dir created for a bad vat"
echo "ok"
