#!/usr/bin/env bash
# security_store_ro.sh - the swing-store is only ever read: bytes and directory unchanged after an ingest through the CLI, and the ingest works on a read-only file/directory (as root, as an unprivileged user, and on a read-only mount, rollback-journal and WAL stores).
. "$(dirname "$0")/lib.sh"
STORE="$DATA/basic/swingstore.sqlite"
M="$T/ro"
mkdir -p "$M"
umount_ro() { umount "$M" 2>/dev/null || true; }
trap 'umount_ro; chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT

# Reference: items from a writable copy.
mkdir "$T/rw" && cp "$STORE" "$T/rw/swingstore.sqlite"
"$SP" ingest -q --db "$T/ref.db" --node n1 "$T/rw/swingstore.sqlite"
want=$(q "$T/ref.db" "SELECT count(*) FROM transcript_items")
check "reference ingest read transcript items" "$([ "$want" -gt 1000 ] && echo yes)" yes

# state DIR: names, sizes, modes and mtimes of the directory and its files, and their hashes
state() { (cd "$1" && stat -c '%n %s %a %Y' . * && sha256sum ./*); }

# 1. chmod 0444 store in a 0555 directory, ingest as root: works, nothing changes or appears.
mkdir "$T/d1" && cp "$STORE" "$T/d1/swingstore.sqlite"
chmod 0444 "$T/d1/swingstore.sqlite"; chmod 0555 "$T/d1"
before=$(state "$T/d1")
"$SP" ingest -q --db "$T/o1.db" --node n1 "$T/d1/swingstore.sqlite"
check "read-only file/dir (root): all items read" "$(q "$T/o1.db" "SELECT count(*) FROM transcript_items")" "$want"
check "read-only file/dir (root): store bytes, mode, mtime and directory unchanged" "$(state "$T/d1")" "$before"
check "the store is byte-identical to the sample" "$(sha256sum <"$T/d1/swingstore.sqlite")" "$(sha256sum <"$STORE")"

# 2. The same as an unprivileged user (permissions enforced: any write attempt would fail).
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
  mkdir "$T/out" && chmod 0777 "$T/out" && chmod 0755 "$T"
  set +e
  setpriv --reuid=65534 --regid=65534 --clear-groups "$SP" ingest -q --db "$T/out/o2.db" --node n1 \
    "$T/d1/swingstore.sqlite" 2>"$T/e2"
  rc=$?
  set -e
  check "read-only store as user nobody: exit 0" "$rc" 0
  [ "$rc" = 0 ] || head -3 "$T/e2"
  check "read-only store as user nobody: all items read" "$(q "$T/out/o2.db" "SELECT count(*) FROM transcript_items")" "$want"
  check "read-only store as user nobody: unchanged" "$(state "$T/d1")" "$before"
else
  skip "not root or no setpriv: unprivileged run not tried"
fi

# 3. On a read-only mount (rollback-journal store as shipped, then a WAL store as swing-store uses).
if mount -t tmpfs -o size=8m tmpfs "$M" 2>/dev/null; then
  cp "$STORE" "$M/swingstore.sqlite"
  cp "$STORE" "$M/wal.sqlite"
  sqlite3 "$M/wal.sqlite" "PRAGMA journal_mode=WAL" >/dev/null
  rm -f "$M"/wal.sqlite-*
  mount -o remount,ro "$M"
  before=$(state "$M")
  for f in swingstore wal; do
    set +e
    "$SP" ingest -q --db "$T/m-$f.db" --node n1 "$M/$f.sqlite" 2>"$T/e3"
    rc=$?
    set -e
    check "read-only mount, $f store: exit 0" "$rc" 0
    [ "$rc" = 0 ] || head -3 "$T/e3"
    check "read-only mount, $f store: all items read" "$(q "$T/m-$f.db" "SELECT count(*) FROM transcript_items" 2>/dev/null)" "$want"
  done
  check "read-only mount: nothing changed" "$(state "$M")" "$before"
  umount_ro
else
  skip "cannot mount a tmpfs here: read-only mount not tried"
fi
finish
