#!/usr/bin/env bash
# deps.sh - install slogpipe's build (and with --test, test) dependencies from Debian 12 packages, only those missing.
set -euo pipefail
# libisal-dev is optional (a faster gunzip, ingest/sp_inflate.c): CMake falls back to zlib without it.
# libpq-dev: the PostgreSQL store (--db postgresql://...).
pkgs=(build-essential cmake pkg-config librdkafka-dev libyajl-dev libsqlite3-dev zlib1g-dev libssl-dev libisal-dev sqlite3 libpq-dev)
if [ "${1:-}" = "--test" ]; then
  # kcat: independent Kafka client; python3: data edits in e2e tests, python3-jsonschema: records
  # validated against schemas/json/record.schema.json;
  # chromium: the HTML report is checked in a headless browser;
  # prometheus: a real server scrapes a follower, promtool lints /metrics and the alert rules;
  # postgresql: the server the pg_* tests start themselves (initdb/pg_ctl from
  # /usr/lib/postgresql/<version>/bin, found through pg_config; they run as the
  # package's `postgres` system user when the tests run as root), psql for them.
  pkgs+=(kcat python3 python3-jsonschema gzip chromium prometheus postgresql postgresql-client)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
