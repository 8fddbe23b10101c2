#!/usr/bin/env bash
# metrics_prometheus.sh - a real Prometheus scrapes a follower: lag rises as lines arrive and returns to 0, lines/s > 0, nothing negative; promtool lints /metrics and the README's alert rules.
. "$(dirname "$0")/lib.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
for tool in prometheus promtool python3; do
  if ! command -v "$tool" >/dev/null; then
    skip "$tool not installed (scripts/deps.sh --test installs it)"
    finish
    exit $?
  fi
done

PROM_PID=""
FOL_PID=""
# stop what this test started (by pid), then remove the temp dir
cleanup() {
  for p in $FOL_PID $PROM_PID; do
    kill -CONT "$p" 2>/dev/null || true
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in $FOL_PID $PROM_PID; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

# Oracles: the lines and bytes appended, counted here with zcat/wc/stat.
zcat "$DATA/basic/slog.jsonl.gz" >"$T/chunk.jsonl"
CHUNK_LINES=$(wc -l <"$T/chunk.jsonl")
F="$T/live.jsonl"
: >"$F"

# GET http://127.0.0.1:PORT/PATH, body on stdout (python3: no curl needed)
http_get() {
  python3 - "$1" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    sys.stdout.write(r.read().decode())
PY
}
# pq EXPR: an instant query to Prometheus; one line per series: "{labels} value"
pq() {
  python3 - "http://127.0.0.1:$PPORT/api/v1/query" "$1" <<'PY'
import json, sys, urllib.error, urllib.parse, urllib.request
url = sys.argv[1] + "?" + urllib.parse.urlencode({"query": sys.argv[2]})
try:
    with urllib.request.urlopen(url, timeout=10) as r:
        d = json.load(r)
except urllib.error.HTTPError as e:  # a bad query: printed, so that the check using it fails
    print("query error %s: %s" % (e.code, e.read().decode()[:300]))
    sys.exit(0)
except OSError as e:
    print("query error: %s" % e)
    sys.exit(0)
res = d["data"]["result"]
if d["data"]["resultType"] == "scalar":
    res = [{"metric": {}, "value": res}]
for s in res:
    labels = ",".join('%s="%s"' % kv for kv in sorted(s["metric"].items()))
    print("{%s} %s" % (labels, s["value"][1]))
PY
}
# pv EXPR: the value of a one-series query ("" when there is none)
pv() { pq "$1" | head -1 | sed 's/.* //'; }
# until_true SECONDS CMD...: run CMD every 0.5 s until it succeeds or SECONDS pass
until_true() {
  local end=$(($(date +%s) + $1))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.5
  done
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The follower, on an empty file. --batch-rows 1: a commit (and a metrics
# update) per record, so it reads slower than `cat` appends.
"$SP" ingest --follow --batch-rows 1 --db "$T/f.db" --node live --metrics-listen 127.0.0.1:0 "$F" 2>"$T/follow.log" &
FOL_PID=$!
until_true 60 grep -q 'metrics on http://' "$T/follow.log" || bad "follower did not start: $(cat "$T/follow.log")"
MPORT=$(sed -n 's#.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*#\1#p' "$T/follow.log")

# promtool: the endpoint as the follower starts (no series yet) passes the linter
http_get "http://127.0.0.1:$MPORT/metrics" >"$T/m0.prom"
lint=$(promtool check metrics <"$T/m0.prom" 2>&1) && rc=0 || rc=$?
check "promtool check metrics: idle follower, no lint problem" "$rc:$lint" "0:"

# The README's alert rules, extracted: promtool checks them, Prometheus loads them.
python3 - "$REPO/README.md" >"$T/rules.yml" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"<!-- alert rules -->\s*```yaml\n(.*?)```", text, re.S)
sys.stdout.write(m.group(1) if m else "")
PY
check "README has alert rules" "$(grep -c 'alert: Slogpipe' "$T/rules.yml")" 3
out=$(promtool check rules "$T/rules.yml" 2>&1) && rc=0 || rc=$?
check "promtool check rules: the README's rules" "$rc" 0
[ "$rc" = 0 ] || echo "$out"

# What the rules decide, on made-up series (promtool test rules): a file
# that stays 100 MB behind and a partition 50000 messages behind fire after
# their 5 minutes, one that catches up every other minute never does; a
# counter that stopped fires "not reading", one that moves does not.
saw=$(for _ in $(seq 20); do printf '100000000 0 '; done)
cat >"$T/rules_test.yml" <<EOF
rule_files: ['$T/rules.yml']
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'slogpipe_source_lag_bytes{job="slogpipe",instance="behind",source="s"}'
        values: '100000000+0x40'
      - series: 'slogpipe_source_lag_bytes{job="slogpipe",instance="keeps-up",source="s"}'
        values: '$saw'
      - series: 'slogpipe_partition_lag_messages{job="slogpipe",instance="kbehind",topic="slog",partition="3"}'
        values: '50000+100x40'
      - series: 'slogpipe_read_bytes_total{job="slogpipe",instance="reading"}'
        values: '0+1000x40'
      - series: 'slogpipe_read_bytes_total{job="slogpipe",instance="stuck"}'
        values: '5000+0x40'
      - series: 'up{job="slogpipe",instance="down"}'
        values: '0x40'
      - series: 'up{job="slogpipe",instance="reading"}'
        values: '1x40'
    alert_rule_test:
      - eval_time: 3m
        alertname: SlogpipeFallingBehind
        exp_alerts: []
      - eval_time: 30m
        alertname: SlogpipeFallingBehind
        exp_alerts:
          - exp_labels: {job: slogpipe, instance: behind, source: s}
            exp_annotations: {summary: "slogpipe behind: s at least 100M bytes behind for 15 minutes"}
          - exp_labels: {job: slogpipe, instance: kbehind, topic: slog, partition: "3"}
            exp_annotations: {summary: "slogpipe kbehind: slog/3 at least 51.5k messages behind for 15 minutes"}
      - eval_time: 30m
        alertname: SlogpipeNotReading
        exp_alerts:
          - exp_labels: {job: slogpipe, instance: stuck}
            exp_annotations: {summary: "slogpipe stuck has read nothing for 15 minutes"}
      - eval_time: 30m
        alertname: SlogpipeDown
        exp_alerts:
          - exp_labels: {job: slogpipe, instance: down}
            exp_annotations: {summary: "slogpipe down does not answer /metrics"}
EOF
out=$(promtool test rules "$T/rules_test.yml" 2>&1) && rc=0 || rc=$?
check "promtool test rules: the README's alerts fire when they should, and only then" "$rc" 0
[ "$rc" = 0 ] || echo "$out"

# A real Prometheus in the temp dir, on a loopback port, scraping every second.
PPORT=$(free_port)
cat >"$T/prom.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: ['$T/rules.yml']
scrape_configs:
  - job_name: slogpipe
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF
prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/tsdb" --web.listen-address="127.0.0.1:$PPORT" \
  >"$T/prom.log" 2>&1 &
PROM_PID=$!
up_is_1() { [ "$(pv 'up{job="slogpipe"}' 2>/dev/null)" = 1 ]; }
if ! until_true 60 up_is_1; then
  bad "Prometheus does not scrape the follower"
  tail -20 "$T/prom.log"
  finish
  exit 1
fi
ok "Prometheus scrapes the follower"
check "idle follower: lag 0 on an empty file" "$(pv 'slogpipe_source_lag_bytes')" 0

# Lines arrive faster than they are read: the follower is stopped while a
# chunk is appended (Prometheus sees it down: it was stopped long enough),
# then continued; it reads the backlog, committing record by record, while
# Prometheus scrapes. Until Prometheus has seen a positive lag (a few
# rounds at most; a round lasts a few seconds).
lag_seen() { [ "$(pv 'max_over_time(slogpipe_source_lag_bytes[10m]) > 0')" != "" ]; }
rounds=0
down_seen() { [ "$(pv 'up{job="slogpipe"}' 2>/dev/null)" = 0 ]; }
caught_up() {
  [ "$(pv "slogpipe_lines_total == $((rounds * CHUNK_LINES))")" != "" ] && [ "$(pv 'slogpipe_source_lag_bytes')" = 0 ]
}
end=$(($(date +%s) + 240))
while ! lag_seen && [ "$(date +%s)" -lt "$end" ]; do
  kill -STOP "$FOL_PID"
  cat "$T/chunk.jsonl" >>"$F"
  rounds=$((rounds + 1))
  until_true 60 down_seen || true
  kill -CONT "$FOL_PID"
  until_true 60 caught_up || true
done
echo "# $rounds round(s) of $CHUNK_LINES lines appended"
check "Prometheus saw the lag go up while lines arrived" "$(lag_seen && echo yes)" yes
check "max lag seen is at most what was appended in one round" \
  "$(pv "max_over_time(slogpipe_source_lag_bytes[10m]) <= $(stat -c %s "$T/chunk.jsonl")" | grep -c .)" 1
until_true 60 caught_up || true
check "the lag comes back to 0 once the lines are read" "$(pv 'slogpipe_source_lag_bytes')" 0
check "every appended line counted (wc -l)" "$(pv 'slogpipe_lines_total')" "$((rounds * CHUNK_LINES))"
check "every appended byte counted (stat)" "$(pv 'slogpipe_read_bytes_total')" "$(stat -c %s "$F")"
check "rate(slogpipe_lines_total) was positive while following" \
  "$(pv 'max_over_time(rate(slogpipe_lines_total[5s])[10m:1s]) > 0' | grep -c .)" 1
check "rate(slogpipe_read_bytes_total) was positive while following" \
  "$(pv 'max_over_time(rate(slogpipe_read_bytes_total[5s])[10m:1s]) > 0' | grep -c .)" 1
# every series, the metric name kept as a label (the *_over_time functions drop __name__)
ALL='label_replace({__name__=~"slogpipe_.+"}, "name", "$1", "__name__", "(.+)")'
check "there are series to look at" "$(pv "count(count_over_time(${ALL}[10m:1s])) > 20" | grep -c .)" 1
check "no slogpipe series was ever negative" "$(pq "min_over_time(${ALL}[10m:1s]) < 0")" ""
COUNTERS='label_replace({__name__=~"slogpipe_.+_total"}, "name", "$1", "__name__", "(.+)")'
check "no counter ever went down" "$(pq "resets(${COUNTERS}[10m:1s]) > 0")" ""
check "the lag series is labelled with the file" "$(pq 'slogpipe_source_lag_bytes' | grep -c "source=\"$F\"")" 1
check "the database agrees (rows for every line)" "$(q "$T/f.db" "SELECT count(*) FROM slog_events")" \
  "$((rounds * CHUNK_LINES))"

# promtool lints the endpoint with every series present, and Prometheus
# loaded the README's rules (health ok) and evaluated them without error.
http_get "http://127.0.0.1:$MPORT/metrics" >"$T/m1.prom"
lint=$(promtool check metrics <"$T/m1.prom" 2>&1) && rc=0 || rc=$?
check "promtool check metrics: after following, no lint problem" "$rc:$lint" "0:"
rules_ok() {
  http_get "http://127.0.0.1:$PPORT/api/v1/rules" | python3 -c '
import json, sys
r = [x for g in json.load(sys.stdin)["data"]["groups"] for x in g["rules"]]
sys.exit(0 if len(r) == 3 and all(x["health"] == "ok" for x in r) else 1)'
}
check "Prometheus evaluates the README's alert rules (health ok)" "$(until_true 30 rules_ok && echo yes)" yes
check "no alert firing for a follower that keeps up" "$(pq 'ALERTS{alertstate="firing"}')" ""

kill -TERM "$FOL_PID"
wait "$FOL_PID" && rc=0 || rc=$?
FOL_PID=""
check "the follower stops cleanly on SIGTERM" "$rc" 0

# Block-time and per-phase run-time histograms (issue #19) on the blocks sample
# (chain block structure): counts and buckets against a direct scan of the slog.
"$SP" ingest -q --db "$T/b.db" --node blocks --metrics-file "$T/b.prom" "$DATA/blocks/slog.jsonl.gz"
lint=$(promtool check metrics <"$T/b.prom" 2>&1) && rc=0 || rc=$?
check "promtool check metrics: block and run histograms, no lint problem" "$rc:$lint" "0:"
check "no per-vat label on the histograms" "$(grep -E '^slogpipe_(block|run)_seconds' "$T/b.prom" | grep -c 'vat' || true)" 0
python3 - "$DATA/blocks/slog.jsonl.gz" "$T/b.prom" <<'PY' && ok "histograms: counts per phase and buckets equal the slog's run-finish and block lines" || bad "histograms differ from the slog"
import collections, gzip, json, re, sys
runs, blocks, begin = collections.Counter(), [], None
le5 = collections.Counter()
for raw in gzip.open(sys.argv[1], "rt", encoding="utf-8"):
    e = json.loads(raw)
    t = e["type"]
    if t in ("cosmic-swingset-begin-block", "cosmic-swingset-bootstrap-block-start"):
        begin = e["time"]
    elif t == "cosmic-swingset-run-finish":
        runs[e.get("phase", "none")] += 1
        le5[e.get("phase", "none")] += e["seconds"] <= 0.5
    elif t == "cosmic-swingset-commit-block-finish":
        blocks.append(e["time"] - begin)
m = {}
for line in open(sys.argv[2]):
    g = re.match(r'^(slogpipe_(?:block|run)_seconds_(?:count|bucket))(\{[^}]*\})? (\S+)$', line.strip())
    if g: m[g.group(1) + (g.group(2) or "")] = float(g.group(3))
assert m["slogpipe_block_seconds_count"] == len(blocks), (m["slogpipe_block_seconds_count"], len(blocks))
assert m['slogpipe_block_seconds_bucket{le="10"}'] == sum(b <= 10 for b in blocks)
for ph in ("leftover", "forced", "priority", "timer", "inbound", "cleanup", "none"):
    assert m['slogpipe_run_seconds_count{phase="%s"}' % ph] == runs[ph], ph
    assert m['slogpipe_run_seconds_bucket{phase="%s",le="0.5"}' % ph] == le5[ph], ph
    assert m['slogpipe_run_seconds_bucket{phase="%s",le="+Inf"}' % ph] == runs[ph], ph
PY
finish
