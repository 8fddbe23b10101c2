/* sp_tl_slogchk.c - stage part: the slog's checks (L1-L5, replays, termination, T12) judged record by record, as the batch passes do. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp_tl_int.h"
#include "sp_tl_part.h"

/*
 * What it judges, and when (each with the kind, position, severity and
 * detail of the former SQL pass, sp_tl_slog.c):
 *
 *   crank-finish   the crank's committed live deliveries (not in a crank a
 *                  non-ok result or a failed upgrade aborted, nor the vat's
 *                  own terminate): DELIVERYNUM_REGRESSION (L5),
 *                  UNEXPECTED_STOPVAT (T12), SLOG_TRANSCRIPT_DIVERGENCE (L1)
 *                  when the transcript item is known; the crank's
 *                  heap-snapshot-saves: the reload after the save names that
 *                  snapshot (SLOG_SNAPSHOT_ID_MISMATCH, §2.6), the crank has a
 *                  bringOutYourDead at endPosition-1 (MISSING_PRE_SNAPSHOT_BOYD);
 *                  a bringOutYourDead whose next item is a save-snapshot has a
 *                  heap-snapshot-save (SLOG_SNAPSHOT_ID_MISMATCH, L2); its
 *                  heap-snapshot-loads name the snapshot saved at snapPos;
 *   a replayed delivery: against its transcript item (REPLAY_DIVERGENCE,
 *                  REPLAY_COMPUTRON_DRIFT), never counted as live;
 *   console "anachrophobia strikes": REPLAY_DIVERGENCE;
 *   the first live delivery after a finish-replay (or the end of the run):
 *                  start-replay.deliveries against the replay (REPLAY_SPAN_MISMATCH);
 *   a delivery after the vat's terminate / vat-cleanup: ACTIVITY_AFTER_TERMINATION;
 *   a transcript item that arrives after the slog: the comparisons above
 *                  whose other side came first (looked up in the store, or
 *                  in the vat's ring of recent deliveries without one), and
 *                  a save reported for its reload is settled against it
 *                  (L2 comes first, as in row_save);
 *   a transcript item with r.status other than "ok" or a stopVat (T12,
 *                  NON_OK_RESULT / UNEXPECTED_STOPVAT, as the former SQL pass did
 *                  scan_items): with its span's incarnation and start, at
 *                  once when the span is known, else at its span record.
 * Without a store only the vat's last SC_RING deliveries, items and saves
 * are remembered: a cross-check of an older position is not judged then
 * (the stage says less, never something else).
 * Fields a slog version does not write (vd, syscalls, computrons,
 * deliveryNum) are not judged. A block re-executed after a crash (#8264) is
 * counted once: the stage rolls this state back to the last commit.
 */

#define SC_VAT 24
#define SC_ID 72
#define SC_TY 32
#define SC_H (SP_HASH_HEX_LEN + 1)
#define SC_RING 8   /* per vat: recent saves / deliveries / items, for store-less cross-checks */
#define SC_OPS 64   /* crank operations buffered until crank-finish */
#define SC_PEND 4   /* replays waiting for their next live delivery, per vat */
#define SC_RL 4     /* saves reported for their reload, awaiting the transcript item, per vat */
#define SC_T12 8    /* transcript items with a T12 finding awaiting their span, per vat */
#define SC_PREFETCH 32 /* store items read ahead per lookup, per vat with deliveries and items */
#define SC_SRC 256

/* ---- state ------------------------------------------------------------------ */

struct sc_save { /* a save seen on one side */
    int64_t pos, inc;
    char id[SC_ID];
};

struct sc_dlv { /* a committed live delivery, remembered for an item that comes later */
    int64_t dn, line, has_c, comp, boyd_nosave;
    char disp[SC_TY], vd[SC_H], sc[SC_H];
};

struct sc_item { /* a transcript item, remembered for a delivery that comes later */
    int64_t pos, inc, has_c, comp;
    char type[SC_TY], d[SC_H], sc[SC_H];
};

struct sc_rl { /* a save reported for its reload before the transcript item at its position was known */
    int64_t pos, line, inc;
    char sid[SC_ID], src[SC_SRC];
};

struct sc_t12 { /* a transcript item T12 reports (non-ok result, stopVat), until its span is known */
    int64_t pos, done;
    char type[SC_TY], status[SC_TY], src[SC_SRC];
};

/* SC_PREFETCH of the store's items from lo, read in one lookup (each lookup waits for the SQLite writer). */
struct sc_cache {
    int64_t lo;
    unsigned char have[SC_PREFETCH];
    struct sc_item it[SC_PREFETCH];
    char sid[SC_PREFETCH][SC_ID];
};

struct sc_rep { /* a replay (start-replay .. finish-replay) */
    int64_t n, line, fin, count, mn, mx, next, start, emitted; /* emitted: position reported, -2 none */
    char src[SC_SRC];
};

struct sc_vat {
    char id[SC_VAT];
    char prev_src[SC_SRC], dsrc[SC_SRC], term_src[SC_SRC];
    int64_t prev_dn, prev_line;        /* L5: last committed live delivery */
    int64_t no_transcript;             /* useTranscript false in the vat options */
    int64_t term_line, term_done;      /* first termination evidence (-1 none); reported */
    double term_time;                  /* its wall clock, -1 unknown */
    int64_t rp_open;                   /* a start-replay is open (rp) */
    int64_t npend;
    struct sc_rep rp, pend[SC_PEND];
    struct sc_rep last;                /* the last judged replay, for an item at its start that comes later */
    int64_t ntr, nsl, nd, nit, nrep;
    struct sc_save tr[SC_RING], sl[SC_RING];
    struct sc_dlv d[SC_RING];
    struct sc_item it[SC_RING];
    int64_t rep[SC_RING];              /* replay anomalies reported: kind * 2^40 + position */
    int64_t tmax, nrl;                 /* highest transcript position seen, -1 none */
    int64_t dseen;                     /* a delivery of the vat was seen: items look the slog's up */
    int64_t tstore;                    /* the store held items of the vat when first asked: 1, 0, -1 not asked */
    struct sc_cache *cache;            /* the store's items ahead of the deliveries (not checkpointed) */
    struct sc_rl rl[SC_RL];
    int64_t nt12, ls_start, ls_end, ls_inc; /* the last transcript span record seen */
    struct sc_t12 t12[SC_T12];
};

enum { OP_DLV = 1, OP_SAVE, OP_LOAD, OP_TERM };

struct sc_op {
    int64_t kind, dn, line, ok, has_c, comp, cold;
    char vat[SC_VAT], id[SC_ID], disp[SC_TY], vd[SC_H], sc[SC_H];
};

struct sc_state {
    int64_t in_crank, abort, nops;
    char src[SC_SRC]; /* source of the crank's records */
    struct sc_op ops[SC_OPS];
    struct sc_vat *v;
    size_t nv, cap;
};

/* ---- generic (de)serialization of the fixed-layout structs ------------------- */

struct fd {
    char t; /* i int64, d double, s string, r array of sub, 0 end */
    size_t off, cap;
    const struct fd *sub;
    size_t n, esz;
};
#define FI(S, f) {'i', offsetof(struct S, f), 0, NULL, 0, 0}
#define FD(S, f) {'d', offsetof(struct S, f), 0, NULL, 0, 0}
#define FS(S, f) {'s', offsetof(struct S, f), sizeof(((struct S *)0)->f), NULL, 0, 0}
#define FR(S, f, sub, T) {'r', offsetof(struct S, f), 0, sub, sizeof(((struct S *)0)->f) / sizeof(struct T), sizeof(struct T)}
#define FEND {0, 0, 0, NULL, 0, 0}

static const struct fd fd_save[] = {FI(sc_save, pos), FI(sc_save, inc), FS(sc_save, id), FEND};
static const struct fd fd_dlv[] = {FI(sc_dlv, dn), FI(sc_dlv, line), FI(sc_dlv, has_c), FI(sc_dlv, comp),
                                   FI(sc_dlv, boyd_nosave), FS(sc_dlv, disp), FS(sc_dlv, vd), FS(sc_dlv, sc), FEND};
static const struct fd fd_item[] = {FI(sc_item, pos), FI(sc_item, inc), FI(sc_item, has_c), FI(sc_item, comp),
                                    FS(sc_item, type), FS(sc_item, d), FS(sc_item, sc), FEND};
static const struct fd fd_rl[] = {FI(sc_rl, pos), FI(sc_rl, line), FI(sc_rl, inc), FS(sc_rl, sid), FS(sc_rl, src), FEND};
static const struct fd fd_t12[] = {FI(sc_t12, pos), FI(sc_t12, done), FS(sc_t12, type), FS(sc_t12, status),
                                   FS(sc_t12, src), FEND};
static const struct fd fd_rep[] = {FI(sc_rep, n), FI(sc_rep, line), FI(sc_rep, fin), FI(sc_rep, count),
                                   FI(sc_rep, mn), FI(sc_rep, mx), FI(sc_rep, next), FI(sc_rep, start),
                                   FI(sc_rep, emitted), FS(sc_rep, src), FEND};
static const struct fd fd_int[] = {{'i', 0, 0, NULL, 0, 0}, FEND};
static const struct fd fd_vat[] = {
    FS(sc_vat, id), FS(sc_vat, prev_src), FS(sc_vat, dsrc), FS(sc_vat, term_src), FI(sc_vat, prev_dn),
    FI(sc_vat, prev_line), FI(sc_vat, no_transcript), FI(sc_vat, term_line), FI(sc_vat, term_done),
    FD(sc_vat, term_time), FI(sc_vat, rp_open), FI(sc_vat, npend), FR(sc_vat, rp, fd_rep, sc_rep),
    FR(sc_vat, pend, fd_rep, sc_rep), FR(sc_vat, last, fd_rep, sc_rep), FI(sc_vat, ntr), FI(sc_vat, nsl),
    FI(sc_vat, nd), FI(sc_vat, nit), FI(sc_vat, nrep), FR(sc_vat, tr, fd_save, sc_save),
    FR(sc_vat, sl, fd_save, sc_save), FR(sc_vat, d, fd_dlv, sc_dlv), FR(sc_vat, it, fd_item, sc_item),
    {'r', offsetof(struct sc_vat, rep), 0, fd_int, SC_RING, sizeof(int64_t)}, FI(sc_vat, tmax), FI(sc_vat, nrl), FI(sc_vat, dseen), FI(sc_vat, tstore),
    FR(sc_vat, rl, fd_rl, sc_rl), FI(sc_vat, nt12), FI(sc_vat, ls_start), FI(sc_vat, ls_end), FI(sc_vat, ls_inc),
    FR(sc_vat, t12, fd_t12, sc_t12), FEND};
static const struct fd fd_op[] = {FI(sc_op, kind), FI(sc_op, dn), FI(sc_op, line), FI(sc_op, ok), FI(sc_op, has_c),
                                  FI(sc_op, comp), FI(sc_op, cold), FS(sc_op, vat), FS(sc_op, id),
                                  FS(sc_op, disp), FS(sc_op, vd), FS(sc_op, sc), FEND};
static const struct fd fd_state_head[] = {FI(sc_state, in_crank), FI(sc_state, abort), FS(sc_state, src), FEND};

static void fd_save_json(const struct fd *f, const char *base, struct sp_buf *b)
{
    sp_buf_putc(b, '[');
    for (int k = 0; f[k].t; k++) {
        if (k) sp_buf_putc(b, ',');
        const char *p = base + f[k].off;
        if (f[k].t == 'i') {
            int64_t x;
            memcpy(&x, p, sizeof x);
            sp_buf_printf(b, "%" PRId64, x);
        } else if (f[k].t == 'd') {
            double x;
            memcpy(&x, p, sizeof x);
            sp_buf_printf(b, "%.17g", x - x == 0 ? x : -1.0); /* NaN / infinity: unknown (JSON has neither) */
        } else if (f[k].t == 's') {
            sp_buf_json_str(b, p, strnlen(p, f[k].cap));
        } else {
            /* trailing unused entries (first field -1) are left out: restore leaves them as init made them */
            size_t used = f[k].n;
            while (used > 0 && f[k].sub[0].t == 'i') {
                int64_t first;
                memcpy(&first, p + (used - 1) * f[k].esz + f[k].sub[0].off, sizeof first);
                if (first != -1) break;
                used--;
            }
            sp_buf_putc(b, '[');
            for (size_t j = 0; j < used; j++) {
                if (j) sp_buf_putc(b, ',');
                fd_save_json(f[k].sub, p + j * f[k].esz, b);
            }
            sp_buf_putc(b, ']');
        }
    }
    sp_buf_putc(b, ']');
}

static int fd_restore_json(const struct fd *f, char *base, yajl_val v)
{
    size_t nf = 0;
    while (f[nf].t) nf++;
    if (!v || !YAJL_IS_ARRAY(v) || v->u.array.len != nf) return -1;
    for (size_t k = 0; k < nf; k++) {
        yajl_val e = v->u.array.values[k];
        char *p = base + f[k].off;
        if (f[k].t == 'i') {
            if (!YAJL_IS_INTEGER(e)) return -1;
            int64_t x = YAJL_GET_INTEGER(e);
            memcpy(p, &x, sizeof x);
        } else if (f[k].t == 'd') {
            if (!YAJL_IS_NUMBER(e)) return -1;
            double x = YAJL_GET_DOUBLE(e);
            memcpy(p, &x, sizeof x);
        } else if (f[k].t == 's') {
            if (!YAJL_IS_STRING(e)) return -1;
            snprintf(p, f[k].cap, "%s", YAJL_GET_STRING(e));
        } else {
            if (!YAJL_IS_ARRAY(e) || e->u.array.len > f[k].n) return -1;
            for (size_t j = 0; j < e->u.array.len; j++)
                if (fd_restore_json(f[k].sub, p + j * f[k].esz, e->u.array.values[j])) return -1;
        }
    }
    return 0;
}

/* ---- small helpers ------------------------------------------------------------ */

static void cpy(char *dst, size_t cap, struct sp_str s)
{
    size_t n = s.p ? (s.n < cap - 1 ? s.n : cap - 1) : 0;
    if (n) memcpy(dst, s.p, n);
    dst[n] = '\0';
}

static void rep_init(struct sc_rep *r)
{
    memset(r, 0, sizeof *r);
    r->n = r->line = r->fin = r->mn = r->mx = r->next = r->start = -1;
    r->emitted = -2;
}

static void vat_init(struct sc_vat *v, const char *id)
{
    memset(v, 0, sizeof *v);
    snprintf(v->id, sizeof v->id, "%s", id);
    v->prev_dn = v->prev_line = v->term_line = v->tmax = v->tstore = -1;
    for (int i = 0; i < SC_RL; i++) v->rl[i].pos = -1;
    for (int i = 0; i < SC_T12; i++) v->t12[i].pos = -1;
    v->ls_start = v->ls_end = v->ls_inc = -1;
    v->term_time = -1.0;
    rep_init(&v->rp);
    rep_init(&v->last);
    for (int i = 0; i < SC_PEND; i++) rep_init(&v->pend[i]);
    for (int i = 0; i < SC_RING; i++) {
        v->tr[i].pos = v->sl[i].pos = v->d[i].dn = v->it[i].pos = -1;
        v->rep[i] = -1;
    }
}

static int vat_cmp(const void *a, const void *b)
{
    return strcmp(((const struct sc_vat *)a)->id, ((const struct sc_vat *)b)->id);
}

static struct sc_vat *vat_get(struct sc_state *s, const char *id, int create)
{
    if (!*id) return NULL;
    struct sc_vat key;
    snprintf(key.id, sizeof key.id, "%s", id);
    struct sc_vat *v = s->nv ? bsearch(&key, s->v, s->nv, sizeof *s->v, vat_cmp) : NULL;
    if (v || !create) return v;
    if (s->nv == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = sp_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    vat_init(&s->v[s->nv++], id);
    qsort(s->v, s->nv, sizeof *s->v, vat_cmp);
    return bsearch(&key, s->v, s->nv, sizeof *s->v, vat_cmp);
}

static const struct sc_save *save_find(const struct sc_save *r, int64_t pos)
{
    for (int i = 0; i < SC_RING; i++)
        if (r[i].pos >= 0 && r[i].pos == pos) return &r[i];
    return NULL;
}

static void save_push(struct sc_save *r, int64_t *cnt, int64_t pos, const char *id, int64_t inc)
{
    struct sc_save *e = &r[*cnt % SC_RING];
    e->pos = pos, e->inc = inc;
    snprintf(e->id, sizeof e->id, "%s", id);
    (*cnt)++;
}

static struct sc_dlv *dlv_find(struct sc_vat *v, int64_t dn)
{
    for (int i = 0; i < SC_RING; i++)
        if (v->d[i].dn >= 0 && v->d[i].dn == dn) return &v->d[i];
    return NULL;
}

static const struct sc_item *item_find(const struct sc_vat *v, int64_t pos)
{
    for (int i = 0; i < SC_RING; i++)
        if (v->it[i].pos >= 0 && v->it[i].pos == pos) return &v->it[i];
    return NULL;
}

static int is_pseudo(const char *t)
{
    return strcmp(t, "initialize-worker") == 0 || strcmp(t, "load-snapshot") == 0 ||
           strcmp(t, "save-snapshot") == 0 || strcmp(t, "shutdown-worker") == 0;
}

/* Replay anomalies are reported once per (kind, position): the first replay that shows one, as the batch. */
static int rep_seen(const struct sc_vat *v, int kind, int64_t pos)
{
    int64_t key = (int64_t)kind * ((int64_t)1 << 40) + pos;
    for (int i = 0; i < SC_RING; i++)
        if (v->rep[i] == key) return 1;
    return 0;
}

static void rep_mark(struct sc_vat *v, int kind, int64_t pos)
{
    v->rep[v->nrep++ % SC_RING] = (int64_t)kind * ((int64_t)1 << 40) + pos;
}

enum { RK_DIV = 1, RK_DRIFT = 2 };

/* Withdraw an anomaly this part reported earlier. */
static int retract(struct sp_tl_stream *t, struct sp_tl_node *n, const char *vat, const char *kind, int64_t pos)
{
    struct sp_anomaly a = {.node = sp_str_c(sp_tl_node_name(n)), .vat_id = sp_str_c(vat), .kind = sp_str_c(kind),
                           .incarnation = -1, .position = pos, .severity = sp_str_c("info"),
                           .detail = sp_str_c("{}"), .source = SP_STR_NULL, .line = -1, .retracted = 1};
    struct sp_record rec = {.kind = SP_REC_ANOMALY, .u.anomaly = &a};
    return sp_tl_emit(t, &rec);
}

/* ---- store lookups (string constants: the stage caches them by address) ------- */

static const char SQL_ITEMS[] = "SELECT position, d_type, d_hash, sc_hash, computrons, incarnation, snapshot_id "
                                "FROM transcript_items WHERE node=?1 AND vat_id=?2 AND position>=?3 AND position<?4 "
                                "ORDER BY position";
static const char SQL_STORESNAP[] = "SELECT hash FROM store_snapshots WHERE node=?1 AND vat_id=?2 AND snap_pos=?3";
/* the slog's heap-snapshot-saves of the vat (slog_events_by_type), as the batch's tl_saves */
static const char SQL_SLOGSAVE[] = "SELECT snapshot_id FROM slog_events WHERE node=?1 AND type='heap-snapshot-save'"
                                   TL_INDEXED("") "AND vat_id=?2 AND snap_pos=?3 AND superseded=0 "
                                   "ORDER BY line LIMIT 1";
static const char SQL_SLOGSAVE_NEAR[] = "SELECT 1 FROM slog_events WHERE node=?1 AND type='heap-snapshot-save'"
                                        TL_INDEXED("") "AND vat_id=?2 AND snap_pos BETWEEN ?3-8 AND ?3+8 "
                                        "AND snapshot_id=?4 AND superseded=0 LIMIT 1";
/* deliveries_live / deliveries_by_vat: the committed-looking live delivery, and the replays, at a position */
static const char SQL_LIVE[] = "SELECT vd_hash, sc_hash, computrons, source, line, dispatch FROM deliveries "
                               "WHERE node=?1 AND vat_id=?2 AND delivery_num=?3 AND replay=0 AND superseded=0 "
                               "AND (status IS NULL OR status='ok') ORDER BY line DESC LIMIT 1";
static const char SQL_REPLAYS[] = "SELECT vd_hash, sc_hash, computrons, source, line, dispatch FROM deliveries "
                                  "WHERE node=?1 AND vat_id=?2 AND delivery_num=?3 AND replay=1 AND superseded=0 "
                                  "ORDER BY source, line";

static const char SQL_HAS_ITEMS[] = "SELECT EXISTS (SELECT 1 FROM transcript_items WHERE node=?1 AND vat_id=?2)";

/*
 * Whether to look the vat's items up in the store: only when some are there
 * (its items came through the stage, or the store held some when first
 * asked, once per vat). Every lookup waits for the store's writer thread, so
 * a slog without its swing-store costs no lookup per delivery.
 */
static int items_in_store(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_vat *v, int *rc)
{
    *rc = SP_OK;
    if (v->tmax >= 0 || v->tstore == 1) return 1;
    if (v->tstore == 0) return 0;
    sqlite3_stmt *st = sp_tl_lookup(t, SQL_HAS_ITEMS, sp_tl_node_name(n), v->id, rc);
    if (!st) return 0;
    int r = sp_tl_step(t, st);
    if (r < 0) return *rc = r, 0;
    v->tstore = r == 1 && sqlite3_column_int(st, 0);
    sp_tl_mark(n);
    return (int)v->tstore;
}

/* The transcript item at pos: 1 found (fields filled), 0 unknown, < 0 error. */
static int item_get(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_vat *v, int64_t pos, struct sc_item *out,
                    char *sid, size_t sidcap)
{
    int rc;
    memset(out, 0, sizeof *out);
    out->pos = pos, out->inc = -1;
    if (sid) *sid = '\0';
    if (!items_in_store(t, n, v, &rc)) return rc; /* none: neither in the store nor remembered */
    struct sc_cache *c = v->cache;
    if (pos < 0) return 0;
    if (!c || pos < c->lo || pos >= c->lo + SC_PREFETCH) {
        sqlite3_stmt *st = sp_tl_lookup(t, SQL_ITEMS, sp_tl_node_name(n), v->id, &rc);
        if (rc) return rc;
        if (st) {
            if (!c) c = v->cache = sp_xmalloc(sizeof *c);
            c->lo = pos;
            memset(c->have, 0, sizeof c->have);
            sqlite3_bind_int64(st, 3, pos);
            sqlite3_bind_int64(st, 4, pos + SC_PREFETCH);
            while ((rc = sp_tl_step(t, st)) == 1) {
                int64_t k = sqlite3_column_int64(st, 0) - pos;
                if (k < 0 || k >= SC_PREFETCH) continue;
                struct sc_item *e = &c->it[k];
                memset(e, 0, sizeof *e);
                e->pos = pos + k;
                snprintf(e->type, sizeof e->type, "%s", tl_text(st, 1));
                snprintf(e->d, sizeof e->d, "%s", tl_text(st, 2));
                snprintf(e->sc, sizeof e->sc, "%s", tl_text(st, 3));
                e->has_c = sqlite3_column_type(st, 4) != SQLITE_NULL;
                e->comp = tl_int(st, 4, -1);
                e->inc = tl_int(st, 5, -1);
                snprintf(c->sid[k], sizeof c->sid[k], "%s", tl_text(st, 6));
                c->have[k] = 1;
            }
            if (rc < 0) {
                free(v->cache);
                v->cache = NULL;
                return rc;
            }
        }
    }
    if (c && pos >= c->lo && pos < c->lo + SC_PREFETCH) {
        int64_t k = pos - c->lo;
        if (!c->have[k]) return 0;
        *out = c->it[k];
        if (sid) snprintf(sid, sidcap, "%s", c->sid[k]);
        return 1;
    }
    const struct sc_item *it = item_find(v, pos);
    if (!it) {
        const struct sc_save *sv = save_find(v->tr, pos);
        if (!sv) return 0;
        snprintf(out->type, sizeof out->type, "save-snapshot");
        out->inc = sv->inc;
        if (sid) snprintf(sid, sidcap, "%s", sv->id);
        return 1;
    }
    *out = *it;
    if (sid) {
        const struct sc_save *sv = save_find(v->tr, pos);
        if (sv) snprintf(sid, sidcap, "%s", sv->id);
    }
    return 1;
}

/* 1 when the pipeline has a store to look things up in (*rc set on a lookup error). */
static int has_store(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_vat *v, int *rc)
{
    return sp_tl_lookup(t, SQL_STORESNAP, sp_tl_node_name(n), v->id, rc) != NULL;
}

/* ---- L1 / L3: a delivery against its transcript item ---------------------------- */

struct sc_dinfo {
    const char *vd, *sc, *disp, *src;
    int has_c;
    int64_t comp, dn, line;
};

static int compare(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_vat *v, const struct sc_dinfo *d,
                   const struct sc_item *it, int replay)
{
    if (!*d->vd) return SP_OK; /* the `deliver` line was lost: nothing to compare */
    const char *dtype = it->type, *td = it->d, *tsc = it->sc;
    int pseudo = is_pseudo(dtype);
    int d_bad = pseudo || (*td && strcmp(d->vd, td) != 0);
    int sc_bad = !pseudo && *d->sc && *tsc && strcmp(d->sc, tsc) != 0;
    int has_c = d->has_c && it->has_c;
    int c_bad = !pseudo && has_c && d->comp != it->comp;
    if (!replay && (d_bad || sc_bad || c_bad)) {
        sp_tl_det_begin(t);
        sp_tl_det_str(t, "slog_dispatch", d->disp);
        sp_tl_det_str(t, "transcript_type", dtype);
        sp_tl_det_str(t, "differs", d_bad ? (pseudo ? "delivery vs pseudo-event item" : "vd vs d")
                                          : sc_bad ? "syscalls (vsc/vsr vs sc)" : "computrons");
        sp_tl_det_str(t, "slog_vd_hash", d->vd);
        sp_tl_det_str(t, "transcript_d_hash", td);
        sp_tl_det_str(t, "slog_sc_hash", d->sc);
        sp_tl_det_str(t, "transcript_sc_hash", tsc);
        if (has_c) {
            sp_tl_det_int(t, "slog_computrons", d->comp);
            sp_tl_det_int(t, "transcript_computrons", it->comp);
        }
        sp_tl_det_str(t, "rule", "L1: a committed live delivery equals the transcript item at deliveryNum");
        return sp_tl_anomaly(t, n, v->id, "SLOG_TRANSCRIPT_DIVERGENCE", it->inc, d->dn, "error", d->src, d->line);
    }
    if (replay && (d_bad || sc_bad) && !rep_seen(v, RK_DIV, d->dn)) {
        rep_mark(v, RK_DIV, d->dn);
        sp_tl_mark(n);
        sp_tl_det_begin(t);
        sp_tl_det_str(t, "differs", d_bad ? "vd vs d" : "syscalls (vsc vs sc)");
        sp_tl_det_str(t, "transcript_type", dtype);
        sp_tl_det_str(t, "slog_vd_hash", d->vd);
        sp_tl_det_str(t, "transcript_d_hash", td);
        sp_tl_det_str(t, "slog_sc_hash", d->sc);
        sp_tl_det_str(t, "transcript_sc_hash", tsc);
        sp_tl_det_str(t, "rule", "L3: replayed deliveries and syscalls equal the transcript");
        return sp_tl_anomaly(t, n, v->id, "REPLAY_DIVERGENCE", it->inc, d->dn, "error", d->src, d->line);
    }
    if (replay && !d_bad && !sc_bad && c_bad && !rep_seen(v, RK_DRIFT, d->dn)) {
        rep_mark(v, RK_DRIFT, d->dn);
        sp_tl_mark(n);
        sp_tl_det_begin(t);
        sp_tl_det_int(t, "replay_computrons", d->comp);
        sp_tl_det_int(t, "transcript_computrons", it->comp);
        sp_tl_det_str(t, "rule", "#6770: replayed compute equals r.metering.computrons (not checked by the kernel)");
        return sp_tl_anomaly(t, n, v->id, "REPLAY_COMPUTRON_DRIFT", it->inc, d->dn, "info", d->src, d->line);
    }
    return SP_OK;
}

/* ---- L3: start-replay.deliveries against the replay ------------------------------ */

static int judge_replay(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_vat *v, struct sc_rep *r)
{
    int64_t start = r->count > 0 ? r->mn - 1 : r->next >= 0 ? r->next - 1 : -1;
    const char *problem = NULL;
    if (r->count != r->n - 1)
        problem = "number of replayed deliveries != deliveries - 1";
    else if (r->count > 0 && r->mx - r->mn + 1 != r->count)
        problem = "replayed deliveryNums are not contiguous";
    else if (r->count > 0 && r->next >= 0 && r->next != start + r->n)
        problem = "next live deliveryNum != span start + deliveries (span length)";
    char dtype[SC_TY] = "";
    if (!problem && start >= 0) {
        struct sc_item it;
        int rc = item_get(t, n, v, start, &it, NULL, 0);
        if (rc < 0) return rc;
        if (rc == 1) {
            snprintf(dtype, sizeof dtype, "%s", it.type);
            if (strcmp(dtype, "initialize-worker") != 0 && strcmp(dtype, "load-snapshot") != 0)
                problem = "replay does not start after an initialize-worker/load-snapshot item";
        }
    }
    r->start = start;
    int rc = SP_OK;
    if (r->emitted != -2 && (!problem || r->emitted != start))
        rc = retract(t, n, v->id, "REPLAY_SPAN_MISMATCH", r->emitted);
    r->emitted = -2;
    v->last = *r;
    sp_tl_mark(n);
    if (rc || !problem) return rc;
    sp_tl_det_begin(t);
    sp_tl_det_str(t, "problem", problem);
    sp_tl_det_int(t, "deliveries", r->n);
    sp_tl_det_int(t, "replayed", r->count);
    if (r->mn >= 0) sp_tl_det_int(t, "first_replayed", r->mn);
    if (r->mx >= 0) sp_tl_det_int(t, "last_replayed", r->mx);
    if (r->next >= 0) sp_tl_det_int(t, "next_live_delivery", r->next);
    if (*dtype) sp_tl_det_str(t, "item_at_start", dtype);
    sp_tl_det_int(t, "finish_line", r->fin);
    sp_tl_det_str(t, "rule", "L3: start-replay.deliveries == current span length; replayed startPos+1..endPos-1");
    r->emitted = start;
    v->last.emitted = start;
    return sp_tl_anomaly(t, n, v->id, "REPLAY_SPAN_MISMATCH", -1, start, "error", r->src, r->line);
}

/* ---- a committed crank --------------------------------------------------------- */

static int live_delivery(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_state *s, const struct sc_op *o,
                         int saved_next)
{
    struct sc_vat *v = vat_get(s, o->vat, 1);
    int rc;
    if (!v) return SP_OK;
    /* L5 */
    int comms = v->no_transcript || (o->dn == 0 && v->prev_dn == 0);
    if (v->prev_dn >= 0 && o->dn <= v->prev_dn && !comms) {
        sp_tl_det_begin(t);
        sp_tl_det_int(t, "delivery_num", o->dn);
        sp_tl_det_int(t, "previous_delivery_num", v->prev_dn);
        sp_tl_det_str(t, "previous_source", v->prev_src);
        sp_tl_det_int(t, "previous_line", v->prev_line);
        sp_tl_det_str(t, "rule", "L5: live deliveryNums of committed cranks strictly increase");
        if ((rc = sp_tl_anomaly(t, n, v->id, "DELIVERYNUM_REGRESSION", -1, o->dn, "error", s->src, o->line))) return rc;
    }
    v->prev_dn = o->dn, v->prev_line = o->line;
    snprintf(v->prev_src, sizeof v->prev_src, "%s", s->src);
    snprintf(v->dsrc, sizeof v->dsrc, "%s", s->src);

    struct sc_item it;
    char sid[SC_ID];
    int have = item_get(t, n, v, o->dn, &it, NULL, 0);
    if (have < 0) return have;
    /* T12 (the transcript's own stopVat item is reported by the transcript checks, with its span) */
    int t_stop = have == 1 && strcmp(it.type, "stopVat") == 0;
    for (int i = 0; i < SC_T12; i++)
        if (v->t12[i].pos == o->dn && strcmp(v->t12[i].type, "stopVat") == 0) t_stop = 1;
    if (strcmp(o->disp, "stopVat") == 0 && !t_stop) {
        sp_tl_det_begin(t);
        sp_tl_det_str(t, "evidence", "slog deliver");
        sp_tl_det_str(t, "dispatch", "stopVat");
        sp_tl_det_str(t, "rule", "T12: stopVat is not delivered since 2023-03-28 (5cc47d2d88)");
        if ((rc = sp_tl_anomaly(t, n, v->id, "UNEXPECTED_STOPVAT", -1, o->dn, "warning", s->src, o->line))) return rc;
    }
    /* L1 */
    struct sc_dinfo d = {o->vd, o->sc, o->disp, s->src, (int)o->has_c, o->comp, o->dn, o->line};
    if (have == 1 && (rc = compare(t, n, v, &d, &it, 0))) return rc;
    /* remembered for an item that comes later */
    struct sc_dlv *e = &v->d[v->nd++ % SC_RING];
    memset(e, 0, sizeof *e);
    e->dn = o->dn, e->line = o->line, e->has_c = o->has_c, e->comp = o->comp;
    snprintf(e->disp, sizeof e->disp, "%s", o->disp);
    snprintf(e->vd, sizeof e->vd, "%s", o->vd);
    snprintf(e->sc, sizeof e->sc, "%s", o->sc);
    /* L2: a bringOutYourDead whose next item is a save-snapshot has its heap-snapshot-save */
    if (strcmp(o->disp, "bringOutYourDead") == 0 && !saved_next) {
        e->boyd_nosave = 1;
        /* outside a crank (no crank-start lines) the save may still follow: judged when the item comes */
        if (!s->in_crank) return SP_OK;
        struct sc_item nx;
        int r = item_get(t, n, v, o->dn + 1, &nx, sid, sizeof sid);
        if (r < 0) return r;
        if (r == 1 && strcmp(nx.type, "save-snapshot") == 0) {
            e->boyd_nosave = 0;
            sp_tl_det_begin(t);
            sp_tl_det_str(t, "problem", "save-snapshot item without a heap-snapshot-save in the slog");
            sp_tl_det_str(t, "transcript_snapshot_id", sid);
            sp_tl_det_int(t, "boyd_delivery_num", o->dn);
            sp_tl_det_str(t, "rule", "L2: every save-snapshot item has its heap-snapshot-save");
            if ((rc = sp_tl_anomaly(t, n, v->id, "SLOG_SNAPSHOT_ID_MISMATCH", nx.inc, o->dn + 1, "error", s->src, o->line)))
                return rc;
        }
    }
    return SP_OK;
}

static const char SQL_TSAVE_NEAR[] = "SELECT position FROM transcript_items WHERE node=?1 AND vat_id=?2 AND "
                                     "position BETWEEN ?3-8 AND ?3+8 AND d_type='save-snapshot' AND snapshot_id=?4 "
                                     "ORDER BY position LIMIT 1";

/*
 * L2 as the stage words it (sp_tl_stream.c check_slog_save), for what the
 * stage cannot see: the save's endPosition holds another item than a
 * save-snapshot; reported where the transcript put the save with that id,
 * when it is within 8 positions.
 */
static int l2_not_save(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_vat *v, int64_t pos, const char *sid,
                       const char *dtype, int64_t inc, const char *src, int64_t line)
{
    int rc;
    int64_t at = pos;
    sqlite3_stmt *st = sp_tl_lookup(t, SQL_TSAVE_NEAR, sp_tl_node_name(n), v->id, &rc);
    if (rc) return rc;
    if (st) {
        sqlite3_bind_int64(st, 3, pos);
        sqlite3_bind_text(st, 4, sid, -1, SQLITE_TRANSIENT);
        if ((rc = sp_tl_step(t, st)) < 0) return rc;
        if (rc == 1) at = sqlite3_column_int64(st, 0);
    } else {
        for (int i = 0; i < SC_RING; i++)
            if (v->tr[i].pos >= pos - 8 && v->tr[i].pos <= pos + 8 && strcmp(v->tr[i].id, sid) == 0 &&
                (at == pos || v->tr[i].pos < at))
                at = v->tr[i].pos;
    }
    sp_tl_det_begin(t);
    sp_tl_det_str(t, "problem", "endPosition does not hold a save-snapshot item");
    sp_tl_det_str(t, "slog_snapshot_id", sid);
    sp_tl_det_int(t, "slog_end_position", pos);
    if (at != pos) sp_tl_det_int(t, "transcript_save_position", at);
    sp_tl_det_str(t, "expected_snapshot_id", NULL);
    sp_tl_det_str(t, "transcript_type", dtype);
    sp_tl_det_str(t, "rule", "L2: heap-snapshot-save matches the save-snapshot item (id and position)");
    return sp_tl_anomaly(t, n, v->id, "SLOG_SNAPSHOT_ID_MISMATCH", inc, at, "error", src, line);
}

/* The transcript item at the position of a save reported for its reload: L2 comes first (row_save). */
static int rl_settle(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_vat *v, const struct sc_item *it,
                     const char *tid)
{
    int rc = SP_OK;
    for (int i = 0; i < SC_RL && rc == SP_OK; i++) {
        struct sc_rl *e = &v->rl[i];
        if (e->pos < 0 || e->pos != it->pos) continue;
        sp_tl_mark(n);
        if (strcmp(it->type, "save-snapshot") != 0) {
            rc = retract(t, n, v->id, "SLOG_SNAPSHOT_ID_MISMATCH", e->pos);
            if (rc == SP_OK) rc = l2_not_save(t, n, v, e->pos, e->sid, it->type, it->inc, e->src, e->line);
        } else if (strcmp(tid, e->sid) != 0 && !has_store(t, n, v, &rc) && rc == SP_OK && !save_find(v->sl, e->pos)) {
            /* the stage reports it itself when it still knows the save (the store, or its ring as this one) */
            sp_tl_det_begin(t);
            sp_tl_det_str(t, "problem", "snapshotID differs from the save-snapshot item");
            sp_tl_det_str(t, "slog_snapshot_id", e->sid);
            sp_tl_det_int(t, "slog_end_position", e->pos);
            sp_tl_det_str(t, "expected_snapshot_id", tid);
            sp_tl_det_str(t, "transcript_type", "save-snapshot");
            sp_tl_det_str(t, "rule", "L2: heap-snapshot-save matches the save-snapshot item (id and position)");
            rc = sp_tl_anomaly(t, n, v->id, "SLOG_SNAPSHOT_ID_MISMATCH", it->inc, e->pos, "error", e->src, e->line);
        }
        e->pos = -1;
    }
    return rc;
}

/*
 * A heap-snapshot-save of a committed crank: the reload after it names the
 * same snapshot and position, and the crank delivered bringOutYourDead at
 * endPosition-1 first (row_save: only when the save agrees with the
 * transcript, which the stage itself judges).
 */
static int save_checks(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_state *s, const struct sc_op *o,
                       const struct sc_op *reload, int64_t first_dn, int has_boyd)
{
    struct sc_vat *v = vat_get(s, o->vat, 1);
    int rc;
    if (!v) return SP_OK;
    struct sc_item it;
    char tid[SC_ID] = "", shash[SC_ID] = "";
    int have = item_get(t, n, v, o->dn, &it, tid, sizeof tid);
    if (have < 0) return have;
    if (have == 0) {
        sqlite3_stmt *st = sp_tl_lookup(t, SQL_STORESNAP, sp_tl_node_name(n), v->id, &rc);
        if (rc) return rc;
        if (st) {
            sqlite3_bind_int64(st, 3, o->dn);
            if ((rc = sp_tl_step(t, st)) < 0) return rc;
            if (rc == 1) snprintf(shash, sizeof shash, "%s", tl_text(st, 0));
        }
    }
    save_push(v->sl, &v->nsl, o->dn, o->id, it.inc);
    sp_tl_mark(n);
    int problem;
    if (has_store(t, n, v, &rc)) {
        problem = have == 1 ? (strcmp(it.type, "save-snapshot") != 0 || strcmp(tid, o->id) != 0)
                            : (*shash && strcmp(shash, o->id) != 0);
    } else {
        /* without a store the stage knows the transcript's saves only (its ring, as this one) */
        const struct sc_save *sv = save_find(v->tr, o->dn);
        const struct sc_item *ii = sv ? NULL : item_find(v, o->dn);
        if (sv) {
            problem = strcmp(sv->id, o->id) != 0;
        } else if (ii) {
            /* a recent item that is no save-snapshot: the stage does not remember those */
            problem = 1;
            if ((rc = l2_not_save(t, n, v, o->dn, o->id, ii->type, ii->inc, s->src, o->line))) return rc;
        } else if (v->tmax >= o->dn) {
            return SP_OK; /* the transcript's item there is forgotten: not judged without a store */
        } else {
            problem = 0;
        }
    }
    if (rc) return rc;
    if (problem) return SP_OK; /* L2: the stage reports it */
    if (reload && (reload->dn != o->dn || strcmp(reload->id, o->id) != 0)) {
        sp_tl_det_begin(t);
        sp_tl_det_str(t, "problem", "heap-snapshot-load after the save names another snapshot or position");
        sp_tl_det_str(t, "slog_snapshot_id", o->id);
        sp_tl_det_int(t, "slog_end_position", o->dn);
        sp_tl_det_str(t, "reload_snapshot_id", reload->id);
        sp_tl_det_int(t, "reload_snap_pos", reload->dn);
        sp_tl_det_int(t, "reload_line", reload->line);
        sp_tl_det_str(t, "rule", "§2.6: the restart after a save loads that snapshot (hash, snapPos)");
        if (have == 0) { /* the transcript item may still come and overturn it (L2 first) */
            struct sc_rl *e = &v->rl[v->nrl++ % SC_RL];
            e->pos = o->dn, e->line = o->line, e->inc = it.inc;
            snprintf(e->sid, sizeof e->sid, "%s", o->id);
            snprintf(e->src, sizeof e->src, "%s", s->src);
        }
        return sp_tl_anomaly(t, n, v->id, "SLOG_SNAPSHOT_ID_MISMATCH", it.inc, o->dn, "error", s->src, o->line);
    }
    if (first_dn >= 0 && !has_boyd) {
        /* a transcript whose item before the save is no bringOutYourDead: reported by the transcript checks */
        struct sc_item pv;
        int r = item_get(t, n, v, o->dn - 1, &pv, NULL, 0);
        if (r < 0) return r;
        if (r == 1 && strcmp(pv.type, "bringOutYourDead") != 0) return SP_OK;
        sp_tl_det_begin(t);
        sp_tl_det_int(t, "slog_end_position", o->dn);
        sp_tl_det_int(t, "crank_first_delivery", first_dn);
        sp_tl_det_str(t, "rule", "L2: heap-snapshot-save is preceded by a bringOutYourDead delivery at endPosition-1 in the same crank");
        return sp_tl_anomaly(t, n, v->id, "MISSING_PRE_SNAPSHOT_BOYD", it.inc, o->dn, "error", s->src, o->line);
    }
    return SP_OK;
}

/* L2/L4: a heap-snapshot-load names the snapshot saved at snapPos (transcript, store row, else the slog's save). */
static int load_check(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_state *s, const struct sc_op *o)
{
    struct sc_vat *v = vat_get(s, o->vat, 1);
    int rc;
    if (!v || !*o->id) return SP_OK;
    char tid[SC_ID] = "", shash[SC_ID] = "", gid[SC_ID] = "";
    struct sc_item it;
    int have = item_get(t, n, v, o->dn, &it, tid, sizeof tid);
    if (have < 0) return have;
    if (have != 1 || strcmp(it.type, "save-snapshot") != 0) tid[0] = '\0';
    sqlite3_stmt *st;
    rc = SP_OK;
    if (!*tid && (st = sp_tl_lookup(t, SQL_STORESNAP, sp_tl_node_name(n), v->id, &rc))) {
        sqlite3_bind_int64(st, 3, o->dn);
        if ((rc = sp_tl_step(t, st)) < 0) return rc;
        if (rc == 1) snprintf(shash, sizeof shash, "%s", tl_text(st, 0));
    } else if (rc) {
        return rc;
    }
    rc = SP_OK;
    if (!*tid && !*shash) {
        const struct sc_save *sv = save_find(v->sl, o->dn);
        if (sv) {
            snprintf(gid, sizeof gid, "%s", sv->id);
        } else if ((st = sp_tl_lookup(t, SQL_SLOGSAVE, sp_tl_node_name(n), v->id, &rc))) {
            sqlite3_bind_int64(st, 3, o->dn);
            if ((rc = sp_tl_step(t, st)) < 0) return rc;
            if (rc == 1) snprintf(gid, sizeof gid, "%s", tl_text(st, 0));
        } else if (rc) {
            return rc;
        }
    }
    const char *expected = *tid ? tid : *shash ? shash : *gid ? gid : NULL;
    const char *from = *tid ? "transcript save-snapshot" : *shash ? "swing-store snapshots row" : "slog heap-snapshot-save";
    if (!expected || strcmp(expected, o->id) == 0) return SP_OK;
    sp_tl_det_begin(t);
    sp_tl_det_str(t, "problem", "heap-snapshot-load names another snapshot than the one saved at snapPos");
    sp_tl_det_str(t, "load_snapshot_id", o->id);
    sp_tl_det_int(t, "snap_pos", o->dn);
    sp_tl_det_str(t, "expected_snapshot_id", expected);
    sp_tl_det_str(t, "expected_from", from);
    sp_tl_det_str(t, "load_kind", o->cold ? "cold load" : "reload after save");
    sp_tl_det_str(t, "rule", "L2/L4: heap-snapshot-load names the snapshot saved at snapPos");
    return sp_tl_anomaly(t, n, v->id, "SLOG_SNAPSHOT_ID_MISMATCH", -1, o->dn, "error", s->src, o->line);
}

static int crank_finish(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_state *s)
{
    int rc = SP_OK;
    int64_t nops = s->nops < SC_OPS ? s->nops : SC_OPS;
    for (int64_t i = 0; i < nops && rc == SP_OK; i++) {
        const struct sc_op *o = &s->ops[i];
        int vat_aborted = 0;
        for (int64_t j = 0; j < nops; j++)
            if (s->ops[j].kind == OP_TERM && strcmp(s->ops[j].vat, o->vat) == 0) vat_aborted = 1;
        if (o->kind == OP_DLV && !s->abort && !vat_aborted) {
            /* overlapping sources (a slog and its flight recorder, rotated copies) repeat the
             * same deliveries: a later source going back over what an earlier one committed
             * is that source again, counted once (the batch keeps the first copy) */
            struct sc_vat *pv = vat_get(s, o->vat, 0);
            if (pv && pv->prev_dn >= 0 && o->dn <= pv->prev_dn && pv->prev_src[0] && strcmp(pv->prev_src, s->src) != 0)
                continue;
            int saved_next = 0; /* a save of this crank at dn+1 */
            for (int64_t j = 0; j < nops; j++)
                if (s->ops[j].kind == OP_SAVE && strcmp(s->ops[j].vat, o->vat) == 0 && s->ops[j].dn == o->dn + 1)
                    saved_next = 1;
            if (!saved_next && strcmp(o->disp, "bringOutYourDead") == 0) {
                /* a save of this crank with the id of the item at dn+1 (reported with that save) */
                struct sc_vat *v = vat_get(s, o->vat, 1);
                struct sc_item nx;
                char sid[SC_ID];
                int r = v ? item_get(t, n, v, o->dn + 1, &nx, sid, sizeof sid) : 0;
                if (r < 0) return r;
                for (int64_t j = 0; r == 1 && j < nops; j++)
                    if (s->ops[j].kind == OP_SAVE && strcmp(s->ops[j].vat, o->vat) == 0 && strcmp(s->ops[j].id, sid) == 0)
                        saved_next = 1;
            }
            rc = live_delivery(t, n, s, o, saved_next);
        } else if (o->kind == OP_SAVE && s->in_crank) {
            const struct sc_op *reload = NULL;
            int64_t first_dn = -1;
            int has_boyd = 0;
            for (int64_t j = 0; j < nops; j++) {
                const struct sc_op *x = &s->ops[j];
                if (strcmp(x->vat, o->vat) != 0) continue;
                if (x->kind == OP_LOAD && !x->cold && !reload) reload = x;
                if (x->kind == OP_DLV && !s->abort && !vat_aborted) {
                    if (first_dn < 0 || x->dn < first_dn) first_dn = x->dn;
                    if (x->dn == o->dn - 1 && strcmp(x->disp, "bringOutYourDead") == 0) has_boyd = 1;
                }
            }
            rc = save_checks(t, n, s, o, reload, first_dn, has_boyd);
        } else if (o->kind == OP_SAVE) {
            struct sc_vat *v = vat_get(s, o->vat, 1);
            if (v) save_push(v->sl, &v->nsl, o->dn, o->id, -1);
        }
    }
    /* loads after the saves: a save's own finding at a position comes first, as in the batch */
    for (int64_t i = 0; i < nops && rc == SP_OK; i++) {
        const struct sc_op *o = &s->ops[i];
        if (o->kind != OP_LOAD) continue;
        int saved_here = 0;
        for (int64_t j = 0; j < nops; j++)
            if (s->ops[j].kind == OP_SAVE && strcmp(s->ops[j].vat, o->vat) == 0 && s->ops[j].dn == o->dn)
                saved_here = 1;
        if (!saved_here) rc = load_check(t, n, s, o);
    }
    s->nops = 0, s->abort = 0, s->in_crank = 0;
    sp_tl_mark(n);
    return rc;
}

static int add_op(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_state *s, const struct sc_op *o)
{
    if (!s->in_crank) {
        s->ops[0] = *o;
        s->nops = 1;
        return crank_finish(t, n, s);
    }
    if (s->nops < SC_OPS) s->ops[s->nops] = *o;
    s->nops++;
    sp_tl_mark(n);
    return SP_OK;
}

/* ---- feeding ------------------------------------------------------------------- */

static int feed_delivery(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_state *s, const struct sp_delivery *d)
{
    char vat[SC_VAT], src[SC_SRC];
    cpy(vat, sizeof vat, d->vat_id);
    cpy(src, sizeof src, d->origin.source);
    struct sc_vat *v = vat_get(s, vat, 1);
    int rc = SP_OK;
    if (!v) return SP_OK;
    /* §3.4: activity after termination (the first delivery after it, live or replayed) */
    if (v->term_line >= 0 && !v->term_done &&
        ((strcmp(src, v->term_src) == 0 && d->origin.line > v->term_line) ||
         (strcmp(src, v->term_src) != 0 && v->term_time >= 0 && d->time == d->time && d->time > v->term_time))) {
        char disp[SC_TY];
        cpy(disp, sizeof disp, d->dispatch);
        v->term_done = 1;
        sp_tl_mark(n);
        sp_tl_det_begin(t);
        sp_tl_det_int(t, "termination_line", v->term_line);
        sp_tl_det_str(t, "dispatch", disp);
        sp_tl_det_int(t, "replay", d->replay ? 1 : 0);
        sp_tl_det_str(t, "rule", "§3.4: no deliveries to a vat after terminate / vat-cleanup");
        if ((rc = sp_tl_anomaly(t, n, vat, "ACTIVITY_AFTER_TERMINATION", -1, d->delivery_num, "error", src,
                                d->origin.line)))
            return rc;
    }
    if (d->delivery_num < 0) return SP_OK; /* a slog without deliveryNum: nothing positional to judge */
    if (!v->dseen) v->dseen = 1, sp_tl_mark(n);
    if (d->replay) {
        if (v->rp_open && strcmp(src, v->rp.src) == 0) {
            if (v->rp.mn < 0 || d->delivery_num < v->rp.mn) v->rp.mn = d->delivery_num;
            if (d->delivery_num > v->rp.mx) v->rp.mx = d->delivery_num;
            v->rp.count++;
            sp_tl_mark(n);
        }
        struct sc_item it;
        int have = item_get(t, n, v, d->delivery_num, &it, NULL, 0);
        if (have < 0) return have;
        if (have == 1) {
            char disp[SC_TY];
            cpy(disp, sizeof disp, d->dispatch);
            struct sc_dinfo di = {d->vd_hash, d->sc_hash, disp, src, d->has_computrons, d->computrons,
                                  d->delivery_num, d->origin.line};
            rc = compare(t, n, v, &di, &it, 1);
        }
        return rc;
    }
    /* the first live delivery after a replay settles it */
    for (int64_t i = 0; i < v->npend && rc == SP_OK; i++) {
        if (strcmp(v->pend[i].src, src) != 0 || d->origin.line <= v->pend[i].fin) continue;
        v->pend[i].next = d->delivery_num;
        rc = judge_replay(t, n, v, &v->pend[i]);
        v->pend[i--] = v->pend[--v->npend];
        rep_init(&v->pend[v->npend]);
        sp_tl_mark(n);
    }
    return rc;
}

/* "anachrophobia strikes vN delivery dM syscalls" */
static int anachrophobia(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_state *s, const struct sp_event *ev)
{
    char *args = sp_xstrndup(ev->args.p ? ev->args.p : "", ev->args.p ? ev->args.n : 0);
    char vat[32] = "", src[SC_SRC];
    int64_t pos = -1;
    int rc = SP_OK;
    const char *p = strstr(args, "anachrophobia strikes ");
    if (p) {
        p += strlen("anachrophobia strikes ");
        size_t k = strcspn(p, " \",]");
        if (k < sizeof vat) {
            memcpy(vat, p, k);
            vat[k] = '\0';
        }
        const char *dd = strstr(p, "delivery d");
        if (dd) pos = strtoll(dd + strlen("delivery d"), NULL, 10);
    }
    struct sc_vat *v = vat_get(s, vat, 1);
    if (!(v && rep_seen(v, RK_DIV, pos))) {
        if (v) rep_mark(v, RK_DIV, pos), sp_tl_mark(n);
        char ex[240];
        sp_excerpt(args, strlen(args), 200, ex, sizeof ex);
        cpy(src, sizeof src, ev->origin.source);
        sp_tl_det_begin(t);
        sp_tl_det_str(t, "console", ex);
        sp_tl_det_str(t, "rule", "L3: replay syscalls diverged from the transcript (kernel panic follows)");
        rc = sp_tl_anomaly(t, n, *vat ? vat : NULL, "REPLAY_DIVERGENCE", -1, pos, "error", src, ev->origin.line);
    }
    free(args);
    return rc;
}

static int feed_event(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_state *s, const struct sp_event *ev)
{
    char vat[SC_VAT];
    struct sc_op o;
    cpy(vat, sizeof vat, ev->vat_id);
    memset(&o, 0, sizeof o);
    snprintf(o.vat, sizeof o.vat, "%s", vat);
    o.line = ev->origin.line;
    switch (ev->type) {
    case SP_EV_KERNEL_INIT_START:
        s->nops = 0, s->abort = 0, s->in_crank = 0;
        sp_tl_mark(n);
        return SP_OK;
    case SP_EV_CRANK_START:
        s->nops = 0, s->abort = 0, s->in_crank = 1;
        cpy(s->src, sizeof s->src, ev->origin.source);
        sp_tl_mark(n);
        return SP_OK;
    case SP_EV_CRANK_FINISH:
        return s->in_crank ? crank_finish(t, n, s) : SP_OK;
    case SP_EV_CONSOLE:
        if (!ev->args.p) return SP_OK;
        if (s->in_crank && memmem(ev->args.p, ev->args.n, "failed to upgrade", 17)) s->abort = 1, sp_tl_mark(n);
        if (memmem(ev->args.p, ev->args.n, "anachrophobia", 13)) return anachrophobia(t, n, s, ev);
        return SP_OK;
    case SP_EV_HEAP_SNAPSHOT_SAVE:
    case SP_EV_HEAP_SNAPSHOT_LOAD:
        if (!*vat || !(ev->has & SP_HAS_SNAP_POS)) return SP_OK;
        if (ev->type == SP_EV_HEAP_SNAPSHOT_SAVE && !ev->snapshot_id.p) return SP_OK;
        o.kind = ev->type == SP_EV_HEAP_SNAPSHOT_SAVE ? OP_SAVE : OP_LOAD;
        o.dn = ev->snap_pos;
        o.cold = (ev->has & SP_HAS_UNCOMPRESSED_SIZE) != 0;
        cpy(o.id, sizeof o.id, ev->snapshot_id);
        if (!s->in_crank) cpy(s->src, sizeof s->src, ev->origin.source);
        return add_op(t, n, s, &o);
    case SP_EV_TERMINATE:
    case SP_EV_VAT_CLEANUP:
    case SP_EV_VAT_CLEANUP_COMPLETE: {
        if (!*vat) return SP_OK;
        struct sc_vat *v = vat_get(s, vat, 1);
        if (v->term_line < 0) {
            v->term_line = ev->origin.line;
            cpy(v->term_src, sizeof v->term_src, ev->origin.source);
            v->term_time = (ev->has & SP_HAS_TIME) ? ev->time : -1.0;
            sp_tl_mark(n);
        }
        if (ev->type == SP_EV_TERMINATE && s->in_crank) {
            o.kind = OP_TERM;
            return add_op(t, n, s, &o);
        }
        return SP_OK;
    }
    case SP_EV_START_REPLAY: {
        struct sc_vat *v = vat_get(s, vat, 1);
        if (!v || !(ev->has & SP_HAS_DELIVERIES)) return SP_OK;
        rep_init(&v->rp);
        v->rp.n = ev->deliveries;
        v->rp.line = ev->origin.line;
        cpy(v->rp.src, sizeof v->rp.src, ev->origin.source);
        v->rp_open = 1;
        sp_tl_mark(n);
        return SP_OK;
    }
    case SP_EV_FINISH_REPLAY: {
        struct sc_vat *v = vat_get(s, vat, 0);
        char src[SC_SRC];
        cpy(src, sizeof src, ev->origin.source);
        if (!v || !v->rp_open || strcmp(src, v->rp.src) != 0) return SP_OK;
        v->rp_open = 0;
        v->rp.fin = ev->origin.line;
        sp_tl_mark(n);
        if (v->no_transcript) return SP_OK; /* comms-like: no transcript, no span */
        int rc = SP_OK;
        if (v->npend == SC_PEND) { /* never settled by a live delivery: judge the oldest as it stands */
            rc = judge_replay(t, n, v, &v->pend[0]);
            memmove(&v->pend[0], &v->pend[1], (SC_PEND - 1) * sizeof v->pend[0]);
            rep_init(&v->pend[--v->npend]);
        }
        v->pend[v->npend++] = v->rp;
        return rc;
    }
    default:
        return SP_OK;
    }
}

static int feed_delivery_op(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_state *s, const struct sp_delivery *d)
{
    if (d->replay || d->delivery_num < 0 || !d->vat_id.p) return SP_OK;
    struct sc_op o;
    memset(&o, 0, sizeof o);
    o.kind = OP_DLV;
    cpy(o.vat, sizeof o.vat, d->vat_id);
    cpy(o.disp, sizeof o.disp, d->dispatch);
    o.dn = d->delivery_num;
    o.line = d->origin.line;
    o.has_c = d->has_computrons;
    o.comp = d->computrons;
    snprintf(o.vd, sizeof o.vd, "%s", d->vd_hash);
    snprintf(o.sc, sizeof o.sc, "%s", d->sc_hash);
    if (d->status.p && !sp_str_eq_c(d->status, "ok")) {
        s->abort = 1; /* an error result aborts the whole crank */
        sp_tl_mark(n);
        return SP_OK;
    }
    if (!s->in_crank) cpy(s->src, sizeof s->src, d->origin.source);
    return add_op(t, n, s, &o);
}

/*
 * T12 on a transcript item: a committed item has r.status "ok" (NON_OK_RESULT)
 * and is no stopVat (UNEXPECTED_STOPVAT), reported with the incarnation and
 * start of the transcript span that holds it (as the former SQL pass scan_items did) --
 * at once when the span is known (the store, or the last span record), else
 * when its span record comes (a swing-store writes a span after its items).
 */
static int t12_emit(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_vat *v, struct sc_t12 *e, int64_t start,
                    int64_t inc)
{
    int rc = SP_OK;
    e->done = 1;
    sp_tl_mark(n);
    if (e->status[0] && strcmp(e->status, "ok") != 0) {
        sp_tl_det_begin(t);
        sp_tl_det_str(t, "status", e->status);
        sp_tl_det_str(t, "type", e->type);
        sp_tl_det_str(t, "rule", "T12: committed transcript items have r.status 'ok'");
        rc = sp_tl_anomaly(t, n, v->id, "NON_OK_RESULT", inc, e->pos, "error", e->src, -1);
    }
    if (rc == SP_OK && strcmp(e->type, "stopVat") == 0) {
        sp_tl_det_begin(t);
        sp_tl_det_str(t, "type", e->type);
        sp_tl_det_int(t, "span_start", start);
        sp_tl_det_str(t, "rule", "T12: stopVat is not delivered since 2023-03-28 (5cc47d2d88)");
        rc = sp_tl_anomaly(t, n, v->id, "UNEXPECTED_STOPVAT", inc, e->pos, "warning", e->src, -1);
    }
    return rc;
}

static const char SQL_TSPAN_AT[] = "SELECT start_pos, incarnation FROM transcript_spans WHERE node=?1 AND vat_id=?2 "
                                   "AND start_pos<=?3 AND end_pos>?3 ORDER BY start_pos DESC LIMIT 1";

static int t12_item(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_vat *v, const struct sp_titem *ti,
                    const struct sc_item *it)
{
    char status[SC_TY];
    cpy(status, sizeof status, ti->status);
    if (!((status[0] && strcmp(status, "ok") != 0) || strcmp(it->type, "stopVat") == 0)) return SP_OK;
    struct sc_t12 *e = &v->t12[v->nt12++ % SC_T12];
    memset(e, 0, sizeof *e);
    e->pos = it->pos;
    snprintf(e->type, sizeof e->type, "%s", it->type);
    snprintf(e->status, sizeof e->status, "%s", status);
    cpy(e->src, sizeof e->src, ti->source);
    sp_tl_mark(n);
    int rc;
    sqlite3_stmt *st = sp_tl_lookup(t, SQL_TSPAN_AT, sp_tl_node_name(n), v->id, &rc);
    if (rc) return rc;
    if (st) {
        sqlite3_bind_int64(st, 3, it->pos);
        if ((rc = sp_tl_step(t, st)) < 0) return rc;
        if (rc == 1) return t12_emit(t, n, v, e, sqlite3_column_int64(st, 0), tl_int(st, 1, -1));
    }
    if (v->ls_start >= 0 && v->ls_start <= it->pos && it->pos < v->ls_end)
        return t12_emit(t, n, v, e, v->ls_start, v->ls_inc);
    return SP_OK;
}

/* A transcript span record: the T12 findings it holds are reported with it. */
static int feed_tspan(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_state *s, const struct sp_tspan *sp)
{
    char vat[SC_VAT];
    cpy(vat, sizeof vat, sp->vat_id);
    struct sc_vat *v = vat_get(s, vat, 1);
    int rc = SP_OK;
    if (!v) return SP_OK;
    v->ls_start = sp->start_pos, v->ls_end = sp->end_pos, v->ls_inc = sp->incarnation;
    sp_tl_mark(n);
    for (int i = 0; i < SC_T12 && rc == SP_OK; i++) {
        struct sc_t12 *e = &v->t12[i];
        if (e->pos >= 0 && !e->done && e->pos >= sp->start_pos && e->pos < sp->end_pos)
            rc = t12_emit(t, n, v, e, sp->start_pos, sp->incarnation);
    }
    return rc;
}

/* A transcript item: remembered, and the slog checks whose slog side came first. */
static int feed_titem(struct sp_tl_stream *t, struct sp_tl_node *n, struct sc_state *s, const struct sp_titem *ti)
{
    char vat[SC_VAT], sid[SC_ID];
    cpy(vat, sizeof vat, ti->vat_id);
    struct sc_vat *v = vat_get(s, vat, 1);
    int rc = SP_OK;
    if (!v) return SP_OK;
    struct sc_item it;
    memset(&it, 0, sizeof it);
    it.pos = ti->position, it.inc = ti->incarnation, it.has_c = ti->has_computrons, it.comp = ti->computrons;
    cpy(it.type, sizeof it.type, ti->d_type);
    snprintf(it.d, sizeof it.d, "%s", ti->d_hash);
    snprintf(it.sc, sizeof it.sc, "%s", ti->sc_hash);
    cpy(sid, sizeof sid, ti->snapshot_id);
    v->it[v->nit++ % SC_RING] = it;
    int is_save = strcmp(it.type, "save-snapshot") == 0;
    if (is_save && ti->snapshot_id.p) save_push(v->tr, &v->ntr, it.pos, sid, it.inc);
    if (it.pos > v->tmax) v->tmax = it.pos;
    free(v->cache); /* what was read ahead of the store may be what this item changes */
    v->cache = NULL;
    sp_tl_mark(n);
    if ((rc = rl_settle(t, n, v, &it, sid))) return rc;
    if ((rc = t12_item(t, n, v, ti, &it))) return rc;

    /* L1 and L3 against the deliveries at this position that came first (none when the
     * stage has seen no delivery of the vat: a swing-store read before the slog costs no lookups) */
    const char *node = sp_tl_node_name(n);
    sqlite3_stmt *st = v->dseen ? sp_tl_lookup(t, SQL_LIVE, node, vat, &rc) : NULL;
    if (rc) return rc;
    if (st) {
        sqlite3_bind_int64(st, 3, it.pos);
        if ((rc = sp_tl_step(t, st)) < 0) return rc;
        if (rc == 1) {
            char vd[SC_H], sc[SC_H], src[SC_SRC], disp[SC_TY];
            snprintf(vd, sizeof vd, "%s", tl_text(st, 0));
            snprintf(sc, sizeof sc, "%s", tl_text(st, 1));
            snprintf(src, sizeof src, "%s", tl_text(st, 3));
            snprintf(disp, sizeof disp, "%s", tl_text(st, 5));
            struct sc_dinfo d = {vd, sc, disp, src, sqlite3_column_type(st, 2) != SQLITE_NULL, tl_int(st, 2, -1),
                                 it.pos, tl_int(st, 4, -1)};
            if ((rc = compare(t, n, v, &d, &it, 0))) return rc;
        }
        st = sp_tl_lookup(t, SQL_REPLAYS, node, vat, &rc);
        if (rc) return rc;
        sqlite3_bind_int64(st, 3, it.pos);
        while ((rc = sp_tl_step(t, st)) == 1) {
            char vd[SC_H], sc[SC_H], src[SC_SRC], disp[SC_TY];
            snprintf(vd, sizeof vd, "%s", tl_text(st, 0));
            snprintf(sc, sizeof sc, "%s", tl_text(st, 1));
            snprintf(src, sizeof src, "%s", tl_text(st, 3));
            snprintf(disp, sizeof disp, "%s", tl_text(st, 5));
            struct sc_dinfo d = {vd, sc, disp, src, sqlite3_column_type(st, 2) != SQLITE_NULL, tl_int(st, 2, -1),
                                 it.pos, tl_int(st, 4, -1)};
            if ((rc = compare(t, n, v, &d, &it, 1))) return rc;
        }
        if (rc < 0) return rc;
    } else {
        const struct sc_dlv *e = dlv_find(v, it.pos);
        if (e) {
            struct sc_dinfo d = {e->vd, e->sc, e->disp, v->dsrc, (int)e->has_c, e->comp, e->dn, e->line};
            if ((rc = compare(t, n, v, &d, &it, 0))) return rc;
        }
    }
    /* L2: the bringOutYourDead before a save-snapshot item was slogged without its heap-snapshot-save */
    if (is_save) {
        int64_t boyd_line = -1;
        char bsrc[SC_SRC] = "";
        struct sc_dlv *e = dlv_find(v, it.pos - 1);
        if (e && e->boyd_nosave && !save_find(v->sl, it.pos)) {
            boyd_line = e->line;
            snprintf(bsrc, sizeof bsrc, "%s", v->dsrc);
            e->boyd_nosave = 0;
        }
        rc = SP_OK;
        if (boyd_line < 0 && v->dseen && (st = sp_tl_lookup(t, SQL_LIVE, node, vat, &rc))) {
            sqlite3_bind_int64(st, 3, it.pos - 1);
            if ((rc = sp_tl_step(t, st)) < 0) return rc;
            if (rc == 1 && strcmp(tl_text(st, 5), "bringOutYourDead") == 0) {
                boyd_line = tl_int(st, 4, -1);
                snprintf(bsrc, sizeof bsrc, "%s", tl_text(st, 3));
                sqlite3_stmt *q = sp_tl_lookup(t, SQL_SLOGSAVE, node, vat, &rc);
                if (rc) return rc;
                sqlite3_bind_int64(q, 3, it.pos);
                if ((rc = sp_tl_step(t, q)) < 0) return rc;
                if (rc == 1) boyd_line = -1;
                if (boyd_line >= 0 && (q = sp_tl_lookup(t, SQL_SLOGSAVE_NEAR, node, vat, &rc))) {
                    sqlite3_bind_int64(q, 3, it.pos);
                    sqlite3_bind_text(q, 4, sid, -1, SQLITE_TRANSIENT);
                    if ((rc = sp_tl_step(t, q)) < 0) return rc;
                    if (rc == 1) boyd_line = -1;
                }
                if (rc < 0) return rc;
            }
        } else if (rc) {
            return rc;
        }
        if (boyd_line >= 0) {
            sp_tl_det_begin(t);
            sp_tl_det_str(t, "problem", "save-snapshot item without a heap-snapshot-save in the slog");
            sp_tl_det_str(t, "transcript_snapshot_id", sid);
            sp_tl_det_int(t, "boyd_delivery_num", it.pos - 1);
            sp_tl_det_str(t, "rule", "L2: every save-snapshot item has its heap-snapshot-save");
            if ((rc = sp_tl_anomaly(t, n, vat, "SLOG_SNAPSHOT_ID_MISMATCH", it.inc, it.pos, "error", bsrc, boyd_line)))
                return rc;
        }
    }
    /* L3: the item at the start of a replayed span, judged before it arrived */
    if (v->last.start >= 0 && v->last.start == it.pos && v->last.emitted == -2) {
        struct sc_rep r = v->last;
        if ((rc = judge_replay(t, n, v, &r))) return rc;
    }
    return SP_OK;
}

static void feed_kv(struct sp_tl_node *n, struct sc_state *s, const struct sp_kv *kv)
{
    char key[64], val[4096];
    cpy(key, sizeof key, kv->key);
    const char *k = strncmp(key, "kv.", 3) == 0 ? key + 3 : key;
    const char *dot = strchr(k, '.');
    if (k[0] != 'v' || !dot || strcmp(dot, ".options") != 0 || (size_t)(dot - k) >= SC_VAT) return;
    char id[SC_VAT];
    memcpy(id, k, (size_t)(dot - k));
    id[dot - k] = '\0';
    cpy(val, sizeof val, kv->value);
    if (tl_json_find_bool(val, "useTranscript") == 1) {
        struct sc_vat *v = vat_get(s, id, 1);
        if (v) v->no_transcript = 1, sp_tl_mark(n);
    }
}

/* ---- the part ------------------------------------------------------------------- */

static int part_feed(struct sp_tl_stream *t, struct sp_tl_node *n, void *st, const struct sp_record *rec)
{
    struct sc_state *s = st;
    int rc;
    switch (rec->kind) {
    case SP_REC_EVENT: return feed_event(t, n, s, rec->u.event);
    case SP_REC_DELIVERY:
        if ((rc = feed_delivery(t, n, s, rec->u.delivery))) return rc;
        return feed_delivery_op(t, n, s, rec->u.delivery);
    case SP_REC_TITEM: return feed_titem(t, n, s, rec->u.titem);
    case SP_REC_KV: feed_kv(n, s, rec->u.kv); return SP_OK;
    case SP_REC_TSPAN: return feed_tspan(t, n, s, rec->u.tspan);
    default: return SP_OK;
    }
}

/* End of the run: a replay no live delivery followed is judged as it stands (a later run may settle it). */
static int part_flush(struct sp_tl_stream *t, struct sp_tl_node *n, void *st)
{
    struct sc_state *s = st;
    int rc = SP_OK;
    for (size_t i = 0; i < s->nv && rc == SP_OK; i++) {
        struct sc_vat *v = &s->v[i];
        for (int64_t k = 0; k < v->npend && rc == SP_OK; k++) {
            if (v->pend[k].start != -1 || v->pend[k].emitted != -2) continue; /* judged by an earlier flush */
            struct sc_rep r = v->pend[k];
            rc = judge_replay(t, n, v, &r);
            v->pend[k].start = r.start;
            v->pend[k].emitted = r.emitted;
        }
    }
    return rc;
}

static void part_init(void *st)
{
    memset(st, 0, sizeof(struct sc_state));
}

static void part_save(const void *st, struct sp_buf *b)
{
    const struct sc_state *s = st;
    sp_buf_putc(b, '[');
    fd_save_json(fd_state_head, (const char *)s, b);
    sp_buf_append_c(b, ",[");
    for (int64_t i = 0; i < s->nops && i < SC_OPS; i++) {
        if (i) sp_buf_putc(b, ',');
        fd_save_json(fd_op, (const char *)&s->ops[i], b);
    }
    sp_buf_append_c(b, "],[");
    for (size_t i = 0; i < s->nv; i++) {
        if (i) sp_buf_putc(b, ',');
        fd_save_json(fd_vat, (const char *)&s->v[i], b);
    }
    sp_buf_append_c(b, "]]");
}

static void part_release(void *st)
{
    struct sc_state *s = st;
    for (size_t i = 0; i < s->nv; i++) free(s->v[i].cache);
    free(s->v);
    s->v = NULL;
    s->nv = s->cap = 0;
}

static int part_restore(void *st, yajl_val j)
{
    struct sc_state *s = st;
    if (!YAJL_IS_ARRAY(j) || j->u.array.len != 3) return -1;
    yajl_val head = j->u.array.values[0], ops = j->u.array.values[1], vats = j->u.array.values[2];
    if (fd_restore_json(fd_state_head, (char *)s, head) || !YAJL_IS_ARRAY(ops) || !YAJL_IS_ARRAY(vats)) return -1;
    s->nops = 0;
    for (size_t i = 0; i < ops->u.array.len && i < SC_OPS; i++)
        if (fd_restore_json(fd_op, (char *)&s->ops[s->nops++], ops->u.array.values[i])) return -1;
    for (size_t i = 0; i < vats->u.array.len; i++) {
        struct sc_vat tmp;
        vat_init(&tmp, "");
        if (fd_restore_json(fd_vat, (char *)&tmp, vats->u.array.values[i]) || !tmp.id[0] ||
            tmp.npend < 0 || tmp.npend > SC_PEND)
            return -1;
        struct sc_vat *v = vat_get(s, tmp.id, 1);
        *v = tmp;
    }
    return 0;
}

const struct sp_tl_part sp_tl_part_slogchk = {
    .name = "slogchk",
    .state_size = sizeof(struct sc_state),
    .init = part_init,
    .feed = part_feed,
    .flush = part_flush,
    .save = part_save,
    .restore = part_restore,
    .release = part_release,
};
