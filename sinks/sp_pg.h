/* sp_pg.h - the PostgreSQL store (sp_sink_pg / sp_store_pg): how a batch reaches the server, and its few extra entry points. */
#ifndef SP_PG_H
#define SP_PG_H

#include "sp_store.h"

/*
 * The PostgreSQL sink (sp_sink_pg, ctx from its open) keeps one libpq
 * connection (target: a postgresql:// URL or a keyword string, as libpq
 * reads it; PG* environment variables fill what it leaves out).
 *   - open connects, then applies the embedded migrations
 *     (schemas/postgres/NNN-*.sql) above the version in slogpipe_schema,
 *     in one transaction holding a transaction-level advisory lock, so
 *     that N instances starting together migrate once.
 *   - write only buffers: slog_events, deliveries, ingest_errors and
 *     transcript_items rows as COPY text, the upserts (vats, snapshots,
 *     blocks, transcript spans/snapshots, store_kv, spans, anomalies) as
 *     parameter lists of prepared statements, in order. Nothing reaches
 *     the server between commits unless the batch grows past
 *     SP_PG_SPILL_BYTES; then it is sent inside an open transaction.
 *   - commit sends BEGIN, the upserts, the COPYs (transcript_items through
 *     a temporary table and INSERT ... ON CONFLICT: a later item replaces
 *     an earlier one, as INSERT OR REPLACE does in SQLite), the
 *     checkpoints, sink_state, `sources` totals and conditional Kafka
 *     offsets, then COMMIT: all or nothing.
 *   - A commit that fails because the connection broke or the server asked
 *     for a retry (SQLSTATE classes 08, 40 (serialization, deadlock), 57P
 *     (shutdown), 53300 (too many connections)) is retried from BEGIN on a
 *     new connection, with backoff (0.2 s doubling to 5 s) for up to
 *     SLOGPIPE_PG_RETRY_SECONDS (default 60) — as long as the whole batch
 *     is still in memory. Any other failure (authentication, permission,
 *     disk full, constraint), or a broken connection after a spill, fails
 *     the sink: SP_ESINK naming the server and the statement; the
 *     transaction is lost on the server, so no checkpoint passes its rows.
 *   - close without commit drops the buffered batch (and an open
 *     transaction rolls back with the connection).
 * Text is sent as UTF-8: invalid byte sequences and NUL bytes (which
 * PostgreSQL's text type cannot hold) become U+FFFD; SQLite keeps them.
 * Use a sink from one thread at a time. Records' strings are copied.
 */
extern const struct sp_sink_ops sp_sink_pg;

#define SP_PG_SPILL_BYTES ((size_t)64 << 20)

/* Number of embedded PostgreSQL migrations (= slogpipe_schema version of a current database). */
int sp_pg_schema_version(void);

/* "postgresql host=H port=P dbname=D" for target (no password), written
 * to out (NUL-terminated, truncated to cap). */
void sp_pg_describe(const char *target, char *out, size_t cap);

#endif
