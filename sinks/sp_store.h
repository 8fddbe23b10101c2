/* sp_store.h - the authoritative store behind --db (SQLite file or PostgreSQL server): sink ops plus resume, state and offsets. */
#ifndef SP_STORE_H
#define SP_STORE_H

#include <sqlite3.h>
#include "sp_sink.h"

/*
 * A store is a sink (ops->sink: open/write/commit/close, see sp_sink.h)
 * that also keeps what a run resumes from: checkpoints, key/value state
 * (table sink_state) and Kafka consumer offsets (table kafka_offsets), all
 * made durable by the sink's commit, in the same transaction as the rows
 * they cover. The pipeline talks to its store only through this table, so
 * it does not know which database it writes.
 *
 * Error convention of every op: SP_OK; SP_EOF where a get finds nothing;
 * SP_ESINK with err filled (server or file, statement, database message).
 * A store that failed a write refuses further writes (close and reopen).
 * Strings returned through char ** are malloc'd; the caller frees them.
 */
struct sp_store_ops {
    const struct sp_sink_ops *sink;
    /* Every batch committed so far is durable (the SQLite sink may still be
     * committing on its writer thread when commit returns). */
    int (*sync)(void *ctx, struct sp_err *err);
    /* Make sure a write transaction is open, so that writes through the
     * store's native handle (sqlite below) land in the next commit. */
    int (*begin)(void *ctx, struct sp_err *err);
    int (*checkpoint_get)(void *ctx, const char *node, const char *source, int64_t *line, int64_t *offset,
                          char **state, struct sp_err *err);
    /* value NULL stores NULL; put is durable with the next commit */
    int (*state_get)(void *ctx, const char *key, char **value, struct sp_err *err);
    int (*state_put)(void *ctx, const char *key, const char *value, struct sp_err *err);
    /* Length of the JSONL output that the next commit's checkpoints cover. */
    void (*set_jsonl_bytes)(void *ctx, int64_t bytes);
    /* Kafka positions of group/topic/partition: *found 0 when none stored. */
    int (*offset_get)(void *ctx, const char *group, const char *topic, int32_t partition, int *found,
                      int64_t *next, int64_t *skip, struct sp_err *err);
    /* Store next/skip with the next commit, on condition that the stored
     * position is still (was_found, was_next, was_skip) when that commit
     * runs: a store shared by several processes fails the commit instead
     * of letting two consumers both advance one partition. */
    int (*offset_put)(void *ctx, const char *group, const char *topic, int32_t partition, int was_found,
                      int64_t was_next, int64_t was_skip, int64_t next, int64_t skip, struct sp_err *err);
    /* The SQLite connection for the end-of-run analysis and SQLite-only
     * lookups; the op itself is NULL for stores that are not SQLite. */
    sqlite3 *(*sqlite)(void *ctx);
    /* "sqlite" / "postgresql", for messages */
    const char *kind;
};

/* sink_state key of the JSONL output's committed length */
#define SP_STATE_JSONL_BYTES "jsonl.bytes"

/* A store: its ops and the ctx its sink's open returned. */
struct sp_store {
    const struct sp_store_ops *ops;
    void *ctx;
};

extern const struct sp_store_ops sp_store_sqlite;
extern const struct sp_store_ops sp_store_pg;

/* 1 if target names a PostgreSQL database: a postgresql:// or postgres://
 * URL, or a libpq keyword/value string ("host=... dbname=..."). */
int sp_store_is_pg(const char *target);

/* The store for target (PostgreSQL when sp_store_is_pg, else SQLite). */
const struct sp_store_ops *sp_store_for(const char *target);

#endif
