#!/usr/bin/env bash
# demo.sh - install dependencies, build slogpipe, ingest the bundled real sample into SQLite, show a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSP_WERROR=OFF -DSP_SANITIZE=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
data=tests/data/basic
rm -f demo.db demo.db-wal demo.db-shm
echo "+ build/slogpipe ingest --db demo.db --node basic $data/slog.jsonl.gz $data/swingstore.sqlite"
build/slogpipe ingest --db demo.db --node basic "$data/slog.jsonl.gz" "$data/swingstore.sqlite"
echo
echo "+ sqlite3 demo.db 'SELECT type, count(*) FROM slog_events GROUP BY type ORDER BY 2 DESC LIMIT 8'"
sqlite3 -column -header demo.db 'SELECT type, count(*) AS n FROM slog_events GROUP BY type ORDER BY 2 DESC LIMIT 8'
echo
echo "+ build/slogpipe timeline --db demo.db --vat v9"
build/slogpipe timeline --db demo.db --vat v9
echo
echo "+ build/slogpipe anomalies --db demo.db"
build/slogpipe anomalies --db demo.db
