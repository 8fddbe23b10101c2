#!/usr/bin/env bash
# ingest_follow.sh - --follow: events visible within about a second, rotation, truncation, restart resumes, metrics.
. "$(dirname "$0")/lib.sh"
(zcat "$DATA/basic/slog.jsonl.gz" || true) | head -3000 >"$T/src.jsonl" || true
F="$T/live.jsonl"
: >"$F"
# count DB rows (0 while the file does not exist yet)
rows() { q "$T/f.db" "SELECT count(*) FROM slog_events" 2>/dev/null || echo 0; }
# wait_rows N: up to 3 s for the database to show N rows; prints the seconds it took
wait_rows() {
  local start=$(date +%s%N) now
  while [ "$(rows)" != "$1" ]; do
    now=$(date +%s%N)
    if [ $(( (now - start) / 1000000 )) -gt 3000 ]; then echo timeout; return; fi
    sleep 0.05
  done
  now=$(date +%s%N); echo $(( (now - start) / 1000000 ))
}

"$SP" ingest --follow --db "$T/f.db" --node live --metrics-file "$T/m.prom" --metrics-listen 127.0.0.1:0 "$F" 2>"$T/log" &
pid=$!
sed -n 1,1000p "$T/src.jsonl" >>"$F"
ms=$(wait_rows 1000)
check "appended lines are committed within ~1 s (took ${ms} ms)" "$([ "$ms" != timeout ] && [ "$ms" -le 2000 ] && echo yes)" yes
# a partial last line waits for its newline
sed -n 1001p "$T/src.jsonl" | head -c 40 >>"$F"
sleep 1.3
check "a partial line is not read" "$(rows)" 1000
sed -n 1001p "$T/src.jsonl" | tail -c +41 >>"$F"
ms=$(wait_rows 1001)
check "the line completes when its newline arrives" "$([ "$ms" != timeout ] && echo yes)" yes

# rotation: the file is renamed and a new one starts
mv "$F" "$F.1"
sed -n 1002,1500p "$T/src.jsonl" >"$F"
ms=$(wait_rows 1500)
check "rotation: the new file is followed" "$([ "$ms" != timeout ] && echo yes)" yes

# metrics: file and HTTP endpoint
grep -q '^slogpipe_lines_total 1500' "$T/m.prom" && ok "metrics file counts lines" || bad "metrics file: $(grep lines_total "$T/m.prom")"
port=$(sed -n 's#.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*#\1#p' "$T/log")
if [ -n "$port" ] && exec 3<>"/dev/tcp/127.0.0.1/$port"; then
  printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
  body=$(cat <&3); exec 3>&-
  echo "$body" | grep -q 'slogpipe_events_total{type="deliver"}' && ok "metrics over HTTP" || bad "HTTP metrics: ${body:0:200}"
  echo "$body" | grep -q 'slogpipe_commit_seconds_count' && ok "commit latency exported" || bad "no commit latency"
else
  bad "metrics endpoint not reachable (port '$port')"
fi

# SIGTERM: finish the batch, commit, exit 0
kill -TERM $pid
wait $pid; rc=$?
check "SIGTERM: clean exit" "$rc" 0

# restart: resumes after its checkpoint (no duplicates), then follows new lines
sed -n 1501,2000p "$T/src.jsonl" >>"$F"
"$SP" ingest --follow --db "$T/f.db" --node live "$F" 2>>"$T/log" &
pid=$!
ms=$(wait_rows 2000)
check "restart resumes from the checkpoint, no duplicates" "$([ "$ms" != timeout ] && echo yes)" yes
# truncation: the file is cut and rewritten
: >"$F"
sed -n 2001,2100p "$T/src.jsonl" >"$F"
ms=$(wait_rows 2100)
check "truncation: the new contents are read" "$([ "$ms" != timeout ] && echo yes)" yes
kill -TERM $pid; wait $pid || true
check "no bad input" "$(q "$T/f.db" "SELECT count(*) FROM ingest_errors")" 0
finish
