#!/usr/bin/env bash
# pg_faults.sh - PostgreSQL connection faults: a server restarted mid-run (the batch is retried), a server that stays down, a refused login, a missing permission (clear errors naming the server and statement, exit 74/73); a rerun completes with nothing lost or doubled.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.bash"
pg_start
IN=(--no-analyze --node basic --batch-rows 3000 --commit-ms 3600000 "$DATA/basic/slog.jsonl.gz" "$DATA/basic/swingstore.sqlite")

C=$(pg_url clean)
"$SP" ingest -q --db "$C" "${IN[@]}"
pg_canon "$C" >"$T/clean.txt"

# wait_stopped PID: until the process stopped itself at a `stop` fault point (state T)
wait_stopped() {
  for _ in $(seq 600); do
    [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# 1. The server restarts while the run is stopped just before its 3rd commit: the commit
#    finds the connection gone, reconnects and sends the whole batch again.
R=$(pg_url restart)
SLOGPIPE_FAILPOINT=commit.before:3:stop "$SP" ingest --db "$R" "${IN[@]}" 2>"$T/r.err" &
pid=$!
if wait_stopped $pid; then ok "run stopped before its 3rd commit"; else bad "run did not stop at commit.before:3"; fi
pg_restart
kill -CONT $pid
rc=0; wait $pid || rc=$?
check "run across a server restart exits 0" "$rc" 0
check "the restart was retried, said once" "$(grep -c 'retrying the batch' "$T/r.err")" 1
pg_canon "$R" >"$T/r.txt"
if cmp -s "$T/clean.txt" "$T/r.txt"; then ok "run across a restart equals a clean run"; else
  bad "run across a restart differs"; diff "$T/clean.txt" "$T/r.txt" | head -5; fi

# 2. The server stops and stays down: the run gives up after SLOGPIPE_PG_RETRY_SECONDS with
#    exit 74 and a message naming the server and the statement; nothing of the batch lands.
D=$(pg_url down)
SLOGPIPE_PG_RETRY_SECONDS=1 SLOGPIPE_FAILPOINT=commit.before:2:stop "$SP" ingest --db "$D" "${IN[@]}" 2>"$T/d.err" &
pid=$!
wait_stopped $pid || bad "run did not stop at commit.before:2"
done_before=$(pq "$D" "SELECT line FROM checkpoints WHERE source LIKE '%slog.jsonl.gz'")
pg_stop
kill -CONT $pid
rc=0; wait $pid || rc=$?
check "server down: exit 74" "$rc" 74
if grep -q "postgresql host=$PG_DIR port=5432 dbname=down" "$T/d.err" && grep -Eq "connect|begin|COPY|upsert" "$T/d.err"; then
  ok "server down: the error names the server and what failed ($(tail -1 "$T/d.err" | cut -c1-200))"
else bad "server down: unclear error: $(cat "$T/d.err" | tail -3)"; fi
pg_ctl_start
check "server down: the checkpoint is still the first commit's" \
  "$(pq "$D" "SELECT line FROM checkpoints WHERE source LIKE '%slog.jsonl.gz'")" "$done_before"
check "server down: no rows past that checkpoint" \
  "$(pq "$D" "SELECT count(*) FROM slog_events WHERE line > $done_before")" 0
"$SP" ingest -q --db "$D" "${IN[@]}"
pg_canon "$D" >"$T/d.txt"
if cmp -s "$T/clean.txt" "$T/d.txt"; then ok "server down: the rerun completes, nothing lost or doubled"; else
  bad "server down: rerun differs"; diff "$T/clean.txt" "$T/d.txt" | head -5; fi

# 3. A refused login (no such role): exit 73 at open, the server named, no retry.
rc=0
"$SP" ingest -q --db "postgresql://nobody@/clean?host=$PG_DIR" "${IN[@]}" 2>"$T/a.err" || rc=$?
check "refused login: exit 73" "$rc" 73
if grep -q "user=nobody" "$T/a.err" && grep -q 'role "nobody" does not exist' "$T/a.err"; then ok "refused login: server, user and reason named"; else
  bad "refused login: $(cat "$T/a.err")"; fi

# 4. A role that may read but not write: the commit fails at once (no retry) with the
#    statement and SQLSTATE 42501; the checkpoint does not move.
pq "$C" "CREATE ROLE reader LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader" >/dev/null
"$SP" ingest -q --db "$C" --no-analyze --node basic "$DATA/node2/slog.jsonl.gz" >/dev/null 2>&1 || true
before=$(pq "$C" "SELECT count(*) FROM slog_events")
rc=0
SLOGPIPE_PG_RETRY_SECONDS=30 "$SP" ingest -q --no-analyze --db "postgresql://reader@/clean?host=$PG_DIR" --node other \
  "$DATA/node2/slog.jsonl.gz" 2>"$T/p.err" || rc=$?
check "no permission: exit 74" "$rc" 74
if grep -q "permission denied" "$T/p.err" && grep -q "42501" "$T/p.err" && ! grep -q retrying "$T/p.err"; then
  ok "no permission: statement and SQLSTATE named, not retried ($(grep -m1 -o '[^:]*: permission denied[^(]*' "$T/p.err"))"
else bad "no permission: $(cat "$T/p.err")"; fi
check "no permission: nothing written" "$(pq "$C" "SELECT count(*) FROM slog_events")" "$before"
check "no permission: no checkpoint for the refused node" "$(pq "$C" "SELECT count(*) FROM checkpoints WHERE node = 'other'")" 0

finish
