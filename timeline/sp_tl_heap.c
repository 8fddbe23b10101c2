/* sp_tl_heap.c - heap watch in the stage: HEAP_SIZE_THRESHOLD the first time a vat incarnation's heap snapshot crosses each size threshold. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp_tl_heap.h"
#include "sp_tl_int.h"
#include "sp_tl_part.h"

/*
 * Vat heaps grow toward sizes that break state sync and then the vat
 * (agoric-sdk #10705, #10740, #10842: 500 MB, 1 GB, 2 GB). The kernel slogs
 * each heap snapshot's uncompressed size (heap-snapshot-save
 * uncompressedSize; its uncompressedSizeDelta is not kept by the store, so a
 * replay could not repeat it: the growth is computed here). Per vat this part keeps the current incarnation's
 * first and last save (position, size, time) and which thresholds it has
 * crossed; at a save that crosses one or more for the first time in the
 * incarnation it reports HEAP_SIZE_THRESHOLD, keyed by the save's snapPos,
 * with the size, the growth since the incarnation's first save (per day and
 * per 1,000 deliveries) and the snapshot as evidence. A new incarnation
 * (a successful startVat delivery) starts over; a terminated vat has no heap
 * to list (sp_tl_heap_top). The state is one small
 * entry per vat, whatever the number of saves; a kernel restart rolls it
 * back with the stage (a re-executed save is reported once).
 */

static const int64_t hp_default[] = {500000000, INT64_C(1073741824), INT64_C(2147483648)};
#define HP_MAX 8 /* thresholds (bits of hp_vat.crossed) */

/* The thresholds in force: --heap-thresholds (ascending), else the defaults. */
static int thresholds(const struct sp_tl_stream *t, const int64_t **v)
{
    const struct sp_tl_stream_opts *o = sp_tl_opts(t);
    if (o->heap_thresholds && o->nheap_thresholds > 0) {
        *v = o->heap_thresholds;
        return o->nheap_thresholds < HP_MAX ? o->nheap_thresholds : HP_MAX;
    }
    *v = hp_default;
    return 3;
}

/* "500 MB", "1 GiB", ... as the size is round in one unit, else bytes. */
static void size_name(int64_t v, char *out, size_t cap)
{
    static const struct {
        int64_t mul;
        const char *unit;
    } u[] = {{INT64_C(1073741824), "GiB"}, {1048576, "MiB"}, {1000000000, "GB"}, {1000000, "MB"}, {1024, "KiB"}, {1000, "kB"}};
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        if (v % u[i].mul == 0) {
            snprintf(out, cap, "%" PRId64 " %s", v / u[i].mul, u[i].unit);
            return;
        }
    snprintf(out, cap, "%" PRId64 " bytes", v);
}

struct hp_vat {
    char id[24];
    int64_t inc;           /* incarnation: 0 from a startVat at deliveryNum <= 1, +1 per later startVat, -1 unknown */
    int64_t crossed;       /* bit i: hp_thresholds[i] crossed in this incarnation */
    int64_t pos0, size0;   /* first save of the incarnation (pos0 -1: none yet) */
    double time0;          /* its slog time (NAN unknown) */
    int64_t size;          /* the newest save's size, -1 none */
};

struct hp_state {
    struct hp_vat *v;
    size_t n, cap;
};

static void hp_release(void *st)
{
    struct hp_state *s = st;
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static struct hp_vat *hp_get(struct hp_state *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].id, id) == 0) return &s->v[i];
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = sp_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    struct hp_vat *v = &s->v[s->n++];
    memset(v, 0, sizeof *v);
    snprintf(v->id, sizeof v->id, "%s", id);
    v->inc = -1;
    v->pos0 = -1;
    v->time0 = NAN;
    v->size = -1;
    return v;
}

static int on_save(struct sp_tl_stream *t, struct sp_tl_node *n, struct hp_state *s, const struct sp_event *e)
{
    char vat[24], id[72], src[256];
    sp_str_to_buf(e->vat_id, vat, sizeof vat);
    if (!*vat || !(e->has & SP_HAS_UNCOMPRESSED_SIZE) || !(e->has & SP_HAS_SNAP_POS)) return SP_OK;
    struct hp_vat *v = hp_get(s, vat);
    int64_t size = e->uncompressed_size, pos = e->snap_pos;
    double time = (e->has & SP_HAS_TIME) ? e->time : NAN;
    sp_tl_mark(n);
    v->size = size;
    if (v->pos0 < 0) v->pos0 = pos, v->size0 = size, v->time0 = time;
    const int64_t *thr;
    int nt = thresholds(t, &thr);
    int64_t fresh = 0;
    int top = -1;
    for (int i = 0; i < nt; i++)
        if (size >= thr[i] && !(v->crossed & (INT64_C(1) << i))) fresh |= INT64_C(1) << i, top = i;
    if (!fresh) return SP_OK;
    v->crossed |= fresh;
    char list[200] = "[", name[32];
    for (int i = 0; i < nt; i++)
        if (fresh & (INT64_C(1) << i))
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%" PRId64, list[1] ? "," : "", thr[i]);
    snprintf(list + strlen(list), sizeof list - strlen(list), "]");
    sp_str_to_buf(e->snapshot_id, id, sizeof id);
    sp_str_to_buf(e->origin.source, src, sizeof src);
    sp_tl_det_begin(t);
    sp_tl_det_int(t, "uncompressed_size", size);
    size_name(thr[top], name, sizeof name);
    sp_tl_det_int(t, "threshold", thr[top]);
    sp_tl_det_str(t, "threshold_name", name);
    sp_tl_det_raw(t, "thresholds_crossed", list);
    sp_tl_det_str(t, "snapshot_id", id);
    sp_tl_det_int(t, "since_snap_pos", v->pos0);
    sp_tl_det_int(t, "since_size", v->size0);
    if (pos > v->pos0)
        sp_tl_det_num(t, "growth_per_1000_deliveries", round((double)(size - v->size0) * 1000.0 / (double)(pos - v->pos0)));
    else
        sp_tl_det_raw(t, "growth_per_1000_deliveries", "null");
    if (time == time && v->time0 == v->time0 && time > v->time0)
        sp_tl_det_num(t, "growth_per_day", round((double)(size - v->size0) * 86400.0 / (time - v->time0)));
    else
        sp_tl_det_raw(t, "growth_per_day", "null");
    sp_tl_det_str(t, "rule", "heap: a vat incarnation's heap snapshot (uncompressedSize) reaches a threshold "
                             "(default 500 MB / 1 GiB / 2 GiB: state sync, then the vat, break: agoric-sdk #10705, "
                             "#10740, #10842)");
    return sp_tl_anomaly(t, n, vat, "HEAP_SIZE_THRESHOLD", v->inc, pos, top == 0 ? "warning" : "error", src,
                         e->origin.line);
}

static int hp_feed(struct sp_tl_stream *t, struct sp_tl_node *n, void *st, const struct sp_record *rec)
{
    struct hp_state *s = st;
    if (rec->kind == SP_REC_EVENT && rec->u.event->type == SP_EV_HEAP_SNAPSHOT_SAVE) return on_save(t, n, s, rec->u.event);
    if (rec->kind == SP_REC_EVENT && (rec->u.event->type == SP_EV_TERMINATE || rec->u.event->type == SP_EV_VAT_CLEANUP ||
                                      rec->u.event->type == SP_EV_VAT_CLEANUP_COMPLETE)) {
        char vat[24];
        sp_str_to_buf(rec->u.event->vat_id, vat, sizeof vat);
        for (size_t i = 0; *vat && i < s->n; i++)
            if (strcmp(s->v[i].id, vat) == 0 && s->v[i].size >= 0) s->v[i].size = -1, sp_tl_mark(n); /* no heap now */
        return SP_OK;
    }
    if (rec->kind != SP_REC_DELIVERY) return SP_OK;
    const struct sp_delivery *d = rec->u.delivery;
    if (d->replay || !sp_str_eq_c(d->dispatch, "startVat") || !sp_str_eq_c(d->status, "ok")) return SP_OK;
    char vat[24];
    sp_str_to_buf(d->vat_id, vat, sizeof vat);
    if (!*vat) return SP_OK;
    struct hp_vat *v = hp_get(s, vat);
    /* a new incarnation: its heap starts over */
    v->inc = d->delivery_num >= 0 && d->delivery_num <= 1 ? 0 : v->inc >= 0 ? v->inc + 1 : -1;
    v->crossed = 0;
    v->pos0 = -1;
    v->time0 = NAN;
    sp_tl_mark(n);
    return SP_OK;
}

static void hp_save(const void *st, struct sp_buf *b)
{
    const struct hp_state *s = st;
    sp_buf_putc(b, '[');
    for (size_t i = 0; i < s->n; i++) {
        const struct hp_vat *v = &s->v[i];
        sp_buf_append_c(b, i ? ",[" : "[");
        sp_buf_json_str(b, v->id, strlen(v->id));
        sp_buf_printf(b, ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",", v->inc, v->crossed, v->pos0,
                      v->size0, v->size);
        if (v->time0 == v->time0)
            sp_buf_printf(b, "%.17g]", v->time0);
        else
            sp_buf_append_c(b, "null]");
    }
    sp_buf_putc(b, ']');
}

static int hp_restore(void *st, yajl_val val)
{
    struct hp_state *s = st;
    if (!val || !YAJL_IS_ARRAY(val)) return -1;
    for (size_t i = 0; i < val->u.array.len; i++) {
        yajl_val a = val->u.array.values[i];
        if (!YAJL_IS_ARRAY(a) || a->u.array.len != 7) return -1;
        yajl_val *e = a->u.array.values;
        struct hp_vat *v = hp_get(s, sp_tl_jstr(e[0]));
        v->inc = sp_tl_jint(e[1]);
        v->crossed = sp_tl_jint(e[2]);
        if (v->crossed < 0) v->crossed = 0;
        v->pos0 = sp_tl_jint(e[3]);
        v->size0 = sp_tl_jint(e[4]);
        v->size = sp_tl_jint(e[5]);
        v->time0 = YAJL_IS_NUMBER(e[6]) ? YAJL_GET_DOUBLE(e[6]) : NAN;
    }
    return 0;
}

/* ---- the largest heaps, for the metrics ------------------------------------ */

struct hp_top {
    const char *node, *vat;
    int64_t size;
};

struct hp_collect {
    struct hp_top *v;
    size_t n, cap;
};

static void collect(void *arg, const char *node, const void *st)
{
    struct hp_collect *c = arg;
    const struct hp_state *s = st;
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].size < 0) continue;
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 64;
            c->v = sp_xrealloc(c->v, c->cap * sizeof *c->v);
        }
        c->v[c->n++] = (struct hp_top){node, s->v[i].id, s->v[i].size};
    }
}

static int top_cmp(const void *x, const void *y)
{
    const struct hp_top *a = x, *b = y;
    if (a->size != b->size) return a->size > b->size ? -1 : 1;
    int c = strcmp(a->node, b->node);
    return c ? c : strcmp(a->vat, b->vat);
}

extern const struct sp_tl_part sp_tl_part_heap;

void sp_tl_heap_top(const struct sp_tl_stream *t, int k,
                    void (*fn)(void *arg, const char *node, const char *vat, int64_t bytes), void *arg)
{
    struct hp_collect c = {0};
    sp_tl_each_node(t, &sp_tl_part_heap, collect, &c);
    if (c.n) qsort(c.v, c.n, sizeof *c.v, top_cmp);
    for (size_t i = 0; i < c.n && (int)i < k; i++) fn(arg, c.v[i].node, c.v[i].vat, c.v[i].size);
    free(c.v);
}

const struct sp_tl_part sp_tl_part_heap = {
    .name = "heap",
    .state_size = sizeof(struct hp_state),
    .init = NULL,
    .feed = hp_feed,
    .flush = NULL,
    .save = hp_save,
    .restore = hp_restore,
    .release = hp_release,
};
