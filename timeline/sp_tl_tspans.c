/* sp_tl_tspans.c - timeline part: the transcript's own structure judged span by span as its items arrive (T1-T13, S1, S2, the transcript spans' schedule), and the transcript span records merged with the slog's view. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp_tl_int.h"
#include "sp_tl_part.h"

/*
 * The same rules, positions, severities and evidence as the batch pass
 * (the former SQL passes tl_pass_spans, tl_pass_store), judged when
 * a stored transcript span record arrives: every input (swing-store, export,
 * archive) emits a span's items in position order and then the span itself,
 * so the items are folded into a fixed-size summary of the span being read
 * (first/second/last types, the first gap, the first incarnation change, and
 * up to TP_NOTES pseudo-items, of which a well-formed span has at most two),
 * and the span record settles it. (T12 on an item, NON_OK_RESULT and
 * stopVat, is the slog checks' part: sp_tl_slogchk.c.)
 *
 * Per vat the state is bounded: that summary, the previous span, the store's
 * snapshot rows as a ring of the last TP_RING plus a Bloom filter of their
 * positions and hashes (and of the slog's saved snapshot IDs), and the slog's
 * last TP_RING saves. Without a store the filter answers "no such snapshot"
 * exactly (it never reports a snapshot as missing that was there; when it is
 * full it only stops answering), so LOAD_SNAPSHOT_UNKNOWN and
 * SNAPSHOT_MISSING_IN_STORE ("no snapshots row") work store-less; with a
 * store the store is asked instead.
 *
 * Span records: the batch's spans row of a transcript span holds the slog's
 * view of the same span too (from_slog, and for a pruned or out-of-date
 * store span the slog's types, end and save). The part keeps the last
 * TP_SPANS spans of each side per vat; the stage's span machine hands it
 * each slog span (tl_tspans_slog_span), and whichever side comes second
 * emits the merged record. Beyond that window the other side is looked up
 * in the store (transcript_spans and the stage's own spans rows); without
 * a store the record then has one side only.
 *
 * Judgements the other input can overturn are keyed updates: a
 * LOAD_SNAPSHOT_UNKNOWN is withdrawn when a save of that snapshot arrives,
 * and a closed span's schedule is judged again when the slog's
 * heap-snapshot-save shows which crank took the snapshot.
 */

#define TP_NOTES 8
#define TP_RING 8
#define TP_BLOOM 256 /* bytes per vat */
#define TP_UNKNOWN 4 /* unknown loads remembered per vat, to retract */
#define TP_SPANS 8   /* recent spans of each side remembered per vat, to merge the other side's record */
#define TY 32
#define IDC 72
#define SRC 256
#define VATC 24

struct tp_note {
    int64_t pos, inc, prev_adj;
    char type[TY], prev_type[TY], sid[IDC];
};

/* One transcript span as the batch's spans row shows it from the transcript side. */
struct tp_tview {
    int64_t start, end, inc, items, dlv, hash_ok, cur, complete;
    int64_t sched; /* a SNAPSHOT_SCHEDULE_DEVIATION was reported on it */
    char first[TY], last[TY], save[IDC], load[IDC], hash[IDC];
    char third_last[TY], src[SRC]; /* for the schedule, judged again when the slog's save shows its crank */
};

/* One slog span as the stage's span machine settled it (next: where the next span starts, -1 open). */
struct tp_sview {
    int64_t start, next, dlv;
    char first[TY], last[TY], save[IDC], load[IDC];
};

struct tp_snap {
    int64_t pos, first_dn, line; /* first_dn/line/src: slog saves only */
    char id[IDC], src[SRC];
};

/* Per-vat numeric fields, serialized in this order. */
#define TP_INTS(X)                                                                                     \
    X(terminated)  /* terminated by any evidence (kvStore vats.terminated, slog) */                    \
    X(wt_known)    /* the worker type is known (options, create-vat, the init item) */                 \
    X(local)       /* ... and it is local / node-subprocess */                                          \
    X(use_tr)      /* useTranscript: 1, 0, -1 unknown */                                                \
    X(use_tr_opt)  /* ... stated in the options */                                                      \
    X(max_dn)      /* highest live deliveryNum, -1 none */                                              \
    X(ok_dlv)      /* an ok live delivery was seen */                                                   \
    X(metered)     /* ... one with computrons */                                                        \
    X(crank)       /* crank of the vat's first delivery in the crank being run, -1 */                  \
    X(crank_dn)    /* ... that delivery's number */                                                     \
    X(nsnap)       /* store snapshot rows seen */                                                       \
    X(snap_max)    /* highest snapPos among them, -1 */                                                 \
    X(inuse_n)     /* inUse rows (distinct snapPos: an input read twice counts once) */                \
    X(iu0) X(iu1) X(iu2) X(iu3) /* ... the first four of their snapPos */                             \
    X(inuse_pos)   /* highest inUse snapPos, -1 */                                                      \
    X(nslog)       /* slog saves seen */                                                                \
    X(s2_done)     /* S2 judged at the current span */                                                  \
    X(s1_pos)      /* last S1 anomaly position (the batch's store pass yields to it) */                \
    X(has_tr)      /* a transcript span was seen */                                                     \
    X(has_prev)    /* the previous transcript span below is set */                                      \
    X(p_start) X(p_end) X(p_inc) X(p_cur)                                                               \
    X(b_has) X(b_start) X(b_end) X(b_inc) X(b_cur) /* the span before it (a current span re-published) */ \
    X(a_n)         /* items of the span being read */                                                   \
    X(a_first) X(a_last) X(a_gap_from) X(a_gap_to) X(a_inc0_pos) X(a_inc0) X(a_incd_pos) X(a_incd)      \
    X(a_dlv) X(a_nnote) X(a_dropped)                                                                   \
    X(nunknown)    /* unknown loads pushed */                                                          \
    X(ntr) X(nsl)  /* transcript / slog spans pushed to tr / sl */                                     \
    X(od_start)    /* start of the current span this part found SNAPSHOT_OVERDUE, -1 none */
#define TP_STRS(X)                                                                                     \
    X(inuse_hash, IDC) X(snap_src, SRC) X(p_last, TY) X(p_save, IDC) X(p_src, SRC) X(a_t0, TY) X(a_t1, TY) \
    X(b_last, TY) X(b_save, IDC) X(b_src, SRC)                                                         \
    X(a_lastt, TY) X(a_blast, TY) X(a_tlast, TY) X(a_save, IDC) X(a_load, IDC) X(a_src, SRC)

struct tp_vat {
    char id[VATC];
#define X(f) int64_t f;
    TP_INTS(X)
#undef X
#define X(f, n) char f[n];
    TP_STRS(X)
#undef X
    struct tp_snap snaps[TP_RING], slog[TP_RING];
    struct tp_note notes[TP_NOTES];
    struct tp_tview tr[TP_SPANS];    /* the last transcript spans */
    struct tp_sview sl[TP_SPANS];    /* the last slog spans (the current one included) */
    struct tp_snap unknown[TP_UNKNOWN]; /* LOAD_SNAPSHOT_UNKNOWN reported (pos = span start), until a save shows the id */
    unsigned char bloom[TP_BLOOM];
};

struct tp_state {
    struct tp_vat *v;
    size_t nv, cap;
    int has_ss;            /* the node has swing-store snapshot rows */
    int kv_sinit, kv_sint; /* the schedule came from the kvStore (else the options) */
    int64_t crank;         /* crank being run, -1 */
};

/* ---- small helpers --------------------------------------------------------- */

static void cpy(char *dst, size_t cap, struct sp_str s)
{
    size_t n = s.p ? (s.n < cap - 1 ? s.n : cap - 1) : 0;
    if (n) memcpy(dst, s.p, n);
    dst[n] = '\0';
}

static int is_pseudo(const char *t)
{
    return strcmp(t, "initialize-worker") == 0 || strcmp(t, "load-snapshot") == 0 ||
           strcmp(t, "save-snapshot") == 0 || strcmp(t, "shutdown-worker") == 0;
}
static int is_start_type(const char *t)
{
    return strcmp(t, "initialize-worker") == 0 || strcmp(t, "load-snapshot") == 0;
}
static int is_end_type(const char *t)
{
    return strcmp(t, "save-snapshot") == 0 || strcmp(t, "shutdown-worker") == 0;
}

static uint64_t fnv(const char *tag, const char *s, uint64_t seed)
{
    uint64_t h = 1469598103934665603ull ^ seed;
    for (const char *p = tag; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    for (const char *p = s; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

static void bloom_add(struct tp_vat *v, const char *tag, const char *s)
{
    for (uint64_t k = 0; k < 3; k++) {
        uint64_t b = fnv(tag, s, k * 0x9e3779b97f4a7c15ull) % (TP_BLOOM * 8);
        v->bloom[b / 8] |= (unsigned char)(1u << (b % 8));
    }
}

/* 0: certainly never added; 1: maybe. */
static int bloom_has(const struct tp_vat *v, const char *tag, const char *s)
{
    for (uint64_t k = 0; k < 3; k++) {
        uint64_t b = fnv(tag, s, k * 0x9e3779b97f4a7c15ull) % (TP_BLOOM * 8);
        if (!(v->bloom[b / 8] & (1u << (b % 8)))) return 0;
    }
    return 1;
}

static void acc_reset(struct tp_vat *v)
{
    v->a_n = v->a_dlv = v->a_nnote = v->a_dropped = 0;
    v->a_first = v->a_last = v->a_gap_from = v->a_gap_to = v->a_inc0_pos = v->a_inc0 = v->a_incd_pos = v->a_incd = -1;
    v->a_t0[0] = v->a_t1[0] = v->a_lastt[0] = v->a_blast[0] = v->a_tlast[0] = v->a_save[0] = v->a_load[0] = '\0';
    v->a_src[0] = '\0';
}

static void vat_init(struct tp_vat *v, const char *id)
{
    memset(v, 0, sizeof *v);
    snprintf(v->id, sizeof v->id, "%s", id);
    v->use_tr = v->max_dn = v->crank = v->crank_dn = v->snap_max = v->inuse_pos = v->s1_pos = -1;
    v->p_start = v->p_end = v->p_inc = v->b_start = v->b_end = v->b_inc = v->od_start = -1;
    acc_reset(v);
}

static int vat_cmp(const void *a, const void *b)
{
    return strcmp(((const struct tp_vat *)a)->id, ((const struct tp_vat *)b)->id);
}

static struct tp_vat *vat_get(struct tp_state *s, const char *id)
{
    struct tp_vat key;
    if (!*id || strlen(id) >= VATC) return NULL;
    snprintf(key.id, sizeof key.id, "%s", id);
    struct tp_vat *v = s->nv ? bsearch(&key, s->v, s->nv, sizeof *s->v, vat_cmp) : NULL;
    if (v) return v;
    if (s->nv == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = sp_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    vat_init(&s->v[s->nv++], id);
    qsort(s->v, s->nv, sizeof *s->v, vat_cmp);
    return bsearch(&key, s->v, s->nv, sizeof *s->v, vat_cmp);
}

/* tl_is_local of the batch: a local worker, or no transcript; unmetered ok deliveries when nothing says otherwise. */
static int is_local(const struct tp_vat *v)
{
    if (v->wt_known) return v->local || v->use_tr == 0;
    return (v->ok_dlv && !v->metered) || v->use_tr == 0;
}

/* ---- emitting, with the batch's rule that the first record of a key wins ---- */

struct tp_ctx {
    struct sp_tl_stream *t;
    struct sp_tl_node *n;
    struct tp_state *s;
    struct tp_vat *v;
    struct {
        const char *kind;
        int64_t pos;
    } done[48];
    int ndone;
};

static int emit_anom_line(struct tp_ctx *c, const char *kind, int64_t inc, int64_t pos, const char *sev,
                          const char *src, int64_t line)
{
    for (int i = 0; i < c->ndone; i++)
        if (c->done[i].pos == pos && strcmp(c->done[i].kind, kind) == 0) return SP_OK;
    if (c->ndone < (int)(sizeof c->done / sizeof c->done[0])) {
        c->done[c->ndone].kind = kind;
        c->done[c->ndone++].pos = pos;
    }
    return sp_tl_anomaly(c->t, c->n, c->v->id, kind, inc, pos, sev, src, line);
}

static int emit_anom(struct tp_ctx *c, const char *kind, int64_t inc, int64_t pos, const char *sev, const char *src)
{
    return emit_anom_line(c, kind, inc, pos, sev, src, -1);
}

static int64_t threshold(struct tp_ctx *c, const char *first, int *first_init)
{
    int64_t sinit, sint;
    *first_init = strcmp(first, "initialize-worker") == 0;
    if (!sp_tl_schedule(c->n, &sinit, &sint)) return -1; /* a default schedule is no evidence */
    return *first_init ? sinit : sint;
}

static void det_threshold(struct tp_ctx *c, int first_init)
{
    const struct sp_tl_stream_opts *o = sp_tl_opts(c->t);
    const char *inferred = first_init ? (c->s->kv_sinit ? NULL : o->sinit_how) : (c->s->kv_sint ? NULL : o->sint_how);
    if (inferred) { /* the batch replay's schedule, inferred from the node's closed spans */
        sp_tl_det_str(c->t, "threshold_source", inferred);
        return;
    }
    const char *how = first_init ? (c->s->kv_sinit ? "kvStore kernel.snapshotInitial" : "--snapshot-initial")
                                 : (c->s->kv_sint ? "kvStore kernel.snapshotInterval" : "--snapshot-interval");
    sp_tl_det_str(c->t, "threshold_source", how);
}

/* ---- one transcript span, as the batch's tspan ------------------------------- */

struct tspan {
    int64_t start, end, inc, items, item_inc;
    int is_current, complete, hash_ok;
    char first[TY], second[TY], last[TY], before_last[TY], third_last[TY];
    char load_id[IDC], save_id[IDC], hash[IDC], source[SRC];
};

/* The store's snapshot row at pos: *found 1 with hash, 0 certainly none, -1 unknown. Returns SP_OK or an error. */
static int store_row(struct tp_ctx *c, int64_t pos, char *hash, size_t cap, int *found)
{
    static const char *const sql = "SELECT hash FROM store_snapshots WHERE node=?1 AND vat_id=?2 AND snap_pos=?3";
    int rc;
    sqlite3_stmt *st = sp_tl_lookup(c->t, sql, sp_tl_node_name(c->n), c->v->id, &rc);
    if (rc) return rc;
    if (st) {
        sqlite3_bind_int64(st, 3, pos);
        if ((rc = sp_tl_step(c->t, st)) < 0) return rc;
        if (rc == 1) snprintf(hash, cap, "%s", tl_text(st, 0));
        *found = rc;
        return SP_OK;
    }
    for (int i = 0; i < TP_RING && i < c->v->nsnap; i++)
        if (c->v->snaps[i].pos == pos) {
            snprintf(hash, cap, "%s", c->v->snaps[i].id);
            *found = 1;
            return SP_OK;
        }
    char p[32];
    snprintf(p, sizeof p, "%" PRId64, pos);
    *found = bloom_has(c->v, "p:", p) ? -1 : 0;
    return SP_OK;
}

/* known_save of the batch: 1 found, 0 certainly not, -1 nothing to check against / cannot tell. */
static int known_save(struct tp_ctx *c, const char *id, int64_t before)
{
    static const char *const sql =
        "SELECT EXISTS (SELECT 1 FROM store_snapshots WHERE node=?1 AND vat_id=?2 AND hash=?3 AND snap_pos<?4) OR "
        "EXISTS (SELECT 1 FROM snapshots WHERE node=?1 AND vat_id=?2 AND slog_snapshot_id=?3 AND snap_pos<?4), "
        "(SELECT count(*) FROM store_snapshots WHERE node=?1 AND vat_id=?2) + "
        "(SELECT count(*) FROM snapshots WHERE node=?1 AND vat_id=?2 AND slog_snapshot_id IS NOT NULL)";
    int rc;
    sqlite3_stmt *st = sp_tl_lookup(c->t, sql, sp_tl_node_name(c->n), c->v->id, &rc);
    if (rc) return -1;
    if (st) {
        sqlite3_bind_text(st, 3, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, before);
        if (sp_tl_step(c->t, st) != 1) return -1;
        if (sqlite3_column_int64(st, 0)) return 1;
        return sqlite3_column_int64(st, 1) ? 0 : -1;
    }
    const struct tp_vat *v = c->v;
    if (!v->nsnap && !v->nslog) return -1;
    for (int i = 0; i < TP_RING; i++) {
        if (i < v->nsnap && v->snaps[i].pos < before && strcmp(v->snaps[i].id, id) == 0) return 1;
        if (i < v->nslog && v->slog[i].pos < before && strcmp(v->slog[i].id, id) == 0) return 1;
    }
    return bloom_has(v, "h:", id) ? -1 : 0;
}

/* The item-level checks of scan_items, from the summary of the span's items. */
static int scan_checks(struct tp_ctx *c, struct tspan *t, int after_shutdown)
{
    struct tp_vat *v = c->v;
    struct sp_tl_stream *T = c->t;
    int rc, gap_reported = 0;
    int64_t gap_from = -1, gap_to = -1;
    if (v->a_first != t->start)
        gap_from = t->start, gap_to = v->a_first;
    else if (v->a_gap_from >= 0)
        gap_from = v->a_gap_from, gap_to = v->a_gap_to;
    if (gap_from >= 0 && !v->terminated) {
        sp_tl_det_begin(T);
        sp_tl_det_int(T, "span_start", t->start);
        sp_tl_det_int(T, "span_end", t->end);
        sp_tl_det_int(T, "missing_from", gap_from);
        sp_tl_det_int(T, "missing_to", gap_to);
        sp_tl_det_int(T, "items_present", t->items);
        sp_tl_det_str(T, "rule", "T1/T3: a span holds all of its items or none");
        if ((rc = emit_anom(c, "POSITION_GAP", t->inc, gap_from, "error", v->a_src))) return rc;
        gap_reported = 1;
    }
    /* T10: the first item whose incarnation differs from the span's */
    if (t->inc >= 0 && v->a_inc0 >= 0) {
        int64_t p = -1, inc = -1;
        if (v->a_inc0 != t->inc)
            p = v->a_inc0_pos, inc = v->a_inc0;
        else if (v->a_incd_pos >= 0)
            p = v->a_incd_pos, inc = v->a_incd;
        if (p >= 0) {
            sp_tl_det_begin(T);
            sp_tl_det_int(T, "span_start", t->start);
            sp_tl_det_int(T, "span_incarnation", t->inc);
            sp_tl_det_int(T, "item_incarnation", inc);
            sp_tl_det_str(T, "rule", "T10: item incarnation == span incarnation");
            if ((rc = emit_anom(c, "INCARNATION_JUMP", inc, p, "error", v->a_src))) return rc;
        }
    }
    for (int64_t i = 0; i < v->a_nnote && i < TP_NOTES; i++) {
        const struct tp_note *nt = &v->notes[i];
        const char *ty = nt->type;
        int64_t p = nt->pos;
        if (is_start_type(ty) && p != t->start) {
            sp_tl_det_begin(T);
            sp_tl_det_str(T, "type", ty);
            sp_tl_det_int(T, "span_start", t->start);
            sp_tl_det_str(T, "rule", "T5: initialize-worker/load-snapshot only as the first item of a span");
            if ((rc = emit_anom(c, "PSEUDO_MISPLACED", t->inc, p, "error", v->a_src))) return rc;
        }
        if (is_end_type(ty)) {
            if (t->is_current) {
                sp_tl_det_begin(T);
                sp_tl_det_str(T, "type", ty);
                sp_tl_det_int(T, "span_start", t->start);
                sp_tl_det_int(T, "span_end", t->end);
                sp_tl_det_str(T, "rule", "T6: save-snapshot/shutdown-worker never in the current span");
                if ((rc = emit_anom(c, "CURRENT_SPAN_HAS_TERMINATOR", t->inc, p, "error", v->a_src))) return rc;
            } else if (p != t->end - 1) {
                sp_tl_det_begin(T);
                sp_tl_det_str(T, "type", ty);
                sp_tl_det_int(T, "span_end", t->end);
                sp_tl_det_str(T, "rule", "T6: save-snapshot/shutdown-worker only as the last item of a closed span");
                if ((rc = emit_anom(c, "PSEUDO_MISPLACED", t->inc, p, "error", v->a_src))) return rc;
            }
            if (nt->prev_adj && strcmp(nt->prev_type, "bringOutYourDead") != 0) {
                sp_tl_det_begin(T);
                sp_tl_det_str(T, "type", ty);
                sp_tl_det_str(T, "previous_type", nt->prev_type);
                sp_tl_det_str(T, "rule", "T8: bringOutYourDead right before every save-snapshot/shutdown-worker");
                if ((rc = emit_anom(c, "MISSING_PRE_SNAPSHOT_BOYD", t->inc, p, "error", v->a_src))) return rc;
            }
        }
        if (strcmp(ty, "save-snapshot") == 0 && c->s->has_ss && !v->terminated) {
            /* S1: a snapshots row with the same hash */
            char h[IDC] = "";
            int r = -1;
            if ((rc = store_row(c, p, h, sizeof h, &r))) return rc;
            if (r == 0 || (r == 1 && strcmp(h, nt->sid) != 0)) {
                sp_tl_det_begin(T);
                sp_tl_det_str(T, "transcript_snapshot_id", nt->sid);
                sp_tl_det_str(T, "store_hash", r == 1 ? h : NULL);
                sp_tl_det_str(T, "problem", r == 0 ? "no snapshots row at snapPos" : "snapshots.hash differs");
                sp_tl_det_str(T, "rule", "S1: snapshots row (vatID, snapPos=p) with hash == r.snapshotID");
                if ((rc = emit_anom(c, "SNAPSHOT_MISSING_IN_STORE", t->inc, p, "error", v->a_src))) return rc;
                v->s1_pos = p;
            }
        }
    }
    if (v->a_last >= 0 && v->a_last < t->end - 1 && !gap_reported && !v->terminated) {
        sp_tl_det_begin(T);
        sp_tl_det_int(T, "span_start", t->start);
        sp_tl_det_int(T, "span_end", t->end);
        sp_tl_det_int(T, "missing_from", v->a_last + 1);
        sp_tl_det_int(T, "missing_to", t->end);
        sp_tl_det_int(T, "items_present", t->items);
        sp_tl_det_str(T, "rule", "T1/T3: a span holds all of its items or none");
        if ((rc = emit_anom(c, "POSITION_GAP", t->inc, v->a_last + 1, "error", t->source))) return rc;
    }
    if (t->first[0] && !is_start_type(t->first)) {
        sp_tl_det_begin(T);
        sp_tl_det_str(T, "first_type", t->first);
        sp_tl_det_str(T, "rule", "T5: item 0 of a span is initialize-worker or load-snapshot");
        if ((rc = emit_anom(c, "SPAN_BAD_START", t->inc, t->start, "error", t->source))) return rc;
    } else if (strcmp(t->first, "initialize-worker") == 0 && t->second[0] && strcmp(t->second, "startVat") != 0) {
        sp_tl_det_begin(T);
        sp_tl_det_str(T, "first_type", t->first);
        sp_tl_det_str(T, "second_type", t->second);
        sp_tl_det_str(T, "rule", "T13: the 2nd item of an incarnation is startVat");
        if ((rc = emit_anom(c, after_shutdown ? "UPGRADE_SPAN_BAD_START" : "SPAN_BAD_START", t->inc, t->start,
                            "error", t->source)))
            return rc;
    }
    return SP_OK;
}

/* Schedule rule for a closed transcript span (T11), as check_schedule of the batch (not early_only). */
static int check_schedule(struct tp_ctx *c, const struct tspan *t, int64_t save_first_dn, const char *w_src,
                          int64_t w_line, int *bad)
{
    struct sp_tl_stream *T = c->t;
    int first_init;
    *bad = 0;
    if (!t->first[0] || !t->last[0] || is_local(c->v)) return SP_OK;
    int64_t L = t->end - t->start, thr = threshold(c, t->first, &first_init);
    int upgraded_first = first_init && t->start > 0;
    if (thr < 0) return SP_OK;
    if (strcmp(t->last, "save-snapshot") == 0) {
        int64_t after = L - 2, before;
        int estimated = 0;
        if (save_first_dn >= 0 && save_first_dn >= t->start && save_first_dn < t->end - 1) {
            before = save_first_dn - t->start;
        } else {
            int64_t k = (strcmp(t->third_last, "bringOutYourDead") == 0 && L - 4 >= 1) ? 2 : 1;
            before = after - k;
            estimated = 1;
        }
        int in_upgrade_crank = 0;
        if (first_init && before <= 1) {
            if (upgraded_first) in_upgrade_crank = 1;
            before = 0;
        }
        int late = before >= thr && !(upgraded_first && before == 2);
        if (!(in_upgrade_crank || after < thr || late)) return SP_OK;
        *bad = 1;
        sp_tl_det_begin(T);
        sp_tl_det_int(T, "span_start", t->start);
        sp_tl_det_int(T, "span_end", t->end);
        sp_tl_det_int(T, "span_length", L);
        sp_tl_det_int(T, "threshold", thr);
        sp_tl_det_str(T, "threshold_kind", first_init ? "snapshotInitial" : "snapshotInterval");
        det_threshold(c, first_init);
        sp_tl_det_int(T, "length_before_crank", before);
        sp_tl_det_int(T, "length_after_crank", after);
        sp_tl_det_str(T, "crank_evidence", estimated ? "transcript (estimated)" : "slog");
        if (in_upgrade_crank) sp_tl_det_str(T, "problem", "snapshot taken in the upgrade crank (upgrade cranks do not check)");
        sp_tl_det_str(T, "save_snapshot_id", t->save_id);
        sp_tl_det_str(T, "rule", "snapshot at the end of the first delivery crank after which the span length >= threshold");
        return emit_anom_line(c, "SNAPSHOT_SCHEDULE_DEVIATION", t->inc, t->start, "warning",
                              w_src && *w_src ? w_src : t->source, w_line);
    }
    if (strcmp(t->last, "shutdown-worker") == 0) {
        int64_t before_upgrade = L - 2;
        if (before_upgrade < thr || (upgraded_first && before_upgrade == 2)) return SP_OK;
        *bad = 1;
        sp_tl_det_begin(T);
        sp_tl_det_int(T, "span_start", t->start);
        sp_tl_det_int(T, "span_end", t->end);
        sp_tl_det_int(T, "span_length", L);
        sp_tl_det_int(T, "threshold", thr);
        sp_tl_det_str(T, "threshold_kind", first_init ? "snapshotInitial" : "snapshotInterval");
        det_threshold(c, first_init);
        sp_tl_det_int(T, "length_before_upgrade", before_upgrade);
        sp_tl_det_str(T, "rule", "a span closed by an upgrade was below the threshold when last checked");
        return emit_anom(c, "SNAPSHOT_SCHEDULE_DEVIATION", t->inc, t->start, "warning", t->source);
    }
    return SP_OK;
}

/* Checks between the previous transcript span of the vat and this one (T1, T2, T7, T9, T10), as check_chain. */
static int check_chain(struct tp_ctx *c, const struct tspan *t)
{
    struct tp_vat *v = c->v;
    struct sp_tl_stream *T = c->t;
    int rc;
    if (!v->has_prev) {
        if (t->start != 0) {
            sp_tl_det_begin(T);
            sp_tl_det_int(T, "first_span_start", t->start);
            sp_tl_det_str(T, "rule", "T1: the first span starts at 0");
            return emit_anom(c, "POSITION_GAP", t->inc, 0, "error", t->source);
        }
        return SP_OK;
    }
    int64_t p_inc = v->p_inc;
    if (t->start != v->p_end) {
        sp_tl_det_begin(T);
        sp_tl_det_int(T, "previous_start", v->p_start);
        sp_tl_det_int(T, "previous_end", v->p_end);
        sp_tl_det_int(T, "start", t->start);
        sp_tl_det_str(T, "rule", "T1: span[k+1].startPos == span[k].endPos");
        if (t->start > v->p_end) return emit_anom(c, "POSITION_GAP", t->inc, v->p_end, "error", t->source);
        return emit_anom(c, "POSITION_OVERLAP", t->inc, t->start, "error", t->source);
    }
    if (!v->p_cur && v->p_last[0] && !is_end_type(v->p_last)) {
        sp_tl_det_begin(T);
        sp_tl_det_int(T, "span_end", v->p_end);
        sp_tl_det_str(T, "last_type", v->p_last);
        sp_tl_det_str(T, "rule", "T7: a closed span of a live vat ends with save-snapshot or shutdown-worker");
        if ((rc = emit_anom(c, "CLOSED_SPAN_BAD_END", p_inc, v->p_start, "error", v->p_src))) return rc;
    }
    if (v->p_cur) {
        sp_tl_det_begin(T);
        sp_tl_det_int(T, "current_start", v->p_start);
        sp_tl_det_int(T, "next_start", t->start);
        sp_tl_det_str(T, "rule", "T2: only the last span of a vat can be current");
        if ((rc = emit_anom(c, "POSITION_OVERLAP", p_inc, v->p_start, "error", v->p_src))) return rc;
    }
    if (strcmp(v->p_last, "save-snapshot") == 0) {
        if (t->first[0] && strcmp(t->first, "load-snapshot") != 0) {
            sp_tl_det_begin(T);
            sp_tl_det_str(T, "first_type", t->first);
            sp_tl_det_str(T, "expected", "load-snapshot");
            sp_tl_det_str(T, "rule", "T10: a span after save-snapshot starts with load-snapshot");
            if ((rc = emit_anom(c, "SPAN_BAD_START", t->inc, t->start, "error", t->source))) return rc;
        }
        if (t->load_id[0] && v->p_save[0] && strcmp(t->load_id, v->p_save) != 0) {
            sp_tl_det_begin(T);
            sp_tl_det_str(T, "load_snapshot_id", t->load_id);
            sp_tl_det_str(T, "previous_save_snapshot_id", v->p_save);
            sp_tl_det_int(T, "save_position", v->p_end - 1);
            sp_tl_det_str(T, "rule", "T9: load-snapshot id == r.snapshotID of the preceding save-snapshot");
            if ((rc = emit_anom(c, "LOAD_SAVE_ID_MISMATCH", t->inc, t->start, "error", t->source))) return rc;
        }
        if (t->inc >= 0 && p_inc >= 0 && t->inc != p_inc) {
            sp_tl_det_begin(T);
            sp_tl_det_int(T, "previous_incarnation", p_inc);
            sp_tl_det_int(T, "incarnation", t->inc);
            sp_tl_det_str(T, "rule", "T10: incarnation unchanged after save-snapshot");
            if ((rc = emit_anom(c, "INCARNATION_JUMP", t->inc, t->start, "error", t->source))) return rc;
        }
    } else if (strcmp(v->p_last, "shutdown-worker") == 0) {
        if (t->first[0] && strcmp(t->first, "initialize-worker") != 0) {
            sp_tl_det_begin(T);
            sp_tl_det_str(T, "first_type", t->first);
            sp_tl_det_str(T, "expected", "initialize-worker");
            sp_tl_det_str(T, "rule", "T10: a span after shutdown-worker starts with initialize-worker");
            if ((rc = emit_anom(c, "UPGRADE_SPAN_BAD_START", t->inc, t->start, "error", t->source))) return rc;
        }
        if (t->inc >= 0 && p_inc >= 0 && t->inc != p_inc + 1) {
            sp_tl_det_begin(T);
            sp_tl_det_int(T, "previous_incarnation", p_inc);
            sp_tl_det_int(T, "incarnation", t->inc);
            sp_tl_det_int(T, "expected", p_inc + 1);
            sp_tl_det_str(T, "rule", "T10: incarnation +1 after shutdown-worker");
            if ((rc = emit_anom(c, t->inc == p_inc ? "INCARNATION_NOT_INCREMENTED" : "INCARNATION_JUMP", t->inc,
                                t->start, "error", t->source)))
                return rc;
        }
    } else if (!v->p_last[0] && t->inc >= 0 && p_inc >= 0 && t->inc != p_inc && t->inc != p_inc + 1) {
        sp_tl_det_begin(T);
        sp_tl_det_int(T, "previous_incarnation", p_inc);
        sp_tl_det_int(T, "incarnation", t->inc);
        sp_tl_det_str(T, "rule", "T10: incarnation changes by 0 or +1 between spans");
        if ((rc = emit_anom(c, "INCARNATION_JUMP", t->inc, t->start, "error", t->source))) return rc;
    }
    if (t->load_id[0] && (!v->p_save[0] || strcmp(t->load_id, v->p_save) != 0) && known_save(c, t->load_id, t->start) == 0) {
        sp_tl_det_begin(T);
        sp_tl_det_str(T, "load_snapshot_id", t->load_id);
        sp_tl_det_str(T, "rule", "T9/S1: load-snapshot names a snapshot saved earlier by this vat");
        if ((rc = emit_anom(c, "LOAD_SNAPSHOT_UNKNOWN", t->inc, t->start, "error", t->source))) return rc;
        struct tp_snap *u = &v->unknown[v->nunknown++ % TP_UNKNOWN];
        memset(u, 0, sizeof *u);
        u->pos = t->start;
        snprintf(u->id, sizeof u->id, "%s", t->load_id);
    }
    return SP_OK;
}

static int current_checks(struct tp_ctx *c, const struct tspan *t)
{
    struct sp_tl_stream *T = c->t;
    int64_t L = t->end - t->start;
    int first_init;
    if (L == 0) {
        if (c->v->use_tr == 1) {
            sp_tl_det_begin(T);
            sp_tl_det_int(T, "span_start", t->start);
            sp_tl_det_str(T, "rule", "§1.4: a transcript-using vat's current span is non-empty once it has run");
            return emit_anom(c, "UNEXPECTED_EMPTY_CURRENT_SPAN", t->inc, t->start, "info", t->source);
        }
        return SP_OK;
    }
    if (!t->first[0] || is_local(c->v)) return SP_OK;
    int64_t thr = threshold(c, t->first, &first_init);
    int upgraded_first = first_init && t->start > 0;
    if (thr >= 0 && L >= thr && !(upgraded_first && L == 2)) {
        sp_tl_det_begin(T);
        sp_tl_det_int(T, "span_start", t->start);
        sp_tl_det_int(T, "span_length", L);
        sp_tl_det_int(T, "threshold", thr);
        det_threshold(c, first_init);
        sp_tl_det_str(T, "evidence", "swing-store current span (committed state)");
        sp_tl_det_str(T, "rule", "T11: current span length < threshold at every commit");
        c->v->od_start = t->start;
        return emit_anom(c, "SNAPSHOT_OVERDUE", t->inc, t->start, "warning", t->source);
    }
    return SP_OK;
}

/* S2 of tl_pass_store: in-use snapshot rows agree with the current span (cur NULL: the vat has none). */
static int check_store(struct tp_ctx *c, const struct tspan *cur)
{
    struct tp_vat *v = c->v;
    struct sp_tl_stream *T = c->t;
    if (!c->s->has_ss) return SP_OK;
    const char *problem = NULL;
    int64_t pos = v->inuse_pos;
    if (v->inuse_n > 1) {
        problem = "more than one inUse snapshot";
    } else if (!cur) {
        if (v->inuse_n && v->terminated) problem = "terminated vat still has an inUse snapshot";
    } else if (strcmp(cur->first, "load-snapshot") == 0) {
        pos = cur->start - 1;
        if (!v->inuse_n)
            problem = "current span starts with load-snapshot but no snapshot is inUse";
        else if (v->inuse_pos != cur->start - 1)
            problem = "inUse snapshot is not the one the current span was loaded from";
        else if (cur->load_id[0] && strcmp(cur->load_id, v->inuse_hash) != 0)
            problem = "inUse snapshot hash differs from the load-snapshot id";
    } else if (strcmp(cur->first, "initialize-worker") == 0 && v->inuse_n) {
        problem = "current span starts with initialize-worker but a snapshot is inUse";
    }
    if (!problem && v->inuse_n == 1 && v->inuse_pos != v->snap_max) problem = "inUse snapshot is not the highest snapPos";
    if (!problem) return SP_OK;
    int64_t at = pos >= 0 ? pos : v->snap_max;
    if (at == v->s1_pos) return SP_OK; /* the span pass reported this key first */
    sp_tl_det_begin(T);
    sp_tl_det_str(T, "problem", problem);
    sp_tl_det_int(T, "in_use_rows", v->inuse_n);
    if (v->inuse_pos >= 0) sp_tl_det_int(T, "in_use_snap_pos", v->inuse_pos);
    sp_tl_det_str(T, "in_use_hash", v->inuse_hash);
    if (cur) sp_tl_det_int(T, "current_span_start", cur->start);
    sp_tl_det_str(T, "load_snapshot_id", cur ? cur->load_id : NULL);
    sp_tl_det_str(T, "rule", "S2: one inUse snapshot, the one the current span was loaded from");
    return emit_anom(c, "SNAPSHOT_MISSING_IN_STORE", cur ? cur->inc : -1, at, "error", v->snap_src);
}

static void fold_item(struct tp_vat *v, int64_t p, int64_t inc, struct sp_str d_type, struct sp_str sid,
                      struct sp_str source, struct sp_str item);

/* ---- span records: the transcript's view merged with the slog's, as tl_pass_spans writes the row ---- */

/* The merged record of a transcript span T and, when the slog has a span at the same start, its view S. */
static int emit_merged(struct tp_ctx *c, const struct tp_tview *T, const struct tp_sview *S)
{
    char first[TY], last[TY], save[IDC], load[IDC];
    int64_t end = T->end, dlv = T->dlv, cur = T->cur, hash_ok = T->hash_ok;
    snprintf(first, sizeof first, "%s", T->first);
    snprintf(last, sizeof last, "%s", T->last);
    snprintf(save, sizeof save, "%s", T->save);
    snprintf(load, sizeof load, "%s", T->load);
    if (!T->complete) {
        /* types of a pruned span, from the slog when it agrees on the bounds */
        if (S && !first[0]) snprintf(first, sizeof first, "%s", S->first);
        if (S && !last[0] && S->next == T->end && S->last[0]) snprintf(last, sizeof last, "%s", S->last);
        if (S && !save[0] && S->next == T->end) snprintf(save, sizeof save, "%s", S->save);
        if (S && !load[0] && T->items == 0) snprintf(load, sizeof load, "%s", S->load);
        dlv = S && S->next == T->end ? S->dlv
                                     : (T->end - T->start) - (first[0] ? 1 : 0) - (last[0] && is_end_type(last) ? 1 : 0);
        if (dlv < 0) dlv = 0;
    }
    /* the slog saw the store's current span closed later (the store copy is older than the slog) */
    if (S && T->cur && S->next > T->end && S->last[0]) {
        end = S->next;
        cur = 0;
        snprintf(last, sizeof last, "%s", S->last);
        snprintf(save, sizeof save, "%s", S->save);
        dlv = S->dlv;
        hash_ok = -1;
    }
    struct sp_span sp = {.node = sp_str_c(sp_tl_node_name(c->n)), .vat_id = sp_str_c(c->v->id), .incarnation = T->inc,
                         .start_pos = T->start, .end_pos = end, .first_type = first[0] ? sp_str_c(first) : SP_STR_NULL,
                         .last_type = last[0] ? sp_str_c(last) : SP_STR_NULL, .is_current = (int)cur,
                         .hash = T->hash[0] ? sp_str_c(T->hash) : SP_STR_NULL, .hash_ok = (int)hash_ok,
                         .deliveries = dlv, .from_transcript = 1, .from_slog = S != NULL,
                         .save_snapshot_id = save[0] ? sp_str_c(save) : SP_STR_NULL,
                         .load_snapshot_id = load[0] ? sp_str_c(load) : SP_STR_NULL};
    struct sp_record rec = {.kind = SP_REC_SPAN, .u.span = &sp};
    return sp_tl_emit(c->t, &rec);
}

static struct sp_str col(sqlite3_stmt *st, int i);

static const struct tp_sview *sl_find(const struct tp_vat *v, int64_t start)
{
    for (int64_t i = 0; i < v->nsl && i < TP_SPANS; i++)
        if (v->sl[i].start == start) return &v->sl[i];
    return NULL;
}

static const struct tp_tview *tr_find(const struct tp_vat *v, int64_t start)
{
    for (int64_t i = 0; i < v->ntr && i < TP_SPANS; i++)
        if (v->tr[i].start == start) return &v->tr[i];
    return NULL;
}

/* The slog's view of the span at start: this vat's recent slog spans, else the store's row of the stage's own slog record. */
static int slog_view(struct tp_ctx *c, int64_t start, struct tp_sview *out, int *found)
{
    static const char *const sql =
        "SELECT first_type, end_pos, last_type, save_snapshot_id, load_snapshot_id, deliveries FROM spans "
        "WHERE node=?1 AND vat_id=?2 AND start_pos=?3 AND from_slog=1 AND from_transcript=0";
    const struct tp_sview *r = sl_find(c->v, start);
    *found = 0;
    if (r) {
        *out = *r;
        *found = 1;
        return SP_OK;
    }
    int rc;
    sqlite3_stmt *st = sp_tl_lookup(c->t, sql, sp_tl_node_name(c->n), c->v->id, &rc);
    if (!st) return rc;
    sqlite3_bind_int64(st, 3, start);
    if ((rc = sp_tl_step(c->t, st)) < 0) return rc;
    if (rc == 0) return SP_OK;
    memset(out, 0, sizeof *out);
    out->start = start;
    snprintf(out->first, sizeof out->first, "%s", tl_text(st, 0));
    snprintf(out->last, sizeof out->last, "%s", tl_text(st, 2));
    out->next = out->last[0] ? sqlite3_column_int64(st, 1) : -1;
    snprintf(out->save, sizeof out->save, "%s", tl_text(st, 3));
    snprintf(out->load, sizeof out->load, "%s", tl_text(st, 4));
    out->dlv = sqlite3_column_int64(st, 5);
    *found = 1;
    return SP_OK;
}

/* The transcript's view of the span at start: this vat's recent transcript spans, else the store (its
 * transcript_spans row, and the stage's own record of it in spans). */
static int transcript_view(struct tp_ctx *c, int64_t start, struct tp_tview *out, int *found)
{
    static const char *const sql =
        "SELECT t.end_pos, t.items, t.is_current, t.incarnation, t.hash, t.computed_hash, s.first_type, s.last_type, "
        "s.deliveries, s.save_snapshot_id, s.load_snapshot_id, s.start_pos IS NOT NULL FROM transcript_spans t "
        "LEFT JOIN spans s ON s.node=t.node AND s.vat_id=t.vat_id AND s.start_pos=t.start_pos AND s.from_transcript=1 "
        "WHERE t.node=?1 AND t.vat_id=?2 AND t.start_pos=?3";
    const struct tp_tview *r = tr_find(c->v, start);
    *found = 0;
    if (r) {
        *out = *r;
        *found = 1;
        return SP_OK;
    }
    int rc;
    sqlite3_stmt *st = sp_tl_lookup(c->t, sql, sp_tl_node_name(c->n), c->v->id, &rc);
    if (!st) return rc;
    sqlite3_bind_int64(st, 3, start);
    if ((rc = sp_tl_step(c->t, st)) < 0) return rc;
    if (rc == 0 || !sqlite3_column_int(st, 11)) return SP_OK; /* not judged by this stage yet: its record will say */
    memset(out, 0, sizeof *out);
    out->start = start;
    out->end = sqlite3_column_int64(st, 0);
    out->items = sqlite3_column_int64(st, 1);
    out->cur = sqlite3_column_int64(st, 2) != 0;
    out->inc = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
    snprintf(out->hash, sizeof out->hash, "%s", tl_text(st, 4));
    out->complete = out->items == out->end - out->start;
    out->hash_ok = -1;
    if ((out->complete || out->items > 0) && *tl_text(st, 5) && out->hash[0])
        out->hash_ok = strcmp(tl_text(st, 5), out->hash) == 0;
    snprintf(out->first, sizeof out->first, "%s", tl_text(st, 6));
    snprintf(out->last, sizeof out->last, "%s", tl_text(st, 7));
    out->dlv = sqlite3_column_int64(st, 8);
    snprintf(out->save, sizeof out->save, "%s", tl_text(st, 9));
    snprintf(out->load, sizeof out->load, "%s", tl_text(st, 10));
    *found = 1;
    return SP_OK;
}


static int have_store(struct sp_tl_stream *t)
{
    const struct sp_tl_stream_opts *o = sp_tl_opts(t);
    return o->db && o->db(o->arg);
}

static struct sp_str col(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return SP_STR_NULL;
    const char *p = (const char *)sqlite3_column_text(st, i);
    return sp_str_make(p, (size_t)sqlite3_column_bytes(st, i));
}

/* A span whose items did not come before it (the replay feeds spans first): its items from the store. */
static int fold_from_store(struct tp_ctx *c, int64_t start, int64_t end)
{
    static const char *const sql =
        "SELECT position, incarnation, d_type, snapshot_id, source, CASE WHEN position=0 THEN item END "
        "FROM transcript_items WHERE node=?1 AND vat_id=?2 AND position>=?3 AND position<?4 ORDER BY position";
    int rc, r;
    sqlite3_stmt *st = sp_tl_lookup(c->t, sql, sp_tl_node_name(c->n), c->v->id, &rc);
    if (!st) return rc;
    acc_reset(c->v);
    sqlite3_bind_int64(st, 3, start);
    sqlite3_bind_int64(st, 4, end);
    while ((r = sp_tl_step(c->t, st)) == 1)
        fold_item(c->v, sqlite3_column_int64(st, 0), sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1),
                  col(st, 2), col(st, 3), col(st, 4), col(st, 5));
    return r < 0 ? r : SP_OK;
}

/* S2's view of the vat's snapshot rows from the store, when there is one (the replay feeds them after the spans). */
static int snaps_from_store(struct tp_ctx *c)
{
    static const char *const sql =
        "SELECT (SELECT count(*) FROM store_snapshots u WHERE u.node=?1 AND u.vat_id=?2 AND u.in_use=1), "
        "(SELECT snap_pos FROM store_snapshots u WHERE u.node=?1 AND u.vat_id=?2 AND u.in_use=1 ORDER BY snap_pos DESC LIMIT 1), "
        "(SELECT hash FROM store_snapshots u WHERE u.node=?1 AND u.vat_id=?2 AND u.in_use=1 ORDER BY snap_pos DESC LIMIT 1), "
        "(SELECT max(snap_pos) FROM store_snapshots u WHERE u.node=?1 AND u.vat_id=?2), "
        "(SELECT source FROM store_snapshots u WHERE u.node=?1 AND u.vat_id=?2 LIMIT 1), "
        "EXISTS (SELECT 1 FROM store_snapshots u WHERE u.node=?1)";
    int rc;
    sqlite3_stmt *st = sp_tl_lookup(c->t, sql, sp_tl_node_name(c->n), c->v->id, &rc);
    if (!st) return rc;
    if ((rc = sp_tl_step(c->t, st)) < 0) return rc;
    if (rc == 0) return SP_OK;
    struct tp_vat *v = c->v;
    v->inuse_n = sqlite3_column_int64(st, 0);
    v->inuse_pos = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1);
    snprintf(v->inuse_hash, sizeof v->inuse_hash, "%s", tl_text(st, 2));
    v->snap_max = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
    snprintf(v->snap_src, sizeof v->snap_src, "%s", tl_text(st, 4));
    if (sqlite3_column_int(st, 5)) c->s->has_ss = 1;
    return SP_OK;
}

/* The slog's save at pos: the first live delivery of its crank, its source and line (this vat's recent
 * saves, else the store). 1 found, 0 not, < 0 error. */
static int slog_save(struct tp_ctx *c, int64_t pos, int64_t *first_dn, char *src, size_t cap, int64_t *line)
{
    static const char *const sql =
        "SELECT e.source, e.line, (SELECT min(d.delivery_num) FROM deliveries d WHERE d.node=?1 AND d.epoch=e.epoch "
        "AND d.crank_num=e.crank_num AND d.vat_id=?2 AND d.source=e.source AND d.replay=0) FROM slog_events e "
        "WHERE e.node=?1 AND e.type='heap-snapshot-save'" TL_INDEXED("e.") "AND e.vat_id=?2 AND e.snap_pos=?3 "
        "ORDER BY e.source, e.line LIMIT 1";
    const struct tp_vat *v = c->v;
    *first_dn = *line = -1;
    *src = '\0';
    for (int i = 0; i < TP_RING && i < v->nslog; i++)
        if (v->slog[i].pos == pos) {
            *first_dn = v->slog[i].first_dn, *line = v->slog[i].line;
            snprintf(src, cap, "%s", v->slog[i].src);
            return 1;
        }
    int rc;
    sqlite3_stmt *st = sp_tl_lookup(c->t, sql, sp_tl_node_name(c->n), v->id, &rc);
    if (!st) return rc;
    sqlite3_bind_int64(st, 3, pos);
    if ((rc = sp_tl_step(c->t, st)) != 1) return rc;
    snprintf(src, cap, "%s", tl_text(st, 0));
    *line = sqlite3_column_int64(st, 1);
    *first_dn = sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 2);
    return 1;
}

static int on_tspan(struct tp_ctx *c, const struct sp_tspan *r)
{
    struct tp_vat *v = c->v;
    struct sp_tl_stream *T = c->t;
    struct tspan t;
    int rc;
    memset(&t, 0, sizeof t);
    t.start = r->start_pos;
    t.end = r->end_pos;
    t.inc = r->incarnation;
    t.items = r->items;
    t.is_current = r->is_current != 0;
    t.item_inc = -1;
    t.hash_ok = -1;
    cpy(t.hash, sizeof t.hash, r->hash);
    cpy(t.source, sizeof t.source, r->source);
    t.complete = t.items == t.end - t.start;
    /* the current span published again as it grew (Kafka): judged against the span before it again;
     * an earlier span again (a second input of the node): the chain starts over */
    int repub = v->has_prev && t.start == v->p_start;
    int64_t o_has = v->has_prev, o_start = v->p_start, o_end = v->p_end, o_inc = v->p_inc, o_cur = v->p_cur;
    char o_last[TY], o_save[IDC], o_src[SRC];
    snprintf(o_last, sizeof o_last, "%s", v->p_last);
    snprintf(o_save, sizeof o_save, "%s", v->p_save);
    snprintf(o_src, sizeof o_src, "%s", v->p_src);
    if (repub) {
        v->has_prev = v->b_has, v->p_start = v->b_start, v->p_end = v->b_end, v->p_inc = v->b_inc, v->p_cur = v->b_cur;
        snprintf(v->p_last, sizeof v->p_last, "%s", v->b_last);
        snprintf(v->p_save, sizeof v->p_save, "%s", v->b_save);
        snprintf(v->p_src, sizeof v->p_src, "%s", v->b_src);
    } else if (v->has_prev && t.start < v->p_start) {
        v->has_prev = 0;
        o_has = 0;
    }
    int after_shutdown = v->has_prev && strcmp(v->p_last, "shutdown-worker") == 0;
    int have_items = t.items > 0 && v->a_n > 0 && v->a_first >= t.start && v->a_last < t.end;
    if (!have_items && t.items > 0 && have_store(T)) {
        if ((rc = fold_from_store(c, t.start, t.end))) return rc;
        have_items = v->a_n > 0;
    }
    if (have_store(T) && (rc = snaps_from_store(c))) return rc;
    if (have_items) {
        if (v->a_first == t.start) {
            snprintf(t.first, sizeof t.first, "%s", v->a_t0);
            snprintf(t.second, sizeof t.second, "%s", v->a_t1);
            if (strcmp(v->a_t0, "load-snapshot") == 0) snprintf(t.load_id, sizeof t.load_id, "%s", v->a_load);
        }
        t.item_inc = v->a_inc0;
        snprintf(t.last, sizeof t.last, "%s", v->a_lastt);
        snprintf(t.before_last, sizeof t.before_last, "%s", v->a_blast);
        snprintf(t.third_last, sizeof t.third_last, "%s", v->a_tlast);
        snprintf(t.save_id, sizeof t.save_id, "%s", v->a_save);
        if (v->a_last != t.end - 1) t.last[0] = '\0';
    }
    v->has_tr = 1;
    c->ndone = 0;
    if (t.end < t.start) {
        sp_tl_det_begin(T);
        sp_tl_det_int(T, "start", t.start);
        sp_tl_det_int(T, "end", t.end);
        sp_tl_det_str(T, "rule", "T1: endPos >= startPos");
        if ((rc = emit_anom(c, "POSITION_OVERLAP", t.inc, t.start, "error", t.source))) return rc;
    }
    if (have_items && (rc = scan_checks(c, &t, after_shutdown))) return rc;
    if (t.items == 0 && t.end > t.start && t.is_current) {
        sp_tl_det_begin(T);
        sp_tl_det_int(T, "span_start", t.start);
        sp_tl_det_int(T, "span_end", t.end);
        sp_tl_det_str(T, "rule", "T3: the current span is always complete");
        if ((rc = emit_anom(c, "POSITION_GAP", t.inc, t.start, "error", t.source))) return rc;
    }
    char computed[IDC];
    cpy(computed, sizeof computed, r->computed_hash);
    if ((t.complete || t.items > 0) && computed[0] && t.hash[0]) {
        t.hash_ok = strcmp(computed, t.hash) == 0;
        if (!t.hash_ok) {
            sp_tl_det_begin(T);
            sp_tl_det_str(T, "stored_hash", t.hash);
            sp_tl_det_str(T, "computed_hash", computed);
            sp_tl_det_int(T, "span_end", t.end);
            if (!t.complete) {
                sp_tl_det_int(T, "items_present", t.items);
                sp_tl_det_int(T, "items_expected", t.end - t.start);
            }
            sp_tl_det_str(T, "rule", "T4: recomputed span hash == stored hash (§1.6)");
            if ((rc = emit_anom(c, "SPAN_HASH_MISMATCH", t.inc, t.start, "error", t.source))) return rc;
        }
    }
    /* the slog's view of the same span, when known (this vat's recent slog spans, or the store) */
    struct tp_sview S;
    int from_s = 0;
    if ((rc = slog_view(c, t.start, &S, &from_s))) return rc;
    /* the transcript's own view, for its record (before the slog fills in what a pruned span lacks) */
    struct tp_tview tv;
    memset(&tv, 0, sizeof tv);
    tv.start = t.start, tv.end = t.end, tv.inc = t.inc, tv.items = t.items, tv.hash_ok = t.hash_ok;
    tv.cur = t.is_current, tv.complete = t.complete, tv.dlv = have_items ? v->a_dlv : 0;
    snprintf(tv.first, sizeof tv.first, "%s", t.first);
    snprintf(tv.last, sizeof tv.last, "%s", t.last);
    snprintf(tv.save, sizeof tv.save, "%s", t.save_id);
    snprintf(tv.load, sizeof tv.load, "%s", t.load_id);
    snprintf(tv.hash, sizeof tv.hash, "%s", t.hash);
    if (!t.complete && from_s) {
        /* types of a pruned span, from the slog when it agrees on the bounds */
        if (!t.first[0]) snprintf(t.first, sizeof t.first, "%s", S.first);
        if (!t.last[0] && S.next == t.end && S.last[0]) snprintf(t.last, sizeof t.last, "%s", S.last);
        if (!t.save_id[0] && S.next == t.end) snprintf(t.save_id, sizeof t.save_id, "%s", S.save);
        if (!t.load_id[0] && t.items == 0) snprintf(t.load_id, sizeof t.load_id, "%s", S.load);
    }
    if ((rc = check_chain(c, &t))) return rc;
    int sched_bad = 0;
    if (!t.is_current) {
        /* the heap-snapshot-save at end-1 tells which crank took the snapshot */
        int64_t fdn = -1, wline = -1;
        char wsrc[SRC];
        if ((rc = slog_save(c, t.end - 1, &fdn, wsrc, sizeof wsrc, &wline)) < 0) return rc;
        if ((rc = check_schedule(c, &t, fdn, wsrc, wline, &sched_bad))) return rc;
    } else {
        if ((rc = current_checks(c, &t))) return rc;
        if ((rc = check_store(c, &t))) return rc;
        v->s2_done = 1;
    }
    tv.sched = sched_bad;
    snprintf(tv.third_last, sizeof tv.third_last, "%s", t.third_last);
    snprintf(tv.src, sizeof tv.src, "%s", t.source);
    if ((rc = emit_merged(c, &tv, from_s ? &S : NULL))) return rc;
    struct tp_tview *slot = (struct tp_tview *)tr_find(v, t.start);
    if (!slot) slot = &v->tr[v->ntr++ % TP_SPANS];
    *slot = tv;
    if (!repub) {
        v->b_has = o_has, v->b_start = o_start, v->b_end = o_end, v->b_inc = o_inc, v->b_cur = o_cur;
        snprintf(v->b_last, sizeof v->b_last, "%s", o_last);
        snprintf(v->b_save, sizeof v->b_save, "%s", o_save);
        snprintf(v->b_src, sizeof v->b_src, "%s", o_src);
    }
    v->has_prev = 1;
    v->p_start = t.start;
    v->p_end = t.end;
    v->p_inc = t.item_inc >= 0 ? t.item_inc : t.inc; /* a span row renumbered alone is reported once, on itself */
    v->p_cur = t.is_current;
    snprintf(v->p_last, sizeof v->p_last, "%s", t.last);
    snprintf(v->p_save, sizeof v->p_save, "%s", t.save_id);
    snprintf(v->p_src, sizeof v->p_src, "%s", t.source);
    if (!t.is_current) acc_reset(v); /* a current span may grow: its items so far stay folded */
    return SP_OK;
}

/* Fold one item into the summary of the span being read. */
static void fold_item(struct tp_vat *v, int64_t p, int64_t inc, struct sp_str d_type, struct sp_str sid,
                      struct sp_str source, struct sp_str item)
{
    char ty[TY];
    cpy(ty, sizeof ty, d_type);
    if (!v->a_n) {
        v->a_first = p;
        snprintf(v->a_t0, sizeof v->a_t0, "%s", ty);
        cpy(v->a_src, sizeof v->a_src, source);
        if (strcmp(ty, "load-snapshot") == 0) cpy(v->a_load, sizeof v->a_load, sid);
        /* the init item names the worker type, as the batch reads it from item 0 */
        if (p == 0 && !v->wt_known && item.p) {
            char wt[24], buf[2048];
            cpy(buf, sizeof buf, item);
            const char *wo = strstr(buf, "\"workerOptions\":");
            if (wo && tl_json_find_str(wo, "type", wt, sizeof wt)) {
                v->wt_known = 1;
                v->local = strcmp(wt, "local") == 0 || strcmp(wt, "node-subprocess") == 0;
            }
        }
    } else {
        if (p == v->a_first + 1 && v->a_n == 1) snprintf(v->a_t1, sizeof v->a_t1, "%s", ty);
        if (p != v->a_last + 1 && v->a_gap_from < 0) v->a_gap_from = v->a_last + 1, v->a_gap_to = p;
    }
    if (inc >= 0) {
        if (v->a_inc0 < 0)
            v->a_inc0 = inc, v->a_inc0_pos = p;
        else if (inc != v->a_inc0 && v->a_incd_pos < 0)
            v->a_incd = inc, v->a_incd_pos = p;
    }
    if (!is_pseudo(ty)) v->a_dlv++;
    int prev_adj = v->a_n && v->a_last == p - 1;
    if (is_pseudo(ty)) {
        if (v->a_nnote < TP_NOTES) {
            struct tp_note *nt = &v->notes[v->a_nnote++];
            memset(nt, 0, sizeof *nt);
            nt->pos = p;
            nt->inc = inc;
            nt->prev_adj = prev_adj;
            snprintf(nt->type, sizeof nt->type, "%s", ty);
            snprintf(nt->prev_type, sizeof nt->prev_type, "%s", v->a_lastt);
            cpy(nt->sid, sizeof nt->sid, sid);
        } else if (!v->a_dropped++) {
            sp_warn("timeline: vat %s: more than %d pseudo-items in one span; the rest are not checked",
                    v->id, TP_NOTES);
        }
    }
    if (strcmp(ty, "save-snapshot") == 0) cpy(v->a_save, sizeof v->a_save, sid);
    snprintf(v->a_tlast, sizeof v->a_tlast, "%s", v->a_blast);
    snprintf(v->a_blast, sizeof v->a_blast, "%s", prev_adj ? v->a_lastt : "");
    snprintf(v->a_lastt, sizeof v->a_lastt, "%s", ty);
    v->a_last = p;
    v->a_n++;
}

static void on_tsnapshot(struct tp_state *s, struct tp_vat *v, const struct sp_tsnapshot *r)
{
    char h[IDC], p[32];
    cpy(h, sizeof h, r->hash);
    snprintf(p, sizeof p, "%" PRId64, r->snap_pos);
    s->has_ss = 1;
    if (!v->nsnap) cpy(v->snap_src, sizeof v->snap_src, r->source);
    struct tp_snap *x = &v->snaps[v->nsnap % TP_RING];
    memset(x, 0, sizeof *x);
    x->pos = r->snap_pos;
    snprintf(x->id, sizeof x->id, "%s", h);
    v->nsnap++;
    if (r->snap_pos > v->snap_max) v->snap_max = r->snap_pos;
    if (r->in_use == 1) {
        int64_t *iu[4] = {&v->iu0, &v->iu1, &v->iu2, &v->iu3};
        int seen = 0;
        for (int64_t i = 0; i < v->inuse_n && i < 4; i++) seen |= *iu[i] == r->snap_pos;
        if (seen) return;
        if (v->inuse_n < 4) *iu[v->inuse_n] = r->snap_pos;
        v->inuse_n++;
        if (r->snap_pos > v->inuse_pos) v->inuse_pos = r->snap_pos, snprintf(v->inuse_hash, sizeof v->inuse_hash, "%s", h);
    }
    bloom_add(v, "p:", p);
    if (h[0]) bloom_add(v, "h:", h);
}

static void on_kv(struct tp_state *s, const struct sp_kv *kv)
{
    char key[64], val[4096];
    cpy(key, sizeof key, kv->key);
    const char *k = strncmp(key, "kv.", 3) == 0 ? key + 3 : key;
    cpy(val, sizeof val, kv->value);
    if (strcmp(k, "kernel.snapshotInitial") == 0) {
        s->kv_sinit = 1;
    } else if (strcmp(k, "kernel.snapshotInterval") == 0) {
        s->kv_sint = 1;
    } else if (strcmp(k, "vats.terminated") == 0) {
        /* a JSON array of vatIDs */
        for (const char *q = strchr(val, '"'); q; q = strchr(q, '"')) {
            const char *e = strchr(q + 1, '"');
            if (!e) break;
            char id[VATC];
            if ((size_t)(e - q - 1) < sizeof id) {
                memcpy(id, q + 1, (size_t)(e - q - 1));
                id[e - q - 1] = '\0';
                struct tp_vat *v = vat_get(s, id);
                if (v) v->terminated = 1;
            }
            q = e + 1;
        }
    } else {
        const char *dot = strchr(k, '.');
        if (k[0] != 'v' || !dot || strcmp(dot, ".options") != 0 || (size_t)(dot - k) >= VATC) return;
        char id[VATC], wt[24];
        memcpy(id, k, (size_t)(dot - k));
        id[dot - k] = '\0';
        struct tp_vat *v = vat_get(s, id);
        if (!v) return;
        const char *wo = strstr(val, "\"workerOptions\":");
        if (wo && tl_json_find_str(wo, "type", wt, sizeof wt)) {
            v->wt_known = 1;
            v->local = strcmp(wt, "local") == 0 || strcmp(wt, "node-subprocess") == 0;
        }
        int ut = tl_json_find_bool(val, "useTranscript");
        if (ut >= 0) v->use_tr = !ut, v->use_tr_opt = 1;
    }
}

static void on_event(struct tp_state *s, const struct sp_event *ev)
{
    char vat[VATC];
    cpy(vat, sizeof vat, ev->vat_id);
    switch (ev->type) {
    case SP_EV_CRANK_START: s->crank = (ev->has & SP_HAS_CRANK_NUM) ? ev->crank_num : -1; return;
    case SP_EV_CRANK_FINISH: s->crank = -1; return;
    case SP_EV_TERMINATE:
    case SP_EV_VAT_CLEANUP:
    case SP_EV_VAT_CLEANUP_COMPLETE: {
        struct tp_vat *v = vat_get(s, vat);
        if (v) v->terminated = 1;
        return;
    }
    case SP_EV_CREATE_VAT: {
        struct tp_vat *v = vat_get(s, vat);
        if (v && !v->wt_known && ev->manager_type.p) {
            v->wt_known = 1;
            v->local = sp_str_eq_c(ev->manager_type, "local") || sp_str_eq_c(ev->manager_type, "node-subprocess");
        }
        return;
    }
    case SP_EV_HEAP_SNAPSHOT_SAVE: {
        struct tp_vat *v = vat_get(s, vat);
        if (!v || !(ev->has & SP_HAS_SNAP_POS) || !ev->snapshot_id.p) return;
        struct tp_snap *x = &v->slog[v->nslog % TP_RING];
        memset(x, 0, sizeof *x);
        x->pos = ev->snap_pos;
        x->line = ev->origin.line;
        x->first_dn = s->crank >= 0 && v->crank == s->crank ? v->crank_dn : -1;
        cpy(x->id, sizeof x->id, ev->snapshot_id);
        cpy(x->src, sizeof x->src, ev->origin.source);
        v->nslog++;
        bloom_add(v, "h:", x->id);
        return;
    }
    default: return;
    }
}

static void on_delivery(struct tp_state *s, const struct sp_delivery *d)
{
    char vat[VATC];
    if (d->replay || d->delivery_num < 0) return;
    cpy(vat, sizeof vat, d->vat_id);
    struct tp_vat *v = vat_get(s, vat);
    if (!v) return;
    if (d->delivery_num > v->max_dn) v->max_dn = d->delivery_num;
    if (!v->use_tr_opt) v->use_tr = v->max_dn > 0 ? 1 : 0;
    if (d->status.p && sp_str_eq_c(d->status, "ok")) {
        v->ok_dlv = 1;
        if (d->has_computrons) v->metered = 1;
    }
    if (d->crank_num >= 0 && v->crank != d->crank_num) v->crank = d->crank_num, v->crank_dn = d->delivery_num;
}

/* A save of snapshot id at pos (slog, or a store row read after the transcript): a load of it in a
 * later span was not unknown after all: withdraw the LOAD_SNAPSHOT_UNKNOWN reported for it. */
static int retract_unknown(struct sp_tl_stream *t, struct sp_tl_node *n, struct tp_vat *v, int64_t pos, const char *id)
{
    for (int64_t i = 0; i < v->nunknown && i < TP_UNKNOWN; i++) {
        struct tp_snap *u = &v->unknown[i];
        if (u->pos < 0 || pos >= u->pos || strcmp(u->id, id) != 0) continue;
        struct sp_anomaly a = {.node = sp_str_c(sp_tl_node_name(n)), .vat_id = sp_str_c(v->id),
                               .kind = sp_str_c("LOAD_SNAPSHOT_UNKNOWN"), .incarnation = -1, .position = u->pos,
                               .severity = sp_str_c("error"), .detail = sp_str_c("{}"), .source = SP_STR_NULL,
                               .line = -1, .retracted = 1};
        struct sp_record rec = {.kind = SP_REC_ANOMALY, .u.anomaly = &a};
        u->pos = -1;
        int rc = sp_tl_emit(t, &rec);
        if (rc) return rc;
    }
    return SP_OK;
}

/* The slog's save at pos arrived after the transcript span it closes was judged (from an estimate of the
 * snapshot crank): the schedule again, with the crank the slog shows; the keyed anomaly is replaced, or
 * withdrawn when the span now keeps the schedule. */
static int rejudge_schedule(struct tp_ctx *c, int64_t pos)
{
    static const char *const sql =
        "SELECT start_pos FROM transcript_spans WHERE node=?1 AND vat_id=?2 AND start_pos<=?3 ORDER BY start_pos DESC "
        "LIMIT 1";
    static const char *const had_sql =
        "SELECT EXISTS (SELECT 1 FROM anomalies WHERE node=?1 AND vat_id=?2 AND kind='SNAPSHOT_SCHEDULE_DEVIATION' "
        "AND position=?3)";
    struct tp_vat *v = c->v;
    struct tp_tview T, *slot = NULL;
    int found = 0, rc;
    for (int64_t i = 0; i < v->ntr && i < TP_SPANS; i++)
        if (v->tr[i].end == pos + 1) slot = &v->tr[i];
    if (slot) {
        T = *slot;
        found = 1;
    } else {
        sqlite3_stmt *st = sp_tl_lookup(c->t, sql, sp_tl_node_name(c->n), v->id, &rc);
        if (!st) return rc;
        sqlite3_bind_int64(st, 3, pos);
        if ((rc = sp_tl_step(c->t, st)) != 1) return rc;
        int64_t start = sqlite3_column_int64(st, 0);
        if ((rc = transcript_view(c, start, &T, &found))) return rc;
        if (found) {
            /* did this stage report it? (its rows are in the store) */
            if (!(st = sp_tl_lookup(c->t, had_sql, sp_tl_node_name(c->n), v->id, &rc))) return rc;
            sqlite3_bind_int64(st, 3, start);
            if ((rc = sp_tl_step(c->t, st)) < 0) return rc;
            T.sched = rc == 1 && sqlite3_column_int(st, 0);
        }
    }
    /* a pruned span was judged with the slog's help: left as it was */
    if (!found || T.end != pos + 1 || T.cur || !T.complete) return SP_OK;
    int64_t fdn, line;
    char src[SRC];
    if ((rc = slog_save(c, pos, &fdn, src, sizeof src, &line)) <= 0) return rc;
    if (fdn < T.start || fdn >= T.end - 1) return SP_OK; /* no crank evidence: the estimate stands */
    struct tspan t;
    memset(&t, 0, sizeof t);
    t.start = T.start, t.end = T.end, t.inc = T.inc;
    snprintf(t.first, sizeof t.first, "%s", T.first);
    snprintf(t.last, sizeof t.last, "%s", T.last);
    snprintf(t.third_last, sizeof t.third_last, "%s", T.third_last);
    snprintf(t.save_id, sizeof t.save_id, "%s", T.save);
    snprintf(t.source, sizeof t.source, "%s", T.src);
    int bad = 0;
    c->ndone = 0;
    if ((rc = check_schedule(c, &t, fdn, src, line, &bad))) return rc;
    if (!bad && T.sched) {
        struct sp_anomaly a = {.node = sp_str_c(sp_tl_node_name(c->n)), .vat_id = sp_str_c(v->id),
                               .kind = sp_str_c("SNAPSHOT_SCHEDULE_DEVIATION"), .incarnation = -1,
                               .position = T.start, .severity = sp_str_c("warning"), .detail = sp_str_c("{}"),
                               .source = SP_STR_NULL, .line = -1, .retracted = 1};
        struct sp_record rec = {.kind = SP_REC_ANOMALY, .u.anomaly = &a};
        if ((rc = sp_tl_emit(c->t, &rec))) return rc;
    }
    if (slot) slot->sched = bad;
    return SP_OK;
}

int tl_tspans_overdue(void *st, const char *vat, int64_t start)
{
    struct tp_state *s = st;
    struct tp_vat key;
    if (!s || !s->nv || strlen(vat) >= VATC) return 0;
    snprintf(key.id, sizeof key.id, "%s", vat);
    const struct tp_vat *v = bsearch(&key, s->v, s->nv, sizeof *s->v, vat_cmp);
    return v && v->od_start >= 0 && v->od_start == start;
}

/* A slog span the stage's span machine settled (sp_tl_stream.c emit_span): remembered, and emitted merged
 * with the transcript's view of the same span when that is known (the batch's row has both sides);
 * quiet: a comms-like vat, whose slog span is a record only beside a transcript span. */
int tl_tspans_slog_span(struct sp_tl_stream *t, struct sp_tl_node *n, void *st, const struct sp_span *sp, int quiet)
{
    struct tp_state *s = st;
    char vat[VATC];
    cpy(vat, sizeof vat, sp->vat_id);
    struct tp_vat *v = vat_get(s, vat);
    struct sp_record rec = {.kind = SP_REC_SPAN, .u.span = sp};
    if (!v) return quiet ? SP_OK : sp_tl_emit(t, &rec);
    struct tp_sview S;
    memset(&S, 0, sizeof S);
    S.start = sp->start_pos;
    S.next = sp->last_type.p ? sp->end_pos : -1;
    S.dlv = sp->deliveries;
    cpy(S.first, sizeof S.first, sp->first_type);
    cpy(S.last, sizeof S.last, sp->last_type);
    cpy(S.save, sizeof S.save, sp->save_snapshot_id);
    cpy(S.load, sizeof S.load, sp->load_snapshot_id);
    struct tp_sview *slot = (struct tp_sview *)sl_find(v, S.start);
    if (!slot) slot = &v->sl[v->nsl++ % TP_SPANS];
    *slot = S;
    sp_tl_mark(n);
    struct tp_ctx c = {.t = t, .n = n, .s = s, .v = v};
    struct tp_tview T;
    int found = 0, rc = transcript_view(&c, S.start, &T, &found);
    if (rc) return rc;
    if (found) return emit_merged(&c, &T, &S);
    return quiet ? SP_OK : sp_tl_emit(t, &rec);
}

/* ---- the part -------------------------------------------------------------- */

static void tp_init(void *st)
{
    struct tp_state *s = st;
    s->crank = -1;
}

static int tp_feed(struct sp_tl_stream *t, struct sp_tl_node *n, void *st, const struct sp_record *rec)
{
    struct tp_state *s = st;
    char vat[VATC];
    switch (rec->kind) {
    case SP_REC_EVENT: {
        int ty = rec->u.event->type;
        if (ty != SP_EV_CRANK_START && ty != SP_EV_CRANK_FINISH && ty != SP_EV_TERMINATE && ty != SP_EV_VAT_CLEANUP &&
            ty != SP_EV_VAT_CLEANUP_COMPLETE && ty != SP_EV_CREATE_VAT && ty != SP_EV_HEAP_SNAPSHOT_SAVE)
            return SP_OK;
        on_event(s, rec->u.event);
        sp_tl_mark(n);
        if (ty == SP_EV_HEAP_SNAPSHOT_SAVE && rec->u.event->snapshot_id.p && (rec->u.event->has & SP_HAS_SNAP_POS)) {
            char id[IDC];
            cpy(vat, sizeof vat, rec->u.event->vat_id);
            cpy(id, sizeof id, rec->u.event->snapshot_id);
            struct tp_vat *v = vat_get(s, vat);
            if (!v) return SP_OK;
            int rc = retract_unknown(t, n, v, rec->u.event->snap_pos, id);
            struct tp_ctx c = {.t = t, .n = n, .s = s, .v = v};
            return rc ? rc : rejudge_schedule(&c, rec->u.event->snap_pos);
        }
        return SP_OK;
    }
    case SP_REC_DELIVERY:
        if (rec->u.delivery->replay) return SP_OK;
        on_delivery(s, rec->u.delivery);
        break;
    case SP_REC_KV: on_kv(s, rec->u.kv); break;
    case SP_REC_TSNAPSHOT: {
        cpy(vat, sizeof vat, rec->u.tsnapshot->vat_id);
        struct tp_vat *v = vat_get(s, vat);
        if (!v) return SP_OK;
        on_tsnapshot(s, v, rec->u.tsnapshot);
        sp_tl_mark(n);
        char id[IDC];
        cpy(id, sizeof id, rec->u.tsnapshot->hash);
        return retract_unknown(t, n, v, rec->u.tsnapshot->snap_pos, id);
    }
    case SP_REC_TITEM: {
        cpy(vat, sizeof vat, rec->u.titem->vat_id);
        struct tp_vat *v = vat_get(s, vat);
        const struct sp_titem *it = rec->u.titem;
        if (!v) return SP_OK;
        /* an item of a span already settled (from the store, when the span came first) */
        if (v->has_prev && it->position < v->p_end && have_store(t)) return SP_OK;
        /* a restart of the vat's items (another input): drop what was folded so far */
        if (v->a_n && it->position <= v->a_last) acc_reset(v);
        fold_item(v, it->position, it->incarnation, it->d_type, it->snapshot_id, it->source, it->item);
        break;
    }
    case SP_REC_TSPAN: {
        cpy(vat, sizeof vat, rec->u.tspan->vat_id);
        struct tp_vat *v = vat_get(s, vat);
        if (!v) return SP_OK;
        struct tp_ctx c = {.t = t, .n = n, .s = s, .v = v};
        sp_tl_mark(n);
        return on_tspan(&c, rec->u.tspan);
    }
    default: return SP_OK;
    }
    sp_tl_mark(n);
    return SP_OK;
}

/* End of the run: S2 for the vats whose transcript had no current span (terminated, or snapshot rows only). */
static int tp_flush(struct sp_tl_stream *t, struct sp_tl_node *n, void *st)
{
    struct tp_state *s = st;
    int rc = SP_OK;
    for (size_t i = 0; i < s->nv && rc == SP_OK; i++) {
        struct tp_vat *v = &s->v[i];
        if (v->s2_done || (!v->nsnap && !v->has_tr)) continue;
        struct tp_ctx c = {.t = t, .n = n, .s = s, .v = v};
        rc = check_store(&c, NULL);
        v->s2_done = 1;
        sp_tl_mark(n);
    }
    return rc;
}

/* ---- checkpoint ------------------------------------------------------------ */

static void put_str(struct sp_buf *b, const char *s)
{
    sp_buf_json_str(b, s, strlen(s));
}

static void tp_save(const void *st, struct sp_buf *b)
{
    const struct tp_state *s = st;
    sp_buf_printf(b, "{\"ss\":%d,\"ki\":%d,\"kn\":%d,\"crank\":%" PRId64 ",\"vats\":[", s->has_ss, s->kv_sinit,
                  s->kv_sint, s->crank);
    for (size_t i = 0; i < s->nv; i++) {
        const struct tp_vat *v = &s->v[i];
        sp_buf_append_c(b, i ? ",[" : "[");
        put_str(b, v->id);
#define X(f) sp_buf_printf(b, ",%" PRId64, v->f);
        TP_INTS(X)
#undef X
#define X(f, n) sp_buf_putc(b, ','), put_str(b, v->f);
        TP_STRS(X)
#undef X
        for (int side = 0; side < 3; side++) {
            const struct tp_snap *r = side == 2 ? v->unknown : side ? v->slog : v->snaps;
            int64_t cnt = side == 2 ? (v->nunknown < TP_UNKNOWN ? v->nunknown : TP_UNKNOWN) : side ? v->nslog : v->nsnap;
            sp_buf_append_c(b, ",[");
            for (int64_t k = 0; k < cnt && k < TP_RING; k++) {
                sp_buf_printf(b, "%s[%" PRId64 ",%" PRId64 ",%" PRId64 ",", k ? "," : "", r[k].pos, r[k].first_dn, r[k].line);
                put_str(b, r[k].id);
                sp_buf_putc(b, ',');
                put_str(b, r[k].src);
                sp_buf_putc(b, ']');
            }
            sp_buf_putc(b, ']');
        }
        sp_buf_append_c(b, ",[");
        for (int64_t k = 0; k < v->ntr && k < TP_SPANS; k++) {
            const struct tp_tview *x = &v->tr[k];
            sp_buf_printf(b, "%s[%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
                             ",%" PRId64 ",%" PRId64 ",", k ? "," : "", x->start, x->end, x->inc, x->items, x->dlv, x->hash_ok,
                          x->cur, x->complete, x->sched);
            put_str(b, x->first), sp_buf_putc(b, ','), put_str(b, x->last), sp_buf_putc(b, ',');
            put_str(b, x->save), sp_buf_putc(b, ','), put_str(b, x->load), sp_buf_putc(b, ','), put_str(b, x->hash);
            sp_buf_putc(b, ','), put_str(b, x->third_last), sp_buf_putc(b, ','), put_str(b, x->src);
            sp_buf_putc(b, ']');
        }
        sp_buf_append_c(b, "],[");
        for (int64_t k = 0; k < v->nsl && k < TP_SPANS; k++) {
            const struct tp_sview *x = &v->sl[k];
            sp_buf_printf(b, "%s[%" PRId64 ",%" PRId64 ",%" PRId64 ",", k ? "," : "", x->start, x->next, x->dlv);
            put_str(b, x->first), sp_buf_putc(b, ','), put_str(b, x->last), sp_buf_putc(b, ',');
            put_str(b, x->save), sp_buf_putc(b, ','), put_str(b, x->load);
            sp_buf_putc(b, ']');
        }
        sp_buf_append_c(b, "],[");
        for (int64_t k = 0; k < v->a_nnote && k < TP_NOTES; k++) {
            const struct tp_note *nt = &v->notes[k];
            sp_buf_printf(b, "%s[%" PRId64 ",%" PRId64 ",%" PRId64 ",", k ? "," : "", nt->pos, nt->inc, nt->prev_adj);
            put_str(b, nt->type);
            sp_buf_putc(b, ',');
            put_str(b, nt->prev_type);
            sp_buf_putc(b, ',');
            put_str(b, nt->sid);
            sp_buf_putc(b, ']');
        }
        sp_buf_append_c(b, "],\"");
        for (int k = 0; k < TP_BLOOM; k++) sp_buf_printf(b, "%02x", v->bloom[k]);
        sp_buf_append_c(b, "\"]");
    }
    sp_buf_append_c(b, "]}");
}

static void jcpy(char *dst, size_t cap, yajl_val v)
{
    snprintf(dst, cap, "%s", sp_tl_jstr(v));
}

static int tp_restore(void *st, yajl_val root)
{
    struct tp_state *s = st;
    if (!YAJL_IS_OBJECT(root)) return -1;
    yajl_val vats = sp_tl_jget(root, "vats");
    if (!vats || !YAJL_IS_ARRAY(vats)) return -1;
    size_t nf = 0, ns = 0;
#define X(f) nf++;
    TP_INTS(X)
#undef X
#define X(f, n) ns++;
    TP_STRS(X)
#undef X
    s->has_ss = sp_tl_jint(sp_tl_jget(root, "ss")) > 0;
    s->kv_sinit = sp_tl_jint(sp_tl_jget(root, "ki")) > 0;
    s->kv_sint = sp_tl_jint(sp_tl_jget(root, "kn")) > 0;
    s->crank = sp_tl_jint(sp_tl_jget(root, "crank"));
    for (size_t i = 0; i < vats->u.array.len; i++) {
        yajl_val a = vats->u.array.values[i];
        if (!YAJL_IS_ARRAY(a) || a->u.array.len != 1 + nf + ns + 7) return -1;
        yajl_val *e = a->u.array.values;
        size_t k = 0;
        struct tp_vat *v = vat_get(s, sp_tl_jstr(e[k++]));
        if (!v) return -1;
#define X(f) v->f = sp_tl_jint(e[k++]);
        TP_INTS(X)
#undef X
#define X(f, n) jcpy(v->f, sizeof v->f, e[k++]);
        TP_STRS(X)
#undef X
        for (int side = 0; side < 3; side++) {
            yajl_val r = e[k++];
            struct tp_snap *ring = side == 2 ? v->unknown : side ? v->slog : v->snaps;
            size_t cap = side == 2 ? TP_UNKNOWN : TP_RING;
            for (size_t j = 0; YAJL_IS_ARRAY(r) && j < r->u.array.len && j < cap; j++) {
                yajl_val x = r->u.array.values[j];
                if (!YAJL_IS_ARRAY(x) || x->u.array.len != 5) return -1;
                ring[j].pos = sp_tl_jint(x->u.array.values[0]);
                ring[j].first_dn = sp_tl_jint(x->u.array.values[1]);
                ring[j].line = sp_tl_jint(x->u.array.values[2]);
                jcpy(ring[j].id, sizeof ring[j].id, x->u.array.values[3]);
                jcpy(ring[j].src, sizeof ring[j].src, x->u.array.values[4]);
            }
        }
        yajl_val trs = e[k++], sls = e[k++];
        for (size_t j = 0; YAJL_IS_ARRAY(trs) && j < trs->u.array.len && j < TP_SPANS; j++) {
            yajl_val x = trs->u.array.values[j];
            if (!YAJL_IS_ARRAY(x) || x->u.array.len != 16) return -1;
            yajl_val *f = x->u.array.values;
            struct tp_tview *w = &v->tr[j];
            w->start = sp_tl_jint(f[0]), w->end = sp_tl_jint(f[1]), w->inc = sp_tl_jint(f[2]), w->items = sp_tl_jint(f[3]);
            w->dlv = sp_tl_jint(f[4]), w->hash_ok = sp_tl_jint(f[5]), w->cur = sp_tl_jint(f[6]), w->complete = sp_tl_jint(f[7]);
            w->sched = sp_tl_jint(f[8]) > 0;
            jcpy(w->first, sizeof w->first, f[9]), jcpy(w->last, sizeof w->last, f[10]);
            jcpy(w->save, sizeof w->save, f[11]), jcpy(w->load, sizeof w->load, f[12]), jcpy(w->hash, sizeof w->hash, f[13]);
            jcpy(w->third_last, sizeof w->third_last, f[14]), jcpy(w->src, sizeof w->src, f[15]);
        }
        for (size_t j = 0; YAJL_IS_ARRAY(sls) && j < sls->u.array.len && j < TP_SPANS; j++) {
            yajl_val x = sls->u.array.values[j];
            if (!YAJL_IS_ARRAY(x) || x->u.array.len != 7) return -1;
            yajl_val *f = x->u.array.values;
            struct tp_sview *w = &v->sl[j];
            w->start = sp_tl_jint(f[0]), w->next = sp_tl_jint(f[1]), w->dlv = sp_tl_jint(f[2]);
            jcpy(w->first, sizeof w->first, f[3]), jcpy(w->last, sizeof w->last, f[4]);
            jcpy(w->save, sizeof w->save, f[5]), jcpy(w->load, sizeof w->load, f[6]);
        }
        yajl_val nts = e[k++];
        for (size_t j = 0; YAJL_IS_ARRAY(nts) && j < nts->u.array.len && j < TP_NOTES; j++) {
            yajl_val x = nts->u.array.values[j];
            if (!YAJL_IS_ARRAY(x) || x->u.array.len != 6) return -1;
            struct tp_note *nt = &v->notes[j];
            nt->pos = sp_tl_jint(x->u.array.values[0]);
            nt->inc = sp_tl_jint(x->u.array.values[1]);
            nt->prev_adj = sp_tl_jint(x->u.array.values[2]) > 0;
            jcpy(nt->type, sizeof nt->type, x->u.array.values[3]);
            jcpy(nt->prev_type, sizeof nt->prev_type, x->u.array.values[4]);
            jcpy(nt->sid, sizeof nt->sid, x->u.array.values[5]);
        }
        const char *hex = sp_tl_jstr(e[k++]);
        if (strlen(hex) != 2 * TP_BLOOM) return -1;
        for (int j = 0; j < TP_BLOOM; j++) {
            unsigned x;
            if (sscanf(hex + 2 * j, "%2x", &x) != 1) return -1;
            v->bloom[j] = (unsigned char)x;
        }
    }
    return 0;
}

static void tp_release(void *st)
{
    struct tp_state *s = st;
    free(s->v);
    s->v = NULL;
    s->nv = s->cap = 0;
}

const struct sp_tl_part sp_tl_part_tspans = {
    .name = "tspans",
    .state_size = sizeof(struct tp_state),
    .init = tp_init,
    .feed = tp_feed,
    .flush = tp_flush,
    .save = tp_save,
    .restore = tp_restore,
    .release = tp_release,
};
