#!/usr/bin/env bash
# ux_report_blocks.sh - the report's per-block time chart on the blocks sample in headless Chromium: one stacked bar per block (by run phase), the slow blocks marked, and a block's explanation opened from its link, each checked against a direct scan of the slog.
source "$(dirname "$0")/lib.sh"
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROME" ]; then skip "no chromium (scripts/deps.sh --test installs it)"; finish; exit $?; fi
SLOG="$DATA/blocks/slog.jsonl.gz"

"$SP" ingest -q --db "$T/b.db" --node blocks "$SLOG"
"$SP" report --db "$T/b.db" -o "$T/r.html"

# the oracle: blocks, their wall time, the slow ones (nearest-rank 90th percentile) and the slowest delivery
python3 - "$SLOG" >"$T/oracle.txt" <<'PY'
import gzip, json, math, sys
begin = blk = None
secs, slowest_d = {}, {}
for ln, raw in enumerate(gzip.open(sys.argv[1], "rt", encoding="utf-8"), 1):
    e = json.loads(raw); t = e["type"]
    if t in ("cosmic-swingset-begin-block", "cosmic-swingset-bootstrap-block-start"):
        begin, blk = e["time"], e.get("blockHeight")
    elif t == "cosmic-swingset-run-start" and blk is None:
        blk = e["blockHeight"]
    elif t == "cosmic-swingset-commit-block-finish":
        secs[e["blockHeight"]] = e["time"] - begin
    elif t == "deliver" and not e.get("replay"):
        pend = ln
    elif t == "deliver-result" and not e.get("replay"):
        if e["seconds"] > slowest_d.get(blk, (0, -1))[1]: slowest_d[blk] = (pend, e["seconds"])
v = sorted(secs.values()); thr = v[math.ceil(0.9 * len(v)) - 1]
sb = max(secs, key=lambda b: secs[b])
print(len(secs), sum(1 for x in v if x >= thr), sb, slowest_d[sb][0])
PY
read -r NBLOCKS NSLOW SB SLINE <"$T/oracle.txt"

chrome() { # chrome OUT_ERR ARGS...: one headless run with a fresh profile, no network services
  local err=$1; shift
  timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$(mktemp -d -p "$T")" \
    --enable-logging=stderr --v=0 --window-size=1400,2600 "$@" 2>"$err"
}
console_errors() { grep -E 'CONSOLE|Uncaught|Refused to' "$1" || true; }

chrome "$T/dom.err" --dump-dom "file://$T/r.html#block=$SB@blocks" >"$T/dom.html"
check "page script finished, no console errors" \
  "$(grep -cE '<body[^>]* data-ok="1"' "$T/dom.html")|$(console_errors "$T/dom.err")" "1|"
python3 - "$T/dom.html" "$NBLOCKS" "$NSLOW" "$SB" "$SLINE" <<'PY' && ok "chart: $NBLOCKS bars stacked by phase, $NSLOW marked slow; #block=$SB opens block $SB with its slowest delivery (line $SLINE) first" || bad "block time chart"
import re, sys
dom, nb, ns, sb, sline = open(sys.argv[1], encoding="utf-8").read(), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
chart = re.search(r'<svg[^>]*id="chart-blocktime".*?</svg>', dom, re.S).group(0)
bars = re.findall(r'<a href="#block=(\d+)@blocks" class="bt-block( slow)?"[^>]*>(.*?)</a>', chart, re.S)
assert len(bars) == nb, (len(bars), nb)
assert sum(1 for b in bars if b[1]) == ns, [b[0] for b in bars if b[1]]
for h, slow, inner in bars:
    phases = re.findall(r'data-phase="([a-z]+)"', inner)
    assert phases and set(phases) <= {"leftover", "forced", "priority", "timer", "inbound", "cleanup", "none", "other"}, (h, phases)
    assert ("\u25bc" in inner) == bool(slow), h
top = [b for b in bars if b[0] == sb][0]
assert top[1], "the slowest block is marked slow"
ex = re.search(r'<div id="block-explain" class="explain" data-node="blocks" data-height="(\d+)">(.*?)</div>', dom, re.S)
assert ex and ex.group(1) == sb, "explanation of the block in the link"
first = re.search(r'<table class="block-top"><tr>.*?</tr><tr>(.*?)</tr>', ex.group(2), re.S).group(1)
cells = re.findall(r'<td[^>]*>(.*?)</td>', first)
assert cells[-1] == sline, (cells, sline)
PY

# a window tall enough for the 15 vat timelines above the chart, the chart and the explanation
chrome "$T/shot.err" --window-size=1400,4200 --screenshot="$T/shot.png" "file://$T/r.html#block=$SB@blocks" >/dev/null
if [ -n "${KEEP_SHOT:-}" ]; then cp "$T/shot.png" "$KEEP_SHOT"; fi # to look at it
check "screenshot: no console errors" "$(console_errors "$T/shot.err")" ""
python3 - "$T/shot.png" <<'PY' && ok "screenshot is not blank" || bad "screenshot"
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n"
idat, i = b"", 8
while i < len(b):
    n, = struct.unpack(">I", b[i:i + 4]); typ = b[i + 4:i + 8]
    if typ == b"IDAT": idat += b[i + 8:i + 8 + n]
    i += 12 + n
raw = zlib.decompress(idat)
assert sum(1 for x in raw[::7] if x not in (0, 255)) / len(raw[::7]) > 0.01
PY
finish
