# pg_lib.bash - helpers for tests/e2e/pg_*.sh (sourced after lib.sh): a throwaway PostgreSQL server run by the test, canonical dumps.
#
# pg_start runs Debian's initdb and pg_ctl (postgresql package; binaries in
# `pg_config --bindir`, e.g. /usr/lib/postgresql/15/bin) in a fresh
# directory, as an unprivileged user: the caller itself, or, when the test
# runs as root, the system user `postgres` that the package creates
# (PostgreSQL refuses to run as root). The server listens only on a Unix
# socket in that directory (listen_addresses=''), trust authentication for
# the superuser `slog`; the EXIT trap stops it (immediate) and removes it.
PG_DIR=
PG_BIN=
PG_RUN=()

pg_find() {
  local d
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then PG_BIN=$(pg_config --bindir); return 0; fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { PG_BIN=$d; return 0; }
  done
  command -v initdb >/dev/null && { PG_BIN=$(dirname "$(command -v initdb)"); return 0; }
  return 1
}

pg_stop() {
  [ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ] && "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
  return 0
}

pg_cleanup() {
  # pg_start's trap replaces the caller's: also stop what kafka_lib.bash started (mock cluster, consumers)
  local p
  for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"} ${MOCK_PID:-}; do kill -9 "$p" 2>/dev/null || true; done
  pg_stop
  [ -n "$PG_DIR" ] && rm -rf "$PG_DIR"
  rm -rf "$T"
}

# pg_start: start the server; sets PGURL_BASE (append a database name: "$PGURL_BASE/name?host=...")
# via pg_url NAME; exits 77 (skip) when PostgreSQL is not installed (scripts/deps.sh --test installs it).
pg_start() {
  if ! pg_find; then echo "SKIP - PostgreSQL server binaries not installed (bash scripts/deps.sh --test)"; exit 77; fi
  PG_DIR=$(mktemp -d /tmp/slogpipe-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "no 'postgres' system user (install the postgresql package)"; exit 1; }
    chown postgres "$PG_DIR"
    PG_RUN=(runuser -u postgres --)
  fi
  trap pg_cleanup EXIT
  "${PG_RUN[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U slog -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
    { cat "$PG_DIR/initdb.log"; exit 1; }
  pg_ctl_start
}

# pg_ctl_start / pg_restart: (re)start the server of pg_start on its socket.
pg_ctl_start() {
  "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-k $PG_DIR -c listen_addresses='' -p 5432 -c fsync=off" start >/dev/null ||
    { cat "$PG_DIR/server.log"; exit 1; }
}
pg_restart() { "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null; pg_ctl_start; }

# pg_url DB: the URL of database DB on the test server (created if missing).
pg_url() {
  psql -X -q -h "$PG_DIR" -U slog -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1 ||
    psql -X -q -h "$PG_DIR" -U slog -d postgres -c "CREATE DATABASE \"$1\"" >/dev/null
  echo "postgresql://slog@/$1?host=$PG_DIR"
}

# pq URL SQL: one value (psql, unaligned, no header)
pq() { psql -X -q -d "$1" -tAc "$2"; }

# pg_canon URL / sqlite_canon FILE: canonical dumps that compare across stores (pg_canon.py).
pg_canon() { python3 "$(dirname "${BASH_SOURCE[0]}")/pg_canon.py" pg "$@"; }
sqlite_canon() { python3 "$(dirname "${BASH_SOURCE[0]}")/pg_canon.py" sqlite "$@"; }
