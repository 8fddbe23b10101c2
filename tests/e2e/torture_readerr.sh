#!/usr/bin/env bash
# torture_readerr.sh - inputs that fail while being read (FIFO whose writer dies, file truncated or removed mid-run, flight recorder shorter than its header, a read returning EIO): counted with a clear message, never a crash; lines read before the failure are kept.
. "$(dirname "$0")/lib.sh"
GZ="$DATA/basic/slog.jsonl.gz"
zcat "$GZ" >"$T/plain.jsonl"
noise() { grep -cE 'Sanitizer|runtime error|Segmentation|Aborted' "$1" || true; }

# 1. FIFO whose writer is killed mid-line: complete lines stored, the cut line dead-lettered.
mkfifo "$T/fifo"
cut=300000
{ ( head -c "$cut" "$T/plain.jsonl"; kill -9 "$BASHPID" ) >"$T/fifo" & } 2>/dev/null
set +e
"$SP" ingest -q --db "$T/f.db" --node n1 --strict "$T/fifo" 2>"$T/e1"
rc=$?
set -e
wait 2>/dev/null || true
full=$(head -c "$cut" "$T/plain.jsonl" | tr -cd '\n' | wc -c)
check "FIFO cut by a dying writer: --strict exit 65" "$rc" 65
check "every complete line before the cut is stored" "$(q "$T/f.db" 'SELECT count(*) FROM slog_events')" "$full"
check "the cut line is dead-lettered with its location" \
  "$(q "$T/f.db" "SELECT count(*) FROM ingest_errors WHERE line = $((full + 1)) AND reason LIKE '%premature EOF%'")" 1
check "no crash report (FIFO)" "$(noise "$T/e1")" 0

# 2. gzip through a FIFO whose writer dies: "truncated gzip data" at an offset, lines before kept.
mkfifo "$T/fifo2"
{ ( head -c 500000 "$GZ"; kill -9 "$BASHPID" ) >"$T/fifo2" & } 2>/dev/null
set +e
"$SP" ingest -q --db "$T/g.db" --node n1 "$T/fifo2" 2>"$T/e2"
rc=$?
set -e
wait 2>/dev/null || true
check "truncated gzip stream: exit 0 without --strict" "$rc" 0
check "truncated gzip stream: dead-lettered as truncated gzip data" \
  "$(q "$T/g.db" "SELECT count(*) FROM ingest_errors WHERE reason LIKE '%truncated gzip data at uncompressed offset%'")" 1
check "truncated gzip stream: every complete line before the cut is stored" \
  "$(q "$T/g.db" 'SELECT count(*) FROM slog_events')" "$(head -c 500000 "$GZ" | { zcat 2>/dev/null || true; } | tr -cd '\n' | wc -c)"
check "no crash report (gzip FIFO)" "$(noise "$T/e2")" 0

# 3. A file truncated while it is being read (plain and gzip): no crash, a sound database,
#    never more rows than lines, and the restored file then completes the database.
for kind in plain gz; do
  if [ $kind = plain ]; then cp "$T/plain.jsonl" "$T/t.in"; else cp "$GZ" "$T/t.in"; fi
  "$SP" ingest -q --db "$T/t.db" --node n1 --batch-rows 1000 --no-analyze "$T/t.in" 2>"$T/e3" &
  pid=$!
  sleep 0.3
  truncate -s 1000000 "$T/t.in"
  set +e
  wait "$pid"
  rc=$?
  set -e
  echo "$kind truncated mid-read: exit $rc, $(q "$T/t.db" 'SELECT count(*) FROM slog_events') rows; $(head -c 200 "$T/e3")"
  check "$kind truncated mid-read: exit 0 or a clean failure" "$(case $rc in 0|65|66|74) echo yes;; *) echo "no ($rc)";; esac)" yes
  check "$kind truncated mid-read: no crash report" "$(noise "$T/e3")" 0
  check "$kind truncated mid-read: integrity ok" "$(q "$T/t.db" 'PRAGMA integrity_check')" ok
  rm -f "$T/t.db"*
done

# 4. An input removed while an earlier one is being read: named in a warning, the others ingested.
cp "$GZ" "$T/gone.gz"
"$SP" ingest -q --db "$T/r.db" --node n1 --no-analyze "$GZ" "$T/gone.gz" 2>"$T/e4" &
pid=$!
rm -f "$T/gone.gz"
set +e
wait "$pid"
rc=$?
set -e
check "removed input: exit 66 (counted, the other input still ingested)" "$rc" 66
check "removed input: the warning names it" "$(grep -c 'gone.gz' "$T/e4" | sed 's/[1-9][0-9]*/yes/')" yes
check "removed input: dead-lettered" "$(q "$T/r.db" "SELECT count(*) FROM ingest_errors WHERE source LIKE '%gone.gz'")" 1
check "removed input: the first input is complete" "$(q "$T/r.db" 'SELECT count(*) FROM slog_events')" 24851

# 5. A flight recorder shorter than its header says, and a source whose read fails with EIO.
head -c 4096 "$DATA/basic/flight-recorder.bin" >"$T/short.bin"
set +e
"$SP" ingest -q --db "$T/s.db" --node n1 --strict "$T/short.bin" /proc/self/mem 2>"$T/e5"
rc=$?
set -e
cat "$T/e5"
check "short flight recorder + EIO source: exit 66 (unreadable outranks bad data)" "$rc" 66
check "short flight recorder: dead-lettered" "$(q "$T/s.db" "SELECT count(*) FROM ingest_errors WHERE source LIKE '%short.bin'" )" 1
check "EIO source: named with the error" "$(grep -c '/proc/self/mem: Input/output error' "$T/e5")" 1
check "no crash report (short ring, EIO)" "$(noise "$T/e5")" 0
finish
