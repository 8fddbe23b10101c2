#!/usr/bin/env bash
# torture_open_race.sh - #22 item 9: instances opening one new database at once wait for each other's creation/migration instead of exiting 73.
. "$(dirname "$0")/lib.sh"
gzip -dc "$DATA/basic/slog.jsonl.gz" > "$T/a.all"; head -n 3000 "$T/a.all" > "$T/a.jsonl"
gzip -dc "$DATA/node2/slog.jsonl.gz" > "$T/b.all"; head -n 3000 "$T/b.all" > "$T/b.jsonl"
NA=$(grep -c . "$T/a.jsonl"); NB=$(grep -c . "$T/b.jsonl")

echo "two instances started together on a new database, 20 times"
fails=0
for i in $(seq 20); do
  db="$T/r$i.db"
  "$SP" ingest -q --db "$db" --node a "$T/a.jsonl" 2>"$T/ea$i" & p1=$!
  "$SP" ingest -q --db "$db" --node b "$T/b.jsonl" 2>"$T/eb$i" & p2=$!
  r1=0; wait "$p1" || r1=$?
  r2=0; wait "$p2" || r2=$?
  got=$(q "$db" "SELECT group_concat(node || ':' || n) FROM (SELECT node, count(*) n FROM slog_events GROUP BY node ORDER BY node)" 2>&1)
  if [ "$r1$r2" != 00 ] || [ "$got" != "a:$NA,b:$NB" ]; then
    fails=$((fails + 1)); echo "try $i: exits $r1 $r2, rows $got: $(cat "$T/ea$i" "$T/eb$i" | head -c 400)"
  fi
done
check "20 races: both instances exit 0 with all their rows" "$fails" 0

echo "one instance stopped inside its migration: the other waits for it"
db="$T/m.db"
SLOGPIPE_FAILPOINT=sqlite.migration:1:stop "$SP" ingest -q --db "$db" --node a "$T/a.jsonl" 2>"$T/ma" & pa=$!
# wait until it has stopped at the fault point (it says so on stderr first)
for _ in $(seq 200); do grep -q "failpoint sqlite.migration:1" "$T/ma" && break; sleep 0.05; done
grep -q "failpoint sqlite.migration:1" "$T/ma" && ok "first instance stopped inside its migration" || bad "first instance did not stop: $(cat "$T/ma")"
"$SP" ingest -q --db "$db" --node b "$T/b.jsonl" 2>"$T/mb" & pb=$!
kill -CONT "$pa"
ra=0; wait "$pa" || ra=$?
rb=0; wait "$pb" || rb=$?
check "migrating instance: exit 0" "$ra" 0
check "instance that opened during the migration: exit 0 (not 73)" "$rb" 0
check "both inputs stored" "$(q "$db" "SELECT group_concat(node || ':' || n) FROM (SELECT node, count(*) n FROM slog_events GROUP BY node ORDER BY node)")" "a:$NA,b:$NB"
check "schema complete" "$(q "$db" "PRAGMA user_version")" "$(ls "$DATA/../../schemas/sqlite/"*.sql | wc -l)"
check "integrity" "$(q "$db" "PRAGMA integrity_check")" ok
finish
