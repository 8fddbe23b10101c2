#!/usr/bin/env bash
# ux_report.sh - `slogpipe report`: self-contained HTML whose embedded data matches the DB, loads in headless Chromium without errors and draws one lane per incarnation.
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
DB="$T/anom.db"
cp "$T/basic.db" "$DB"
# An anomaly whose detail tries to close the data <script> element and inject markup.
sqlite3 "$DB" "INSERT INTO anomalies (node, vat_id, kind, incarnation, position, severity, detail, source, line)
  VALUES ('basic', 'v9', 'UX_TEST_KIND', 1, 16, 'error',
          '{\"note\":\"</script><script>document.body.setAttribute(''data-pwned'',''1'')</script><!--\",\"amp\":\"&\\u2028\"}',
          'swingstore.sqlite', NULL);"

# A smaller snapshotInterval makes v9's current span (6 items) overdue.
sqlite3 "$DB" "UPDATE analysis_runs SET snapshot_interval = 5 WHERE node = 'basic'"
[ "$(sqlite3 "$DB" "SELECT COUNT(*) FROM analysis_runs")" = 1 ] || fail "no analysis_runs row"

echo "write the report"
"$SP" report --db "$DB" -o "$T/report.html" || fail "report exited $?"
[ -s "$T/report.html" ] || fail "empty report"
[ ! -e "$T/report.html.tmp" ] || fail "temporary file left behind"

echo "self-contained: no external scripts, styles, fonts, images or links"
if grep -qiE '<script[^>]+src=|<link |@import|url\(|<img |<iframe|https?://[^"]*["'\'' ]' \
     <(sed 's#http://www.w3.org/2000/svg##g' "$T/report.html"); then
    fail "external reference: $(sed 's#http://www.w3.org/2000/svg##g' "$T/report.html" | grep -oiE '<script[^>]+src=|<link |@import|url\(|<img |<iframe|https?://[^"]*' | head -3)"
fi
grep -q "Content-Security-Policy\" content=\"default-src 'none'" "$T/report.html" || fail "no CSP"

echo "embedded JSON: '<' escaped, so data cannot close the script element; contents match the DB"
[ "$(grep -o '</script>' "$T/report.html" | wc -l)" = 2 ] || fail "expected exactly 2 </script> (data + code)"
python3 - "$T/report.html" "$DB" <<'EOF' || fail "embedded data"
import json, re, sqlite3, sys
html = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<script type="application/json" id="slogpipe-data">(.*?)</script>', html, re.S)
assert m, "data element"
blob = m.group(1)
assert "<" not in blob and ">" not in blob and "&" not in blob and "\u2028" not in blob, "unescaped < > & U+2028 in data"
D = json.loads(blob)
db = sqlite3.connect(sys.argv[2])
a = [x for x in D["anomalies"] if x["kind"] == "UX_TEST_KIND"][0]
assert a["detail"] == db.execute("SELECT detail FROM anomalies WHERE kind = 'UX_TEST_KIND'").fetchone()[0], a
assert len(D["vats"]) == 13 and len(D["blocks"]) == 27, (len(D["vats"]), len(D["blocks"]))
assert len(D["snapshots"]) == db.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0]
n_spans = db.execute("SELECT COUNT(*) FROM spans").fetchone()[0] or db.execute("SELECT COUNT(*) FROM transcript_spans").fetchone()[0]
assert len(D["spans"]) == n_spans, (len(D["spans"]), n_spans)
v9 = [s for s in D["spans"] if s["vat_id"] == "v9"]
# FACTS.md: v9 has 13 spans in 3 incarnations; first span [0,5), current [90,96)
assert len(v9) == 13 and sorted({s["inc"] for s in v9}) == [0, 1, 2], v9
assert (v9[0]["start"], v9[0]["end"], v9[-1]["start"], v9[-1]["end"], v9[-1]["cur"]) == (0, 5, 90, 96, 1)
assert all(s["t0"] is not None for s in v9 if s["deliveries"]), "spans with deliveries have slog times"
lanes = len({(s["node"], s["vat_id"], s["inc"] or 0) for s in D["spans"]})
open(sys.argv[1] + ".lanes", "w").write(str(lanes))
EOF
LANES=$(cat "$T/report.html.lanes")
echo "  expecting $LANES incarnation lanes"

echo "--node filter and bad arguments"
"$SP" report --db "$DB" --node nosuchnode -o "$T/empty.html" || fail "report --node nosuchnode"
grep -q '"vats":\[\]' "$T/empty.html" || fail "--node nosuchnode should embed no vats"
rc=0; "$SP" report --db "$DB" 2> "$T/err" || rc=$?
[ "$rc" = 64 ] && grep -q -- '--db and -o are required' "$T/err" || fail "missing -o: rc $rc"
rc=0; "$SP" report --db "$T/nope.db" -o "$T/x.html" 2> "$T/err" || rc=$?
[ "$rc" = 66 ] || fail "missing DB: rc $rc"
rc=0; "$SP" report --db "$DB" -o "$T/no/such/dir/x.html" 2> "$T/err" || rc=$?
[ "$rc" = 73 ] || fail "unwritable output: rc $rc"

echo "headless Chromium"
CHROME=""
for c in chromium chromium-browser google-chrome; do
    if command -v "$c" > /dev/null 2>&1; then CHROME=$c; break; fi
done
if [ -z "$CHROME" ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null 2>&1; then
    # Within CTest's 600 s budget for this script: at most 450 s of apt.
    echo "  chromium missing: apt-get install -y chromium (at most 7.5 min)"
    if timeout 200 env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium > "$T/apt.log" 2>&1 \
        || { timeout 60 apt-get update > /dev/null 2>&1 &&
             timeout 190 env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium > "$T/apt.log" 2>&1; }; then
        command -v chromium > /dev/null 2>&1 && CHROME=chromium
    fi
fi
if [ -z "$CHROME" ]; then
    echo "SKIP: headless browser checks: chromium is not installed and could not be installed" \
         "(apt-get install chromium); the static checks above passed"
    exit 77
fi
chrome() { # chrome OUT_ERR ARGS... : one headless run with a fresh profile, no network services
    local err=$1; shift
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$(mktemp -d -p "$T")" \
        --enable-logging=stderr --v=0 --window-size=1400,900 "$@" 2> "$err"
}
console_errors() { grep -E 'CONSOLE|Uncaught|Refused to' "$1" || true; }

chrome "$T/dom.err" --dump-dom "file://$T/report.html" > "$T/dom.html" || fail "chromium --dump-dom failed: $(tail -3 "$T/dom.err")"
[ -z "$(console_errors "$T/dom.err")" ] || fail "console output: $(console_errors "$T/dom.err")"
grep -qE '<body[^>]* data-ok="1"' "$T/dom.html" || fail "page script did not finish (no data-ok)"
! grep -qE '<body[^>]* data-pwned=' "$T/dom.html" || fail "injected markup ran"
grep -q '&lt;/script&gt;&lt;script&gt;document.body.setAttribute' "$T/dom.html" || fail "the detail is not shown as text"
got=$(grep -o '<g class="lane"' "$T/dom.html" | wc -l)
[ "$got" = "$LANES" ] || fail "DOM has $got lanes, expected $LANES"
[ "$(grep -oE '<g class="lane" data-node="basic" data-vat="v9" data-inc="[0-9]+"' "$T/dom.html" | grep -oE '[0-9]+"$' | tr -d '"' | tr '\n' ' ')" = "0 1 2 " ] \
    || fail "v9 lanes are not incarnations 0 1 2"
[ "$(grep -o 'class="span ' "$T/dom.html" | wc -l)" -ge 143 ] || fail "fewer span bars than transcript spans"
grep -q 'class="anom sev-error"' "$T/dom.html" || fail "the test anomaly is not drawn"
grep -q '<title>UX_TEST_KIND (error) at position 16' "$T/dom.html" || fail "anomaly hover text"
grep -q 'class="note overdue">current span 6 item(s); snapshot due at 5 items (snapshotInterval) — OVERDUE<' "$T/dom.html" \
    || fail "v9 overdue note"
[ "$(grep -o 'OVERDUE<' "$T/dom.html" | wc -l)" = 1 ] || fail "only v9 is overdue"
grep -q 'id="chart-blocks"' "$T/dom.html" && grep -q 'id="chart-snapshots"' "$T/dom.html" || fail "summary charts missing"
echo "  DOM: data-ok, $got lanes, no console errors"

chrome "$T/time.err" --dump-dom "file://$T/report.html#time" > "$T/time.html" || fail "chromium (time axis) failed"
[ -z "$(console_errors "$T/time.err")" ] || fail "console output (time axis): $(console_errors "$T/time.err")"
grep -qE '<body[^>]* data-mode="time"' "$T/time.html" && grep -qE '<body[^>]* data-ok="1"' "$T/time.html" \
    || fail "time axis view did not render"

chrome "$T/shot.err" --screenshot="$T/shot.png" "file://$T/report.html" > /dev/null || fail "chromium --screenshot failed"
[ -z "$(console_errors "$T/shot.err")" ] || fail "console output (screenshot): $(console_errors "$T/shot.err")"
python3 - "$T/shot.png" <<'EOF' || fail "screenshot check"
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", b[16:24])
assert (w, h) == (1400, 900), (w, h)
idat, i = b"", 8
while i < len(b):
    n, = struct.unpack(">I", b[i:i + 4]); typ = b[i + 4:i + 8]
    if typ == b"IDAT": idat += b[i + 8:i + 8 + n]
    i += 12 + n
raw = zlib.decompress(idat)
nonzero = sum(1 for x in raw[::7] if x not in (0, 255)) / len(raw[::7])
# A blank page filters to (nearly) all zero bytes; lanes, bars and text do not.
assert nonzero > 0.01, "screenshot looks blank (%.4f)" % nonzero
print("  screenshot %dx%d, %d bytes, %.1f%% busy bytes" % (w, h, len(b), 100 * nonzero))
EOF
echo "ok"
