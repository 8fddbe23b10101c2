/* sp_tl_int.h - internals shared by the batch analysis (sp_analyze.c) and the stage (not a public interface). */
#ifndef SP_TL_INT_H
#define SP_TL_INT_H

#include "sp_timeline.h"
#include "../core/sp_buf.h"

/* What the analysis knows about one vat of the node (array sorted by id). */
struct tl_vat {
    char *id;
    char worker_type[24]; /* "xsnap", "local", ... ("" unknown) */
    char name[128];       /* from <vatID>.options (kvStore), "" unknown */
    int use_transcript;   /* 1, 0, -1 unknown */
    int terminated;       /* 1 if terminated by any evidence */
    int has_current;      /* transcript has a current span */
    int has_transcript;   /* transcript_spans rows exist */
};

struct tl_ctx {
    sqlite3 *db;
    const char *node;
    sp_record_fn emit_out; /* the analysis's output: the rows that changed (emit_changes) */
    void *arg;
    struct sp_err *err;
    int64_t sinit, sint;                /* schedule thresholds, -1 = unknown (never judged) */
    const char *sinit_src, *sint_src;   /* store_kv / option / inferred / unknown */
    char sinit_how[128], sint_how[128]; /* where the threshold came from, for anomaly details */
    struct tl_vat *vats;
    size_t nvats;
    int64_t n_spans, n_anom, n_dedup;
};

/* SQLite helpers: errors land in c->err as SP_ESINK naming the SQL. */
int tl_prep(struct tl_ctx *c, const char *sql, sqlite3_stmt **st);
/* Run sql with ?1 bound to the node (if it has parameters), to completion. */
int tl_exec_node(struct tl_ctx *c, const char *sql);
int tl_sqlerr(struct tl_ctx *c, const char *what);
/* Column as C string, "" for NULL. */
const char *tl_text(sqlite3_stmt *st, int col);
int64_t tl_int(sqlite3_stmt *st, int col, int64_t dflt);

struct tl_vat *tl_vat_find(struct tl_ctx *c, const char *id);

/* SQL condition: slog row `a` (with source, epoch, block_height, crank_num) is not part of an
 * uncommitted execution that a later kernel epoch re-executed (#8264). */
#define TL_NOT_DUP(a)                                                                              \
    "NOT EXISTS (SELECT 1 FROM tl_dup u WHERE u.source=" a ".source AND u.epoch=" a ".epoch AND "      \
    "u.block_height=" a ".block_height) AND NOT EXISTS (SELECT 1 FROM tl_epoch x WHERE "               \
    "x.source=" a ".source AND x.epoch>" a ".epoch AND " a ".crank_num>=x.c0)"
/* Recursive CTE `cte(v)`: the distinct non-NULL values of col in table
 * (rows filtered by the WHERE clause `where`, e.g. " WHERE node=?1", or
 * " WHERE 1"), found by a loose index scan: one index seek per value
 * instead of reading every row (deliveries, transcript_items are large). */
#define TL_DISTINCT(cte, col, table, where)                                                        \
    cte "(v) AS (SELECT (SELECT min(" col ") FROM " table where ") UNION ALL SELECT (SELECT min(" col \
        ") FROM " table where " AND " col ">" cte ".v) FROM " cte " WHERE " cte ".v IS NOT NULL)"
/* The term that lets a query on slog_events use slog_events_by_type: that
 * index leaves out the syscall lines (006-type-index.sql), and SQLite uses a
 * partial index only when the query repeats its WHERE term. Every lookup of
 * slog_events by type adds TL_INDEXED("e.") (or TL_INDEXED("") unaliased);
 * test_timeline checks that no analysis statement scans slog_events. */
#define TL_INDEXED(a) " AND " a "type NOT IN ('syscall','syscall-result') "
/* Chronological key of a slog row: source order (by first wall-clock time), then line. */
#define TL_CK(alias) "(COALESCE((SELECT ord FROM tl_src WHERE source=" alias ".source),0)*10000000000+" alias ".line)"

/* The tspans part (sp_tl_tspans.c): the stage's span machine hands it each slog span it settles (st: the
 * part's state of node n); it is emitted merged with the transcript's view of the same span when that is
 * known, as the batch's spans row has both sides; quiet (a comms-like vat): only then. Returns what
 * emitting returned. */
struct sp_tl_stream;
struct sp_tl_node;
extern const struct sp_tl_part sp_tl_part_tspans;
int tl_tspans_slog_span(struct sp_tl_stream *t, struct sp_tl_node *n, void *st, const struct sp_span *sp, int quiet);
/* 1 when the part found the swing-store's current span of vat, starting at start, SNAPSHOT_OVERDUE: that
 * judgement (the committed state) stands for the key, as in the batch analysis, over the slog's at a commit. */
int tl_tspans_overdue(void *st, const char *vat, int64_t start);

/* Small helpers on JSON text written by JSON.stringify (no spaces). */
/* Copy the string value following `"key":"` into out; returns 1 if found. */
int tl_json_find_str(const char *json, const char *key, char *out, size_t cap);
/* 1 if `"key":false` occurs, 0 if `"key":true`, -1 otherwise. */
int tl_json_find_bool(const char *json, const char *key);

#endif
