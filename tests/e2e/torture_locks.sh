#!/usr/bin/env bash
# torture_locks.sh - the output database locked by another process (sqlite3 holding BEGIN EXCLUSIVE): wait and succeed when the lock goes within the busy timeout, else a clear "locked" error; never corruption.
. "$(dirname "$0")/lib.sh"
IN="$DATA/basic/slog.jsonl.gz"
"$SP" ingest -q --db "$T/ref.db" --node n1 "$IN"
canon "$T/ref.db" >"$T/ref.txt"

# hold DB SECONDS: another process keeps an exclusive write transaction open for SECONDS
hold() {
  ( printf '.timeout 30000\nBEGIN EXCLUSIVE;\nSELECT 1;\n'; sleep "$2"; printf 'COMMIT;\n' ) | sqlite3 -batch "$1" >/dev/null &
  holder=$!
  sleep 0.5 # the lock is taken
}

# The database exists (schema applied by a run over nothing new) before another writer locks it.
"$SP" ingest -q --db "$T/x.db" --node n1 --no-analyze /dev/null 2>/dev/null || true
check "an empty database was created" "$(q "$T/x.db" 'PRAGMA journal_mode')" wal

# 1. Locked for 3 s (busy timeout is 10 s): the ingest waits, then succeeds.
hold "$T/x.db" 3
start=$(date +%s)
set +e
"$SP" ingest -q --db "$T/x.db" --node n1 "$IN" 2>"$T/e1"
rc=$?
set -e
waited=$(($(date +%s) - start))
wait "$holder"
check "a lock held 3 s is waited for: exit 0" "$rc" 0
echo "(took ${waited}s)"
canon "$T/x.db" >"$T/x.txt"
if cmp -s "$T/ref.txt" "$T/x.txt"; then ok "after waiting: database identical to a clean run"; else
  bad "database after waiting differs"; diff "$T/ref.txt" "$T/x.txt" | head -5; fi

# 2. Locked for longer than the busy timeout: clear error, non-zero exit, nothing broken.
rm -f "$T/y.db"*
"$SP" ingest -q --db "$T/y.db" --node n1 --no-analyze /dev/null 2>/dev/null || true
hold "$T/y.db" 14
set +e
"$SP" ingest -q --db "$T/y.db" --node n1 "$IN" 2>"$T/e2"
rc=$?
set -e
wait "$holder"
echo "exit $rc: $(head -c 300 "$T/e2")"
check "a lock held past the busy timeout: exit 73 or 74" "$(case $rc in 73|74) echo yes;; *) echo "no ($rc)";; esac)" yes
check "the error says the database is locked" "$(grep -ciE 'locked|busy' "$T/e2" | sed 's/[1-9][0-9]*/yes/')" yes
check "no crash report" "$(grep -cE 'Sanitizer|runtime error|Segmentation' "$T/e2" || true)" 0
check "the database passes integrity_check" "$(q "$T/y.db" 'PRAGMA integrity_check')" ok
"$SP" ingest -q --db "$T/y.db" --node n1 "$IN"
canon "$T/y.db" >"$T/y.txt"
if cmp -s "$T/ref.txt" "$T/y.txt"; then ok "once the lock is gone, a rerun gives the clean database"; else
  bad "database after the lock differs"; diff "$T/ref.txt" "$T/y.txt" | head -5; fi

# 3. Another writer takes the lock between two of our commits, for 3 s: we wait and go on.
rm -f "$T/z.db"*
"$SP" ingest -q --db "$T/z.db" --node n1 --batch-rows 500 --commit-ms 50 "$IN" 2>"$T/e3" &
pid=$!
sleep 0.7
hold "$T/z.db" 3
set +e
wait "$pid"
rc=$?
set -e
wait "$holder"
check "a lock taken between commits is waited for: exit 0" "$rc" 0
canon "$T/z.db" >"$T/z.txt"
if cmp -s "$T/ref.txt" "$T/z.txt"; then ok "database identical to a clean run"; else
  bad "database after a mid-run lock differs"; diff "$T/ref.txt" "$T/z.txt" | head -5; fi
finish
