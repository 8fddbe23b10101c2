#!/usr/bin/env bash
# torture_diskfull.sh - outputs on a full filesystem (a 2 MiB tmpfs, then grown) and on /dev/full: clear error, non-zero exit, no corruption, and the rerun with space gives the clean run's result.
. "$(dirname "$0")/lib.sh"
IN="$DATA/basic/slog.jsonl.gz"
M="$T/mnt"
mkdir -p "$M"
if ! mount -t tmpfs -o size=2m tmpfs "$M" 2>/dev/null; then
  echo "SKIP: cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)"; exit 77
fi
trap 'umount "$M" 2>/dev/null; rm -rf "$T"' EXIT

"$SP" ingest -q --db "$T/ref.db" --jsonl "$T/ref.jsonl" --node n1 "$IN"
canon "$T/ref.db" >"$T/ref.txt"

# 1. SQLite database on a 2 MiB filesystem (the result needs ~5.5 MB).
set +e
"$SP" ingest -q --db "$M/full.db" --node n1 --batch-rows 2000 "$IN" 2>"$T/e1"
rc=$?
set -e
echo "exit $rc: $(head -c 300 "$T/e1")"
check "database on a full disk: exit 74" "$rc" 74
check "the error says the disk is full" "$(grep -ciE 'full|no space' "$T/e1" | head -1 | sed 's/[1-9][0-9]*/yes/')" yes
check "no sanitizer or crash report" "$(grep -cE 'Sanitizer|runtime error|Segmentation' "$T/e1" || true)" 0
check "the database left on the full disk passes integrity_check" "$(q "$M/full.db" 'PRAGMA integrity_check' 2>&1)" ok
kept=$(q "$M/full.db" "SELECT count(*) FROM slog_events")
echo "rows committed before the disk filled: $kept"
check "the commits before the disk filled are kept" "$([ "$kept" -gt 0 ] && echo yes)" yes
mount -o remount,size=64m "$M"
"$SP" ingest -q --db "$M/full.db" --node n1 --batch-rows 2000 "$IN"
canon "$M/full.db" >"$T/full.txt"
if cmp -s "$T/ref.txt" "$T/full.txt"; then ok "rerun with space: database identical to a clean run"; else
  bad "rerun after disk full differs"; diff "$T/ref.txt" "$T/full.txt" | head -5; fi
rm -f "$M"/full.db*

# 2. JSONL output on the full filesystem, database elsewhere.
mount -o remount,size=2m "$M"
set +e
"$SP" ingest -q --db "$T/j.db" --jsonl "$M/out.jsonl" --node n1 --batch-rows 2000 "$IN" 2>"$T/e2"
rc=$?
set -e
echo "exit $rc: $(head -c 300 "$T/e2")"
check "JSONL on a full disk: exit 74" "$rc" 74
check "the JSONL error says the disk is full" "$(grep -ciE 'full|no space' "$T/e2" | head -1 | sed 's/[1-9][0-9]*/yes/')" yes
check "database beside the failed JSONL passes integrity_check" "$(q "$T/j.db" 'PRAGMA integrity_check')" ok
mount -o remount,size=64m "$M"
"$SP" ingest -q --db "$T/j.db" --jsonl "$M/out.jsonl" --node n1 --batch-rows 2000 "$IN"
if cmp -s "$T/ref.jsonl" "$M/out.jsonl"; then ok "rerun with space: JSONL identical to a clean run"; else
  bad "JSONL after disk full differs ($(wc -l <"$M/out.jsonl") vs $(wc -l <"$T/ref.jsonl") lines)"; fi
canon "$T/j.db" >"$T/j.txt"
if cmp -s "$T/ref.txt" "$T/j.txt"; then ok "rerun with space: database identical to a clean run"; else
  bad "database after JSONL disk full differs"; diff "$T/ref.txt" "$T/j.txt" | head -5; fi

# 3. JSONL on /dev/full (every write fails with ENOSPC), alone and beside a database.
for db in "" "$T/d.db"; do
  set +e
  "$SP" ingest -q --db "$db" --jsonl /dev/full --node n1 "$IN" 2>"$T/e3"
  rc=$?
  set -e
  echo "db '${db}': exit $rc: $(head -c 200 "$T/e3")"
  check "JSONL on /dev/full (db '${db##*/}'): exit 74" "$rc" 74
  check "JSONL on /dev/full (db '${db##*/}'): message names the output and the error" \
    "$(grep -c '/dev/full.*No space left' "$T/e3" | sed 's/[1-9][0-9]*/yes/')" yes
done
check "no checkpoint was stored past the lost JSONL rows" "$(q "$T/d.db" 'SELECT count(*) FROM checkpoints')" 0
finish
