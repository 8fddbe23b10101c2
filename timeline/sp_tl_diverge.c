/* sp_tl_diverge.c - the stage's cross-node consensus checks (X1 snapshots, X2 crankhash/activityhash, X3 deliveries), judged when the second node's record arrives. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp_tl_int.h"
#include "sp_tl_part.h"

/*
 * Two nodes of one chain execute the same cranks: the same crankNum must
 * commit the same crankhash and activityhash (X2), the same (vatID,
 * deliveryNum) the same vd, syscalls, result and computrons (X3), and the
 * same (vatID, snapPos) must save the same snapshotID (X1, agoric-formats.md
 * §3.6). The counterpart is always another node's row in the store, so these
 * checks need a SQLite store (`--db ''` judges none of them: the other
 * node's history is not state this part may keep).
 *
 * When: a snapshot (slog save, transcript save-snapshot item, swing-store
 * row) is judged as it arrives against every node's evidence at its (vat,
 * snapPos). Cranks and deliveries are judged per committed block, at its
 * cosmic-swingset-commit-block-finish (a block re-executed after a crash is
 * judged once, as the stage rolls this part back at the restart; a slog
 * without blocks every DV_CHUNK cranks and at the end of the run): the
 * block's own crank-finish and live deliver rows against the other nodes'
 * rows written *before* them (rowid order), so each pair of rows is judged
 * exactly once, by the node whose row came second, whatever the order in
 * which nodes are ingested; that node reports the divergence for both.
 * In a replay of one node's stored records (the batch analysis,
 * sp_tl_replay.c) every other node's rows are there already: the node is
 * judged against all of them and only its own anomalies are reported,
 * which gives the same rows.
 *
 * Reported (keyed, so a later, earlier-crank finding replaces the first):
 *   CROSS_NODE_CRANKHASH_DIVERGENCE    per node: the first crank whose
 *       crankhash differs from another node's (and how many do), the same
 *       evidence as the batch analysis (sp_tl_cross.c cross_crankhash);
 *   CROSS_NODE_ACTIVITYHASH_DIVERGENCE per node: the first crank whose
 *       activityhash differs (cumulative: the nodes diverged at or before
 *       it), with whether its crankhash agrees;
 *   CROSS_NODE_DELIVERY_DIVERGENCE     per node and other node: the first
 *       live delivery whose computrons, syscalls, result or vd differ,
 *       keyed by its (vat, deliveryNum);
 *   CROSS_NODE_SNAPSHOT_DIVERGENCE     per node and (vat, snapPos), as the
 *       batch analysis (cross_snapshots).
 * False positives avoided: replays are not compared (replay=0 rows only);
 * a field is compared only when both rows have it (older versions without
 * activityhash, unmetered deliveries); a re-executed crank or delivery of the
 * other node agrees if any of its executions agrees; deliveryNum 0 (the
 * comms vat numbers every delivery 0) is not compared.
 */

#define DV_PEERS 8    /* other nodes tracked per node */
#define DV_CHUNK 256  /* cranks judged together in a slog without blocks */
#define DV_HASH 72
#define DV_SRC 256
#define DV_NODE 64

struct dv_peer {
    char node[DV_NODE];
    /* crankhash: first divergent crank, its evidence, number of divergent cranks */
    int64_t ch_crank, ch_count, ch_line;
    char ch_hash[DV_HASH], ch_other[DV_HASH], ch_src[DV_SRC];
    /* activityhash: first divergent crank */
    int64_t ah_crank, ah_line, ah_ch_eq; /* ah_ch_eq: 1 crankhash equal there, 0 not, -1 unknown */
    char ah_hash[DV_HASH], ah_other[DV_HASH], ah_src[DV_SRC];
    /* delivery: the key of the anomaly reported (crank -1: none) */
    int64_t dl_crank, dl_dn;
    char dl_vat[24];
};

struct dv_state {
    int64_t lo, hi, ep;  /* crank range of the block being executed (lo -1: none) */
    char src[DV_SRC];    /* its slog source */
    int commits;         /* the node's slog has block commits */
    int npeer;
    struct dv_peer peer[DV_PEERS];
};

extern const struct sp_tl_part sp_tl_part_diverge;

static void peer_init(struct dv_peer *p, const char *node)
{
    memset(p, 0, sizeof *p);
    snprintf(p->node, sizeof p->node, "%s", node);
    p->ch_crank = p->ah_crank = p->dl_crank = -1;
    p->ch_line = p->ah_line = -1;
    p->ah_ch_eq = -1;
}

static void dv_init(void *st)
{
    struct dv_state *s = st;
    s->lo = s->hi = s->ep = -1;
}

/* The entry of `node` in s (created; NULL when DV_PEERS are taken). */
static struct dv_peer *peer_get(struct dv_state *s, const char *node)
{
    for (int i = 0; i < s->npeer; i++)
        if (strcmp(s->peer[i].node, node) == 0) return &s->peer[i];
    if (s->npeer == DV_PEERS) return NULL;
    struct dv_peer *p = &s->peer[s->npeer++];
    peer_init(p, node);
    return p;
}

/* ---- emitting ---------------------------------------------------------------- */

/* The crankhash anomaly of a node: one key per node, so the batch's choice:
 * the alphabetically first other node that diverges. */
static int emit_crankhash(struct sp_tl_stream *t, struct sp_tl_node *n, const struct dv_state *s)
{
    const struct dv_peer *best = NULL;
    for (int i = 0; i < s->npeer; i++)
        if (s->peer[i].ch_crank >= 0 && (!best || strcmp(s->peer[i].node, best->node) < 0)) best = &s->peer[i];
    if (!best) return SP_OK;
    sp_tl_det_begin(t);
    sp_tl_det_int(t, "crank_num", best->ch_crank);
    sp_tl_det_str(t, "crankhash", best->ch_hash);
    sp_tl_det_str(t, "other_node", best->node);
    sp_tl_det_str(t, "other_crankhash", best->ch_other);
    sp_tl_det_int(t, "divergent_cranks", best->ch_count);
    sp_tl_det_str(t, "rule", "X2: same crankNum (after dedupe) => same crankhash");
    return sp_tl_anomaly(t, n, NULL, "CROSS_NODE_CRANKHASH_DIVERGENCE", -1, -1, "error", best->ch_src, best->ch_line);
}

static int emit_activityhash(struct sp_tl_stream *t, struct sp_tl_node *n, const struct dv_state *s)
{
    const struct dv_peer *best = NULL;
    for (int i = 0; i < s->npeer; i++)
        if (s->peer[i].ah_crank >= 0 && (!best || strcmp(s->peer[i].node, best->node) < 0)) best = &s->peer[i];
    if (!best) return SP_OK;
    sp_tl_det_begin(t);
    sp_tl_det_int(t, "crank_num", best->ah_crank);
    sp_tl_det_str(t, "activityhash", best->ah_hash);
    sp_tl_det_str(t, "other_node", best->node);
    sp_tl_det_str(t, "other_activityhash", best->ah_other);
    sp_tl_det_raw(t, "crankhash_equal", best->ah_ch_eq < 0 ? "null" : best->ah_ch_eq ? "true" : "false");
    sp_tl_det_str(t, "rule", "X2: same crankNum (after dedupe) => same activityhash (cumulative: the nodes "
                             "diverged at or before this crank)");
    return sp_tl_anomaly(t, n, NULL, "CROSS_NODE_ACTIVITYHASH_DIVERGENCE", -1, -1, "error", best->ah_src,
                         best->ah_line);
}

/* ---- X2: the block's crank-finish rows against the other nodes' ------------------- */

/* One side of a compared crank-finish. */
struct dv_crank {
    char node[DV_NODE], ch[DV_HASH], ah[DV_HASH], src[DV_SRC];
    int64_t crank, line;
};

static void crank_row(sqlite3_stmt *st, int c0, struct dv_crank *o)
{
    snprintf(o->node, sizeof o->node, "%s", tl_text(st, c0));
    snprintf(o->ch, sizeof o->ch, "%s", tl_text(st, c0 + 1));
    snprintf(o->ah, sizeof o->ah, "%s", tl_text(st, c0 + 2));
    snprintf(o->src, sizeof o->src, "%s", tl_text(st, c0 + 3));
    o->line = tl_int(st, c0 + 4, -1);
    o->crank = tl_int(st, c0 + 5, -1);
}

/* The pairs (own row a, the other node's rows b) of one crank, gathered. */
struct dv_group {
    struct dv_crank a, first_b, last_b;
    int nb, ch_known, ch_eq, ah_known, ah_eq;
};

/* Nodes whose anomalies changed while a range was judged: [0] crankhash, [1] activityhash. */
struct dv_touched {
    char node[DV_PEERS + 1][DV_NODE];
    char what[DV_PEERS + 1][2];
    int n;
};

static char *touch(struct dv_touched *tc, const char *node)
{
    for (int i = 0; i < tc->n; i++)
        if (strcmp(tc->node[i], node) == 0) return tc->what[i];
    if (tc->n == DV_PEERS + 1) return NULL;
    snprintf(tc->node[tc->n], DV_NODE, "%s", node);
    tc->what[tc->n][0] = tc->what[tc->n][1] = 0;
    return tc->what[tc->n++];
}

/* Both nodes learn of a divergence of one crank: counts and first crank (emitted after the range). */
static void settle_crank(struct sp_tl_stream *t, struct dv_state *s, const struct dv_group *g, struct dv_touched *tc)
{
    /* a replay reports for its own node only (the other node's replay judges it) */
    struct sp_tl_node *o = sp_tl_opts(t)->replay ? NULL : sp_tl_node_named(t, g->first_b.node);
    struct dv_state *so = o ? sp_tl_part_state(o, &sp_tl_part_diverge) : NULL;
    struct dv_peer *pa = peer_get(s, g->first_b.node), *pb = so ? peer_get(so, g->a.node) : NULL;
    char *ta = touch(tc, g->a.node), *tb = touch(tc, g->first_b.node);
    if (g->ch_known && !g->ch_eq) {
        /* the batch's evidence: own row, the other node's first row; the other
         * node's own row is its last (a crash re-execution's kept one) */
        if (pa) {
            pa->ch_count++;
            if (pa->ch_crank < 0 || g->a.crank < pa->ch_crank) {
                pa->ch_crank = g->a.crank, pa->ch_line = g->a.line;
                snprintf(pa->ch_hash, sizeof pa->ch_hash, "%s", g->a.ch);
                snprintf(pa->ch_other, sizeof pa->ch_other, "%s", g->first_b.ch);
                snprintf(pa->ch_src, sizeof pa->ch_src, "%s", g->a.src);
            }
            if (ta) ta[0] = 1;
        }
        if (pb) {
            pb->ch_count++;
            if (pb->ch_crank < 0 || g->last_b.crank < pb->ch_crank) {
                pb->ch_crank = g->last_b.crank, pb->ch_line = g->last_b.line;
                snprintf(pb->ch_hash, sizeof pb->ch_hash, "%s", g->last_b.ch);
                snprintf(pb->ch_other, sizeof pb->ch_other, "%s", g->a.ch);
                snprintf(pb->ch_src, sizeof pb->ch_src, "%s", g->last_b.src);
            }
            sp_tl_mark(o);
            if (tb) tb[0] = 1;
        }
    }
    if (g->ah_known && !g->ah_eq) {
        int64_t eq = g->ch_known ? g->ch_eq : -1;
        if (pa && (pa->ah_crank < 0 || g->a.crank < pa->ah_crank)) {
            pa->ah_crank = g->a.crank, pa->ah_line = g->a.line, pa->ah_ch_eq = eq;
            snprintf(pa->ah_hash, sizeof pa->ah_hash, "%s", g->a.ah);
            snprintf(pa->ah_other, sizeof pa->ah_other, "%s", g->first_b.ah);
            snprintf(pa->ah_src, sizeof pa->ah_src, "%s", g->a.src);
            if (ta) ta[1] = 1;
        }
        if (pb && (pb->ah_crank < 0 || g->last_b.crank < pb->ah_crank)) {
            pb->ah_crank = g->last_b.crank, pb->ah_line = g->last_b.line, pb->ah_ch_eq = eq;
            snprintf(pb->ah_hash, sizeof pb->ah_hash, "%s", g->last_b.ah);
            snprintf(pb->ah_other, sizeof pb->ah_other, "%s", g->a.ah);
            snprintf(pb->ah_src, sizeof pb->ah_src, "%s", g->last_b.src);
            sp_tl_mark(o);
            if (tb) tb[1] = 1;
        }
    }
}

static const char *const x2_sql =
    "SELECT a.node, a.crankhash, a.activityhash, a.source, a.line, a.crank_num, "
    "b.node, b.crankhash, b.activityhash, b.source, b.line, b.crank_num "
    "FROM slog_events a JOIN slog_events b ON b.type='crank-finish' AND b.crank_num=a.crank_num AND b.node<>a.node "
    "AND (?6 OR b.rowid<a.rowid) "
    "WHERE a.type='crank-finish' AND a.crank_num BETWEEN ?3 AND ?4 AND a.node=?1 AND a.source=?2 AND a.epoch=?5 "
    "ORDER BY a.crank_num, a.rowid, b.node, b.source, b.line";

static int judge_cranks(struct sp_tl_stream *t, struct sp_tl_node *n, struct dv_state *s, char peers[][DV_NODE],
                        int *npeers)
{
    int rc;
    sqlite3_stmt *st = sp_tl_lookup(t, x2_sql, sp_tl_node_name(n), s->src, &rc);
    if (!st) return rc;
    sqlite3_bind_int64(st, 3, s->lo);
    sqlite3_bind_int64(st, 4, s->hi);
    sqlite3_bind_int64(st, 5, s->ep);
    sqlite3_bind_int(st, 6, sp_tl_opts(t)->replay);
    struct dv_group g;
    struct dv_touched tc;
    int have = 0;
    tc.n = 0;
    for (;;) {
        int r = sp_tl_step(t, st);
        if (r < 0) return r;
        struct dv_crank a, b;
        if (r == 1) {
            crank_row(st, 0, &a);
            crank_row(st, 6, &b);
        }
        /* a group ends at a new (own row, other node) */
        if (have && (r == 0 || a.line != g.a.line || strcmp(a.src, g.a.src) != 0 || strcmp(b.node, g.first_b.node) != 0)) {
            settle_crank(t, s, &g, &tc);
            have = 0;
        }
        if (r == 0) break;
        if (!have) {
            memset(&g, 0, sizeof g);
            g.a = a, g.first_b = b;
            have = 1;
            int known = 0;
            for (int i = 0; i < *npeers; i++) known |= strcmp(peers[i], b.node) == 0;
            if (!known && *npeers < DV_PEERS) snprintf(peers[(*npeers)++], DV_NODE, "%s", b.node);
        }
        g.last_b = b;
        g.nb++;
        if (*a.ch && *b.ch) g.ch_known = 1, g.ch_eq |= strcmp(a.ch, b.ch) == 0;
        if (*a.ah && *b.ah) g.ah_known = 1, g.ah_eq |= strcmp(a.ah, b.ah) == 0;
    }
    /* each node's anomalies once per range, however many cranks diverged in it */
    for (int i = 0; i < tc.n; i++) {
        if (!tc.what[i][0] && !tc.what[i][1]) continue;
        struct sp_tl_node *o = strcmp(tc.node[i], sp_tl_node_name(n)) == 0 ? n : sp_tl_node_named(t, tc.node[i]);
        struct dv_state *so = sp_tl_part_state(o, &sp_tl_part_diverge);
        if (tc.what[i][0] && (rc = emit_crankhash(t, o, so))) return rc;
        if (tc.what[i][1] && (rc = emit_activityhash(t, o, so))) return rc;
        if (tc.what[i][0] || tc.what[i][1]) sp_tl_mark(o);
    }
    return SP_OK;
}

/* ---- X3: the block's live deliveries against the other node's ------------------------- */

struct dv_dlv {
    char vat[24], dispatch[40], sc[DV_HASH], vd[DV_HASH], status[16], src[DV_SRC];
    int64_t dn, crank, comp, nsys, line; /* comp -1: unmetered */
};

static void dlv_row(sqlite3_stmt *st, int c0, struct dv_dlv *d)
{
    snprintf(d->vat, sizeof d->vat, "%s", tl_text(st, c0));
    d->dn = tl_int(st, c0 + 1, -1);
    d->crank = tl_int(st, c0 + 2, -1);
    snprintf(d->dispatch, sizeof d->dispatch, "%s", tl_text(st, c0 + 3));
    d->comp = tl_int(st, c0 + 4, -1);
    d->nsys = tl_int(st, c0 + 5, -1);
    snprintf(d->sc, sizeof d->sc, "%s", tl_text(st, c0 + 6));
    snprintf(d->vd, sizeof d->vd, "%s", tl_text(st, c0 + 7));
    snprintf(d->status, sizeof d->status, "%s", tl_text(st, c0 + 8));
    snprintf(d->src, sizeof d->src, "%s", tl_text(st, c0 + 9));
    d->line = tl_int(st, c0 + 10, -1);
}

/* What differs between two executions of one delivery ("" nothing), comparing only what both carry. */
static void dlv_diff(const struct dv_dlv *a, const struct dv_dlv *b, char *out, size_t cap)
{
    out[0] = '\0';
#define DIFF(cond, name) \
    if (cond) snprintf(out + strlen(out), cap - strlen(out), "%s%s", *out ? "," : "", name)
    DIFF(a->comp >= 0 && b->comp >= 0 && a->comp != b->comp, "computrons");
    DIFF(a->nsys >= 0 && b->nsys >= 0 && a->nsys != b->nsys, "syscalls");
    DIFF(*a->sc && *b->sc && strcmp(a->sc, b->sc) != 0, "syscall_hash");
    DIFF(*a->status && *b->status && strcmp(a->status, b->status) != 0, "result");
    DIFF(*a->vd && *b->vd && strcmp(a->vd, b->vd) != 0, "vd");
#undef DIFF
}

static int emit_delivery(struct sp_tl_stream *t, struct sp_tl_node *n, struct dv_peer *p, const struct dv_dlv *a,
                         const struct dv_dlv *b, const char *other, const char *diff)
{
    if (p->dl_crank >= 0 && a->crank >= p->dl_crank) return SP_OK; /* reported at an earlier one */
    int rc;
    if (p->dl_crank >= 0) {
        /* an earlier delivery came to light (a backfill): the later one was not the first */
        struct sp_anomaly x = {.node = sp_str_c(sp_tl_node_name(n)), .vat_id = sp_str_c(p->dl_vat),
                               .kind = sp_str_c("CROSS_NODE_DELIVERY_DIVERGENCE"), .incarnation = -1,
                               .position = p->dl_dn, .severity = sp_str_c("error"), .detail = sp_str_c("{}"),
                               .line = -1, .retracted = 1};
        struct sp_record rec = {.kind = SP_REC_ANOMALY, .u.anomaly = &x};
        if ((rc = sp_tl_emit(t, &rec))) return rc;
    }
    p->dl_crank = a->crank, p->dl_dn = a->dn;
    snprintf(p->dl_vat, sizeof p->dl_vat, "%s", a->vat);
    sp_tl_mark(n);
    sp_tl_det_begin(t);
    sp_tl_det_int(t, "crank_num", a->crank);
    sp_tl_det_int(t, "delivery_num", a->dn);
    sp_tl_det_str(t, "dispatch", a->dispatch);
    sp_tl_det_str(t, "differs", diff);
    if (a->comp >= 0) sp_tl_det_int(t, "computrons", a->comp); else sp_tl_det_raw(t, "computrons", "null");
    if (b->comp >= 0) sp_tl_det_int(t, "other_computrons", b->comp); else sp_tl_det_raw(t, "other_computrons", "null");
    sp_tl_det_int(t, "syscalls", a->nsys);
    sp_tl_det_int(t, "other_syscalls", b->nsys);
    sp_tl_det_str(t, "syscall_hash", a->sc);
    sp_tl_det_str(t, "other_syscall_hash", b->sc);
    sp_tl_det_str(t, "result", a->status);
    sp_tl_det_str(t, "other_result", b->status);
    sp_tl_det_str(t, "other_node", other);
    sp_tl_det_int(t, "other_crank_num", b->crank);
    sp_tl_det_int(t, "other_line", b->line);
    sp_tl_det_str(t, "rule", "X3: same (vatID, deliveryNum) => same vd, syscalls, result and computrons");
    return sp_tl_anomaly(t, n, a->vat, "CROSS_NODE_DELIVERY_DIVERGENCE", -1, a->dn, "error", a->src, a->line);
}

static const char *const x3_sql =
    "SELECT a.vat_id, a.delivery_num, a.crank_num, a.dispatch, a.computrons, a.syscalls, a.sc_hash, a.vd_hash, "
    "a.status, a.source, a.line, "
    "b.vat_id, b.delivery_num, b.crank_num, b.dispatch, b.computrons, b.syscalls, b.sc_hash, b.vd_hash, "
    "b.status, b.source, b.line "
    "FROM deliveries a JOIN deliveries b ON b.node=?2 AND b.vat_id=a.vat_id AND b.delivery_num=a.delivery_num "
    "AND b.replay=0 AND (?7 OR b.rowid<a.rowid) "
    "WHERE a.node=?1 AND a.epoch=?5 AND a.crank_num BETWEEN ?3 AND ?4 AND a.source=?6 AND a.replay=0 "
    "AND a.delivery_num>0 "
    "ORDER BY a.crank_num, a.rowid, b.source, b.line";

static int judge_deliveries(struct sp_tl_stream *t, struct sp_tl_node *n, struct dv_state *s, const char *other)
{
    int rc;
    sqlite3_stmt *st = sp_tl_lookup(t, x3_sql, sp_tl_node_name(n), other, &rc);
    if (!st) return rc;
    sqlite3_bind_int64(st, 3, s->lo);
    sqlite3_bind_int64(st, 4, s->hi);
    sqlite3_bind_int64(st, 5, s->ep);
    sqlite3_bind_text(st, 6, s->src, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 7, sp_tl_opts(t)->replay);
    /* the first divergent delivery of the range: judged after the statement is done */
    struct dv_dlv a, b, cur, cur_b, bad_a, bad_b;
    char diff[96], bad_diff[96] = "";
    int have = 0, cur_eq = 0, found = 0;
    for (;;) {
        int r = sp_tl_step(t, st);
        if (r < 0) return r;
        if (r == 1) {
            dlv_row(st, 0, &a);
            dlv_row(st, 11, &b);
        }
        if (have && (r == 0 || a.line != cur.line || strcmp(a.src, cur.src) != 0)) {
            if (!cur_eq && !found) {
                bad_a = cur, bad_b = cur_b, found = 1;
                dlv_diff(&cur, &cur_b, bad_diff, sizeof bad_diff);
            }
            have = 0;
        }
        if (r == 0 || found) break;
        dlv_diff(&a, &b, diff, sizeof diff);
        if (!have) cur = a, cur_b = b, cur_eq = 0, have = 1;
        cur_eq |= !*diff;
    }
    if (!found) return SP_OK;
    struct dv_peer *p = peer_get(s, other);
    if (p && (rc = emit_delivery(t, n, p, &bad_a, &bad_b, other, bad_diff))) return rc;
    if (sp_tl_opts(t)->replay) return SP_OK; /* the other node's replay reports its side */
    struct sp_tl_node *o = sp_tl_node_named(t, other);
    struct dv_state *so = sp_tl_part_state(o, &sp_tl_part_diverge);
    struct dv_peer *q = so ? peer_get(so, sp_tl_node_name(n)) : NULL;
    return q ? emit_delivery(t, o, q, &bad_b, &bad_a, sp_tl_node_name(n), bad_diff) : SP_OK;
}

/* Judge the pending crank range and start a new one. */
static int judge(struct sp_tl_stream *t, struct sp_tl_node *n, struct dv_state *s)
{
    if (s->lo < 0) return SP_OK;
    char peers[DV_PEERS][DV_NODE];
    int np = 0, rc = judge_cranks(t, n, s, peers, &np);
    for (int i = 0; i < np && rc == SP_OK; i++) rc = judge_deliveries(t, n, s, peers[i]);
    s->lo = s->hi = s->ep = -1;
    s->src[0] = '\0';
    sp_tl_mark(n);
    return rc;
}

/* ---- X1: a snapshot against every node's evidence at its (vat, snapPos) ----------------- */

static const char *const x1_sql =
    "WITH RECURSIVE " TL_DISTINCT("ss", "node", "store_snapshots", " WHERE 1") ", "
    TL_DISTINCT("ts", "node", "transcript_spans", " WHERE 1") ", "
    "nodes(node) AS (SELECT ?1 UNION SELECT node FROM sources UNION SELECT v FROM ss WHERE v IS NOT NULL "
    "UNION SELECT v FROM ts WHERE v IS NOT NULL) "
    "SELECT t.node, t.snapshot_id, 'transcript' FROM nodes n JOIN transcript_items t ON t.node=n.node "
    "AND t.vat_id=?2 AND t.position=?3 WHERE t.d_type='save-snapshot' AND t.snapshot_id IS NOT NULL "
    "UNION SELECT s.node, s.hash, 'store' FROM nodes n JOIN store_snapshots s ON s.node=n.node AND s.vat_id=?2 "
    "AND s.snap_pos=?3 WHERE s.hash IS NOT NULL "
    "UNION SELECT e.node, e.snapshot_id, 'slog' FROM nodes n JOIN slog_events e ON e.node=n.node "
    "AND e.type='heap-snapshot-save'" TL_INDEXED("e.") "AND e.vat_id=?2 AND e.snap_pos=?3 "
    "WHERE e.snapshot_id IS NOT NULL "
    "UNION SELECT p.node, p.slog_snapshot_id, 'slog' FROM nodes n JOIN snapshots p ON p.node=n.node AND p.vat_id=?2 "
    "AND p.snap_pos=?3 WHERE p.slog_snapshot_id IS NOT NULL";

#define X1_ROWS 48
struct x1_row {
    char node[DV_NODE], id[DV_HASH], via[12];
};

/* The batch's evidence for node `node`: the pair (own row a, other node's row b), a.id != b.id,
 * least by (a.via, b.node, b.via, b.id); skip = a row left out (-1 none). -1 when none. */
static int x1_pick(const struct x1_row *r, int nr, const char *node, int skip, int *pa)
{
    int best = -1;
    for (int i = 0; i < nr; i++) {
        if (i == skip || strcmp(r[i].node, node) != 0) continue;
        for (int j = 0; j < nr; j++) {
            if (j == skip || strcmp(r[j].node, node) == 0 || strcmp(r[i].id, r[j].id) == 0) continue;
            int c = 0;
            if (best >= 0) {
                c = strcmp(r[i].via, r[*pa].via);
                if (!c) c = strcmp(r[j].node, r[best].node);
                if (!c) c = strcmp(r[j].via, r[best].via);
                if (!c) c = strcmp(r[j].id, r[best].id);
            }
            if (best < 0 || c < 0) best = j, *pa = i;
        }
    }
    return best;
}

static int judge_snapshot(struct sp_tl_stream *t, struct sp_tl_node *n, const char *vat, int64_t pos, const char *id,
                          const char *via)
{
    int rc;
    if (!*vat || !*id || pos < 0) return SP_OK;
    sqlite3_stmt *st = sp_tl_lookup(t, x1_sql, sp_tl_node_name(n), vat, &rc);
    if (!st) return rc;
    sqlite3_bind_int64(st, 3, pos);
    struct x1_row r[X1_ROWS];
    int nr = 0, r1;
    while ((r1 = sp_tl_step(t, st)) == 1) {
        if (nr == X1_ROWS) continue;
        snprintf(r[nr].node, sizeof r[nr].node, "%s", tl_text(st, 0));
        snprintf(r[nr].id, sizeof r[nr].id, "%s", tl_text(st, 1));
        snprintf(r[nr].via, sizeof r[nr].via, "%s", tl_text(st, 2));
        nr++;
    }
    if (r1 < 0) return r1;
    /* the row this record brought (its absence before is what may change a node's pick) */
    int self = -1;
    for (int i = 0; i < nr; i++)
        if (strcmp(r[i].node, sp_tl_node_name(n)) == 0 && strcmp(r[i].id, id) == 0 && strcmp(r[i].via, via) == 0)
            self = i;
    int replay = sp_tl_opts(t)->replay;
    for (int i = 0; i < nr; i++) {
        int seen = 0;
        for (int k = 0; k < i; k++) seen |= strcmp(r[k].node, r[i].node) == 0;
        if (seen || (replay && strcmp(r[i].node, sp_tl_node_name(n)) != 0)) continue;
        int a = -1, a0 = -1, b = x1_pick(r, nr, r[i].node, -1, &a), b0 = x1_pick(r, nr, r[i].node, self, &a0);
        if (b < 0) continue;
        if (!replay && self >= 0 && b0 >= 0 && strcmp(r[a].id, r[a0].id) == 0 && strcmp(r[a].via, r[a0].via) == 0 &&
            strcmp(r[b].node, r[b0].node) == 0 && strcmp(r[b].id, r[b0].id) == 0 && strcmp(r[b].via, r[b0].via) == 0)
            continue; /* this node's evidence is what it was: reported already */
        struct sp_tl_node *o = strcmp(r[i].node, sp_tl_node_name(n)) == 0 ? n : sp_tl_node_named(t, r[i].node);
        sp_tl_det_begin(t);
        sp_tl_det_str(t, "snapshot_id", r[a].id);
        sp_tl_det_str(t, "evidence", r[a].via);
        sp_tl_det_str(t, "other_node", r[b].node);
        sp_tl_det_str(t, "other_snapshot_id", r[b].id);
        sp_tl_det_str(t, "other_evidence", r[b].via);
        sp_tl_det_str(t, "rule", "X1: same (vatID, snapPos) => same snapshotID on every node");
        if ((rc = sp_tl_anomaly(t, o, vat, "CROSS_NODE_SNAPSHOT_DIVERGENCE", -1, pos, "error", NULL, -1))) return rc;
    }
    return SP_OK;
}

/* ---- the part ---------------------------------------------------------------------- */

static int dv_feed(struct sp_tl_stream *t, struct sp_tl_node *n, void *st, const struct sp_record *rec)
{
    struct dv_state *s = st;
    char vat[24], id[DV_HASH], src[DV_SRC];
    switch (rec->kind) {
    case SP_REC_EVENT: {
        const struct sp_event *e = rec->u.event;
        if (e->type == SP_EV_CRANK_FINISH && (e->has & SP_HAS_CRANK_NUM)) {
            sp_str_to_buf(e->origin.source, src, sizeof src);
            int rc;
            if (s->lo >= 0 && (strcmp(src, s->src) != 0 || e->ctx_epoch != s->ep || (!s->commits && s->hi - s->lo + 1 >= DV_CHUNK)))
                if ((rc = judge(t, n, s))) return rc;
            if (s->lo < 0 || e->crank_num < s->lo) s->lo = e->crank_num;
            if (s->hi < 0 || e->crank_num > s->hi) s->hi = e->crank_num;
            s->ep = e->ctx_epoch;
            snprintf(s->src, sizeof s->src, "%s", src);
            sp_tl_mark(n);
        } else if (e->type == SP_EV_CS_COMMIT_BLOCK_FINISH) {
            s->commits = 1;
            return judge(t, n, s);
        } else if (e->type == SP_EV_HEAP_SNAPSHOT_SAVE && (e->has & SP_HAS_SNAP_POS) && e->snapshot_id.p) {
            sp_str_to_buf(e->vat_id, vat, sizeof vat);
            sp_str_to_buf(e->snapshot_id, id, sizeof id);
            return judge_snapshot(t, n, vat, e->snap_pos, id, "slog");
        }
        return SP_OK;
    }
    case SP_REC_TITEM: {
        const struct sp_titem *it = rec->u.titem;
        if (!sp_str_eq_c(it->d_type, "save-snapshot") || !it->snapshot_id.p) return SP_OK;
        sp_str_to_buf(it->vat_id, vat, sizeof vat);
        sp_str_to_buf(it->snapshot_id, id, sizeof id);
        return judge_snapshot(t, n, vat, it->position, id, "transcript");
    }
    case SP_REC_TSNAPSHOT: {
        const struct sp_tsnapshot *sn = rec->u.tsnapshot;
        if (!sn->hash.p) return SP_OK;
        sp_str_to_buf(sn->vat_id, vat, sizeof vat);
        sp_str_to_buf(sn->hash, id, sizeof id);
        return judge_snapshot(t, n, vat, sn->snap_pos, id, "store");
    }
    default: return SP_OK;
    }
}

static int dv_flush(struct sp_tl_stream *t, struct sp_tl_node *n, void *st)
{
    return judge(t, n, st);
}

static void put_str(struct sp_buf *b, const char *s)
{
    sp_buf_json_str(b, s, strlen(s));
}

static void dv_save(const void *st, struct sp_buf *b)
{
    const struct dv_state *s = st;
    sp_buf_printf(b, "{\"lo\":%" PRId64 ",\"hi\":%" PRId64 ",\"ep\":%" PRId64 ",\"commits\":%d,\"src\":", s->lo, s->hi,
                  s->ep, s->commits);
    put_str(b, s->src);
    sp_buf_append_c(b, ",\"peers\":[");
    for (int i = 0; i < s->npeer; i++) {
        const struct dv_peer *p = &s->peer[i];
        sp_buf_append_c(b, i ? ",[" : "[");
        put_str(b, p->node);
        sp_buf_printf(b, ",%" PRId64 ",%" PRId64 ",%" PRId64 ",", p->ch_crank, p->ch_count, p->ch_line);
        put_str(b, p->ch_hash);
        sp_buf_putc(b, ',');
        put_str(b, p->ch_other);
        sp_buf_putc(b, ',');
        put_str(b, p->ch_src);
        sp_buf_printf(b, ",%" PRId64 ",%" PRId64 ",%" PRId64 ",", p->ah_crank, p->ah_line, p->ah_ch_eq);
        put_str(b, p->ah_hash);
        sp_buf_putc(b, ',');
        put_str(b, p->ah_other);
        sp_buf_putc(b, ',');
        put_str(b, p->ah_src);
        sp_buf_printf(b, ",%" PRId64 ",%" PRId64 ",", p->dl_crank, p->dl_dn);
        put_str(b, p->dl_vat);
        sp_buf_putc(b, ']');
    }
    sp_buf_append_c(b, "]}");
}

#define PEER_FIELDS 16

static int dv_restore(void *st, yajl_val v)
{
    struct dv_state *s = st;
    yajl_val peers = sp_tl_jget(v, "peers");
    if (!YAJL_IS_OBJECT(v) || !peers || !YAJL_IS_ARRAY(peers)) return -1;
    s->lo = sp_tl_jint(sp_tl_jget(v, "lo"));
    s->hi = sp_tl_jint(sp_tl_jget(v, "hi"));
    s->ep = sp_tl_jint(sp_tl_jget(v, "ep"));
    s->commits = sp_tl_jint(sp_tl_jget(v, "commits")) > 0;
    snprintf(s->src, sizeof s->src, "%s", sp_tl_jstr(sp_tl_jget(v, "src")));
    s->npeer = 0;
    for (size_t i = 0; i < peers->u.array.len && s->npeer < DV_PEERS; i++) {
        yajl_val a = peers->u.array.values[i];
        if (!YAJL_IS_ARRAY(a) || a->u.array.len != PEER_FIELDS) return -1;
        yajl_val *e = a->u.array.values;
        struct dv_peer *p = &s->peer[s->npeer++];
        peer_init(p, sp_tl_jstr(e[0]));
        p->ch_crank = sp_tl_jint(e[1]), p->ch_count = sp_tl_jint(e[2]), p->ch_line = sp_tl_jint(e[3]);
        snprintf(p->ch_hash, sizeof p->ch_hash, "%s", sp_tl_jstr(e[4]));
        snprintf(p->ch_other, sizeof p->ch_other, "%s", sp_tl_jstr(e[5]));
        snprintf(p->ch_src, sizeof p->ch_src, "%s", sp_tl_jstr(e[6]));
        p->ah_crank = sp_tl_jint(e[7]), p->ah_line = sp_tl_jint(e[8]), p->ah_ch_eq = sp_tl_jint(e[9]);
        snprintf(p->ah_hash, sizeof p->ah_hash, "%s", sp_tl_jstr(e[10]));
        snprintf(p->ah_other, sizeof p->ah_other, "%s", sp_tl_jstr(e[11]));
        snprintf(p->ah_src, sizeof p->ah_src, "%s", sp_tl_jstr(e[12]));
        p->dl_crank = sp_tl_jint(e[13]), p->dl_dn = sp_tl_jint(e[14]);
        snprintf(p->dl_vat, sizeof p->dl_vat, "%s", sp_tl_jstr(e[15]));
    }
    return 0;
}

const struct sp_tl_part sp_tl_part_diverge = {
    .name = "diverge",
    .state_size = sizeof(struct dv_state),
    .init = dv_init,
    .feed = dv_feed,
    .flush = dv_flush,
    .save = dv_save,
    .restore = dv_restore,
    .release = NULL,
};
