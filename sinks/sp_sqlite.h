/* sp_sqlite.h - extra entry points of the SQLite sink (resume, shared handle, key/value state). */
#ifndef SP_SQLITE_H
#define SP_SQLITE_H

#include <sqlite3.h>
#include "sp_store.h"

/*
 * The SQLite sink (sp_sink_sqlite, ctx from its open) keeps one connection
 * with one open write transaction between commits:
 *   - open applies the embedded migrations (schemas/sqlite/NNN-*.sql) by
 *     PRAGMA user_version, sets 16 KiB pages (new files), WAL,
 *     synchronous=NORMAL (opts.fast: synchronous=OFF — a power loss may
 *     then corrupt the file), busy_timeout 10 s, a 16 MB page cache.
 *   - write opens a transaction (BEGIN IMMEDIATE) when none is open and
 *     adds the record's rows; commit writes the checkpoint rows and the
 *     batch's `sources` totals, and COMMITs.
 *   - slog_events / deliveries rows are inserted by a writer thread owned
 *     by the sink (so parsing and B-tree work use two cores), and commit
 *     only queues the checkpoint rows and the COMMIT behind them: a failed
 *     insert or COMMIT is reported by the next write, commit,
 *     sp_sqlite_sync or sp_sqlite_begin, which roll the batch back like any
 *     other failure. A batch is durable once sp_sqlite_sync returns SP_OK.
 *     WAL checkpoints run on a checkpointer thread with its own connection.
 *     Torture builds (SP_TORTURE) do everything inline on the caller's
 *     thread, so fault injection counts calls on one thread.
 *   - close without commit rolls back everything since the last commit.
 * Any SQLite failure (BUSY beyond the timeout, FULL, IOERR, ...) rolls the
 * open transaction back and returns SP_ESINK with the statement and
 * sqlite3_errmsg in err; from then on write/commit/state_put/begin return
 * SP_ESINK (close and reopen), so no checkpoint can pass the lost rows.
 * opts.batch_rows is not used by this sink: only the pipeline decides
 * when to commit (a commit needs its checkpoints).
 * The connection is opened SQLITE_OPEN_NOMUTEX: use a sink (and
 * sp_sqlite_db) from one thread at a time. Strings of the records are
 * bound without copying (SQLITE_STATIC) and must stay valid during write.
 */

/* Number of embedded migrations (= PRAGMA user_version of a current DB). */
int sp_sqlite_schema_version(void);

/* The connection, for the analysis stage and commit hooks. Owned by the
 * sink; valid until close. Do not COMMIT/ROLLBACK through it. It waits for
 * the writer thread to be idle but reports no error: call sp_sqlite_begin
 * first before writing through it. */
sqlite3 *sp_sqlite_db(void *ctx);

/* Wait until everything queued to the writer thread, the last commit
 * included, has run: SP_OK once the batches committed so far are durable,
 * else SP_ESINK (err filled; the batch is rolled back, the sink failed). */
int sp_sqlite_sync(void *ctx, struct sp_err *err);

/* Make sure the write transaction is open (BEGIN IMMEDIATE if none) and
 * everything queued to the writer thread has run, so that statements run
 * through sp_sqlite_db() commit with the next commit. SP_OK, or SP_ESINK
 * (a failed BEGIN or insert: the batch is rolled back, the sink failed). */
int sp_sqlite_begin(void *ctx, struct sp_err *err);

/*
 * Read the checkpoint of (node, source). SP_OK: *line, *offset set and
 * *state a malloc'd copy of the state JSON (NULL if none; caller frees).
 * SP_EOF: no checkpoint. SP_ESINK on a database error (err filled).
 */
int sp_sqlite_checkpoint_get(void *ctx, const char *node, const char *source, int64_t *line,
                             int64_t *offset, char **state, struct sp_err *err);

/* Length of the JSONL output that the next commit's checkpoint rows cover:
 * stored in checkpoints.jsonl_bytes and as sink_state "jsonl.bytes" by the
 * next commit. Call between the JSONL commit and the SQLite commit. */
void sp_sqlite_set_jsonl_bytes(void *ctx, int64_t bytes);
/* SP_STATE_JSONL_BYTES: see sp_store.h */

/*
 * Key/value state (table sink_state). get: SP_OK with *value malloc'd
 * (caller frees; NULL if the stored value is NULL), SP_EOF if absent,
 * SP_ESINK on error. put: written inside the current transaction (opened
 * if needed), durable with the next commit; value NULL stores NULL.
 */
int sp_sqlite_state_get(void *ctx, const char *key, char **value, struct sp_err *err);
int sp_sqlite_state_put(void *ctx, const char *key, const char *value, struct sp_err *err);

#ifdef SP_TORTURE
/* Fault injection (torture builds): every fallible sqlite3 call of the
 * sink counts one; the call whose count equals $SP_TORTURE_FAIL_AT fails
 * with SQLITE_IOERR (sqlite3_open: SQLITE_CANTOPEN). Reset re-reads the
 * environment and zeroes the count; calls returns the count so far. */
void sp_sqlite_torture_reset(void);
long sp_sqlite_torture_calls(void);
#endif

#endif
