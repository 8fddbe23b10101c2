/* sp_tl_runs.c - timeline part: kernel runs with their trigger, and each block's time budget, as the records arrive. */
#include "sp_tl_part.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Reads the cosmic-swingset-* lines of agoric-formats.md §2.3 (the fields
 * beyond the normalized ones, from the line's raw text, which the SQLite and
 * PostgreSQL stores keep for these events so a replay rebuilds the same
 * rows), the live deliveries (computrons, seconds, run link), crank-start
 * and heap-snapshot-save lines. Emits:
 *   - SP_REC_RUN at each cosmic-swingset-run-finish: phase, the trigger line
 *     that preceded run-start (bridge-inbound / deliver-inbound / timer-poll /
 *     install-bundle / inject-kernel-upgrade-events, or the bootstrap block),
 *     beans, seconds and the work counted inside the run;
 *   - SP_REC_BLOCK at each cosmic-swingset-commit-block-finish: the block's
 *     wall time split into kernel runs, the rest of end-block, commit, and
 *     cosmos work before end-block.
 * Old layouts are read for what they hold: upgrade-10's initialBeans and no
 * phase, lines without seconds (times of the lines instead), missing or
 * mistyped fields (left unknown). Nothing here dead-letters a line.
 *
 * State per node: the open block, the open run and the last trigger (no
 * per-delivery entries). The stage restores the state committed at the last
 * commit-block-finish when a kernel restarts, so a block executed again
 * after a crash (#8264) emits its runs and budget again under the same keys.
 */

#define TXT 96 /* inboundNum "H-<64 hex>-N", sources, body types */

struct trig {
    char kind[32], inbound[TXT], source[TXT], type[TXT];
    int64_t count;
};

struct run {
    int open;
    int64_t num, height, epoch, start_line, beans_start, beans_rem;
    double start_time;
    char phase[16];
    struct trig tr;
    int64_t computrons, cranks, deliveries;
    double dsec, boyd;
};

struct blk {
    int open, bootstrap;
    int64_t height;
    double begin_time, end_start, end_finish, end_sec, commit_start, commit_time, commit_sec;
    double save_time, cosmos_sec, run_sec, boyd, snap_sec, replay_sec;
    int64_t runs, computrons, cranks, deliveries, beans, saves, replays;
};

struct runs_state {
    struct run r;
    struct blk b;
    struct trig pending; /* the trigger seen since the last run-start; kind "" = none */
};

/* ---- reading the raw line ------------------------------------------------- */

static yajl_val parse_raw(const struct sp_event *e)
{
    char ebuf[64];
    if (!e->raw.p || e->raw.n == 0 || e->raw.n > (64u << 20)) return NULL;
    char *txt = sp_xstrndup(e->raw.p, e->raw.n);
    yajl_val v = yajl_tree_parse(txt, ebuf, sizeof ebuf);
    free(txt);
    if (v && !YAJL_IS_OBJECT(v)) {
        yajl_tree_free(v);
        return NULL;
    }
    return v;
}

/* An integer field: a JSON integer, or a decimal string (bigints written as text); -1 otherwise. */
static int64_t jnum_i(yajl_val o, const char *key)
{
    yajl_val v = o ? sp_tl_jget(o, key) : NULL;
    if (!v) return -1;
    if (YAJL_IS_INTEGER(v)) return YAJL_GET_INTEGER(v);
    if (YAJL_IS_DOUBLE(v) && YAJL_GET_DOUBLE(v) >= 0 && YAJL_GET_DOUBLE(v) < 9e18) return (int64_t)YAJL_GET_DOUBLE(v);
    if (YAJL_IS_STRING(v)) {
        char *end = NULL;
        const char *s = YAJL_GET_STRING(v);
        long long x = strtoll(s, &end, 10);
        if (end != s && *end == '\0') return x;
    }
    return -1;
}

static double jnum_d(yajl_val o, const char *key)
{
    yajl_val v = o ? sp_tl_jget(o, key) : NULL;
    if (v && YAJL_IS_NUMBER(v)) return YAJL_GET_DOUBLE(v);
    return NAN;
}

static void jcopy(char *out, size_t cap, yajl_val o, const char *key)
{
    yajl_val v = o ? sp_tl_jget(o, key) : NULL;
    out[0] = '\0';
    if (v && YAJL_IS_STRING(v)) snprintf(out, cap, "%s", YAJL_GET_STRING(v));
}

static void scopy(char *out, size_t cap, struct sp_str s)
{
    size_t n = s.p ? (s.n < cap - 1 ? s.n : cap - 1) : 0;
    if (n) memcpy(out, s.p, n);
    out[n] = '\0';
}

static double ev_time(const struct sp_event *e)
{
    return (e->has & SP_HAS_TIME) ? e->time : NAN;
}

static struct sp_str cs(const char *s)
{
    return s && *s ? sp_str_c(s) : SP_STR_NULL;
}

/* ---- the part ------------------------------------------------------------- */

static void rs_init(void *st)
{
    struct runs_state *s = st;
    s->r.num = s->r.height = s->r.start_line = s->r.beans_start = s->r.beans_rem = -1;
    s->b.height = -1;
    s->pending.count = -1;
}

static void blk_open(struct runs_state *s, int64_t height, double t, int bootstrap)
{
    memset(&s->b, 0, sizeof(s->b));
    s->b.open = 1;
    s->b.bootstrap = bootstrap;
    s->b.height = height;
    s->b.begin_time = t;
    s->b.end_start = s->b.end_finish = s->b.end_sec = s->b.commit_start = s->b.commit_time = NAN;
    s->b.commit_sec = s->b.save_time = s->b.cosmos_sec = NAN;
}

static void on_trigger(struct runs_state *s, const struct sp_event *e, const char *kind)
{
    yajl_val o = parse_raw(e);
    struct trig *t = &s->pending;
    memset(t, 0, sizeof(*t));
    t->count = -1;
    snprintf(t->kind, sizeof t->kind, "%s", kind);
    scopy(t->inbound, sizeof t->inbound, e->inbound_num);
    if (o) {
        if (!t->inbound[0]) jcopy(t->inbound, sizeof t->inbound, o, "inboundNum");
        switch (e->type) {
        case SP_EV_CS_BRIDGE_INBOUND: {
            jcopy(t->source, sizeof t->source, o, "source");
            yajl_val body = sp_tl_jget(o, "body");
            if (body && YAJL_IS_OBJECT(body)) jcopy(t->type, sizeof t->type, body, "type");
            break;
        }
        case SP_EV_CS_DELIVER_INBOUND:
            jcopy(t->source, sizeof t->source, o, "sender");
            t->count = jnum_i(o, "count");
            break;
        case SP_EV_CS_TIMER_POLL:
            t->count = jnum_i(o, "added");
            break;
        case SP_EV_CS_INSTALL_BUNDLE:
            jcopy(t->type, sizeof t->type, o, "endoZipBase64Sha512");
            break;
        default:
            break;
        }
        yajl_tree_free(o);
    } else if (e->type == SP_EV_CS_BRIDGE_INBOUND) {
        scopy(t->source, sizeof t->source, e->inbound_source);
    }
}

static void on_run_start(struct sp_tl_node *n, struct runs_state *s, const struct sp_event *e)
{
    yajl_val o = parse_raw(e);
    struct run *r = &s->r;
    memset(r, 0, sizeof(*r));
    r->open = 1;
    r->num = (e->has & SP_HAS_RUN_NUM) ? e->run_num : jnum_i(o, "runNum");
    r->height = (e->has & SP_HAS_BLOCK_HEIGHT) ? e->block_height : e->ctx_block_height;
    r->epoch = e->ctx_epoch;
    r->start_line = e->origin.line;
    r->start_time = ev_time(e);
    scopy(r->phase, sizeof r->phase, e->phase);
    if (!r->phase[0]) jcopy(r->phase, sizeof r->phase, o, "phase"); /* a stored line: the raw text */
    r->beans_start = jnum_i(o, "startBeans");
    r->beans_rem = jnum_i(o, "remainingBeans");
    if (r->beans_rem < 0) r->beans_rem = jnum_i(o, "initialBeans"); /* upgrade-10: the budget at start */
    if (o) yajl_tree_free(o);
    if (s->pending.kind[0]) {
        r->tr = s->pending;
    } else {
        r->tr.count = -1;
        if (s->b.open && s->b.bootstrap) snprintf(r->tr.kind, sizeof r->tr.kind, "bootstrap");
    }
    memset(&s->pending, 0, sizeof(s->pending));
    s->pending.count = -1;
    if (s->b.open && s->b.height < 0) s->b.height = r->height;
    if (!s->b.open) blk_open(s, r->height, NAN, 0); /* a slog that starts inside a block */
    sp_tl_mark(n);
}

static int on_run_finish(struct sp_tl_stream *t, struct sp_tl_node *n, struct runs_state *s, const struct sp_event *e)
{
    yajl_val o = parse_raw(e);
    struct run *r = &s->r;
    int64_t num = (e->has & SP_HAS_RUN_NUM) ? e->run_num : jnum_i(o, "runNum");
    int64_t height = (e->has & SP_HAS_BLOCK_HEIGHT) ? e->block_height : e->ctx_block_height;
    struct sp_run x;

    if (!r->open || r->num != num) { /* no start seen (stream began inside the run) */
        memset(r, 0, sizeof(*r));
        r->num = num;
        r->height = height;
        r->epoch = e->ctx_epoch;
        r->start_line = -1;
        r->start_time = NAN;
        r->beans_start = r->beans_rem = -1;
        r->tr.count = -1;
    }
    memset(&x, 0, sizeof x);
    x.node = sp_str_c(sp_tl_node_name(n));
    x.source = e->origin.source;
    x.block_height = r->height >= 0 ? r->height : height;
    x.run_num = num;
    x.epoch = r->epoch;
    char fphase[16];
    x.phase = cs(r->phase);
    if (!x.phase.p && e->phase.p) x.phase = e->phase;
    if (!x.phase.p) {
        jcopy(fphase, sizeof fphase, o, "phase");
        x.phase = cs(fphase);
    }
    x.trigger = cs(r->tr.kind);
    x.inbound_num = cs(r->tr.inbound);
    x.trigger_source = cs(r->tr.source);
    x.trigger_type = cs(r->tr.type);
    x.trigger_count = r->tr.count;
    x.start_line = r->start_line;
    x.finish_line = e->origin.line;
    x.start_time = r->start_time;
    x.finish_time = ev_time(e);
    x.seconds = (e->has & SP_HAS_SECONDS) ? e->seconds : x.finish_time - x.start_time;
    x.beans_used = (e->has & SP_HAS_USED_BEANS) ? e->used_beans : jnum_i(o, "usedBeans");
    x.beans_remaining = jnum_i(o, "remainingBeans");
    x.beans_start = r->beans_start >= 0 ? r->beans_start : jnum_i(o, "startBeans");
    x.computrons = r->computrons;
    x.cranks = r->cranks;
    x.deliveries = r->deliveries;
    x.delivery_seconds = r->dsec;
    x.boyd_seconds = r->boyd;
    if (o) yajl_tree_free(o);

    if (s->b.open) {
        s->b.runs++;
        if (isfinite(x.seconds)) s->b.run_sec += x.seconds;
        if (x.beans_used > 0) s->b.beans += x.beans_used;
    }
    r->open = 0;
    sp_tl_mark(n);
    if (num < 0 || x.block_height < 0) return SP_OK; /* no key: counted in the block's budget only */
    struct sp_record rec = {.kind = SP_REC_RUN, .u.run = &x};
    return sp_tl_emit(t, &rec);
}

static int on_commit(struct sp_tl_stream *t, struct sp_tl_node *n, struct runs_state *s, const struct sp_event *e)
{
    yajl_val o = parse_raw(e);
    struct blk *b = &s->b;
    int64_t height = (e->has & SP_HAS_BLOCK_HEIGHT) ? e->block_height : e->ctx_block_height;
    struct sp_block x;

    if (!b->open || (b->height >= 0 && height >= 0 && b->height != height)) blk_open(s, height, NAN, 0);
    if (b->height < 0) b->height = height;
    b->commit_time = ev_time(e);
    b->commit_sec = (e->has & SP_HAS_SECONDS) ? e->seconds : b->commit_time - b->commit_start;
    b->save_time = jnum_d(o, "saveTime");
    b->cosmos_sec = jnum_d(o, "cosmosCommitSeconds");
    if (o) yajl_tree_free(o);

    memset(&x, 0, sizeof x);
    x.node = sp_str_c(sp_tl_node_name(n));
    x.block_height = b->height;
    x.bootstrap = b->bootstrap;
    x.begin_time = b->begin_time;
    x.end_time = b->end_finish;
    x.commit_time = b->commit_time;
    x.block_seconds = b->commit_time - b->begin_time;
    x.run_seconds = b->runs ? b->run_sec : NAN;
    x.end_block_seconds = isfinite(b->end_sec) ? b->end_sec : b->end_finish - b->end_start;
    x.commit_seconds = b->commit_sec;
    x.save_seconds = b->save_time;
    x.cosmos_commit_seconds = b->cosmos_sec;
    x.runs = b->runs;
    x.computrons = b->computrons;
    x.cranks = b->cranks;
    x.deliveries = b->deliveries;
    x.beans_used = b->beans;
    x.boyd_seconds = b->boyd;
    x.snapshot_saves = b->saves;
    x.snapshot_seconds = b->snap_sec;
    x.replays = b->replays;
    x.replay_seconds = b->replay_sec;
    x.committed = 1;
    b->open = 0;
    sp_tl_mark(n);
    if (x.block_height < 0) return SP_OK; /* nothing to key it by */
    struct sp_record rec = {.kind = SP_REC_BLOCK, .u.block = &x};
    return sp_tl_emit(t, &rec);
}

static void on_delivery(struct sp_tl_node *n, struct runs_state *s, const struct sp_delivery *d)
{
    double sec = isfinite(d->seconds) ? d->seconds : 0;
    int boyd = d->dispatch.p && d->dispatch.n == 16 && memcmp(d->dispatch.p, "bringOutYourDead", 16) == 0;
    if (d->replay) {
        if (!s->b.open) return;
        s->b.replays++;
        s->b.replay_sec += sec;
        sp_tl_mark(n);
        return;
    }
    if (s->r.open && (d->run_num < 0 || d->run_num == s->r.num)) {
        s->r.deliveries++;
        s->r.computrons += d->has_computrons ? d->computrons : 0;
        s->r.dsec += sec;
        if (boyd) s->r.boyd += sec;
    }
    if (s->b.open) {
        s->b.deliveries++;
        s->b.computrons += d->has_computrons ? d->computrons : 0;
        if (boyd) s->b.boyd += sec;
    }
    sp_tl_mark(n);
}

static const char *const sql_save_seconds =
    "SELECT save_seconds, compress_seconds FROM snapshots WHERE node = ?1 AND vat_id = ?2 AND snap_pos = ?3";

static int save_seconds_from_store(struct sp_tl_stream *t, struct sp_tl_node *n, struct runs_state *s,
                                   const struct sp_event *e)
{
    char vat[64];
    int rc;
    if (!e->vat_id.p || !(e->has & SP_HAS_SNAP_POS)) return SP_OK;
    scopy(vat, sizeof vat, e->vat_id);
    sqlite3_stmt *st = sp_tl_lookup(t, sql_save_seconds, sp_tl_node_name(n), vat, &rc);
    if (!st) return rc;
    sqlite3_bind_int64(st, 3, e->snap_pos);
    if ((rc = sp_tl_step(t, st)) == 1) {
        if (sqlite3_column_type(st, 0) != SQLITE_NULL) s->b.snap_sec += sqlite3_column_double(st, 0);
        if (sqlite3_column_type(st, 1) != SQLITE_NULL) s->b.snap_sec += sqlite3_column_double(st, 1);
    }
    return rc < 0 ? rc : SP_OK;
}

static int rs_feed(struct sp_tl_stream *t, struct sp_tl_node *n, void *st, const struct sp_record *rec)
{
    struct runs_state *s = st;
    if (rec->kind == SP_REC_DELIVERY) {
        on_delivery(n, s, rec->u.delivery);
        return SP_OK;
    }
    if (rec->kind != SP_REC_EVENT) return SP_OK;
    const struct sp_event *e = rec->u.event;
    switch (e->type) {
    case SP_EV_CS_BEGIN_BLOCK:
        blk_open(s, (e->has & SP_HAS_BLOCK_HEIGHT) ? e->block_height : -1, ev_time(e), 0);
        sp_tl_mark(n);
        return SP_OK;
    case SP_EV_CS_BOOTSTRAP_BLOCK_START:
        blk_open(s, -1, ev_time(e), 1);
        s->b.end_start = ev_time(e);
        sp_tl_mark(n);
        return SP_OK;
    case SP_EV_CS_END_BLOCK_START:
        if (!s->b.open) blk_open(s, (e->has & SP_HAS_BLOCK_HEIGHT) ? e->block_height : -1, NAN, 0);
        s->b.end_start = ev_time(e);
        sp_tl_mark(n);
        return SP_OK;
    case SP_EV_CS_END_BLOCK_FINISH:
    case SP_EV_CS_BOOTSTRAP_BLOCK_FINISH:
        if (!s->b.open) return SP_OK;
        s->b.end_finish = ev_time(e);
        s->b.end_sec = (e->has & SP_HAS_SECONDS) ? e->seconds : NAN;
        sp_tl_mark(n);
        return SP_OK;
    case SP_EV_CS_COMMIT_BLOCK_START:
        if (!s->b.open) return SP_OK;
        s->b.commit_start = ev_time(e);
        if (s->b.height < 0 && (e->has & SP_HAS_BLOCK_HEIGHT)) s->b.height = e->block_height;
        sp_tl_mark(n);
        return SP_OK;
    case SP_EV_CS_COMMIT_BLOCK_FINISH:
        return on_commit(t, n, s, e);
    case SP_EV_CS_BRIDGE_INBOUND: on_trigger(s, e, "bridge-inbound"); break;
    case SP_EV_CS_DELIVER_INBOUND: on_trigger(s, e, "deliver-inbound"); break;
    case SP_EV_CS_TIMER_POLL: on_trigger(s, e, "timer-poll"); break;
    case SP_EV_CS_INSTALL_BUNDLE: on_trigger(s, e, "install-bundle"); break;
    case SP_EV_CS_INJECT_KERNEL_UPGRADE_EVENTS: on_trigger(s, e, "kernel-upgrade-events"); break;
    case SP_EV_CS_RUN_START: on_run_start(n, s, e); return SP_OK;
    case SP_EV_CS_RUN_FINISH: return on_run_finish(t, n, s, e);
    case SP_EV_CRANK_START:
        if (s->r.open) s->r.cranks++;
        if (s->b.open) s->b.cranks++;
        if (s->r.open || s->b.open) sp_tl_mark(n);
        return SP_OK;
    case SP_EV_HEAP_SNAPSHOT_SAVE: {
        if (!s->b.open) return SP_OK;
        s->b.saves++;
        sp_tl_mark(n);
        if (e->has & (SP_HAS_SAVE_SECONDS | SP_HAS_COMPRESS_SECONDS)) {
            if (e->has & SP_HAS_SAVE_SECONDS) s->b.snap_sec += e->save_seconds;
            if (e->has & SP_HAS_COMPRESS_SECONDS) s->b.snap_sec += e->compress_seconds;
            return SP_OK;
        }
        /* a replay of stored lines: slog_events keeps no durations, the snapshots row has them */
        return save_seconds_from_store(t, n, s, e);
    }
    default:
        return SP_OK;
    }
    sp_tl_mark(n); /* a trigger */
    return SP_OK;
}

/* ---- checkpoint ------------------------------------------------------------- */

static void put_d(struct sp_buf *b, double v)
{
    if (isfinite(v)) {
        char t[40];
        sp_json_fmt_double(v, t);
        sp_buf_append_c(b, t);
    } else {
        sp_buf_append_c(b, "null");
    }
}

static void put_s(struct sp_buf *b, const char *s)
{
    sp_buf_json_str(b, s, strlen(s));
}

static void put_trig(struct sp_buf *b, const struct trig *t)
{
    sp_buf_putc(b, '[');
    put_s(b, t->kind);
    sp_buf_putc(b, ',');
    put_s(b, t->inbound);
    sp_buf_putc(b, ',');
    put_s(b, t->source);
    sp_buf_putc(b, ',');
    put_s(b, t->type);
    sp_buf_printf(b, ",%lld]", (long long)t->count);
}

static void rs_save(const void *st, struct sp_buf *b)
{
    const struct runs_state *s = st;
    const struct run *r = &s->r;
    const struct blk *k = &s->b;
    sp_buf_printf(b, "{\"r\":[%d,%lld,%lld,%lld,%lld,%lld,%lld,", r->open, (long long)r->num, (long long)r->height,
                  (long long)r->epoch, (long long)r->start_line, (long long)r->beans_start, (long long)r->beans_rem);
    put_d(b, r->start_time);
    sp_buf_putc(b, ',');
    put_s(b, r->phase);
    sp_buf_printf(b, ",%lld,%lld,%lld,", (long long)r->computrons, (long long)r->cranks, (long long)r->deliveries);
    put_d(b, r->dsec);
    sp_buf_putc(b, ',');
    put_d(b, r->boyd);
    sp_buf_append_c(b, "],\"rt\":");
    put_trig(b, &r->tr);
    sp_buf_append_c(b, ",\"pt\":");
    put_trig(b, &s->pending);
    sp_buf_printf(b, ",\"b\":[%d,%d,%lld", k->open, k->bootstrap, (long long)k->height);
    const double ds[] = {k->begin_time, k->end_start, k->end_finish, k->end_sec, k->commit_start, k->commit_time,
                         k->commit_sec, k->save_time, k->cosmos_sec, k->run_sec, k->boyd, k->snap_sec, k->replay_sec};
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
        sp_buf_putc(b, ',');
        put_d(b, ds[i]);
    }
    sp_buf_printf(b, ",%lld,%lld,%lld,%lld,%lld,%lld,%lld]}", (long long)k->runs, (long long)k->computrons,
                  (long long)k->cranks, (long long)k->deliveries, (long long)k->beans, (long long)k->saves,
                  (long long)k->replays);
}

static int arr_get(yajl_val a, size_t i, yajl_val *out)
{
    if (!a || !YAJL_IS_ARRAY(a) || i >= YAJL_GET_ARRAY(a)->len) return -1;
    *out = YAJL_GET_ARRAY(a)->values[i];
    return 0;
}

static int get_i(yajl_val a, size_t i, int64_t *out)
{
    yajl_val v;
    if (arr_get(a, i, &v) || !YAJL_IS_INTEGER(v)) return -1;
    *out = YAJL_GET_INTEGER(v);
    return 0;
}

static int get_d(yajl_val a, size_t i, double *out)
{
    yajl_val v;
    if (arr_get(a, i, &v)) return -1;
    if (YAJL_IS_NULL(v)) *out = NAN;
    else if (YAJL_IS_NUMBER(v)) *out = YAJL_GET_DOUBLE(v);
    else return -1;
    return 0;
}

static int get_s(yajl_val a, size_t i, char *out, size_t cap)
{
    yajl_val v;
    if (arr_get(a, i, &v) || !YAJL_IS_STRING(v)) return -1;
    snprintf(out, cap, "%s", YAJL_GET_STRING(v));
    return 0;
}

static int get_trig(yajl_val a, struct trig *t)
{
    return get_s(a, 0, t->kind, sizeof t->kind) | get_s(a, 1, t->inbound, sizeof t->inbound) |
           get_s(a, 2, t->source, sizeof t->source) | get_s(a, 3, t->type, sizeof t->type) | get_i(a, 4, &t->count);
}

static int rs_restore(void *st, yajl_val v)
{
    struct runs_state s;
    struct run *r = &s.r;
    struct blk *k = &s.b;
    int64_t x = 0, y = 0;
    int bad = 0;
    memset(&s, 0, sizeof s);
    yajl_val a = sp_tl_jget(v, "r"), b = sp_tl_jget(v, "b");
    bad |= get_i(a, 0, &x);
    r->open = x != 0;
    bad |= get_i(a, 1, &r->num) | get_i(a, 2, &r->height) | get_i(a, 3, &r->epoch) | get_i(a, 4, &r->start_line);
    bad |= get_i(a, 5, &r->beans_start) | get_i(a, 6, &r->beans_rem) | get_d(a, 7, &r->start_time);
    bad |= get_s(a, 8, r->phase, sizeof r->phase) | get_i(a, 9, &r->computrons) | get_i(a, 10, &r->cranks);
    bad |= get_i(a, 11, &r->deliveries) | get_d(a, 12, &r->dsec) | get_d(a, 13, &r->boyd);
    bad |= get_trig(sp_tl_jget(v, "rt"), &r->tr) | get_trig(sp_tl_jget(v, "pt"), &s.pending);
    bad |= get_i(b, 0, &x) | get_i(b, 1, &y) | get_i(b, 2, &k->height);
    k->open = x != 0;
    k->bootstrap = y != 0;
    double *ds[] = {&k->begin_time, &k->end_start, &k->end_finish, &k->end_sec, &k->commit_start, &k->commit_time,
                    &k->commit_sec, &k->save_time, &k->cosmos_sec, &k->run_sec, &k->boyd, &k->snap_sec, &k->replay_sec};
    size_t nd = sizeof ds / sizeof ds[0];
    for (size_t i = 0; i < nd; i++) bad |= get_d(b, 3 + i, ds[i]);
    int64_t *is[] = {&k->runs, &k->computrons, &k->cranks, &k->deliveries, &k->beans, &k->saves, &k->replays};
    for (size_t i = 0; i < sizeof is / sizeof is[0]; i++) bad |= get_i(b, 3 + nd + i, is[i]);
    if (bad) return -1;
    memcpy(st, &s, sizeof s);
    return 0;
}

const struct sp_tl_part sp_tl_part_runs = {
    .name = "runs",
    .state_size = sizeof(struct runs_state),
    .init = rs_init,
    .feed = rs_feed,
    .flush = NULL,
    .save = rs_save,
    .restore = rs_restore,
    .release = NULL,
};
