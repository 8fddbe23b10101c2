/* sp_tl_stream.c - the streaming timeline stage: slog spans, snapshot cross-checks and deadlines judged record by record, state checkpointed with the rows. */
#include "sp_tl_stream.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "../core/sp_failpoint.h"
#include "sp_tl_int.h"
#include "sp_tl_part.h"

#define TS_RING 8   /* saves remembered per vat and side when there is no store */
#define TS_OPS 64   /* crank operations buffered until crank-finish */
#define ID_CAP 72   /* snapshot IDs are 64 hex digits */
#define VAT_CAP 24

/* A save seen on one side (slog or transcript), for stores-less cross-checks. */
struct ts_save {
    int64_t pos, line, inc;
    char id[ID_CAP];
};

/* Numeric per-vat fields, serialized in this order (append only: the
 * checkpoint format depends on it). */
#define TS_VAT_INTS(X)                                                                                 \
    X(inc)          /* incarnation of the current slog span, -1 unknown */                         \
    X(start)        /* current slog span start, -1 unknown (slog began mid-span) */                \
    X(end)          /* next position: last committed live deliveryNum + 1 */                       \
    X(first_init)   /* current span starts with initialize-worker */                              \
    X(upgraded)     /* ... because of an upgrade */                                                \
    X(dlv)          /* live deliveries in the current span */                                      \
    X(reported)     /* span start already reported SNAPSHOT_OVERDUE, -1 none */                    \
    X(dirty)        /* moved since the last block commit */                                        \
    X(span_dirty)   /* span record to emit at the next flush */                                    \
    X(terminated)   /* terminate / vat-cleanup seen */                                             \
    X(local)        /* local / node-subprocess worker, or unmetered deliveries: never snapshots */ \
    X(metered)      /* an ok delivery carried computrons */                                        \
    X(max_dn)       /* highest live deliveryNum (0 forever: comms-like, no transcript) */          \
    X(no_transcript)/* useTranscript false in the vat options */                                   \
    X(has_t)        /* the store holds a transcript of the vat */                                  \
    X(looked_up)    /* store lookups for this vat done */                                          \
    X(nslog)        /* saves pushed to slog_saves */                                               \
    X(ntr)          /* saves pushed to tr_saves */                                                 \
    X(shut_pos)     /* unused since the tspans part judges span boundaries; kept so */ \
    X(shut_inc)     /* ... that saved states of this version stay readable */ \
    X(live)         /* committed live deliveries (a repeat from an overlapping source counts once) */

/* Saved state layout; a state of another version is not read (the stage starts over). */
#define TS_STATE_VERSION 2
#define TS_STATE_VERSION_S "2"

struct ts_vat {
    char id[VAT_CAP];
    char load_id[ID_CAP]; /* snapshot the current span was loaded from */
#define X(f) int64_t f;
    TS_VAT_INTS(X)
#undef X
    struct ts_save slog_saves[TS_RING], tr_saves[TS_RING];
};

enum { OP_DLV = 1, OP_SAVE, OP_TERM };

/* One delivery / save / terminate of the crank being executed. */
struct ts_op {
    int kind;
    char vat[VAT_CAP];
    int64_t dn, pos, line;
    int ok, startvat, metered;
    char id[ID_CAP];
};

/* The lines of one source in a block not committed yet (#8264): if the
 * kernel restarts before the commit, they were discarded (SP_REC_SUPERSEDE). */
#define SUP_SEGS 4
struct ts_seg {
    char src[256];
    int64_t epoch, first_line, first_off, last_line, last_off;
    int64_t restart_line; /* kernel-init-start line, if in this source (emitted ranges) */
    int64_t dlv;          /* deliveries assembled from the range */
    int64_t dlv_proc;     /* ... of them by this process (metrics only: not saved) */
};

#define SUP_RING 64
struct ts_crank {
    int64_t crank, line, off, dlv, proc; /* dlv, proc: the epoch's deliveries before it (nm's counts) */
};

struct ts_node {
    char *name;
    int64_t sinit, sint;
    const char *sinit_src, *sint_src; /* store_kv / option / default */
    int has_commits;                   /* a commit-block-finish was seen */
    struct ts_vat *v;                  /* working state, sorted by id */
    size_t nv, cap;
    struct ts_vat *cv;                 /* state at the last block commit */
    size_t ncv;
    /* the crank being executed */
    int64_t crank;
    char msg_type[24];
    int abort;                         /* non-ok result or failed upgrade: nothing of it applies */
    struct ts_op ops[TS_OPS];
    int nops;
    char src[256];                     /* slog source of the last event */
    int dirty;                         /* state to checkpoint */
    void **ps;                         /* each part's state (sp_tl_parts order) */
    struct sp_buf pc;                  /* the parts' states at the last block commit (JSON object) */
    int has_pc;
    int64_t sup_block;                 /* block begun and not committed yet, -1 none */
    struct ts_seg seg[SUP_SEGS];       /* its lines so far, per source (in order) */
    int nseg;
    int64_t done_block;                /* the last discarded range (emitted), for late deliveries */
    struct ts_seg done[SUP_SEGS];
    int ndone;
    int has_blocks;                    /* a begin-block was seen (else sup_nomarker's rule) */
    /* a node without block markers: the cranks a restart runs again (sup_nomarker) */
    struct ts_seg nm;                  /* the epoch's lines so far in its source (first_line -1: none) */
    struct ts_seg pend;                /* at a restart: nm, until the next epoch's first crank */
    int has_pend;
    struct ts_crank cr[SUP_RING];      /* the epoch's last crank-starts */
    int64_t ncr;
};

/* The parts see a node through this opaque name. */
struct sp_tl_node {
    struct ts_node n;
};

struct kind_count {
    char kind[40];
    int64_t n;
};

enum { Q_TITEM, Q_STORESNAP, Q_SLOGSAVE, Q_SLOGSRC, Q_SPANSTART, Q_HAS_T, Q_RERUN, Q_RERUN_DLV, Q_TSAVEPOS, Q__COUNT };

struct sp_tl_stream {
    struct sp_tl_stream_opts o;
    struct ts_node **nodes;
    size_t nnodes;
    sp_record_fn emit;
    void *emit_arg;
    struct sp_err *err;
    struct sp_buf det;
    int det_n;
    sqlite3 *qdb;
    int q_used; /* a lookup ran since the last q_idle */
    struct kind_count kinds[32];
    int nkinds;
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } lk[64];                          /* every lookup (the stage's q_sql and the parts'), cached by SQL address */
    int nlk;
    size_t nparts;
    int64_t sup_dlv; /* deliveries of discarded executions written by this process (metrics) */
};

static const char *const q_sql[Q__COUNT] = {
    [Q_TITEM] = "SELECT d_type, snapshot_id, incarnation, source FROM transcript_items "
                "WHERE node=?1 AND vat_id=?2 AND position=?3",
    [Q_STORESNAP] = "SELECT hash FROM store_snapshots WHERE node=?1 AND vat_id=?2 AND snap_pos=?3",
    [Q_SLOGSAVE] = "SELECT slog_snapshot_id, save_line FROM snapshots WHERE node=?1 AND vat_id=?2 AND snap_pos=?3 "
                   "AND slog_snapshot_id IS NOT NULL",
    [Q_SLOGSRC] = "SELECT source FROM slog_events WHERE node=?1 AND type='heap-snapshot-save'" TL_INDEXED("")
                  "AND vat_id=?2 AND line=?3 AND snap_pos=?4 LIMIT 1",
    [Q_SPANSTART] = "SELECT start_pos, first_type, incarnation FROM spans WHERE node=?1 AND vat_id=?2 AND start_pos<=?3 "
                    "AND first_type IS NOT NULL ORDER BY start_pos DESC LIMIT 1",
    [Q_HAS_T] = "SELECT EXISTS (SELECT 1 FROM transcript_spans WHERE node=?1 AND vat_id=?2)",
    /* no block markers: the first crank-start of an epoch (?4) in a source (?2, bound as the vat) that a
     * later epoch ran again (crank >= ?3), through the crank-start index (005-sources.sql: the cranks
     * from ?3 on; +node: not the node's every crank-start); then its deliveries (lines ?3..?5, cranks
     * from ?6 on, and the replays) */
    [Q_RERUN] = "SELECT line, ifnull(offset, -1) FROM slog_events WHERE type='crank-start' AND crank_num>=?3 "
                "AND +node=?1 AND source=?2 AND epoch=?4 ORDER BY line, offset LIMIT 1",
    [Q_RERUN_DLV] = "SELECT (SELECT count(*) FROM deliveries WHERE node=?1 AND epoch=?4 AND crank_num>=?6 AND source=?2 "
                    "AND line>=?3 AND line<=?5) + (SELECT count(*) FROM deliveries WHERE node=?1 AND epoch=?4 "
                    "AND crank_num IS NULL AND source=?2 AND line>=?3 AND line<=?5)",
    [Q_TSAVEPOS] = "SELECT position FROM transcript_items WHERE node=?1 AND vat_id=?2 AND position BETWEEN ?3-8 "
                   "AND ?3+8 AND d_type='save-snapshot' AND snapshot_id=?4 ORDER BY position LIMIT 1",
};

/* ---- small helpers --------------------------------------------------------- */

static void str_copy(char *dst, size_t cap, struct sp_str s)
{
    size_t n = s.p ? (s.n < cap - 1 ? s.n : cap - 1) : 0;
    if (n) memcpy(dst, s.p, n);
    dst[n] = '\0';
}

static int stated(const struct ts_node *n)
{
    return strcmp(n->sinit_src, "default") != 0 && strcmp(n->sint_src, "default") != 0;
}

static int64_t threshold(const struct ts_node *n, const struct ts_vat *v)
{
    return v->first_init ? n->sinit : n->sint;
}

/* Never snapshots: a local / node-subprocess worker (create-vat, options), a
 * vat whose ok deliveries carry no meter (local workers seen only in the
 * slog), or a comms-like vat (useTranscript false, deliveryNum always 0). */
static int never_snapshots(const struct ts_vat *v)
{
    return v->local || !v->metered || v->no_transcript || v->max_dn == 0;
}

static int vat_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ts_vat *)a)->id, ((const struct ts_vat *)b)->id);
}

static void vat_init(struct ts_vat *v, const char *id)
{
    memset(v, 0, sizeof *v);
    snprintf(v->id, sizeof v->id, "%s", id);
    v->inc = v->start = v->end = v->reported = v->max_dn = v->shut_pos = v->shut_inc = -1;
}

static struct ts_vat *vat_get(struct ts_node *n, const char *id, int create)
{
    struct ts_vat key;
    snprintf(key.id, sizeof key.id, "%s", id);
    struct ts_vat *v = n->nv ? bsearch(&key, n->v, n->nv, sizeof *n->v, vat_cmp) : NULL;
    if (v || !create || !*id) return v;
    if (n->nv == n->cap) {
        n->cap = n->cap ? n->cap * 2 : 32;
        n->v = sp_xrealloc(n->v, n->cap * sizeof *n->v);
    }
    vat_init(&n->v[n->nv++], id);
    qsort(n->v, n->nv, sizeof *n->v, vat_cmp);
    n->dirty = 1;
    return bsearch(&key, n->v, n->nv, sizeof *n->v, vat_cmp);
}

static void ring_push(struct ts_save *ring, int64_t *count, int64_t pos, const char *id, int64_t line, int64_t inc)
{
    struct ts_save *s = &ring[*count % TS_RING];
    s->pos = pos;
    s->line = line;
    s->inc = inc;
    snprintf(s->id, sizeof s->id, "%s", id);
    (*count)++;
}

static const struct ts_save *ring_find(const struct ts_save *ring, int64_t count, int64_t pos)
{
    for (int64_t i = 0; i < count && i < TS_RING; i++)
        if (ring[i].pos == pos) return &ring[i];
    return NULL;
}

/* ---- store lookups --------------------------------------------------------- */

/* The store connection, or NULL; statements prepared on another one are dropped. */
static sqlite3 *q_db(struct sp_tl_stream *t)
{
    sqlite3 *db = t->o.db ? t->o.db(t->o.arg) : NULL;
    if (db && db != t->qdb) {
        for (int i = 0; i < t->nlk; i++) sqlite3_finalize(t->lk[i].st);
        t->nlk = 0;
        t->qdb = db;
    }
    return db;
}

/* The statement for lookup `which` bound to (node, vat), or NULL when there is no store. */
static sqlite3_stmt *q_get(struct sp_tl_stream *t, int which, const char *node, const char *vat, int *rc)
{
    return sp_tl_lookup(t, q_sql[which], node, vat, rc);
}

/* Step a bound lookup: 1 row, 0 none, or SP_ESINK. */
static int q_step(struct sp_tl_stream *t, sqlite3_stmt *st)
{
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) return 1;
    if (r == SQLITE_DONE) return 0;
    return sp_err_set(t->err, SP_ESINK, "timeline stage: lookup: %s", sqlite3_errmsg(t->qdb));
}

/* ---- emitting records ------------------------------------------------------ */

static void det_begin(struct sp_tl_stream *t)
{
    sp_buf_reset(&t->det);
    sp_buf_putc(&t->det, '{');
    t->det_n = 0;
}

static void det_key(struct sp_tl_stream *t, const char *key)
{
    if (t->det_n++) sp_buf_putc(&t->det, ',');
    sp_buf_json_str(&t->det, key, strlen(key));
    sp_buf_putc(&t->det, ':');
}

static void det_str(struct sp_tl_stream *t, const char *key, const char *val)
{
    det_key(t, key);
    if (val && *val)
        sp_buf_json_str(&t->det, val, strlen(val));
    else
        sp_buf_append_c(&t->det, "null");
}

static void det_int(struct sp_tl_stream *t, const char *key, int64_t v)
{
    det_key(t, key);
    sp_buf_printf(&t->det, "%" PRId64, v);
}

static int anomaly_named(struct sp_tl_stream *t, const char *node, const char *vat, const char *kind, int64_t inc,
                         int64_t pos, const char *severity, const char *source, int64_t line)
{
    sp_buf_putc(&t->det, '}');
    struct sp_anomaly a = {.node = sp_str_c(node), .vat_id = sp_str_c(vat), .kind = sp_str_c(kind),
                           .incarnation = inc, .position = pos, .severity = sp_str_c(severity),
                           .detail = sp_str_make(t->det.data, t->det.len), .source = sp_str_c(source), .line = line};
    struct sp_record rec = {.kind = SP_REC_ANOMALY, .u.anomaly = &a};
    int i;
    for (i = 0; i < t->nkinds && strcmp(t->kinds[i].kind, kind) != 0; i++) {
    }
    if (i == t->nkinds && i < (int)(sizeof t->kinds / sizeof t->kinds[0])) {
        snprintf(t->kinds[i].kind, sizeof t->kinds[i].kind, "%s", kind);
        t->nkinds++;
    }
    if (i < t->nkinds) t->kinds[i].n++;
    int rc = t->emit ? t->emit(t->emit_arg, &rec, t->err) : SP_OK;
    SP_FAILPOINT("timeline.anomaly");
    return rc;
}

static int anomaly(struct sp_tl_stream *t, const struct ts_node *n, const char *vat, const char *kind, int64_t inc,
                   int64_t pos, const char *severity, const char *source, int64_t line)
{
    return anomaly_named(t, n->name, vat, kind, inc, pos, severity, source, line);
}

/* The tspans part's state of the node. */
static void *tspans_state(const struct ts_node *n)
{
    for (size_t i = 0; sp_tl_parts[i]; i++)
        if (sp_tl_parts[i] == &sp_tl_part_tspans) return n->ps[i];
    return NULL;
}

/* The vat's current span (open), or a closed one [start, end) ending in last. */
static int emit_span(struct sp_tl_stream *t, const struct ts_node *n, struct ts_vat *v, int64_t end,
                     const char *last, const char *save_id)
{
    /* a comms-like vat keeps no transcript, so it has no spans of its own (a
     * transcript span of it, empty, is told that the slog saw it); a local
     * worker has spans (closed by upgrades) though it never snapshots */
    if (v->start < 0) return SP_OK;
    int comms = v->no_transcript || v->max_dn == 0;
    int closed = end >= 0;
    struct sp_span s = {.node = sp_str_c(n->name), .vat_id = sp_str_c(v->id), .incarnation = v->inc,
                        .start_pos = v->start, .end_pos = closed ? end : (v->terminated ? v->end : -1),
                        .first_type = sp_str_c(v->first_init ? "initialize-worker" : "load-snapshot"),
                        .last_type = closed ? sp_str_c(last) : SP_STR_NULL,
                        .is_current = !closed && !v->terminated, .hash = SP_STR_NULL, .hash_ok = -1,
                        .deliveries = v->dlv, .from_transcript = 0, .from_slog = 1,
                        .save_snapshot_id = closed && save_id && *save_id ? sp_str_c(save_id) : SP_STR_NULL,
                        .load_snapshot_id = v->load_id[0] ? sp_str_c(v->load_id) : SP_STR_NULL};
    /* merged with what the transcript says of the same span, when that is known (the tspans part) */
    v->span_dirty = 0;
    void *tp = tspans_state(n);
    if (tp) return tl_tspans_slog_span(t, (struct sp_tl_node *)n, tp, &s, comms);
    if (comms) return SP_OK;
    struct sp_record rec = {.kind = SP_REC_SPAN, .u.span = &s};
    return t->emit ? t->emit(t->emit_arg, &rec, t->err) : SP_OK;
}

/* ---- nodes and their saved state -------------------------------------------- */

static void vats_to_json(struct sp_buf *b, const struct ts_vat *v, size_t nv)
{
    sp_buf_putc(b, '[');
    for (size_t i = 0; i < nv; i++) {
        if (i) sp_buf_putc(b, ',');
        sp_buf_putc(b, '[');
        sp_buf_json_str(b, v[i].id, strlen(v[i].id));
        sp_buf_putc(b, ',');
        sp_buf_json_str(b, v[i].load_id, strlen(v[i].load_id));
#define X(f) sp_buf_printf(b, ",%" PRId64, v[i].f);
        TS_VAT_INTS(X)
#undef X
        for (int side = 0; side < 2; side++) {
            const struct ts_save *r = side ? v[i].tr_saves : v[i].slog_saves;
            int64_t cnt = side ? v[i].ntr : v[i].nslog;
            sp_buf_append_c(b, ",[");
            for (int64_t k = 0; k < cnt && k < TS_RING; k++) {
                sp_buf_printf(b, "%s[%" PRId64 ",%" PRId64 ",%" PRId64 ",", k ? "," : "", r[k].pos, r[k].line, r[k].inc);
                sp_buf_json_str(b, r[k].id, strlen(r[k].id));
                sp_buf_putc(b, ']');
            }
            sp_buf_putc(b, ']');
        }
        sp_buf_putc(b, ']');
    }
    sp_buf_putc(b, ']');
}

static yajl_val jget(yajl_val o, const char *key);
static int64_t jint(yajl_val v);
static const char *jstr(yajl_val v);

/* {"name": state, ...} of every part of the node. */
static void parts_to_json(const struct ts_node *n, struct sp_buf *b)
{
    sp_buf_putc(b, '{');
    for (size_t i = 0; sp_tl_parts[i]; i++) {
        if (i) sp_buf_putc(b, ',');
        sp_buf_printf(b, "\"%s\":", sp_tl_parts[i]->name);
        sp_tl_parts[i]->save(n->ps[i], b);
    }
    sp_buf_putc(b, '}');
}

/* Each part's state from obj[name] (init'ed fresh when absent or malformed). */
static void parts_from_json(struct ts_node *n, yajl_val obj)
{
    for (size_t i = 0; sp_tl_parts[i]; i++) {
        const struct sp_tl_part *p = sp_tl_parts[i];
        if (p->release) p->release(n->ps[i]);
        memset(n->ps[i], 0, p->state_size);
        if (p->init) p->init(n->ps[i]);
        yajl_val v = obj && YAJL_IS_OBJECT(obj) ? jget(obj, p->name) : NULL;
        if (!v || p->restore(n->ps[i], v) == 0) continue;
        sp_warn("timeline: node %s: saved state of %s ignored (malformed)", n->name, p->name);
        if (p->release) p->release(n->ps[i]);
        memset(n->ps[i], 0, p->state_size);
        if (p->init) p->init(n->ps[i]);
    }
}

static void segs_to_json(struct sp_buf *b, const struct ts_seg *g, int ng)
{
    sp_buf_putc(b, '[');
    for (int i = 0; i < ng; i++) {
        sp_buf_append_c(b, i ? ",[" : "[");
        sp_buf_json_str(b, g[i].src, strlen(g[i].src));
        sp_buf_printf(b, ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "]",
                      g[i].epoch, g[i].first_line, g[i].first_off, g[i].last_line, g[i].last_off, g[i].restart_line,
                      g[i].dlv);
    }
    sp_buf_putc(b, ']');
}

/* Segments from their saved form (none when absent or malformed: a state saved before them). */
static int segs_from_json(yajl_val arr, struct ts_seg *g)
{
    int ng = 0;
    for (size_t i = 0; arr && YAJL_IS_ARRAY(arr) && i < arr->u.array.len && ng < SUP_SEGS; i++) {
        yajl_val a = arr->u.array.values[i];
        if (!YAJL_IS_ARRAY(a) || a->u.array.len != 8) continue;
        yajl_val *e = a->u.array.values;
        struct ts_seg *x = &g[ng++];
        memset(x, 0, sizeof *x);
        snprintf(x->src, sizeof x->src, "%s", jstr(e[0]));
        x->epoch = jint(e[1]), x->first_line = jint(e[2]), x->first_off = jint(e[3]);
        x->last_line = jint(e[4]), x->last_off = jint(e[5]), x->restart_line = jint(e[6]), x->dlv = jint(e[7]);
    }
    return ng;
}

static void node_to_json(const struct ts_node *n, struct sp_buf *b)
{
    sp_buf_printf(b, "{\"v\":" TS_STATE_VERSION_S ",\"sinit\":%" PRId64 ",\"sint\":%" PRId64 ",\"sinit_src\":\"%s\",\"sint_src\":\"%s\","
                     "\"commits\":%d,\"crank\":%" PRId64 ",\"abort\":%d,\"mt\":",
                  n->sinit, n->sint, n->sinit_src, n->sint_src, n->has_commits, n->crank, n->abort);
    sp_buf_json_str(b, n->msg_type, strlen(n->msg_type));
    sp_buf_append_c(b, ",\"src\":");
    sp_buf_json_str(b, n->src, strlen(n->src));
    sp_buf_append_c(b, ",\"ops\":[");
    for (int i = 0; i < n->nops; i++) {
        const struct ts_op *o = &n->ops[i];
        sp_buf_printf(b, "%s[%d,", i ? "," : "", o->kind);
        sp_buf_json_str(b, o->vat, strlen(o->vat));
        sp_buf_printf(b, ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%d,%d,%d,", o->dn, o->pos, o->line, o->ok, o->startvat,
                      o->metered);
        sp_buf_json_str(b, o->id, strlen(o->id));
        sp_buf_putc(b, ']');
    }
    sp_buf_append_c(b, "],\"vats\":");
    vats_to_json(b, n->v, n->nv);
    sp_buf_append_c(b, ",\"cvats\":");
    if (n->cv)
        vats_to_json(b, n->cv, n->ncv);
    else
        sp_buf_append_c(b, "null");
    sp_buf_append_c(b, ",\"parts\":");
    parts_to_json(n, b);
    sp_buf_append_c(b, ",\"cparts\":");
    if (n->has_pc)
        sp_buf_append(b, n->pc.data, n->pc.len);
    else
        sp_buf_append_c(b, "null");
    sp_buf_printf(b, ",\"hb\":%d,\"sb\":%" PRId64 ",\"seg\":", n->has_blocks, n->sup_block);
    segs_to_json(b, n->seg, n->nseg);
    sp_buf_printf(b, ",\"db\":%" PRId64 ",\"done\":", n->done_block);
    segs_to_json(b, n->done, n->ndone);
    sp_buf_append_c(b, ",\"nm\":");
    segs_to_json(b, &n->nm, 1);
    sp_buf_append_c(b, ",\"pend\":");
    segs_to_json(b, &n->pend, n->has_pend);
    sp_buf_printf(b, ",\"ncr\":%" PRId64 ",\"cr\":[", n->ncr);
    for (int64_t i = 0; i < n->ncr && i < SUP_RING; i++) {
        const struct ts_crank *c = &n->cr[i];
        sp_buf_printf(b, "%s[%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "]", i ? "," : "", c->crank, c->line, c->off,
                      c->dlv);
    }
    sp_buf_append_c(b, "]}");
}

static int64_t jint(yajl_val v)
{
    return v && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : -1;
}

static const char *jstr(yajl_val v)
{
    return v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "";
}

static yajl_val jget(yajl_val o, const char *key)
{
    const char *path[] = {key, NULL};
    return yajl_tree_get(o, path, yajl_t_any);
}

/* Restore a vat array; returns the count (array malloc'd into *out), -1 if malformed. */
static long vats_from_json(yajl_val arr, struct ts_vat **out)
{
    *out = NULL;
    if (!arr || !YAJL_IS_ARRAY(arr)) return -1;
    size_t nv = arr->u.array.len;
    struct ts_vat *v = nv ? sp_xcalloc(nv, sizeof *v) : NULL;
    for (size_t i = 0; i < nv; i++) {
        yajl_val a = arr->u.array.values[i];
        size_t k = 0, nf = 0;
#define X(f) nf++;
        TS_VAT_INTS(X)
#undef X
        /* a state saved before the last field was appended has one int less: it reads as 0 */
        if (!YAJL_IS_ARRAY(a) || (a->u.array.len != 2 + nf + 2 && a->u.array.len != 2 + nf - 1 + 2)) {
            free(v);
            return -1;
        }
        size_t have = a->u.array.len - 4, f = 0;
        yajl_val *e = a->u.array.values;
        vat_init(&v[i], jstr(e[k++]));
        snprintf(v[i].load_id, sizeof v[i].load_id, "%s", jstr(e[k++]));
#define X(fl) v[i].fl = f++ < have ? jint(e[k++]) : 0;
        TS_VAT_INTS(X)
#undef X
        for (int side = 0; side < 2; side++) {
            yajl_val r = e[k++];
            struct ts_save *ring = side ? v[i].tr_saves : v[i].slog_saves;
            for (size_t j = 0; YAJL_IS_ARRAY(r) && j < r->u.array.len && j < TS_RING; j++) {
                yajl_val s = r->u.array.values[j];
                if (!YAJL_IS_ARRAY(s) || s->u.array.len != 4) continue;
                ring[j].pos = jint(s->u.array.values[0]);
                ring[j].line = jint(s->u.array.values[1]);
                ring[j].inc = jint(s->u.array.values[2]);
                snprintf(ring[j].id, sizeof ring[j].id, "%s", jstr(s->u.array.values[3]));
            }
        }
    }
    if (nv) qsort(v, nv, sizeof *v, vat_cmp);
    *out = v;
    return (long)nv;
}

static const char *src_name(const char *s)
{
    static const char *const names[] = {"store_kv", "option", "default", "inferred"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) return names[i];
    return "default";
}

static void parts_alloc(struct ts_node *n)
{
    size_t np = 0;
    while (sp_tl_parts[np]) np++;
    n->ps = sp_xcalloc(np ? np : 1, sizeof *n->ps);
    for (size_t i = 0; i < np; i++) {
        n->ps[i] = sp_xcalloc(1, sp_tl_parts[i]->state_size ? sp_tl_parts[i]->state_size : 1);
        if (sp_tl_parts[i]->init) sp_tl_parts[i]->init(n->ps[i]);
    }
}

static void parts_free(struct ts_node *n)
{
    for (size_t i = 0; n->ps && sp_tl_parts[i]; i++) {
        if (sp_tl_parts[i]->release) sp_tl_parts[i]->release(n->ps[i]);
        free(n->ps[i]);
    }
    free(n->ps);
    n->ps = NULL;
}

/* The parts' states back to what the last block commit kept (#8264). */
static void parts_rollback(struct ts_node *n)
{
    char ebuf[128];
    if (!n->has_pc) return;
    yajl_val root = yajl_tree_parse(n->pc.data, ebuf, sizeof ebuf);
    parts_from_json(n, root);
    yajl_tree_free(root);
}

static int node_restore(struct ts_node *n, const char *json)
{
    char ebuf[128];
    yajl_val root = yajl_tree_parse(json, ebuf, sizeof ebuf);
    if (!root || jint(jget(root, "v")) != TS_STATE_VERSION) {
        yajl_tree_free(root);
        return -1;
    }
    struct ts_vat *v = NULL, *cv = NULL;
    long nv = vats_from_json(jget(root, "vats"), &v);
    yajl_val c = jget(root, "cvats");
    long ncv = c && YAJL_IS_ARRAY(c) ? vats_from_json(c, &cv) : 0;
    if (nv < 0 || ncv < 0) {
        free(v);
        free(cv);
        yajl_tree_free(root);
        return -1;
    }
    /* a stated schedule stays stated; a default one follows this run's options */
    if (strcmp(jstr(jget(root, "sinit_src")), "store_kv") == 0)
        n->sinit = jint(jget(root, "sinit")), n->sinit_src = "store_kv";
    if (strcmp(jstr(jget(root, "sint_src")), "store_kv") == 0)
        n->sint = jint(jget(root, "sint")), n->sint_src = "store_kv";
    n->sinit_src = src_name(n->sinit_src);
    n->sint_src = src_name(n->sint_src);
    n->has_commits = jint(jget(root, "commits")) > 0;
    n->crank = jint(jget(root, "crank"));
    n->abort = jint(jget(root, "abort")) > 0;
    snprintf(n->msg_type, sizeof n->msg_type, "%s", jstr(jget(root, "mt")));
    snprintf(n->src, sizeof n->src, "%s", jstr(jget(root, "src")));
    yajl_val ops = jget(root, "ops");
    n->nops = 0;
    for (size_t i = 0; ops && YAJL_IS_ARRAY(ops) && i < ops->u.array.len && n->nops < TS_OPS; i++) {
        yajl_val a = ops->u.array.values[i];
        if (!YAJL_IS_ARRAY(a) || a->u.array.len != 9) continue;
        yajl_val *e = a->u.array.values;
        struct ts_op *o = &n->ops[n->nops++];
        memset(o, 0, sizeof *o);
        o->kind = (int)jint(e[0]);
        snprintf(o->vat, sizeof o->vat, "%s", jstr(e[1]));
        o->dn = jint(e[2]), o->pos = jint(e[3]), o->line = jint(e[4]);
        o->ok = jint(e[5]) > 0, o->startvat = jint(e[6]) > 0, o->metered = jint(e[7]) > 0;
        snprintf(o->id, sizeof o->id, "%s", jstr(e[8]));
    }
    free(n->v);
    free(n->cv);
    n->v = v, n->nv = n->cap = (size_t)nv;
    n->cv = cv, n->ncv = (size_t)ncv;
    if (!c || !YAJL_IS_ARRAY(c)) n->cv = NULL, n->ncv = 0;
    parts_from_json(n, jget(root, "parts"));
    yajl_val sb = jget(root, "sb"), db = jget(root, "db");
    n->sup_block = sb ? jint(sb) : -1;
    n->has_blocks = jint(jget(root, "hb")) > 0;
    n->nseg = segs_from_json(jget(root, "seg"), n->seg);
    n->done_block = db ? jint(db) : -1;
    n->ndone = segs_from_json(jget(root, "done"), n->done);
    if (!segs_from_json(jget(root, "nm"), &n->nm)) n->nm.first_line = -1;
    n->has_pend = segs_from_json(jget(root, "pend"), &n->pend);
    yajl_val cr = jget(root, "cr");
    n->ncr = 0;
    for (size_t i = 0; cr && YAJL_IS_ARRAY(cr) && i < cr->u.array.len && i < SUP_RING; i++) {
        yajl_val a = cr->u.array.values[i];
        if (!YAJL_IS_ARRAY(a) || a->u.array.len != 4) continue;
        struct ts_crank *x = &n->cr[i];
        x->crank = jint(a->u.array.values[0]), x->line = jint(a->u.array.values[1]);
        x->off = jint(a->u.array.values[2]), x->dlv = jint(a->u.array.values[3]), x->proc = 0;
    }
    if (cr && YAJL_IS_ARRAY(cr) && jint(jget(root, "ncr")) > 0) n->ncr = jint(jget(root, "ncr"));
    yajl_val cp = jget(root, "cparts");
    sp_buf_reset(&n->pc);
    n->has_pc = 0;
    if (cp && YAJL_IS_OBJECT(cp)) {
        /* kept as text: re-serialize the committed parts through a scratch node */
        struct ts_node tmp;
        memset(&tmp, 0, sizeof tmp);
        tmp.name = n->name;
        parts_alloc(&tmp);
        parts_from_json(&tmp, cp);
        parts_to_json(&tmp, &n->pc);
        parts_free(&tmp);
        n->has_pc = 1;
    }
    yajl_tree_free(root);
    return 0;
}

static struct ts_node *node_get(struct sp_tl_stream *t, struct sp_str name)
{
    for (size_t i = 0; i < t->nnodes; i++)
        if (sp_str_eq_c(name, t->nodes[i]->name)) return t->nodes[i];
    struct ts_node *n = sp_xcalloc(1, sizeof *n);
    n->name = sp_xstrndup(name.p ? name.p : "", name.p ? name.n : 0);
    n->crank = -1;
    n->sup_block = n->done_block = -1;
    n->nm.first_line = -1;
    if (t->o.snapshot_initial > 0)
        n->sinit = t->o.snapshot_initial, n->sinit_src = t->o.sinit_how ? "inferred" : "option";
    else
        n->sinit = SP_SNAPSHOT_INITIAL_DEFAULT, n->sinit_src = "default";
    if (t->o.snapshot_interval > 0)
        n->sint = t->o.snapshot_interval, n->sint_src = t->o.sint_how ? "inferred" : "option";
    else
        n->sint = SP_SNAPSHOT_INTERVAL_DEFAULT, n->sint_src = "default";
    sp_buf_init(&n->pc, 0);
    parts_alloc(n);
    char *saved = t->o.load ? t->o.load(t->o.arg, n->name) : NULL;
    if (saved && node_restore(n, saved) != 0) sp_warn("timeline: node %s: saved stage state ignored (malformed)", n->name);
    free(saved);
    t->nodes = sp_xrealloc(t->nodes, (t->nnodes + 1) * sizeof *t->nodes);
    t->nodes[t->nnodes++] = n;
    return n;
}

/* ---- the checks ------------------------------------------------------------ */

/* The store's idea of where the vat's current span starts, for a slog that began mid-span. */
static int lookup_span_start(struct sp_tl_stream *t, struct ts_node *n, struct ts_vat *v, int64_t dn)
{
    int rc;
    if (v->looked_up) return SP_OK;
    v->looked_up = 1;
    sqlite3_stmt *st = q_get(t, Q_HAS_T, n->name, v->id, &rc);
    if (!st) return rc;
    if ((rc = q_step(t, st)) < 0) return rc;
    if (rc == 1 && sqlite3_column_int(st, 0)) v->has_t = 1;
    if (v->start >= 0 || !(st = q_get(t, Q_SPANSTART, n->name, v->id, &rc))) return rc;
    sqlite3_bind_int64(st, 3, dn);
    if ((rc = q_step(t, st)) < 0) return rc;
    if (rc == 1) {
        v->start = sqlite3_column_int64(st, 0);
        v->first_init = strcmp(tl_text(st, 1), "initialize-worker") == 0;
        v->upgraded = v->first_init && v->start > 0;
        v->inc = tl_int(st, 2, -1);
        v->end = v->start + 1;
    }
    return SP_OK;
}

/*
 * A heap-snapshot-save against the transcript's save-snapshot item at its
 * endPosition (else the store's snapshots row): the same L2 rule and
 * evidence as the former SQL pass (row_save).
 */
static int check_slog_save(struct sp_tl_stream *t, struct ts_node *n, struct ts_vat *v, const struct ts_op *o)
{
    char dtype[32] = "", tid[ID_CAP] = "", shash[ID_CAP] = "";
    int64_t inc = -1;
    int rc, have = 0;
    sqlite3_stmt *st = q_get(t, Q_TITEM, n->name, v->id, &rc);
    if (rc) return rc;
    if (st) {
        sqlite3_bind_int64(st, 3, o->pos);
        if ((rc = q_step(t, st)) < 0) return rc;
        if (rc == 1) {
            snprintf(dtype, sizeof dtype, "%s", tl_text(st, 0));
            snprintf(tid, sizeof tid, "%s", tl_text(st, 1));
            inc = tl_int(st, 2, -1);
            have = 1;
        } else if ((st = q_get(t, Q_STORESNAP, n->name, v->id, &rc))) {
            sqlite3_bind_int64(st, 3, o->pos);
            if ((rc = q_step(t, st)) < 0) return rc;
            if (rc == 1) snprintf(shash, sizeof shash, "%s", tl_text(st, 0));
        }
        if (rc < 0) return rc;
    } else {
        const struct ts_save *s = ring_find(v->tr_saves, v->ntr, o->pos);
        if (s) {
            snprintf(dtype, sizeof dtype, "save-snapshot");
            snprintf(tid, sizeof tid, "%s", s->id);
            inc = s->inc;
            have = 1;
        }
    }
    const char *problem = NULL, *expected = NULL;
    if (have && *dtype) {
        if (strcmp(dtype, "save-snapshot") != 0)
            problem = "endPosition does not hold a save-snapshot item";
        else if (strcmp(tid, o->id) != 0)
            problem = "snapshotID differs from the save-snapshot item", expected = tid;
    } else if (*shash && strcmp(shash, o->id) != 0) {
        problem = "snapshotID differs from the swing-store snapshots row", expected = shash;
    }
    if (!problem) return SP_OK;
    /* an endPosition off the save: reported where the transcript saved that id (within 8 positions) */
    int64_t at = o->pos;
    if (*dtype && strcmp(dtype, "save-snapshot") != 0) {
        if ((st = q_get(t, Q_TSAVEPOS, n->name, v->id, &rc))) {
            sqlite3_bind_int64(st, 3, o->pos);
            sqlite3_bind_text(st, 4, o->id, -1, SQLITE_TRANSIENT);
            if ((rc = q_step(t, st)) < 0) return rc;
            if (rc == 1) at = sqlite3_column_int64(st, 0);
        } else if (rc) {
            return rc;
        }
    }
    det_begin(t);
    det_str(t, "problem", problem);
    det_str(t, "slog_snapshot_id", o->id);
    det_int(t, "slog_end_position", o->pos);
    if (at != o->pos) det_int(t, "transcript_save_position", at);
    det_str(t, "expected_snapshot_id", expected);
    det_str(t, "transcript_type", dtype);
    det_str(t, "rule", "L2: heap-snapshot-save matches the save-snapshot item (id and position)");
    return anomaly(t, n, v->id, "SLOG_SNAPSHOT_ID_MISMATCH", inc, at, "error", n->src, o->line);
}

/* A transcript save-snapshot item against the slog's save at that position, when the slog came first. */
static int check_titem_save(struct sp_tl_stream *t, struct ts_node *n, struct ts_vat *v, const struct sp_titem *it,
                            const char *tid)
{
    char sid[ID_CAP] = "", src[256] = "";
    int64_t line = -1;
    int rc;
    sqlite3_stmt *st = q_get(t, Q_SLOGSAVE, n->name, v->id, &rc);
    if (rc) return rc;
    if (st) {
        sqlite3_bind_int64(st, 3, it->position);
        if ((rc = q_step(t, st)) < 0) return rc;
        if (rc == 0) return SP_OK;
        snprintf(sid, sizeof sid, "%s", tl_text(st, 0));
        line = tl_int(st, 1, -1);
        if (strcmp(sid, tid) == 0) return SP_OK;
        if ((st = q_get(t, Q_SLOGSRC, n->name, v->id, &rc))) {
            sqlite3_bind_int64(st, 3, line);
            sqlite3_bind_int64(st, 4, it->position);
            if ((rc = q_step(t, st)) < 0) return rc;
            if (rc == 1) snprintf(src, sizeof src, "%s", tl_text(st, 0));
        }
    } else {
        const struct ts_save *s = ring_find(v->slog_saves, v->nslog, it->position);
        if (!s || strcmp(s->id, tid) == 0) return SP_OK;
        snprintf(sid, sizeof sid, "%s", s->id);
        line = s->line;
        snprintf(src, sizeof src, "%s", n->src);
    }
    det_begin(t);
    det_str(t, "problem", "snapshotID differs from the save-snapshot item");
    det_str(t, "slog_snapshot_id", sid);
    det_int(t, "slog_end_position", it->position);
    det_str(t, "expected_snapshot_id", tid);
    det_str(t, "transcript_type", "save-snapshot");
    det_str(t, "rule", "L2: heap-snapshot-save matches the save-snapshot item (id and position)");
    char fallback[256];
    str_copy(fallback, sizeof fallback, it->source);
    return anomaly(t, n, v->id, "SLOG_SNAPSHOT_ID_MISMATCH", it->incarnation, it->position, "error",
                   *src ? src : fallback, line);
}

/*
 * A slog span closed by a heap-snapshot-save, against the schedule: taken too
 * early (the span had not reached the threshold at the end of the crank),
 * too late (it had reached it before the crank: only when the slog shows the
 * crank's first delivery, not from an estimate; reported whether or not a
 * block commit found it SNAPSHOT_OVERDUE meanwhile), or in an upgrade crank
 * (which never checks). Only for vats whose transcript is not in the store
 * (there the transcript span is judged) and only with a stated schedule
 * (kvStore or option): a default is no evidence. Same rule and evidence as
 * the former SQL pass check_schedule(early_only).
 */
/* Where the threshold came from, worded as the batch analysis words it (tl_det_threshold). */
static const char *threshold_source(const struct sp_tl_stream *t, const struct ts_node *n, const struct ts_vat *v)
{
    if (v->first_init && strcmp(n->sinit_src, "inferred") == 0) return t->o.sinit_how;
    if (!v->first_init && strcmp(n->sint_src, "inferred") == 0) return t->o.sint_how;
    if (v->first_init)
        return strcmp(n->sinit_src, "option") == 0 ? "--snapshot-initial" : "kvStore kernel.snapshotInitial";
    return strcmp(n->sint_src, "option") == 0 ? "--snapshot-interval" : "kvStore kernel.snapshotInterval";
}

static int check_schedule(struct sp_tl_stream *t, struct ts_node *n, struct ts_vat *v, const struct ts_op *o,
                          int64_t first_dn)
{
    if (v->start < 0 || never_snapshots(v) || v->has_t || !stated(n)) return SP_OK;
    int64_t end = o->pos + 1, L = end - v->start, T = threshold(n, v), after = L - 2, before;
    int estimated = 0, in_upgrade_crank = 0;
    if (first_dn >= v->start && first_dn < end - 1) {
        before = first_dn - v->start;
    } else {
        before = after - 1;
        estimated = 1;
    }
    if (v->first_init && before <= 1) {
        if (v->upgraded) in_upgrade_crank = 1;
        before = 0;
    }
    int late = before >= T && !(v->upgraded && before == 2);
    if (!in_upgrade_crank && after >= T && !(late && !estimated)) return SP_OK;
    det_begin(t);
    det_int(t, "span_start", v->start);
    det_int(t, "span_end", end);
    det_int(t, "span_length", L);
    det_int(t, "threshold", T);
    det_str(t, "threshold_kind", v->first_init ? "snapshotInitial" : "snapshotInterval");
    det_str(t, "threshold_source", threshold_source(t, n, v));
    det_int(t, "length_before_crank", before);
    det_int(t, "length_after_crank", after);
    det_str(t, "crank_evidence", estimated ? "transcript (estimated)" : "slog");
    if (in_upgrade_crank) det_str(t, "problem", "snapshot taken in the upgrade crank (upgrade cranks do not check)");
    det_str(t, "save_snapshot_id", o->id);
    det_str(t, "rule", "snapshot at the end of the first delivery crank after which the span length >= threshold");
    return anomaly(t, n, v->id, "SNAPSHOT_SCHEDULE_DEVIATION", v->inc, v->start, "warning", n->src, o->line);
}

/* SNAPSHOT_OVERDUE at a block commit (T11), as the former SQL pass row_due. */
static int check_overdue(struct sp_tl_stream *t, struct ts_node *n, const struct sp_event *ev)
{
    char src[256];
    str_copy(src, sizeof src, ev->origin.source);
    for (size_t i = 0; i < n->nv; i++) {
        struct ts_vat *v = &n->v[i];
        if (!v->dirty || v->start < 0 || never_snapshots(v)) continue;
        v->dirty = 0;
        if (!stated(n)) continue; /* a default schedule is no evidence */
        int64_t L = v->end - v->start, T = threshold(n, v);
        if (L < T || (v->upgraded && L == 2) || v->reported == v->start) continue;
        v->reported = v->start;
        if (tl_tspans_overdue(tspans_state(n), v->id, v->start)) continue; /* the store's judgement stands */
        det_begin(t);
        det_int(t, "span_start", v->start);
        det_int(t, "span_length", L);
        det_int(t, "threshold", T);
        det_str(t, "threshold_source", threshold_source(t, n, v));
        det_int(t, "block_height", (ev->has & SP_HAS_BLOCK_HEIGHT) ? ev->block_height : -1);
        det_str(t, "evidence", "slog deliveries up to cosmic-swingset-commit-block-finish");
        det_str(t, "rule", "T11: current span length < threshold at every commit");
        int rc = anomaly(t, n, v->id, "SNAPSHOT_OVERDUE", -1, v->start, "warning", src, ev->origin.line);
        if (rc) return rc;
    }
    return SP_OK;
}

/* ---- applying a committed crank ------------------------------------------- */

static int apply_delivery(struct sp_tl_stream *t, struct ts_node *n, const struct ts_op *o)
{
    struct ts_vat *v = vat_get(n, o->vat, 1);
    int rc;
    if (!v) return SP_OK; /* an empty vatID names no vat */
    if (o->metered) v->metered = 1;
    if (o->dn > v->max_dn || o->dn == 0) v->live++; /* comms-like vats deliver at deliveryNum 0 */
    if (o->dn > v->max_dn) v->max_dn = o->dn;
    if (!v->looked_up && (rc = lookup_span_start(t, n, v, o->dn))) return rc;
    int upgrade = o->startvat && (strcmp(n->msg_type, "upgrade-vat") == 0 || (!n->msg_type[0] && o->dn > 1));
    if (upgrade && o->dn >= 1) {
        if (v->start >= 0 && o->dn - 1 > v->start) {
            v->end = o->dn - 1;
            if ((rc = emit_span(t, n, v, o->dn - 1, "shutdown-worker", NULL))) return rc;
        }
        v->inc = v->inc >= 0 ? v->inc + 1 : -1;
        v->start = o->dn - 1;
        v->first_init = 1;
        v->upgraded = 1;
        v->dlv = 0;
        v->load_id[0] = '\0';
        v->reported = -1;
    } else if (v->start < 0 && o->dn <= 1) {
        v->start = 0;
        v->inc = 0;
        v->first_init = 1;
        v->upgraded = 0;
        v->dlv = 0;
    }
    if (o->dn + 1 > v->end) v->end = o->dn + 1;
    v->dlv++;
    v->dirty = 1;
    v->span_dirty = 1;
    return SP_OK;
}

static int apply_save(struct sp_tl_stream *t, struct ts_node *n, const struct ts_op *o, int64_t first_dn)
{
    struct ts_vat *v = vat_get(n, o->vat, 1);
    int rc;
    if (!v) return SP_OK; /* an empty vatID names no vat */
    if (!v->looked_up && (rc = lookup_span_start(t, n, v, o->pos))) return rc;
    if ((rc = check_slog_save(t, n, v, o))) return rc;
    if ((rc = check_schedule(t, n, v, o, first_dn))) return rc;
    ring_push(v->slog_saves, &v->nslog, o->pos, o->id, o->line, v->inc);
    if (v->start >= 0 && o->pos + 1 > v->start) {
        v->end = o->pos + 1;
        if ((rc = emit_span(t, n, v, o->pos + 1, "save-snapshot", o->id))) return rc;
    }
    v->start = o->pos + 1;
    v->end = o->pos + 2; /* the load-snapshot item */
    v->first_init = 0;
    v->upgraded = 0;
    v->dlv = 0;
    v->reported = -1;
    v->dirty = 1;
    snprintf(v->load_id, sizeof v->load_id, "%s", o->id);
    return emit_span(t, n, v, -1, NULL, NULL);
}

/* crank-finish: apply what the crank did, unless it was aborted. */
static int crank_finish(struct sp_tl_stream *t, struct ts_node *n)
{
    int rc = SP_OK;
    for (int i = 0; i < n->nops && rc == SP_OK; i++) {
        const struct ts_op *o = &n->ops[i];
        int vat_aborted = 0;
        for (int j = 0; j < n->nops; j++)
            if (n->ops[j].kind == OP_TERM && strcmp(n->ops[j].vat, o->vat) == 0) vat_aborted = 1;
        if (o->kind == OP_TERM) {
            struct ts_vat *v = vat_get(n, o->vat, 1);
            if (v) v->terminated = 1, v->span_dirty = 1; /* its last span ends here */
        } else if (n->abort || vat_aborted) {
            continue;
        } else if (o->kind == OP_DLV) {
            rc = apply_delivery(t, n, o);
        } else if (o->kind == OP_SAVE) {
            int64_t first_dn = -1;
            for (int j = 0; j < i; j++)
                if (n->ops[j].kind == OP_DLV && strcmp(n->ops[j].vat, o->vat) == 0) {
                    first_dn = n->ops[j].dn;
                    break;
                }
            rc = apply_save(t, n, o, first_dn);
        }
    }
    n->nops = 0;
    n->abort = 0;
    n->crank = -1;
    n->msg_type[0] = '\0';
    return rc;
}

static int add_op(struct sp_tl_stream *t, struct ts_node *n, const struct ts_op *o)
{
    if (n->crank < 0) {
        /* outside a crank (older slogs): applies at once */
        n->ops[0] = *o;
        n->nops = 1;
        return crank_finish(t, n);
    }
    if (n->nops == TS_OPS) {
        sp_warn("timeline: node %s: crank %" PRId64 " has more than %d deliveries/saves; the rest are not tracked",
                n->name, n->crank, TS_OPS);
        return SP_OK;
    }
    n->ops[n->nops++] = *o;
    return SP_OK;
}

/* ---- feeding --------------------------------------------------------------- */

/* The node's spans that grew since they were last emitted. */
static int flush_node(struct sp_tl_stream *t, struct ts_node *n)
{
    int rc = SP_OK;
    for (size_t j = 0; j < n->nv && rc == SP_OK; j++) {
        if (!n->v[j].span_dirty) continue;
        rc = emit_span(t, n, &n->v[j], -1, NULL, NULL);
        n->dirty = 1;
    }
    return rc;
}

/* ---- the discarded execution of a block re-executed after a crash (#8264) -- */

static int sup_emit(struct sp_tl_stream *t, const struct ts_node *n, const struct ts_seg *g, int64_t block)
{
    struct sp_supersede x = {.node = sp_str_c(n->name), .source = sp_str_c(g->src), .epoch = g->epoch,
                             .block_height = block, .first_line = g->first_line, .first_offset = g->first_off,
                             .last_line = g->last_line, .last_offset = g->last_off, .restart_line = g->restart_line,
                             .deliveries = g->dlv};
    struct sp_record rec = {.kind = SP_REC_SUPERSEDE, .u.supersede = &x};
    int rc = t->emit ? t->emit(t->emit_arg, &rec, t->err) : SP_OK;
    SP_FAILPOINT("timeline.supersede");
    return rc;
}

/* (line, offset) a <= b */
static int pos_le(int64_t al, int64_t ao, int64_t bl, int64_t bo)
{
    return al < bl || (al == bl && ao <= bo);
}

/*
 * A node without block markers (no cosmic-swingset begin-block seen): a restart
 * discards what ran since the kernel's last commit, which the slog does
 * not show; the next epoch's first crank says it. The range is the
 * batch analysis's tl_epoch rule: from the first crank-start of the old
 * epoch that the new one runs again (crankNum >= the new epoch's first) up
 * to the line before the restart, in the restart's source. The old epoch's
 * last SUP_RING crank-starts are remembered; an earlier one is looked up in
 * the store (no store: not judged, with a warning).
 */
static int sup_nomarker(struct sp_tl_stream *t, struct ts_node *n, const struct sp_event *ev)
{
    const struct sp_origin *g = &ev->origin;
    int rc = SP_OK;
    if (ev->type == SP_EV_KERNEL_INIT_START) {
        if (n->nm.first_line >= 0 && !n->has_pend) {
            n->pend = n->nm;
            n->pend.restart_line = sp_str_eq_c(g->source, n->nm.src) ? g->line : -1;
            n->has_pend = 1;
        }
        n->nm.first_line = -1;
        n->dirty = 1;
        return SP_OK;
    }
    if (n->nm.first_line < 0 || n->nm.epoch != ev->ctx_epoch || !sp_str_eq_c(g->source, n->nm.src)) {
        if (!n->has_pend) n->ncr = 0; /* a new source or epoch: its own cranks */
        memset(&n->nm, 0, sizeof n->nm);
        str_copy(n->nm.src, sizeof n->nm.src, g->source);
        n->nm.epoch = ev->ctx_epoch;
        n->nm.first_line = g->line, n->nm.first_off = g->offset;
        n->nm.restart_line = -1;
    }
    n->nm.last_line = g->line, n->nm.last_off = g->offset;
    n->dirty = 1;
    if (ev->type != SP_EV_CRANK_START || !(ev->has & SP_HAS_CRANK_NUM)) return SP_OK;
    int64_t c0 = ev->crank_num;
    if (n->has_pend && ev->ctx_epoch > n->pend.epoch) {
        struct ts_seg r = n->pend;
        int64_t kept = n->ncr < SUP_RING ? n->ncr : SUP_RING, oldest = n->ncr < SUP_RING ? 0 : n->ncr % SUP_RING;
        int found = 0, none = 1;
        for (int64_t k = 0; k < kept; k++) {
            const struct ts_crank *q = &n->cr[(oldest + k) % SUP_RING];
            if (q->crank < c0) continue;
            none = 0;
            if (k == 0 && n->ncr > SUP_RING) break; /* an earlier one may have been dropped */
            r.first_line = q->line, r.first_off = q->off;
            r.dlv = n->pend.dlv - q->dlv;
            r.dlv_proc = n->pend.dlv_proc > q->proc ? n->pend.dlv_proc - q->proc : 0;
            found = 1;
            break;
        }
        /* none: the epoch's last cranks are all below the new epoch's first: none ran again */
        sqlite3_stmt *st = NULL;
        if (!found && !none && (st = q_get(t, Q_RERUN, n->name, r.src, &rc))) {
            sqlite3_bind_int64(st, 3, c0);
            sqlite3_bind_int64(st, 4, r.epoch);
            if ((rc = q_step(t, st)) < 0) return rc;
            if (rc == 1) {
                r.first_line = sqlite3_column_int64(st, 0), r.first_off = sqlite3_column_int64(st, 1);
                if (!(st = q_get(t, Q_RERUN_DLV, n->name, r.src, &rc))) return rc;
                sqlite3_bind_int64(st, 3, r.first_line);
                sqlite3_bind_int64(st, 4, r.epoch);
                sqlite3_bind_int64(st, 5, r.last_line);
                sqlite3_bind_int64(st, 6, c0);
                if ((rc = q_step(t, st)) < 0) return rc;
                r.dlv = sqlite3_column_int64(st, 0);
                r.dlv_proc = 0;
                found = 1;
            }
            rc = SP_OK;
        } else if (!found && !none && rc == SP_OK) {
            sp_warn("timeline: node %s: %s: the cranks that epoch %" PRId64 " ran before the restart at line %" PRId64
                    " are not all remembered (no store): its re-executed cranks are not marked superseded",
                    n->name, r.src, r.epoch, r.restart_line);
        }
        if (rc != SP_OK) return rc;
        n->has_pend = 0;
        n->ncr = 0;
        if (found && pos_le(r.first_line, r.first_off, r.last_line, r.last_off)) {
            n->done[0] = r;
            n->ndone = 1;
            n->done_block = -1;
            t->sup_dlv += r.dlv_proc;
            n->done[0].dlv_proc = 0;
            if ((rc = sup_emit(t, n, &n->done[0], -1)) != SP_OK) return rc;
        }
    }
    struct ts_crank *c = &n->cr[n->ncr++ % SUP_RING];
    c->crank = c0, c->line = g->line, c->off = g->offset, c->dlv = n->nm.dlv, c->proc = n->nm.dlv_proc;
    return SP_OK;
}

/*
 * Every line of the node: a begin-block opens the range of the block being
 * executed; its commit-block-finish closes it (the block is committed); a
 * kernel-init-start before that discards it: one record per source of the
 * range, the same range as the batch analysis marks (sp_analyze.c
 * supersede_sql): from the begin-block up to the line before the restart.
 */
static int sup_event(struct sp_tl_stream *t, struct ts_node *n, const struct sp_event *ev)
{
    const struct sp_origin *g = &ev->origin;
    int rc = SP_OK;
    if (ev->type == SP_EV_CS_BEGIN_BLOCK && !n->has_blocks) n->has_blocks = 1, n->has_pend = 0;
    if (!n->has_blocks && (rc = sup_nomarker(t, n, ev)) != SP_OK) return rc;
    switch (ev->type) {
    case SP_EV_CS_BEGIN_BLOCK:
        n->nseg = 0;
        n->sup_block = (ev->has & SP_HAS_BLOCK_HEIGHT) ? ev->block_height : ev->ctx_block_height;
        if (n->sup_block < 0) return SP_OK;
        break;
    case SP_EV_CS_COMMIT_BLOCK_FINISH:
        if (n->nseg || n->sup_block >= 0) n->dirty = 1;
        n->nseg = 0;
        n->sup_block = -1;
        return SP_OK;
    case SP_EV_KERNEL_INIT_START:
        if (!n->nseg) return SP_OK;
        for (int i = 0; i < n->nseg; i++)
            n->seg[i].restart_line = sp_str_eq_c(g->source, n->seg[i].src) ? g->line : -1;
        memcpy(n->done, n->seg, sizeof n->seg);
        n->ndone = n->nseg;
        n->done_block = n->sup_block;
        n->nseg = 0;
        n->sup_block = -1;
        n->dirty = 1;
        for (int i = 0; i < n->ndone && rc == SP_OK; i++) {
            t->sup_dlv += n->done[i].dlv_proc;
            n->done[i].dlv_proc = 0;
            rc = sup_emit(t, n, &n->done[i], n->done_block);
        }
        return rc;
    default:
        if (n->sup_block < 0) return SP_OK;
        break;
    }
    struct ts_seg *s = n->nseg ? &n->seg[n->nseg - 1] : NULL;
    if (!s || !sp_str_eq_c(g->source, s->src)) {
        if (n->nseg == SUP_SEGS) {
            sp_warn("timeline: node %s: block %" PRId64 " spans more than %d sources; lines of %.*s not tracked",
                    n->name, n->sup_block, SUP_SEGS, (int)g->source.n, g->source.p ? g->source.p : "");
            return SP_OK;
        }
        s = &n->seg[n->nseg++];
        memset(s, 0, sizeof *s);
        str_copy(s->src, sizeof s->src, g->source);
        s->epoch = ev->ctx_epoch;
        s->first_line = g->line, s->first_off = g->offset;
        s->restart_line = -1;
    }
    s->last_line = g->line, s->last_off = g->offset;
    n->dirty = 1;
    return SP_OK;
}

/* A delivery of the open range is counted; one of an emitted range (its
 * result never came, so it was assembled later) updates that record. */
static int sup_delivery(struct sp_tl_stream *t, struct ts_node *n, const struct sp_delivery *d)
{
    const struct sp_origin *g = &d->origin;
    if (!n->has_blocks) { /* sup_nomarker's counts: the epoch's deliveries (one of before a restart, late) */
        struct ts_seg *s = n->has_pend && d->epoch == n->pend.epoch ? &n->pend : &n->nm;
        if (s->first_line >= 0 && d->epoch == s->epoch && sp_str_eq_c(g->source, s->src)) {
            s->dlv++, s->dlv_proc++;
            n->dirty = 1;
            return SP_OK;
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        struct ts_seg *segs = pass ? n->done : n->seg;
        int ns = pass ? n->ndone : n->nseg;
        for (int i = 0; i < ns; i++) {
            struct ts_seg *s = &segs[i];
            if (s->epoch != d->epoch || !sp_str_eq_c(g->source, s->src) ||
                !pos_le(s->first_line, s->first_off, g->line, g->offset) ||
                !pos_le(g->line, g->offset, s->last_line, s->last_off))
                continue;
            s->dlv++;
            n->dirty = 1;
            if (!pass) {
                s->dlv_proc++;
                return SP_OK;
            }
            t->sup_dlv++;
            return sup_emit(t, n, s, n->done_block);
        }
    }
    return SP_OK;
}

static int feed_event(struct sp_tl_stream *t, const struct sp_event *ev)
{
    struct ts_node *n = node_get(t, ev->origin.node);
    char vat[VAT_CAP];
    struct ts_op o;
    int rc = sup_event(t, n, ev);
    if (rc != SP_OK) return rc;
    str_copy(vat, sizeof vat, ev->vat_id);
    switch (ev->type) {
    case SP_EV_KERNEL_INIT_START:
        /* a restart: what ran since the last block commit was not committed (#8264) */
        if (n->has_commits && n->cv) {
            free(n->v);
            n->v = sp_xmalloc((n->ncv ? n->ncv : 1) * sizeof *n->v);
            if (n->ncv) memcpy(n->v, n->cv, n->ncv * sizeof *n->v);
            n->nv = n->cap = n->ncv;
            /* the spans go back to what was committed: say so at the next flush */
            for (size_t i = 0; i < n->nv; i++) n->v[i].span_dirty = n->v[i].start >= 0;
        }
        n->nops = 0, n->abort = 0, n->crank = -1;
        break;
    case SP_EV_CRANK_START:
        n->nops = 0, n->abort = 0;
        n->crank = (ev->has & SP_HAS_CRANK_NUM) ? ev->crank_num : 0;
        str_copy(n->msg_type, sizeof n->msg_type, ev->message_type);
        str_copy(n->src, sizeof n->src, ev->origin.source);
        break;
    case SP_EV_CRANK_FINISH:
        rc = crank_finish(t, n);
        break;
    case SP_EV_HEAP_SNAPSHOT_SAVE:
        if (!*vat || !(ev->has & SP_HAS_SNAP_POS) || !ev->snapshot_id.p) break;
        memset(&o, 0, sizeof o);
        o.kind = OP_SAVE;
        snprintf(o.vat, sizeof o.vat, "%s", vat);
        o.pos = ev->snap_pos;
        o.line = ev->origin.line;
        str_copy(o.id, sizeof o.id, ev->snapshot_id);
        str_copy(n->src, sizeof n->src, ev->origin.source);
        rc = add_op(t, n, &o);
        break;
    case SP_EV_TERMINATE:
        if (!*vat) break;
        memset(&o, 0, sizeof o);
        o.kind = OP_TERM;
        snprintf(o.vat, sizeof o.vat, "%s", vat);
        rc = add_op(t, n, &o);
        break;
    case SP_EV_VAT_CLEANUP:
    case SP_EV_VAT_CLEANUP_COMPLETE:
        if (*vat) {
            struct ts_vat *v = vat_get(n, vat, 1);
            if (!v->terminated) v->terminated = 1, v->span_dirty = 1;
        }
        break;
    case SP_EV_CREATE_VAT:
        if (*vat && (sp_str_eq_c(ev->manager_type, "local") || sp_str_eq_c(ev->manager_type, "node-subprocess")))
            vat_get(n, vat, 1)->local = 1;
        break;
    case SP_EV_CONSOLE:
        if (n->crank >= 0 && ev->args.p && memmem(ev->args.p, ev->args.n, "failed to upgrade", 17)) n->abort = 1;
        break;
    case SP_EV_CS_COMMIT_BLOCK_FINISH:
        n->has_commits = 1;
        rc = check_overdue(t, n, ev);
        /* the spans that grew in the block: a point fixed by the data, so a
         * run killed and resumed emits the same records as one clean run */
        if (rc == SP_OK) rc = flush_node(t, n);
        /* the committed state, restored if the kernel restarts before the next commit */
        free(n->cv);
        n->cv = sp_xmalloc((n->nv ? n->nv : 1) * sizeof *n->cv);
        if (n->nv) memcpy(n->cv, n->v, n->nv * sizeof *n->v);
        n->ncv = n->nv;
        /* when the pipeline flushed last is not part of the node's state */
        for (size_t i = 0; i < n->ncv; i++) n->cv[i].span_dirty = 0;
        break;
    default:
        return SP_OK;
    }
    n->dirty = 1;
    return rc;
}

static int feed_delivery(struct sp_tl_stream *t, const struct sp_delivery *d)
{
    struct ts_node *n = node_get(t, d->origin.node);
    int rc = sup_delivery(t, n, d);
    if (rc != SP_OK || d->replay || d->delivery_num < 0 || !d->vat_id.p) return rc;
    struct ts_op o;
    memset(&o, 0, sizeof o);
    o.kind = OP_DLV;
    str_copy(o.vat, sizeof o.vat, d->vat_id);
    o.dn = d->delivery_num;
    o.line = d->origin.line;
    o.ok = d->status.p && sp_str_eq_c(d->status, "ok");
    o.startvat = sp_str_eq_c(d->dispatch, "startVat");
    o.metered = d->has_computrons;
    if (d->status.p && !o.ok) n->abort = 1; /* an error result aborts the whole crank */
    if (!o.ok) return SP_OK;
    n->dirty = 1;
    return add_op(t, n, &o);
}

/* A transcript item: its save-snapshot against the slog's save (the span
 * boundaries and the rest of the transcript's structure are judged by the
 * tspans part, sp_tl_tspans.c, when the span record settles them). */
static int feed_titem(struct sp_tl_stream *t, const struct sp_titem *it)
{
    int is_save = sp_str_eq_c(it->d_type, "save-snapshot");
    struct ts_node *n = node_get(t, it->node);
    char vat[VAT_CAP], id[ID_CAP];
    str_copy(vat, sizeof vat, it->vat_id);
    struct ts_vat *v = vat_get(n, vat, 1);
    if (!v) return SP_OK;
    if (!v->has_t) v->has_t = 1, n->dirty = 1;
    if (!is_save || !it->snapshot_id.p) return SP_OK;
    str_copy(id, sizeof id, it->snapshot_id);
    ring_push(v->tr_saves, &v->ntr, it->position, id, -1, it->incarnation);
    n->dirty = 1;
    return check_titem_save(t, n, v, it, id);
}

static void feed_kv(struct sp_tl_stream *t, const struct sp_kv *kv)
{
    char key[64], val[4096];
    str_copy(key, sizeof key, kv->key);
    const char *k = strncmp(key, "kv.", 3) == 0 ? key + 3 : key;
    struct ts_node *n = node_get(t, kv->node);
    str_copy(val, sizeof val, kv->value);
    if (strcmp(k, "kernel.snapshotInitial") == 0 || strcmp(k, "kernel.snapshotInterval") == 0) {
        char *end = NULL;
        long long x = strtoll(val, &end, 10);
        if (end == val || *end || x <= 0) return;
        if (strcmp(k, "kernel.snapshotInitial") == 0)
            n->sinit = x, n->sinit_src = "store_kv";
        else
            n->sint = x, n->sint_src = "store_kv";
        n->dirty = 1;
        return;
    }
    const char *dot = strchr(k, '.');
    if (k[0] == 'v' && dot && strcmp(dot, ".options") == 0 && (size_t)(dot - k) < VAT_CAP) {
        char id[VAT_CAP], wt[24];
        memcpy(id, k, (size_t)(dot - k));
        id[dot - k] = '\0';
        struct ts_vat *v = vat_get(n, id, 1);
        const char *wo = strstr(val, "\"workerOptions\":");
        if (wo && tl_json_find_str(wo, "type", wt, sizeof wt) && (strcmp(wt, "local") == 0 || strcmp(wt, "node-subprocess") == 0))
            v->local = 1;
        if (tl_json_find_bool(val, "useTranscript") == 1) v->no_transcript = 1;
        n->dirty = 1;
    }
}

static int feed_rec(struct sp_tl_stream *t, const struct sp_record *rec)
{
    switch (rec->kind) {
    case SP_REC_EVENT: return feed_event(t, rec->u.event);
    case SP_REC_DELIVERY: return feed_delivery(t, rec->u.delivery);
    case SP_REC_TITEM: return feed_titem(t, rec->u.titem);
    case SP_REC_TSPAN: {
        struct ts_node *n = node_get(t, rec->u.tspan->node);
        char vat[VAT_CAP];
        str_copy(vat, sizeof vat, rec->u.tspan->vat_id);
        struct ts_vat *v = vat_get(n, vat, 1);
        if (v && !v->has_t) v->has_t = 1, n->dirty = 1;
        return SP_OK;
    }
    case SP_REC_KV: feed_kv(t, rec->u.kv); return SP_OK;
    default: return SP_OK;
    }
}

/* Leave no lookup mid-step: an active statement would lock the store's tables
 * (the batch analysis drops and creates temp tables on the same connection). */
static void q_idle(struct sp_tl_stream *t)
{
    if (!t->q_used) return; /* most records look nothing up: no reset per record */
    t->q_used = 0;
    for (int i = 0; i < t->nlk; i++) sqlite3_reset(t->lk[i].st);
}

/* The node a record belongs to ({NULL,0} for kinds the parts do not see). */
static struct sp_str rec_node(const struct sp_record *rec)
{
    switch (rec->kind) {
    case SP_REC_EVENT: return rec->u.event->origin.node;
    case SP_REC_DELIVERY: return rec->u.delivery->origin.node;
    case SP_REC_TITEM: return rec->u.titem->node;
    case SP_REC_TSPAN: return rec->u.tspan->node;
    case SP_REC_TSNAPSHOT: return rec->u.tsnapshot->node;
    case SP_REC_KV: return rec->u.kv->node;
    default: return SP_STR_NULL;
    }
}

/* Each part sees the record after the span machine; around block commits
 * and kernel restarts the parts' committed state is kept / restored. */
static int feed_parts(struct sp_tl_stream *t, const struct sp_record *rec)
{
    if (!t->nparts) return SP_OK;
    struct sp_str name = rec_node(rec);
    if (!name.p) return SP_OK;
    struct ts_node *n = node_get(t, name);
    int ev = rec->kind == SP_REC_EVENT ? (int)rec->u.event->type : -1;
    if (ev == SP_EV_KERNEL_INIT_START && n->has_commits && n->has_pc) {
        parts_rollback(n);
        n->dirty = 1;
    }
    int rc = SP_OK;
    for (size_t i = 0; i < t->nparts && rc == SP_OK; i++)
        rc = sp_tl_parts[i]->feed(t, (struct sp_tl_node *)n, n->ps[i], rec);
    if (rc == SP_OK && ev == SP_EV_CS_COMMIT_BLOCK_FINISH) {
        sp_buf_reset(&n->pc);
        parts_to_json(n, &n->pc);
        n->has_pc = 1;
        n->dirty = 1;
    }
    return rc;
}

int sp_tl_stream_feed(struct sp_tl_stream *t, const struct sp_record *rec, sp_record_fn emit, void *arg,
                      struct sp_err *err)
{
    t->emit = emit, t->emit_arg = arg, t->err = err;
    int rc = feed_rec(t, rec);
    if (rc == SP_OK) rc = feed_parts(t, rec);
    q_idle(t);
    return rc;
}

int sp_tl_stream_flush(struct sp_tl_stream *t, sp_record_fn emit, void *arg, struct sp_err *err)
{
    t->emit = emit, t->emit_arg = arg, t->err = err;
    int rc = SP_OK;
    for (size_t i = 0; i < t->nnodes && rc == SP_OK; i++) {
        struct ts_node *n = t->nodes[i];
        rc = flush_node(t, n);
        for (size_t k = 0; k < t->nparts && rc == SP_OK; k++)
            if (sp_tl_parts[k]->flush) rc = sp_tl_parts[k]->flush(t, (struct sp_tl_node *)n, n->ps[k]);
    }
    q_idle(t);
    return rc;
}

/* ---- services to the parts (sp_tl_part.h) ------------------------------------ */

const char *sp_tl_node_name(const struct sp_tl_node *n)
{
    return n->n.name;
}

void sp_tl_each_node(const struct sp_tl_stream *t, const struct sp_tl_part *p,
                     void (*fn)(void *arg, const char *node, const void *st), void *arg)
{
    for (size_t k = 0; sp_tl_parts[k]; k++) {
        if (sp_tl_parts[k] != p) continue;
        for (size_t i = 0; i < t->nnodes; i++) fn(arg, t->nodes[i]->name, t->nodes[i]->ps[k]);
    }
}

void sp_tl_mark(struct sp_tl_node *n)
{
    n->n.dirty = 1;
}

int sp_tl_schedule(const struct sp_tl_node *n, int64_t *sinit, int64_t *sint)
{
    *sinit = n->n.sinit, *sint = n->n.sint;
    return stated(&n->n);
}

const struct sp_tl_stream_opts *sp_tl_opts(const struct sp_tl_stream *t)
{
    return &t->o;
}

int sp_tl_emit(struct sp_tl_stream *t, const struct sp_record *rec)
{
    return t->emit ? t->emit(t->emit_arg, rec, t->err) : SP_OK;
}

void sp_tl_det_begin(struct sp_tl_stream *t)
{
    det_begin(t);
}

void sp_tl_det_str(struct sp_tl_stream *t, const char *key, const char *val)
{
    det_str(t, key, val);
}

void sp_tl_det_int(struct sp_tl_stream *t, const char *key, int64_t v)
{
    det_int(t, key, v);
}

void sp_tl_det_num(struct sp_tl_stream *t, const char *key, double v)
{
    det_key(t, key);
    if (v == v && v - v == 0) /* finite */
        sp_buf_printf(&t->det, "%.17g", v);
    else
        sp_buf_append_c(&t->det, "null");
}

void sp_tl_det_raw(struct sp_tl_stream *t, const char *key, const char *json)
{
    det_key(t, key);
    sp_buf_append_c(&t->det, json && *json ? json : "null");
}

int sp_tl_anomaly(struct sp_tl_stream *t, const struct sp_tl_node *n, const char *vat, const char *kind, int64_t inc,
                  int64_t pos, const char *severity, const char *source, int64_t line)
{
    return anomaly(t, &n->n, vat, kind, inc, pos, severity, source, line);
}

int sp_tl_anomaly_node(struct sp_tl_stream *t, const char *node, const char *vat, const char *kind, int64_t inc,
                       int64_t pos, const char *severity, const char *source, int64_t line)
{
    return anomaly_named(t, node, vat, kind, inc, pos, severity, source, line);
}

sqlite3_stmt *sp_tl_lookup(struct sp_tl_stream *t, const char *sql, const char *node, const char *vat, int *rc)
{
    *rc = SP_OK;
    sqlite3 *db = q_db(t);
    if (!db) return NULL;
    int i;
    for (i = 0; i < t->nlk && t->lk[i].sql != sql; i++) {
    }
    if (i == t->nlk) {
        if (t->nlk == (int)(sizeof t->lk / sizeof t->lk[0])) {
            *rc = sp_err_set(t->err, SP_EINTERNAL, "timeline stage: more than %d distinct lookups", t->nlk);
            return NULL;
        }
        t->lk[i].sql = sql;
        if (sqlite3_prepare_v2(db, sql, -1, &t->lk[i].st, NULL) != SQLITE_OK) {
            *rc = sp_err_set(t->err, SP_ESINK, "timeline stage: prepare lookup: %s", sqlite3_errmsg(db));
            sqlite3_finalize(t->lk[i].st);
            return NULL;
        }
        t->nlk++;
    }
    sqlite3_stmt *st = t->lk[i].st;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    t->q_used = 1;
    int np = sqlite3_bind_parameter_count(st);
    if (np >= 1) sqlite3_bind_text(st, 1, node, -1, SQLITE_TRANSIENT);
    if (np >= 2 && vat) sqlite3_bind_text(st, 2, vat, -1, SQLITE_TRANSIENT);
    return st;
}

int sp_tl_step(struct sp_tl_stream *t, sqlite3_stmt *st)
{
    return q_step(t, st);
}

int64_t sp_tl_jint(yajl_val v)
{
    return jint(v);
}

const char *sp_tl_jstr(yajl_val v)
{
    return jstr(v);
}

yajl_val sp_tl_jget(yajl_val o, const char *key)
{
    return jget(o, key);
}

int sp_tl_stream_next_dirty(struct sp_tl_stream *t, size_t *iter, const char **node, struct sp_buf *b)
{
    while (*iter < t->nnodes) {
        struct ts_node *n = t->nodes[(*iter)++];
        if (!n->dirty) continue;
        sp_buf_reset(b);
        node_to_json(n, b);
        *node = n->name;
        return 1;
    }
    return 0;
}

void sp_tl_stream_saved(struct sp_tl_stream *t)
{
    for (size_t i = 0; i < t->nnodes; i++) t->nodes[i]->dirty = 0;
}

int64_t sp_tl_stream_superseded(const struct sp_tl_stream *t)
{
    return t->sup_dlv;
}

void sp_tl_stream_counts(const struct sp_tl_stream *t, void (*fn)(void *arg, const char *kind, int64_t n), void *arg)
{
    for (int i = 0; i < t->nkinds; i++) fn(arg, t->kinds[i].kind, t->kinds[i].n);
}

void sp_tl_stream_live(const struct sp_tl_stream *t, void (*fn)(void *arg, const char *node, int64_t n), void *arg)
{
    for (size_t i = 0; i < t->nnodes; i++) {
        const struct ts_node *n = t->nodes[i];
        int64_t live = 0;
        for (size_t j = 0; j < n->nv; j++) live += n->v[j].live;
        fn(arg, n->name, live);
    }
}

void sp_tl_stream_spans(const struct sp_tl_stream *t,
                        void (*fn)(void *arg, const char *node, const char *vat, int64_t len, int64_t threshold),
                        void *arg)
{
    for (size_t i = 0; i < t->nnodes; i++) {
        const struct ts_node *n = t->nodes[i];
        if (!stated(n)) continue; /* no threshold to show against a schedule nobody stated */
        for (size_t j = 0; j < n->nv; j++) {
            const struct ts_vat *v = &n->v[j];
            if (v->start < 0 || never_snapshots(v) || v->terminated) continue;
            fn(arg, n->name, v->id, v->end - v->start, threshold(n, v));
        }
    }
}

struct sp_tl_stream *sp_tl_stream_new(const struct sp_tl_stream_opts *o)
{
    struct sp_tl_stream *t = sp_xcalloc(1, sizeof *t);
    t->o = *o;
    while (sp_tl_parts[t->nparts]) t->nparts++;
    sp_buf_init(&t->det, 1u << 20);
    return t;
}

static void node_free(struct ts_node *n)
{
    parts_free(n);
    sp_buf_free(&n->pc);
    free(n->name);
    free(n->v);
    free(n->cv);
    free(n);
}

void sp_tl_stream_forget(struct sp_tl_stream *t, const char *node)
{
    for (size_t i = 0; i < t->nnodes; i++) {
        if (strcmp(t->nodes[i]->name, node) != 0) continue;
        node_free(t->nodes[i]);
        t->nodes[i] = t->nodes[--t->nnodes];
        return;
    }
}

void sp_tl_stream_free(struct sp_tl_stream *t)
{
    if (!t) return;
    for (int i = 0; i < t->nlk; i++) sqlite3_finalize(t->lk[i].st);
    for (size_t i = 0; i < t->nnodes; i++) node_free(t->nodes[i]);
    free(t->nodes);
    sp_buf_free(&t->det);
    free(t);
}
