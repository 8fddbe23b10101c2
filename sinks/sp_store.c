/* sp_store.c - the store ops of the SQLite sink, and the choice of store from --db. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sp_sqlite.h"
#include "sp_store.h"

int sp_store_is_pg(const char *target)
{
    PQconninfoOption *o;
    char *msg = NULL;
    if (!target) return 0;
    if (strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0) return 1;
    /* libpq keyword/value form ("host=... dbname=..."): libpq parses it
     * (unknown keywords are errors, so a file name with '=' stays a file) */
    if (!strchr(target, '=')) return 0;
    o = PQconninfoParse(target, &msg);
    PQfreemem(msg);
    if (!o) return 0;
    PQconninfoFree(o);
    return 1;
}

const struct sp_store_ops *sp_store_for(const char *target)
{
    return sp_store_is_pg(target) ? &sp_store_pg : &sp_store_sqlite;
}

/* ---- SQLite ------------------------------------------------------------------ */

static int sq_offset_get(void *ctx, const char *group, const char *topic, int32_t partition, int *found,
                         int64_t *next, int64_t *skip, struct sp_err *err)
{
    sqlite3 *db = sp_sqlite_db(ctx);
    sqlite3_stmt *st = NULL;
    int rc;
    *found = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT next_offset, skip_lines FROM kafka_offsets "
                           "WHERE group_id = ?1 AND topic = ?2 AND partition = ?3",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, topic, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, partition);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *found = 1;
        *next = sqlite3_column_int64(st, 0);
        *skip = sqlite3_column_int64(st, 1);
    } else if (rc != SQLITE_DONE) {
        goto fail;
    }
    sqlite3_finalize(st);
    return SP_OK;
fail:
    sp_err_set(err, SP_ESINK, "kafka: reading the offset of %s/%" PRId32 " from kafka_offsets: %s", topic,
               partition, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return SP_ESINK;
}

/* Inside the sink's write transaction (BEGIN IMMEDIATE: no other writer
 * between the caller's read and this write), so the expected position the
 * caller checked is still the stored one. */
static int sq_offset_put(void *ctx, const char *group, const char *topic, int32_t partition, int was_found,
                         int64_t was_next, int64_t was_skip, int64_t next, int64_t skip, struct sp_err *err)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    struct timespec ts;
    (void)was_found;
    (void)was_next;
    (void)was_skip;
    if (sp_sqlite_begin(ctx, err) != SP_OK) return SP_ESINK;
    db = sp_sqlite_db(ctx);
    clock_gettime(CLOCK_REALTIME, &ts);
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO kafka_offsets (group_id, topic, partition, next_offset, "
                           "skip_lines, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                           "ON CONFLICT (group_id, topic, partition) DO UPDATE SET "
                           "next_offset = excluded.next_offset, skip_lines = excluded.skip_lines, "
                           "updated_at = excluded.updated_at",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, topic, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, partition);
    sqlite3_bind_int64(st, 4, next);
    sqlite3_bind_int64(st, 5, skip);
    sqlite3_bind_double(st, 6, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    if (sqlite3_step(st) != SQLITE_DONE) goto fail;
    sqlite3_finalize(st);
    return SP_OK;
fail:
    sp_err_set(err, SP_ESINK, "kafka: writing the offset of %s/%" PRId32 " to kafka_offsets: %s", topic, partition,
               sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return SP_ESINK;
}

const struct sp_store_ops sp_store_sqlite = {
    .sink = &sp_sink_sqlite,
    .sync = sp_sqlite_sync,
    .begin = sp_sqlite_begin,
    .checkpoint_get = sp_sqlite_checkpoint_get,
    .state_get = sp_sqlite_state_get,
    .state_put = sp_sqlite_state_put,
    .set_jsonl_bytes = sp_sqlite_set_jsonl_bytes,
    .offset_get = sq_offset_get,
    .offset_put = sq_offset_put,
    .sqlite = sp_sqlite_db,
    .kind = "sqlite",
};
