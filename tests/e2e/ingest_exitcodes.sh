#!/usr/bin/env bash
# ingest_exitcodes.sh - issue #17: `slogpipe ingest` exit codes (66 unreadable input, 65 bad data, 0 empty/partly bad), the messages, the summary's counts, and the good inputs beside them committed.
. "$(dirname "$0")/lib.sh"
GZ="$DATA/basic/slog.jsonl.gz"
STORE="$DATA/basic/swingstore.sqlite"
# counted here, not by slogpipe
N=$(zcat "$GZ" | wc -l)
ITEMS=$(q "$STORE" "SELECT count(*) FROM transcriptItems")
check "the sample has 24851 slog lines" "$N" 24851

# run NAME ARGS...: slogpipe ingest ARGS with stderr in $T/NAME.err; sets rc
run() {
  local name=$1
  shift
  set +e
  "$SP" ingest "$@" 2>"$T/$name.err"
  rc=$?
  set -e
}
# has NAME TEXT: stderr of run NAME holds TEXT (fixed string)
has() { if grep -qF -- "$2" "$T/$1.err"; then ok "$1: says '$2'"; else bad "$1: no '$2' in: $(tail -5 "$T/$1.err")"; fi; }
# summary NAME: "L lines ... B bad" of the summary line
summary() { sed -nE 's/^slogpipe: ([0-9]+) lines, .*, ([0-9]+) bad, .*/\1 lines, \2 bad/p' "$T/$1.err"; }
events() { q "$1" "SELECT count(*) FROM slog_events"; }
errors() { q "$1" "SELECT count(*) FROM ingest_errors WHERE source = '$2'"; }

# Inputs of the issue's table, and more.
: >"$T/empty.jsonl"
python3 - "$T/rand.bin" <<'PY'
import random, sys
# 100 KB of random bytes without newlines, cut into 400 lines of 250 bytes: every line garbage
r = random.Random(17)
data = bytes(b if b != 10 else 32 for b in r.randbytes(100000))
open(sys.argv[1], "wb").write(b"".join(data[i:i + 250] + b"\n" for i in range(0, 100000, 250)))
PY
RANDN=$(wc -l <"$T/rand.bin")
check "rand.bin has 400 lines" "$RANDN" 400
echo '{"a":1}' >"$T/notslog.json"
(zcat "$GZ" || true) | head -100 >"$T/head.jsonl"

echo "# 1. a missing file: exit 66, the other input still committed"
run missing --db "$T/m.db" "$T/nonexistent.gz" "$GZ"
check "missing file: exit 66" "$rc" 66
has missing "input $T/nonexistent.gz: cannot be read: No such file or directory; exit 66"
has missing "1 input(s) could not be read (exit 66)"
check "missing file: summary counts it as the one bad record" "$(summary missing)" "$N lines, 1 bad"
check "missing file: the good input after it is committed" "$(events "$T/m.db")" "$N"
check "missing file: dead-lettered" "$(errors "$T/m.db" "$T/nonexistent.gz")" 1

echo "# 2. an empty file: a warning, exit 0, '0 lines'"
run empty --db "$T/e.db" "$T/empty.jsonl"
check "empty file: exit 0" "$rc" 0
has empty "warn: input $T/empty.jsonl: 0 lines (empty)"
check "empty file: summary says 0 lines" "$(summary empty)" "0 lines, 0 bad"
check "empty file: not a dead letter" "$(errors "$T/e.db" "$T/empty.jsonl")" 0
run empty2 --db "$T/e2.db" "$T/empty.jsonl" "$GZ"
check "empty file beside a good one: exit 0" "$rc" 0
check "empty file beside a good one: the good one committed" "$(events "$T/e2.db")" "$N"
run emptyq -q --db "$T/e3.db" "$T/empty.jsonl"
has emptyq "input $T/empty.jsonl: 0 lines (empty)"

echo "# 3. 100 KB of random bytes: exit 65, dead letters kept, 20 lines logged then counts by reason"
run rand --db "$T/r.db" --dead-letter "$T/r.dead" "$GZ" "$T/rand.bin"
check "random bytes: exit 65" "$rc" 65
has rand "$T/rand.bin:1: invalid UTF-8 at column"
has rand "$T/rand.bin:20: "
has rand "$T/rand.bin: more than 20 bad lines"
check "random bytes: exactly 20 bad lines logged one by one" "$(grep -cE "^slogpipe: warn: $T/rand.bin:[0-9]+: " "$T/rand.err")" 20
has rand "input $T/rand.bin: $RANDN lines, 0 usable records, $RANDN bad ("
has rand "; nothing usable: exit 65"
has rand "1 input(s) rejected as bad data (exit 65)"
check "random bytes: the counts by reason add up to every bad line" \
  "$(grep -F "input $T/rand.bin:" "$T/rand.err" | sed -E 's/.*bad \((.*)\);.*/\1/' | grep -oE ': [0-9]+' | awk '{ s += $2 } END { print s }')" "$RANDN"
check "random bytes: summary's exact bad count" "$(summary rand)" "$((N + RANDN)) lines, $RANDN bad"
check "random bytes: every line dead-lettered (ingest_errors)" "$(errors "$T/r.db" "$T/rand.bin")" "$RANDN"
check "random bytes: every line dead-lettered (--dead-letter file)" "$(wc -l <"$T/r.dead")" "$RANDN"
check "random bytes: the good input before it is committed" "$(events "$T/r.db")" "$N"

echo "# 4. JSON that is not a slog: exit 65"
run notslog --db "$T/n.db" "$T/notslog.json" "$GZ"
check "not a slog: exit 65" "$rc" 65
has notslog "$T/notslog.json:1: missing \"type\""
has notslog "input $T/notslog.json: 1 lines, 0 usable records, 1 bad (missing \"type\": 1); nothing usable: exit 65"
check "not a slog: summary's exact bad count" "$(summary notslog)" "$((N + 1)) lines, 1 bad"
check "not a slog: the good input after it is committed" "$(events "$T/n.db")" "$N"

echo "# 5. an output that cannot be created: 73; usage errors: 64"
run nodb --db /nonexistent-dir/x.db "$GZ"
check "database in a missing directory: exit 73" "$rc" 73
has nodb "/nonexistent-dir/x.db"
run dbb --dbb "$T/x.db" "$GZ"
check "--dbb: exit 64" "$rc" 64
has dbb "unrecognized option '--dbb'"
set +e
"$SP" qurey 2>"$T/qurey.err"
rc=$?
set -e
check "slogpipe qurey: exit 64" "$rc" 64
has qurey "unknown command 'qurey'"
run ratio2 --db "$T/x.db" --max-bad-ratio 2 "$GZ"
check "--max-bad-ratio 2: exit 64" "$rc" 64
has ratio2 "bad value '2' for --max-bad-ratio"
run maxneg --db "$T/x.db" --max-bad -1 "$GZ"
check "--max-bad -1: exit 64" "$rc" 64

"$SP" ingest --help >"$T/help.err"
for w in "--max-bad N" "--max-bad-ratio R" "65  bad data" "66  an input" "(several at once: 74/73/70 first, then 66, then 65)"; do
  has help "$w"
done
REPO=$(cd "$(dirname "$0")/../.." && pwd)
for w in "| 66 | an input could not be opened or read" "| \`--max-bad-ratio R\` | 0.5 |"; do
  grep -qF -- "$w" "$REPO/README.md" && ok "README: '$w'" || bad "README lacks '$w'"
done

echo "# 6. directories, globs, swing-stores and exports that cannot be read: 66"
run nodir --db "$T/d.db" "$GZ" "$T/no-such-dir/"
check "missing directory: exit 66" "$rc" 66
has nodir "input $T/no-such-dir/: cannot be read: No such file or directory; exit 66"
check "missing directory: the good input before it is committed" "$(events "$T/d.db")" "$N"
mkdir "$T/slogs"
run glob --db "$T/g.db" "$GZ" "$T"/slogs/*.gz
check "glob that matched nothing: exit 66" "$rc" 66
has glob "input $T/slogs/*.gz: cannot be read: No such file or directory (a shell pattern that matched nothing?); exit 66"
check "glob that matched nothing: the good input is committed" "$(events "$T/g.db")" "$N"
run emptydir --db "$T/ed.db" "$T/slogs" "$GZ"
check "empty directory: a warning, exit 0" "$rc" 0
has emptydir "input $T/slogs: 0 entries (empty directory)"
run nostore --db "$T/s.db" "$T/state/swingstore.sqlite" "$STORE"
check "missing swing-store: exit 66" "$rc" 66
has nostore "input $T/state/swingstore.sqlite: cannot be read: No such file or directory; exit 66"
check "missing swing-store: the good store is committed" "$(q "$T/s.db" "SELECT count(*) FROM transcript_items")" "$ITEMS"
mkdir "$T/state" "$T/export"
ln -s "$T/gone.sqlite" "$T/state/swingstore.sqlite"
ln -s "$T/gone.json" "$T/export/export-manifest.json"
run store --db "$T/s2.db" "$STORE" "$T/state" "$GZ"
check "swing-store state dir without its database: exit 66" "$rc" 66
has store "input $T/state: cannot be read: no swingstore.sqlite in this directory (No such file or directory); exit 66"
check "unreadable swing-store: the good store before it is committed" "$(q "$T/s2.db" "SELECT count(*) FROM transcript_items")" "$ITEMS"
check "unreadable swing-store: the good slog after it is committed" "$(events "$T/s2.db")" "$N"
run store2 --db "$T/s2.db" "$T/state"
check "unreadable swing-store again: still exit 66 (not skipped as unchanged)" "$rc" 66
run export --db "$T/x2.db" "$T/export" "$GZ"
check "export whose manifest cannot be opened: exit 66" "$rc" 66
has export "input $T/export: cannot be read: cannot read the export: file $T/export/export-manifest.json is a dangling symlink; exit 66"
check "unreadable export: the good slog is committed" "$(events "$T/x2.db")" "$N"
run noexport --db "$T/x3.db" "$T/no-export" "$DATA/basic/export"
check "missing export: exit 66" "$rc" 66
check "missing export: the good export is committed" "$(q "$T/x3.db" "SELECT count(*) > 0 FROM transcript_items")" 1

echo "# 7. both 66 and 65 in one run: 66, both inputs named"
run both --db "$T/b.db" "$T/rand.bin" "$T/nonexistent.gz" "$GZ"
check "unreadable and garbage inputs: exit 66" "$rc" 66
has both "input $T/rand.bin: $RANDN lines, 0 usable records, $RANDN bad"
has both "input $T/nonexistent.gz: cannot be read"
check "unreadable and garbage inputs: the good one committed" "$(events "$T/b.db")" "$N"

echo "# 8. partly bad input: the rule (--max-bad N, --max-bad-ratio R, default 0.5)"
# a rotated file whose last line was cut mid-write
{ cat "$T/head.jsonl"; printf '{"type":"deliver","crankNum":'; } >"$T/torn.jsonl"
run torn --db "$T/t.db" "$T/torn.jsonl" "$GZ"
check "one torn line at the end: exit 0" "$rc" 0
has torn "$T/torn.jsonl:101: invalid JSON"
has torn "warn: input $T/torn.jsonl: 101 lines, 100 usable records, 1 bad (invalid JSON: 1)"
check "one torn line: summary's exact bad count" "$(summary torn)" "$((N + 101)) lines, 1 bad"
check "one torn line: every good line committed" "$(events "$T/t.db")" "$((N + 100))"
run tornstrict --db "$T/t2.db" --strict "$T/torn.jsonl"
check "one torn line with --strict: exit 65" "$rc" 65
has tornstrict "--strict: 1 bad input record(s)"
run tornmax --db "$T/t3.db" --max-bad 0 "$T/torn.jsonl" "$GZ"
check "one torn line with --max-bad 0: exit 65" "$rc" 65
has tornmax "input $T/torn.jsonl: 101 lines, 100 usable records, 1 bad (invalid JSON: 1); more than --max-bad 0: exit 65"
check "--max-bad 0: the good lines still committed" "$(events "$T/t3.db")" "$((N + 100))"
# mostly garbage: 100 good lines, 150 garbage ones (60 %)
{ cat "$T/head.jsonl"; head -150 "$T/rand.bin"; } >"$T/mostly.jsonl"
run mostly --db "$T/g1.db" "$T/mostly.jsonl"
check "60 % bad lines: exit 65 (default --max-bad-ratio 0.5)" "$rc" 65
has mostly "input $T/mostly.jsonl: 250 lines, 100 usable records, 150 bad ("
has mostly "; more than 50% bad (--max-bad-ratio 0.5): exit 65"
check "60 % bad: summary's exact bad count" "$(summary mostly)" "250 lines, 150 bad"
check "60 % bad: the good lines still committed" "$(events "$T/g1.db")" 100
run mostly7 --db "$T/g2.db" --max-bad-ratio 0.7 "$T/mostly.jsonl"
check "60 % bad with --max-bad-ratio 0.7: exit 0" "$rc" 0
run mostly150 --db "$T/g3.db" --max-bad-ratio 1 --max-bad 150 "$T/mostly.jsonl"
check "150 bad with --max-bad 150 --max-bad-ratio 1: exit 0" "$rc" 0
run mostly149 --db "$T/g4.db" --max-bad-ratio 1 --max-bad 149 "$T/mostly.jsonl"
check "150 bad with --max-bad 149: exit 65" "$rc" 65
printf 'db = %s\nmax-bad-ratio = 0.7\n' "$T/g5.db" >"$T/c.conf"
run conf -c "$T/c.conf" "$T/mostly.jsonl"
check "max-bad-ratio from a config file: exit 0" "$rc" 0
finish
