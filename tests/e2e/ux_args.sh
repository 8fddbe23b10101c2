#!/usr/bin/env bash
# ux_args.sh - query/report/extract command lines: --help, usage errors (64), missing DB (66), foreign DB (65).
set -euo pipefail
BUILD=${1:?BUILD_DIR}
DATA=${2:?DATA_DIR}
SP="$BUILD/slogpipe"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect CODE PATTERN ARGS...: run slogpipe, want exit CODE and PATTERN (grep -E) on stderr, nothing on stdout.
expect() {
    local code=$1 pat=$2 rc=0; shift 2
    "$SP" "$@" > "$T/out" 2> "$T/err" || rc=$?
    [ "$rc" = "$code" ] || fail "slogpipe $*: exit $rc, expected $code (stderr: $(head -2 "$T/err"))"
    grep -qE -- "$pat" "$T/err" || fail "slogpipe $*: stderr lacks /$pat/: $(head -3 "$T/err")"
    [ ! -s "$T/out" ] || fail "slogpipe $*: wrote to stdout on error"
}

"$SP" ingest -q --db "$T/basic.db" --node basic "$DATA/basic/swingstore.sqlite" || fail "ingest"
DB="$T/basic.db"

echo "--help goes to stdout with exit 0"
for cmd in query report extract; do
    "$SP" $cmd --help > "$T/help" 2> "$T/err" || fail "$cmd --help exited $?"
    grep -q "^usage: slogpipe $cmd " "$T/help" || fail "$cmd --help text"
    [ ! -s "$T/err" ] || fail "$cmd --help wrote to stderr"
done
grep -q 'schedule' <("$SP" query --help) || fail "query --help lists the reports"

echo "usage errors: exit 64 with a message"
expect 64 'no REPORT given' query --db "$DB"
expect 64 "unknown report 'nosuch'" query --db "$DB" nosuch
expect 64 -- '--db FILE is required' query vats
expect 64 'choose one of --json and --csv' query --db "$DB" vats --json --csv
expect 64 "--vat does not apply to 'blocks'" query --db "$DB" blocks --vat v1
expect 64 "bad vat ID 'x1'" query --db "$DB" vats --vat x1
expect 64 "unexpected argument 'extra'" query --db "$DB" vats extra
expect 64 'unrecognized option' query --db "$DB" vats --bogus
expect 64 -- '--db and -o are required' report --db "$DB"
expect 64 "unexpected argument 'x'" report --db "$DB" -o "$T/r.html" x
expect 64 -- '--db, --vat and -o are required' extract --db "$DB" --vat v1
expect 64 "bad value 'abc' for --span" extract --db "$DB" --vat v1 --span abc -o "$T/x"
expect 64 "bad value '-1' for --incarnation" extract --db "$DB" --vat v1 --incarnation -1 -o "$T/x"
expect 64 -- '--span and --incarnation do not mix' extract --db "$DB" --vat v1 --span 0 --incarnation 0 -o "$T/x"
expect 64 "bad vat ID '../v1'" extract --db "$DB" --vat ../v1 -o "$T/x"

echo "missing database: exit 66, and nothing is created"
expect 66 'nope.db: No such file or directory' query --db "$T/nope.db" vats
expect 66 'nope.db: No such file or directory' report --db "$T/nope.db" -o "$T/r.html"
expect 66 'nope.db: No such file or directory' extract --db "$T/nope.db" --vat v1 -o "$T/x"
[ ! -e "$T/nope.db" ] && [ ! -e "$T/r.html" ] && [ ! -e "$T/x" ] || fail "a failed command created files"
expect 66 'not a regular file' query --db "$T" vats

echo "not a slogpipe database: exit 65"
head -c 4096 /dev/urandom > "$T/garbage.db"
expect 65 'file is not a database' query --db "$T/garbage.db" vats
sqlite3 "$T/foreign.db" "CREATE TABLE t (x)"
expect 65 'no such (table|view): v_vats' query --db "$T/foreign.db" vats
expect 65 "re-run 'slogpipe ingest'" report --db "$T/foreign.db" -o "$T/r.html"
[ ! -e "$T/r.html" ] && [ ! -e "$T/r.html.tmp" ] || fail "failed report left a file"
expect 65 'no such table: transcript_spans' extract --db "$T/foreign.db" --vat v1 -o "$T/x"
echo "ok"
