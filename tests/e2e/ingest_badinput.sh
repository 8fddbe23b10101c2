#!/usr/bin/env bash
# ingest_badinput.sh - bad input: clear message with file:line, a dead-letter row, the good lines around it kept, --strict exits 65.
. "$(dirname "$0")/lib.sh"
(zcat "$DATA/basic/slog.jsonl.gz" || true) | awk 'length($0) < 100000' | head -300 >"$T/good.jsonl" || true

# A file of real lines with one bad line after every 20 good ones.
python3 - "$T" <<'PY'
import sys
t = sys.argv[1]
good = open(f"{t}/good.jsonl", "rb").read().split(b"\n")[:300]
bad = [
    b'{"type":"deliver","crankNum":',                                  # invalid JSON (truncated)
    b'{"type":"console","args":["\xff\xfe"]}',                         # invalid UTF-8
    b'{"type":"console",\x00"args":[]}',                                # NUL byte
    b'{"type":"deliver","crankNum":"12","vatID":"v1","deliveryNum":3}', # wrong type
    b'{"vatID":"v1","deliveryNum":3}',                                  # missing type
    b'{"type":42}',                                                     # type not a string
    b'[1,2,3]',                                                         # not an object
    b'{"type":"deliver","vatID":"v1","vatID":"v2","deliveryNum":1}',    # duplicate key
    b'{"type":"crank-start","crankNum":9223372036854775808}',           # above int64
    b'{"type":"crank-start","crankNum":1.5}',                           # not an integer
    b'{"type":"console","args":' + b'[' * 2000 + b']' * 2000 + b'}',    # deep nesting
    b'{"type":"console","args":["' + b'x' * 300000 + b'"]}',            # over --max-line 200000
    b'{"type":"deliver","vatID":{"x":1}}',                              # vatID object
]
ok_extra = [
    b'{"type":"some-future-event","x":[1,{"y":2}]}',                    # unknown type: kept
    b'{"type":"console","args":["\\ud800 lone surrogate"]}',            # legal JSON escape
    b'{"type":"crank-start","crankNum":9007199254740993,"crankType":"delivery"}',  # > 2^53, integral
]
out, i = [], 0
for b in bad:
    out += good[i:i + 20] + [b]
    i += 20
out += ok_extra + good[i:]
open(f"{t}/mixed.jsonl", "wb").write(b"\n".join(out) + b"\n")
# what was written, counted here (not by slogpipe): bad lines, good lines, all lines
open(f"{t}/counts", "w").write(f"{len(bad)} {len(good[:300]) + len(ok_extra)} {len(out)}\n")
PY
read -r nbad ngood nlines <"$T/counts"
check "the test wrote 13 bad and 303 good lines" "$nbad $ngood $nlines" "13 303 316"

set +e
"$SP" ingest --db "$T/b.db" --node n --max-line 200000 --dead-letter "$T/dead.jsonl" "$T/mixed.jsonl" 2>"$T/err.txt"
rc=$?
set -e
check "bad lines do not fail the run" "$rc" 0
check "good lines kept" "$(q "$T/b.db" "SELECT count(*) FROM slog_events")" "$ngood"
check "one ingest_errors row per bad line" "$(q "$T/b.db" "SELECT count(*) FROM ingest_errors")" "$nbad"
check "bad lines located by line number" "$(q "$T/b.db" "SELECT group_concat(line) FROM (SELECT line FROM ingest_errors ORDER BY line)")" \
  "21,42,63,84,105,126,147,168,189,210,231,252,273"
check "dead-letter file has every bad line" "$(wc -l <"$T/dead.jsonl")" "$nbad"
check "dead-letter lines are JSON with reason and line" \
  "$(python3 -c 'import json,sys; print(all("reason" in json.loads(l) and json.loads(l)["line"]>0 for l in open(sys.argv[1])))' "$T/dead.jsonl")" True
grep -q "mixed.jsonl:21: " "$T/err.txt" && ok "stderr names file:line" || bad "stderr lacks file:line: $(head -2 "$T/err.txt")"
for pat in "invalid JSON" "invalid UTF-8" "NUL byte" "crankNum" "type" "duplicate key" "nesting" "longer than 200000"; do
  if q "$T/b.db" "SELECT reason FROM ingest_errors" | grep -qi -- "$pat"; then ok "reason mentions '$pat'"; else bad "no reason mentions '$pat'"; fi
done
check "unknown type kept with its raw JSON" "$(q "$T/b.db" "SELECT raw FROM slog_events WHERE type='some-future-event'")" \
  '{"type":"some-future-event","x":[1,{"y":2}]}'
check "number above 2^53 kept exactly" "$(q "$T/b.db" "SELECT crank_num FROM slog_events WHERE crank_num=9007199254740993")" 9007199254740993
# the summary line itself (the per-input note after it has its own count)
check "summary counts every bad line" "$(sed -nE 's/^slogpipe: [0-9]+ lines, .*, ([0-9]+) bad, .*/\1/p' "$T/err.txt")" "$nbad"

set +e
"$SP" ingest -q --db "$T/s.db" --strict --max-line 200000 "$T/mixed.jsonl" 2>/dev/null
check "--strict exits 65 on bad input" "$?" 65
set -e

# A 100 MB line under the default 64 MiB cap: skipped with its line number, memory
# bounded by the cap, the lines around it kept.
python3 - "$T/huge.jsonl" "$T/good.jsonl" <<'PY'
import sys
good = open(sys.argv[2], "rb").read().split(b"\n")[:10]
with open(sys.argv[1], "wb") as f:
    f.write(b"\n".join(good[:5]) + b"\n")
    f.write(b'{"type":"console","args":["' + b"y" * (100 * 1024 * 1024) + b'"]}\n')
    f.write(b"\n".join(good[5:10]) + b"\n")
PY
"$SP" ingest -q --db "$T/h.db" --node n "$T/huge.jsonl" 2>/dev/null
check "100 MB line: the lines around it kept" "$(q "$T/h.db" "SELECT count(*) FROM slog_events")" 10
check "100 MB line: reported at its line" "$(q "$T/h.db" "SELECT line || ' ' || (reason LIKE '%longer than 67108864 bytes%') FROM ingest_errors")" "6 1"

# Broken containers: truncated and corrupted gzip, empty file, missing file.
head -c 300000 "$DATA/basic/slog.jsonl.gz" >"$T/trunc.gz"
cp "$DATA/basic/slog.jsonl.gz" "$T/corrupt.gz"
printf 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX' | dd of="$T/corrupt.gz" bs=1 seek=1200000 conv=notrunc 2>/dev/null
: >"$T/empty.jsonl"
set +e
"$SP" ingest --db "$T/c.db" --node n "$T/trunc.gz" "$T/corrupt.gz" "$T/empty.jsonl" "$T/missing.jsonl" "$T/good.jsonl" 2>"$T/err2.txt"
rc=$?
set -e
check "broken containers do not stop the run (the missing file: exit 66)" "$rc" 66
want_trunc=$( (zcat "$T/trunc.gz" 2>/dev/null || true) | wc -l)
check "truncated gzip: every complete line kept" \
  "$(q "$T/c.db" "SELECT count(*) FROM slog_events WHERE source LIKE '%trunc.gz'")" "$want_trunc"
check "truncated gzip reported" "$(q "$T/c.db" "SELECT count(*) FROM ingest_errors WHERE source LIKE '%trunc.gz'")" 1
check "corrupt gzip reported" "$(q "$T/c.db" "SELECT count(*) >= 1 FROM ingest_errors WHERE source LIKE '%corrupt.gz'")" 1
check "empty file: a warning, not a dead letter" "$(q "$T/c.db" "SELECT count(*) FROM ingest_errors WHERE source LIKE '%empty.jsonl'")" 0
grep -q "input $T/empty.jsonl: 0 lines (empty)" "$T/err2.txt" && ok "empty file: warning with '0 lines'" || bad "no '0 lines' warning for empty.jsonl"
check "missing file reported" "$(q "$T/c.db" "SELECT count(*) FROM ingest_errors WHERE source LIKE '%missing.jsonl' AND reason LIKE '%No such file%'")" 1
check "inputs after the broken ones still ingested" "$(q "$T/c.db" "SELECT count(*) FROM slog_events WHERE source LIKE '%good.jsonl'")" 300
grep -q "trunc.gz" "$T/err2.txt" && ok "truncated gzip named on stderr" || bad "no stderr message for trunc.gz"
finish
