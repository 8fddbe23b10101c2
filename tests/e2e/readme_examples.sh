#!/usr/bin/env bash
# readme_examples.sh - runs every command of the README's console examples (and its Kafka demo) and compares the output.
. "$(dirname "$0")/lib.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$T/w" && cd "$T/w"
ln -s "$REPO/tests" tests
ln -s "$BUILD" build

# Console blocks: "$ cmd" lines, each followed by its expected output.
python3 - "$REPO/README.md" >"$T/cases" <<'PY'
import json, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
for block in re.findall(r"```console\n(.*?)```", text, re.S):
    cur = None
    for line in block.split("\n"):
        if line.startswith("$ "):
            if cur: print(json.dumps(cur))
            cur = {"cmd": line[2:], "out": []}
        elif cur is not None and line != "":
            cur["out"].append(line)
    if cur: print(json.dumps(cur))
PY
n=0
while IFS= read -r case; do
  cmd=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["cmd"])' "$case")
  python3 -c 'import json,sys; o=json.loads(sys.argv[1])["out"]; sys.stdout.write("".join(l + "\n" for l in o))' "$case" >"$T/want"
  n=$((n + 1))
  if ! bash -c "$cmd" >"$T/got" 2>&1; then bad "README command fails: $cmd"; continue; fi
  case "$cmd" in
    *" ingest "*)
      # timings and abbreviated lines vary: compare the counts of the summary line
      w=$(grep -o '^slogpipe: [0-9]* lines, [0-9]* records, [0-9]* deliveries, [0-9]* transcript items, [0-9]* bad, [0-9]* anomalies' "$T/want" || true)
      g=$(grep -o '^slogpipe: [0-9]* lines, [0-9]* records, [0-9]* deliveries, [0-9]* transcript items, [0-9]* bad, [0-9]* anomalies' "$T/got" || true)
      check "README: $cmd" "$g" "$w" ;;
    *)
      # trailing blanks are not significant in tables
      if diff <(sed 's/ *$//' "$T/want") <(sed 's/ *$//' "$T/got") >"$T/diff"; then ok "README: $cmd"
      else bad "README output differs: $cmd"; head -10 "$T/diff"; fi ;;
  esac
done <"$T/cases"
check "README console commands found" "$([ "$n" -ge 8 ] && echo yes)" yes

# The Kafka demo block (mock cluster, kcat producer, consumer group ingest).
python3 - "$REPO/README.md" >"$T/kafka.sh" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
blocks = [b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if "kafka-mock" in b]
print(blocks[0] if blocks else "false")
PY
if timeout -k 5 180 bash -e "$T/kafka.sh" >"$T/kout" 2>&1; then
  check "README Kafka demo: every line consumed" "$(q kafka.db "SELECT count(*) FROM slog_events")" 24851
else
  bad "README Kafka demo failed: $(tail -5 "$T/kout")"
fi
finish
