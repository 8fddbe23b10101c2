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
 * What was reported is read back from the anomaly rows, so no node's state
 * is touched by another node's records (see struct dv_state).
 *
 * Reported (keyed, so a later, earlier-crank finding replaces the first):
 *   CROSS_NODE_CRANKHASH_DIVERGENCE    per node: the first crank whose
 *       crankhash differs from another node's (and how many do), the same
 *       evidence as the batch analysis (the former SQL pass cross_crankhash);
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

#define DV_PEERS 8    /* other nodes compared in one range */
#define DV_CHUNK 256  /* cranks judged together in a slog without blocks */
#define DV_HASH 72
#define DV_SRC 256
#define DV_NODE 64

/*
 * The state is only the range of cranks waiting for their block's commit.
 * What has been reported -- the first divergent crank, how many diverge,
 * the first divergent delivery -- is read back from the node's own anomaly
 * rows in the store (indexed by kind and node) and updated, never kept in
 * another node's state: in a Kafka group another process may own that node.
 */
struct dv_state {
    int64_t lo, hi, ep;  /* crank range of the block being executed (lo -1: none), kernel epoch */
    char src[DV_SRC];    /* its slog source */
    int commits;         /* the node's slog has block commits */
};

static void dv_init(void *st)
{
    struct dv_state *s = st;
    s->lo = s->hi = s->ep = -1;
}

/* ---- the node-level hash anomalies, read back and updated ------------------------ */

/* One side's finding for one other node: the first divergent crank of a range, and how many. */
struct dv_find {
    int64_t crank, line, count, ch_eq; /* crank -1: none; ch_eq (activityhash): 1, 0, -1 unknown */
    char hash[DV_HASH], other_hash[DV_HASH], src[DV_SRC];
};

static const char *const prev_sql =
    "SELECT json_extract(detail, '$.crank_num'), json_extract(detail, '$.other_node'), "
    "json_extract(detail, '$.divergent_cranks'), json_extract(detail, ?3), json_extract(detail, ?4), "
    "json_extract(detail, '$.crankhash_equal'), source, line FROM anomalies WHERE kind=?2 AND node=?1 "
    "AND vat_id IS NULL";

/*
 * Merge a range's finding against `other` into node's anomaly of kind
 * (CROSS_NODE_CRANKHASH_DIVERGENCE, with a count, or _ACTIVITYHASH_, first
 * only): one row per node, for the alphabetically first other node that
 * diverges (the batch analysis's choice); its first crank is the least
 * found, its count the sum. Emitted only when it changes.
 */
static int merge_hash(struct sp_tl_stream *t, const char *node, const char *other, const char *kind,
                      const struct dv_find *f)
{
    int ah = strcmp(kind, "CROSS_NODE_ACTIVITYHASH_DIVERGENCE") == 0, rc;
    struct dv_find m = *f;
    sqlite3_stmt *st = sp_tl_lookup(t, prev_sql, node, kind, &rc);
    if (!st) return rc;
    sqlite3_bind_text(st, 3, ah ? "$.activityhash" : "$.crankhash", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, ah ? "$.other_activityhash" : "$.other_crankhash", -1, SQLITE_STATIC);
    int r = sp_tl_step(t, st);
    if (r < 0) return r;
    if (r == 1) {
        int c = strcmp(other, tl_text(st, 1));
        if (c > 0) return SP_OK; /* the row is about an alphabetically earlier node */
        if (c == 0) {
            int64_t pc = tl_int(st, 0, -1);
            m.count = f->count + tl_int(st, 2, 0);
            if (pc >= 0 && pc <= f->crank) {
                if (ah) return SP_OK; /* first only: unchanged */
                m.crank = pc, m.line = tl_int(st, 7, -1);
                m.ch_eq = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 5);
                snprintf(m.hash, sizeof m.hash, "%s", tl_text(st, 3));
                snprintf(m.other_hash, sizeof m.other_hash, "%s", tl_text(st, 4));
                snprintf(m.src, sizeof m.src, "%s", tl_text(st, 6));
            }
        }
        /* c < 0: an earlier node than the row's: it had not diverged before, so this is all of it */
    }
    sp_tl_det_begin(t);
    sp_tl_det_int(t, "crank_num", m.crank);
    sp_tl_det_str(t, ah ? "activityhash" : "crankhash", m.hash);
    sp_tl_det_str(t, "other_node", other);
    sp_tl_det_str(t, ah ? "other_activityhash" : "other_crankhash", m.other_hash);
    if (ah) {
        sp_tl_det_raw(t, "crankhash_equal", m.ch_eq < 0 ? "null" : m.ch_eq ? "true" : "false");
        sp_tl_det_str(t, "rule", "X2: same crankNum (after dedupe) => same activityhash (cumulative: the nodes "
                                 "diverged at or before this crank)");
    } else {
        sp_tl_det_int(t, "divergent_cranks", m.count);
        sp_tl_det_str(t, "rule", "X2: same crankNum (after dedupe) => same crankhash");
    }
    return sp_tl_anomaly_node(t, node, NULL, kind, -1, -1, "error", m.src, m.line);
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
    int ch_known, ch_eq, ah_known, ah_eq;
};

/* What one range found against one other node, for both sides: [0] crankhash, [1] activityhash. */
struct dv_peer {
    char node[DV_NODE];
    struct dv_find own[2], theirs[2];
};

static void find_note(struct dv_find *f, int64_t crank, const char *hash, const char *other_hash, const char *src,
                      int64_t line, int64_t ch_eq)
{
    f->count++;
    if (f->crank >= 0 && f->crank <= crank) return;
    f->crank = crank, f->line = line, f->ch_eq = ch_eq;
    snprintf(f->hash, sizeof f->hash, "%s", hash);
    snprintf(f->other_hash, sizeof f->other_hash, "%s", other_hash);
    snprintf(f->src, sizeof f->src, "%s", src);
}

/* A crank's pairs settled: the own row against the other node's first row (the batch's evidence); the
 * other node's own row is its last (the kept execution when it ran the block twice). */
static void settle_crank(const struct dv_group *g, struct dv_peer *p)
{
    if (g->ch_known && !g->ch_eq) {
        find_note(&p->own[0], g->a.crank, g->a.ch, g->first_b.ch, g->a.src, g->a.line, -1);
        find_note(&p->theirs[0], g->last_b.crank, g->last_b.ch, g->a.ch, g->last_b.src, g->last_b.line, -1);
    }
    if (g->ah_known && !g->ah_eq) {
        int64_t eq = g->ch_known ? g->ch_eq : -1;
        find_note(&p->own[1], g->a.crank, g->a.ah, g->first_b.ah, g->a.src, g->a.line, eq);
        find_note(&p->theirs[1], g->last_b.crank, g->last_b.ah, g->a.ah, g->last_b.src, g->last_b.line, eq);
    }
}

static const char *const x2_sql =
    "SELECT a.node, a.crankhash, a.activityhash, a.source, a.line, a.crank_num, "
    "b.node, b.crankhash, b.activityhash, b.source, b.line, b.crank_num "
    "FROM slog_events a JOIN slog_events b ON b.type='crank-finish' AND b.crank_num=a.crank_num AND b.node<>a.node "
    "AND (?6 OR b.rowid<a.rowid) "
    "WHERE a.type='crank-finish' AND a.crank_num BETWEEN ?3 AND ?4 AND a.node=?1 AND a.source=?2 AND a.epoch=?5 "
    "ORDER BY a.crank_num, a.rowid, b.node, b.source, b.line";

static int judge_cranks(struct sp_tl_stream *t, struct sp_tl_node *n, struct dv_state *s, struct dv_peer *peers,
                        int *npeers)
{
    int rc, replay = sp_tl_opts(t)->replay;
    sqlite3_stmt *st = sp_tl_lookup(t, x2_sql, sp_tl_node_name(n), s->src, &rc);
    if (!st) return rc;
    sqlite3_bind_int64(st, 3, s->lo);
    sqlite3_bind_int64(st, 4, s->hi);
    sqlite3_bind_int64(st, 5, s->ep);
    sqlite3_bind_int(st, 6, replay);
    struct dv_group g;
    struct dv_peer *p = NULL;
    int have = 0;
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
            if (p) settle_crank(&g, p);
            have = 0;
        }
        if (r == 0) break;
        if (!have) {
            memset(&g, 0, sizeof g);
            g.a = a, g.first_b = b;
            have = 1;
            p = NULL;
            for (int i = 0; i < *npeers && !p; i++)
                if (strcmp(peers[i].node, b.node) == 0) p = &peers[i];
            if (!p && *npeers < DV_PEERS) {
                p = &peers[(*npeers)++];
                memset(p, 0, sizeof *p);
                snprintf(p->node, sizeof p->node, "%s", b.node);
                for (int k = 0; k < 2; k++) p->own[k].crank = p->theirs[k].crank = -1;
            }
        }
        g.last_b = b;
        if (*a.ch && *b.ch) g.ch_known = 1, g.ch_eq |= strcmp(a.ch, b.ch) == 0;
        if (*a.ah && *b.ah) g.ah_known = 1, g.ah_eq |= strcmp(a.ah, b.ah) == 0;
    }
    /* each node's anomalies once per range, however many cranks diverged in it; a replay reports
     * its own node only (the other node's replay judges the same pairs from its side) */
    static const char *const kinds[2] = {"CROSS_NODE_CRANKHASH_DIVERGENCE", "CROSS_NODE_ACTIVITYHASH_DIVERGENCE"};
    for (int i = 0; i < *npeers; i++)
        for (int k = 0; k < 2; k++) {
            if (peers[i].own[k].crank >= 0 &&
                (rc = merge_hash(t, sp_tl_node_name(n), peers[i].node, kinds[k], &peers[i].own[k])))
                return rc;
            if (!replay && peers[i].theirs[k].crank >= 0 &&
                (rc = merge_hash(t, peers[i].node, sp_tl_node_name(n), kinds[k], &peers[i].theirs[k])))
                return rc;
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

static const char *const prev_dlv_sql =
    "SELECT vat_id, position, json_extract(detail, '$.crank_num') FROM anomalies "
    "WHERE kind='CROSS_NODE_DELIVERY_DIVERGENCE' AND node=?1 AND json_extract(detail, '$.other_node')=?2";

/* node's delivery anomaly against other: reported once, at the first divergent delivery (an earlier one
 * found later -- a backfill -- replaces it: the later key is retracted). */
static int emit_delivery(struct sp_tl_stream *t, const char *node, const char *other, const struct dv_dlv *a,
                         const struct dv_dlv *b, const char *diff)
{
    int rc;
    char pvat[24] = "";
    int64_t ppos = -1, pcrank = -1;
    sqlite3_stmt *st = sp_tl_lookup(t, prev_dlv_sql, node, other, &rc);
    if (!st) return rc;
    int r = sp_tl_step(t, st);
    if (r < 0) return r;
    if (r == 1) {
        snprintf(pvat, sizeof pvat, "%s", tl_text(st, 0));
        ppos = tl_int(st, 1, -1), pcrank = tl_int(st, 2, -1);
        if (pcrank >= 0 && pcrank <= a->crank) return SP_OK; /* reported at an earlier one */
        struct sp_anomaly x = {.node = sp_str_c(node), .vat_id = sp_str_c(pvat),
                               .kind = sp_str_c("CROSS_NODE_DELIVERY_DIVERGENCE"), .incarnation = -1,
                               .position = ppos, .severity = sp_str_c("error"), .detail = sp_str_c("{}"),
                               .line = -1, .retracted = 1};
        struct sp_record rec = {.kind = SP_REC_ANOMALY, .u.anomaly = &x};
        if ((rc = sp_tl_emit(t, &rec))) return rc;
    }
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
    return sp_tl_anomaly_node(t, node, a->vat, "CROSS_NODE_DELIVERY_DIVERGENCE", -1, a->dn, "error", a->src, a->line);
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
    int rc, replay = sp_tl_opts(t)->replay;
    sqlite3_stmt *st = sp_tl_lookup(t, x3_sql, sp_tl_node_name(n), other, &rc);
    if (!st) return rc;
    sqlite3_bind_int64(st, 3, s->lo);
    sqlite3_bind_int64(st, 4, s->hi);
    sqlite3_bind_int64(st, 5, s->ep);
    sqlite3_bind_text(st, 6, s->src, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 7, replay);
    /* the first divergent delivery of the range: a delivery agrees if any execution of the other node's does */
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
    if ((rc = emit_delivery(t, sp_tl_node_name(n), other, &bad_a, &bad_b, bad_diff))) return rc;
    /* the other node's side (a replay reports its own node only: the other node's replay judges it) */
    return replay ? SP_OK : emit_delivery(t, other, sp_tl_node_name(n), &bad_b, &bad_a, bad_diff);
}

/* Judge the pending crank range and start a new one. */
static int judge(struct sp_tl_stream *t, struct sp_tl_node *n, struct dv_state *s)
{
    if (s->lo < 0) return SP_OK;
    struct dv_peer peers[DV_PEERS];
    int np = 0, rc = judge_cranks(t, n, s, peers, &np);
    for (int i = 0; i < np && rc == SP_OK; i++) rc = judge_deliveries(t, n, s, peers[i].node);
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
        sp_tl_det_begin(t);
        sp_tl_det_str(t, "snapshot_id", r[a].id);
        sp_tl_det_str(t, "evidence", r[a].via);
        sp_tl_det_str(t, "other_node", r[b].node);
        sp_tl_det_str(t, "other_snapshot_id", r[b].id);
        sp_tl_det_str(t, "other_evidence", r[b].via);
        sp_tl_det_str(t, "rule", "X1: same (vatID, snapPos) => same snapshotID on every node");
        if ((rc = sp_tl_anomaly_node(t, r[i].node, vat, "CROSS_NODE_SNAPSHOT_DIVERGENCE", -1, pos, "error", NULL, -1)))
            return rc;
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

static void dv_save(const void *st, struct sp_buf *b)
{
    const struct dv_state *s = st;
    sp_buf_printf(b, "{\"lo\":%" PRId64 ",\"hi\":%" PRId64 ",\"ep\":%" PRId64 ",\"commits\":%d,\"src\":", s->lo, s->hi,
                  s->ep, s->commits);
    sp_buf_json_str(b, s->src, strlen(s->src));
    sp_buf_putc(b, '}');
}

static int dv_restore(void *st, yajl_val v)
{
    struct dv_state *s = st;
    if (!v || !YAJL_IS_OBJECT(v)) return -1;
    s->lo = sp_tl_jint(sp_tl_jget(v, "lo"));
    s->hi = sp_tl_jint(sp_tl_jget(v, "hi"));
    s->ep = sp_tl_jint(sp_tl_jget(v, "ep"));
    s->commits = sp_tl_jint(sp_tl_jget(v, "commits")) > 0;
    snprintf(s->src, sizeof s->src, "%s", sp_tl_jstr(sp_tl_jget(v, "src")));
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
