#!/usr/bin/env bash
# security_export_paths.sh - export manifests cannot make the CLI read outside the export directory (../ names, absolute paths, symlinks out, a "data" file outside); each is dead-lettered by name and nothing outside is read.
. "$(dirname "$0")/lib.sh"
E="$DATA/basic/export"
X="$T/export"
mkdir -p "$X" "$T/outside"
cp "$E"/* "$X"/
# A secret outside the export directory, shaped like a transcript so that reading it would store it.
printf '{"d":["message","SECRET-OUTSIDE"],"sc":[],"r":{"status":"ok"}}\n' >"$T/outside/transcript.v1.0.5"
ln -s "$T/outside/transcript.v1.0.5" "$X/link-out"
ln -s "$T/outside" "$X/dir-out"
ln -s /etc/passwd "$X/passwd-link"
python3 - "$X/export-manifest.json" <<'PY'
import json, sys
p = sys.argv[1]
m = json.load(open(p))
arts = [a for a in m["artifacts"] if not a[0].startswith("transcript.v1.")]
arts += [
    ["transcript.v1.0.5", "../outside/transcript.v1.0.5"],   # parent directory
    ["transcript.v1.104.113", "/etc/passwd"],                  # absolute path
    ["transcript.v1.113.122", "link-out"],                     # symlink to a file outside
    ["transcript.v1.122.131", "dir-out/transcript.v1.0.5"],    # through a symlinked directory
    ["transcript.v1.131.140", "passwd-link"],                  # symlink to /etc/passwd
    ["transcript.v1.140.149", "./../../../../../../etc/passwd"],
]
m["artifacts"] = arts
json.dump(m, open(p, "w"), indent=1)
PY
set +e
"$SP" ingest -q --db "$T/x.db" --node n1 --strict "$X" 2>"$T/err"
rc=$?
set -e
check "escaping manifest entries make --strict exit 65" "$rc" 65
for name in ../outside/transcript.v1.0.5 /etc/passwd link-out dir-out/transcript.v1.0.5 passwd-link ./../../../../../../etc/passwd; do
  n=$(q "$T/x.db" "SELECT count(*) FROM ingest_errors WHERE instr(reason, '$name') > 0")
  check "manifest entry '$name' is rejected by name" "$([ "$n" -ge 1 ] && echo yes || echo "no ($n)")" yes
done
check "nothing outside the directory was stored (DB)" \
  "$(sqlite3 "$T/x.db" .dump | grep -cE 'SECRET-OUTSIDE|root:x:0:0' || true)" 0
check "nothing outside the directory was printed" "$(grep -cE 'SECRET-OUTSIDE|root:x:0:0' "$T/err" || true)" 0
check "the spans named by rejected entries have no items" \
  "$(q "$T/x.db" "SELECT count(*) FROM transcript_items WHERE vat_id='v1' AND position < 149")" 0
check "the other artifacts are still ingested" \
  "$([ "$(q "$T/x.db" "SELECT count(*) FROM transcript_items")" -gt 100 ] && echo yes)" yes

# "data" (the export data file) outside the directory, and the manifest itself a symlink out.
python3 - "$X/export-manifest.json" <<'PY'
import json, sys
p = sys.argv[1]
m = json.load(open(p))
m["data"] = "../outside/transcript.v1.0.5"
json.dump(m, open(p, "w"))
PY
set +e
"$SP" ingest -q --db "$T/y.db" --node n1 "$X" 2>"$T/err2"
set -e
check "a \"data\" file outside the directory is rejected by name" \
  "$(q "$T/y.db" "SELECT count(*) FROM ingest_errors WHERE instr(reason, '../outside/transcript.v1.0.5') > 0" | sed 's/^[1-9][0-9]*$/yes/')" yes
check "nothing of it was stored" "$(sqlite3 "$T/y.db" .dump | grep -c 'SECRET-OUTSIDE' || true)" 0
mkdir "$T/x2"
cp "$E"/export-data.jsonl "$T/x2/"
printf '{"blockHeight":1,"data":"export-data.jsonl","artifacts":[["transcript.v1.0.5","transcript.v1.0.5"]]}' \
  >"$T/outside/export-manifest.json"
ln -s "$T/outside/transcript.v1.0.5" "$T/x2/transcript.v1.0.5"
ln -s "$T/outside/export-manifest.json" "$T/x2/export-manifest.json"
set +e
"$SP" ingest -q --db "$T/z.db" --node n1 "$T/x2" 2>"$T/err3"
set -e
check "an artifact symlinked out of a directory whose manifest is a symlink is not read" \
  "$(sqlite3 "$T/z.db" .dump 2>/dev/null | grep -c 'SECRET-OUTSIDE' || true)" 0
finish
