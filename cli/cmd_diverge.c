/* cmd_diverge.c - `slogpipe diverge`: where two nodes of one chain first differ, and over which range they were compared. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <sqlite3.h>

#include "../core/sp_core.h"
#include "../sinks/sp_store.h"
#include "sp_commands.h"
#include "sp_ux.h"

static const char usage_diverge[] =
    "usage: slogpipe diverge --db FILE NODE_A NODE_B [--context N] [--json]\n"
    "\n"
    "Where two nodes of one chain first differ, read from the store with indexed\n"
    "lookups only: the first crank whose activityhash differs (binary search: the\n"
    "hash is cumulative) and the first whose crankhash differs; the deliveries of\n"
    "the cranks around it on both nodes; the first live (vat, deliveryNum) whose\n"
    "computrons, syscalls, result or vd differ; the first span hash and snapshot\n"
    "ID that differ at equal positions. Files that start or end at different\n"
    "points are aligned by crankNum and (vat, deliveryNum); the answer says which\n"
    "range was comparable. Crankhash and delivery divergence come from the\n"
    "anomalies the ingest's timeline stage reported (CROSS_NODE_CRANKHASH_DIVERGENCE,\n"
    "CROSS_NODE_DELIVERY_DIVERGENCE) when it judged both nodes, else from an\n"
    "index walk from the start of the comparable range.\n"
    "\n"
    "Options:\n"
    "  --db FILE     SQLite database written by 'slogpipe ingest' (read-only)\n"
    "  --context N   cranks shown on each side of the divergent one (default 1, max 20)\n"
    "  --json        one JSON object instead of text\n"
    "  -h, --help    this text\n"
    "\n"
    "Exit status: 0 ok (diverged or not: see the output), 64 usage, 65 not a\n"
    "slogpipe database or a node with nothing stored, 66 no database.\n";

#define CMD "diverge"

/* One node's crank-finish at a crank (the kept execution when it ran twice). */
struct crank {
    int found;
    char ch[72], ah[72], src[512];
    int64_t line, epoch;
};

struct ctx {
    sqlite3 *db;
    const char *a, *b;
    int json, context;
    sqlite3_stmt *crank_st;
    int rc; /* first error (sysexits), 0 none */
};

static int prep(struct ctx *c, const char *what, const char *sql, sqlite3_stmt **st)
{
    int rc = sp_ux_prepare(CMD, c->db, what, sql, st);
    if (rc && !c->rc) c->rc = rc;
    return rc;
}

static const char *txt(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static int64_t num(sqlite3_stmt *st, int i, int64_t dflt)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? dflt : sqlite3_column_int64(st, i);
}

/* ---- cranks ------------------------------------------------------------------ */

/* First (desc=0) or last crankNum of a node's crank-finish lines, -1 none (index slog_events_crank_finish). */
static int64_t crank_end(struct ctx *c, const char *node, int desc)
{
    static const char *const sql[2] = {
        "SELECT crank_num FROM slog_events WHERE type='crank-finish' AND node=?1 AND crank_num IS NOT NULL "
        "ORDER BY crank_num LIMIT 1",
        "SELECT crank_num FROM slog_events WHERE type='crank-finish' AND node=?1 AND crank_num IS NOT NULL "
        "ORDER BY crank_num DESC LIMIT 1"};
    sqlite3_stmt *st;
    int64_t v = -1;
    if (prep(c, "crank range", sql[desc], &st)) return -1;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void crank_at(struct ctx *c, const char *node, int64_t n, struct crank *out)
{
    memset(out, 0, sizeof *out);
    if (!c->crank_st &&
        prep(c, "crank lookup",
             "SELECT crankhash, activityhash, source, line, epoch FROM slog_events WHERE type='crank-finish' "
             "AND crank_num=?2 AND node=?1 ORDER BY superseded, rowid DESC LIMIT 1",
             &c->crank_st))
        return;
    sqlite3_stmt *st = c->crank_st;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, n);
    if (sqlite3_step(st) != SQLITE_ROW) return;
    out->found = 1;
    snprintf(out->ch, sizeof out->ch, "%s", txt(st, 0));
    snprintf(out->ah, sizeof out->ah, "%s", txt(st, 1));
    snprintf(out->src, sizeof out->src, "%s", txt(st, 2));
    out->line = num(st, 3, -1);
    out->epoch = num(st, 4, 0);
    sqlite3_reset(st);
}

/* 1 the activityhashes at crank n differ, 0 equal, -1 not comparable (a line or the field missing). */
static int ah_differs(struct ctx *c, int64_t n)
{
    struct crank x, y;
    crank_at(c, c->a, n, &x);
    crank_at(c, c->b, n, &y);
    if (!x.found || !y.found || !*x.ah || !*y.ah) return -1;
    return strcmp(x.ah, y.ah) != 0;
}

/* The stage's anomaly of `kind` on node a naming b as the other node: its crank (and count), or -1. */
static int64_t stage_crank(struct ctx *c, const char *kind, int64_t *count)
{
    sqlite3_stmt *st;
    int64_t best = -1;
    if (prep(c, "stage anomalies",
             "SELECT json_extract(detail, '$.crank_num'), json_extract(detail, '$.divergent_cranks') FROM anomalies "
             "WHERE kind=?2 AND node=?1 AND json_extract(detail, '$.other_node')=?3",
             &st))
        return -1;
    sqlite3_bind_text(st, 1, c->a, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->b, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t n = num(st, 0, -1);
        if (n >= 0 && (best < 0 || n < best)) best = n, *count = num(st, 1, -1);
    }
    sqlite3_finalize(st);
    return best;
}

/* Did the ingest's timeline stage, with its cross-node part, see both nodes (its checkpoint rows)?
 * Then every pair of their rows was judged. */
static int stage_saw_both(struct ctx *c)
{
    sqlite3_stmt *st;
    int n = 0;
    if (prep(c, "stage checkpoints",
             "SELECT count(DISTINCT node) FROM checkpoints WHERE node IN (?1, ?2) AND source='@timeline' "
             "AND json_valid(state) AND json_extract(state, '$.parts.diverge') IS NOT NULL",
             &st))
        return 0;
    sqlite3_bind_text(st, 1, c->a, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->b, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n == 2;
}

/* First crank of [lo, hi] whose crankhash differs, walking the crank-finish index; -1 none. */
static int64_t walk_crankhash(struct ctx *c, int64_t lo, int64_t hi)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (prep(c, "crankhash walk",
             "SELECT a.crank_num FROM slog_events a WHERE a.type='crank-finish' AND a.crank_num BETWEEN ?3 AND ?4 "
             "AND a.node=?1 AND a.superseded=0 AND a.crankhash IS NOT NULL "
             "AND EXISTS (SELECT 1 FROM slog_events b WHERE b.type='crank-finish' AND b.crank_num=a.crank_num "
             "AND b.node=?2 AND b.crankhash IS NOT NULL) "
             "AND NOT EXISTS (SELECT 1 FROM slog_events b WHERE b.type='crank-finish' AND b.crank_num=a.crank_num "
             "AND b.node=?2 AND b.crankhash=a.crankhash) ORDER BY a.crank_num LIMIT 1",
             &st))
        return -1;
    sqlite3_bind_text(st, 1, c->a, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->b, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, lo);
    sqlite3_bind_int64(st, 4, hi);
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* ---- deliveries ---------------------------------------------------------------- */

struct dlv {
    char vat[24], dispatch[48], sc[72], status[16], vd[72];
    int64_t dn, crank, comp, nsys;
};

static const char dlv_cols[] = "vat_id, delivery_num, crank_num, dispatch, computrons, syscalls, sc_hash, status, vd_hash";

static void dlv_read(sqlite3_stmt *st, int c0, struct dlv *d)
{
    snprintf(d->vat, sizeof d->vat, "%s", txt(st, c0));
    d->dn = num(st, c0 + 1, -1);
    d->crank = num(st, c0 + 2, -1);
    snprintf(d->dispatch, sizeof d->dispatch, "%s", txt(st, c0 + 3));
    d->comp = num(st, c0 + 4, -1);
    d->nsys = num(st, c0 + 5, -1);
    snprintf(d->sc, sizeof d->sc, "%s", txt(st, c0 + 6));
    snprintf(d->status, sizeof d->status, "%s", txt(st, c0 + 7));
    snprintf(d->vd, sizeof d->vd, "%s", txt(st, c0 + 8));
}

/* What differs (comma list, "" nothing), comparing only what both rows carry (as the stage does). */
static void dlv_diff(const struct dlv *a, const struct dlv *b, char *out, size_t cap)
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

/* The live delivery (vat, dn) of a node: the kept execution. 1 found. */
static int dlv_at(struct ctx *c, const char *node, const char *vat, int64_t dn, struct dlv *d)
{
    char sql[512];
    sqlite3_stmt *st;
    int found = 0;
    snprintf(sql, sizeof sql,
             "SELECT %s FROM deliveries WHERE node=?1 AND vat_id=?2 AND delivery_num=?3 AND replay=0 "
             "ORDER BY superseded, rowid DESC LIMIT 1",
             dlv_cols);
    if (prep(c, "delivery lookup", sql, &st)) return 0;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, vat, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, dn);
    if (sqlite3_step(st) == SQLITE_ROW) dlv_read(st, 0, d), found = 1;
    sqlite3_finalize(st);
    return found;
}

/* First divergent live delivery by the stage's anomalies: 1 found (vat, dn set). */
static int stage_delivery(struct ctx *c, char *vat, size_t cap, int64_t *dn)
{
    sqlite3_stmt *st;
    int64_t best = -1;
    if (prep(c, "stage anomalies",
             "SELECT vat_id, position, json_extract(detail, '$.crank_num') FROM anomalies "
             "WHERE kind='CROSS_NODE_DELIVERY_DIVERGENCE' AND node=?1 AND json_extract(detail, '$.other_node')=?2",
             &st))
        return 0;
    sqlite3_bind_text(st, 1, c->a, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->b, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t cr = num(st, 2, -1);
        if (best < 0 || cr < best) best = cr, snprintf(vat, cap, "%s", txt(st, 0)), *dn = num(st, 1, -1);
    }
    sqlite3_finalize(st);
    return best >= 0;
}

/* First divergent live delivery walking node a's deliveries in crank order (deliveries_by_crank). */
static int walk_delivery(struct ctx *c, char *vat, size_t cap, int64_t *dn)
{
    char sql[1024];
    sqlite3_stmt *st;
    int found = 0;
    snprintf(sql, sizeof sql,
             "SELECT a.vat_id, a.delivery_num, a.crank_num, a.dispatch, a.computrons, a.syscalls, a.sc_hash, "
             "a.status, a.vd_hash, b.vat_id, b.delivery_num, b.crank_num, b.dispatch, b.computrons, b.syscalls, "
             "b.sc_hash, b.status, b.vd_hash FROM deliveries a JOIN deliveries b ON b.node=?2 AND "
             "b.vat_id=a.vat_id AND b.delivery_num=a.delivery_num AND b.replay=0 AND b.superseded=0 "
             "WHERE a.node=?1 AND a.replay=0 AND a.superseded=0 AND a.delivery_num>0 AND a.crank_num IS NOT NULL "
             "ORDER BY a.epoch, a.crank_num");
    if (prep(c, "delivery walk", sql, &st)) return 0;
    sqlite3_bind_text(st, 1, c->a, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->b, -1, SQLITE_STATIC);
    while (!found && sqlite3_step(st) == SQLITE_ROW) {
        struct dlv x, y;
        char diff[96];
        dlv_read(st, 0, &x);
        dlv_read(st, 9, &y);
        dlv_diff(&x, &y, diff, sizeof diff);
        if (*diff) snprintf(vat, cap, "%s", x.vat), *dn = x.dn, found = 1;
    }
    sqlite3_finalize(st);
    return found;
}

static void jstr(const char *s);

/* Per vat live on both nodes: the deliveryNums both files hold ([max of the firsts, min of the lasts]),
 * found by a loose scan of deliveries_live (one seek per vat). Prints text or JSON. */
static void align_out(struct ctx *c)
{
    sqlite3_stmt *st;
    if (prep(c, "delivery ranges",
             "WITH RECURSIVE v(x) AS (SELECT (SELECT min(vat_id) FROM deliveries WHERE node=?1 AND replay=0) "
             "UNION ALL SELECT (SELECT min(vat_id) FROM deliveries WHERE node=?1 AND replay=0 AND vat_id>v.x) "
             "FROM v WHERE x IS NOT NULL), r AS (SELECT x, "
             "(SELECT min(delivery_num) FROM deliveries WHERE node=?1 AND vat_id=x AND replay=0 AND delivery_num>0) AS a0, "
             "(SELECT max(delivery_num) FROM deliveries WHERE node=?1 AND vat_id=x AND replay=0) AS a1, "
             "(SELECT min(delivery_num) FROM deliveries WHERE node=?2 AND vat_id=x AND replay=0 AND delivery_num>0) AS b0, "
             "(SELECT max(delivery_num) FROM deliveries WHERE node=?2 AND vat_id=x AND replay=0) AS b1 "
             "FROM v WHERE x IS NOT NULL) "
             "SELECT x, max(a0, b0), min(a1, b1) FROM r WHERE a0 IS NOT NULL AND b0 IS NOT NULL AND max(a0, b0) <= min(a1, b1) "
             "ORDER BY CAST(substr(x, 2) AS INTEGER), x",
             &st))
        return;
    sqlite3_bind_text(st, 1, c->a, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->b, -1, SQLITE_STATIC);
    int n = 0;
    int64_t total = 0;
    if (c->json)
        printf(",\"deliveries\":[");
    else
        printf("%-13s ", "deliveries");
    char list[256] = "";
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t lo = num(st, 1, 0), hi = num(st, 2, 0);
        if (c->json) {
            printf("%s{\"vat\":", n ? "," : "");
            jstr(txt(st, 0));
            printf(",\"from\":%" PRId64 ",\"to\":%" PRId64 "}", lo, hi);
        } else if (n < 6) {
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s %" PRId64 "..%" PRId64, n ? ", " : "",
                     txt(st, 0), lo, hi);
        }
        n++;
        total += hi - lo + 1;
    }
    sqlite3_finalize(st);
    if (c->json)
        printf("]");
    else if (!n)
        printf("no vat has live deliveries in both\n");
    else
        printf("%d vats live in both, %" PRId64 " deliveryNums comparable: %s%s\n", n, total, list, n > 6 ? ", ..." : "");
}

/* ---- output helpers -------------------------------------------------------------- */

static void jstr(const char *s)
{
    if (!s || !*s)
        fputs("null", stdout);
    else
        sp_ux_json_str(stdout, s, strlen(s), 0);
}

static void jint(int64_t v)
{
    if (v < 0)
        fputs("null", stdout);
    else
        printf("%" PRId64, v);
}

/* The first 12 characters of a hash, "-" when absent. */
static const char *short12(const char *h, char *buf)
{
    if (!h || !*h) return "-";
    size_t n = strnlen(h, 12);
    memcpy(buf, h, n);
    buf[n] = '\0';
    return buf;
}

static void dlv_json(const struct dlv *d)
{
    printf("{\"vat\":");
    jstr(d->vat);
    printf(",\"delivery_num\":");
    jint(d->dn);
    printf(",\"crank_num\":");
    jint(d->crank);
    printf(",\"dispatch\":");
    jstr(d->dispatch);
    printf(",\"computrons\":");
    jint(d->comp);
    printf(",\"syscalls\":");
    jint(d->nsys);
    printf(",\"syscall_hash\":");
    jstr(d->sc);
    printf(",\"result\":");
    jstr(d->status);
    printf("}");
}

static void dlv_text(const char *node, const struct dlv *d)
{
    char b1[16];
    char comp[24];
    if (d->comp >= 0)
        snprintf(comp, sizeof comp, "%" PRId64, d->comp);
    else
        snprintf(comp, sizeof comp, "-");
    printf("  %-10s %-5s %6" PRId64 "  %-18s %10s %8" PRId64 "  %-12s %s\n", node, d->vat, d->dn, d->dispatch, comp,
           d->nsys, short12(d->sc, b1), *d->status ? d->status : "-");
}

/* The cranks around n on both nodes: their hashes and live deliveries. */
static void context_out(struct ctx *c, int64_t n, int64_t lo, int64_t hi)
{
    int64_t from = n - c->context < lo ? lo : n - c->context, to = n + c->context > hi ? hi : n + c->context;
    sqlite3_stmt *st;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT %s FROM deliveries WHERE node=?1 AND epoch=?2 AND crank_num=?3 AND replay=0 AND source=?4 "
             "ORDER BY line",
             dlv_cols);
    if (prep(c, "crank deliveries", sql, &st)) return;
    if (c->json)
        printf(",\"context\":[");
    else
        printf("cranks %" PRId64 "..%" PRId64 " (the first divergent one: %" PRId64 "), with their live deliveries:\n"
               "  %-10s %-5s %6s  %-18s %10s %8s  %-12s %s\n",
               from, to, n, "node", "vat", "dn", "dispatch", "computrons", "syscalls", "syscall hash", "result");
    int first = 1;
    for (int64_t k = from; k <= to; k++) {
        for (int side = 0; side < 2; side++) {
            const char *node = side ? c->b : c->a;
            struct crank cr;
            char b1[16], b2[16];
            crank_at(c, node, k, &cr);
            if (c->json) {
                printf("%s{\"crank_num\":%" PRId64 ",\"node\":", first ? "" : ",", k);
                jstr(node);
                printf(",\"crankhash\":");
                jstr(cr.ch);
                printf(",\"activityhash\":");
                jstr(cr.ah);
                printf(",\"deliveries\":[");
            } else {
                printf("crank %-6" PRId64 " %-10s crankhash %s activityhash %s%s\n", k, node, short12(cr.ch, b1),
                       short12(cr.ah, b2), cr.found ? "" : " (no crank-finish)");
            }
            first = 0;
            if (cr.found) {
                sqlite3_reset(st);
                sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, cr.epoch);
                sqlite3_bind_int64(st, 3, k);
                sqlite3_bind_text(st, 4, cr.src, -1, SQLITE_STATIC);
                int nd = 0;
                while (sqlite3_step(st) == SQLITE_ROW) {
                    struct dlv d;
                    dlv_read(st, 0, &d);
                    if (c->json) {
                        if (nd) putchar(',');
                        dlv_json(&d);
                    } else {
                        dlv_text(node, &d);
                    }
                    nd++;
                }
            }
            if (c->json) printf("]}");
        }
    }
    if (c->json) printf("]");
    sqlite3_finalize(st);
}

/* ---- snapshots and spans at equal positions ------------------------------------------ */

struct pos_cmp {
    int64_t comparable, differ, pos, end_a, end_b;
    char vat[24], ida[72], idb[72];
};

static void compare_positions(struct ctx *c, int spans, struct pos_cmp *r)
{
    static const char *const sql[2] = {
        /* snapshots: the best known snapshotID of each (vat, snapPos) */
        "SELECT a.vat_id, a.snap_pos, a.snapshot_id, b.snapshot_id, 0, 0 FROM snapshots a JOIN snapshots b ON "
        "b.node=?2 AND b.vat_id=a.vat_id AND b.snap_pos=a.snap_pos WHERE a.node=?1 AND a.snapshot_id IS NOT NULL "
        "AND b.snapshot_id IS NOT NULL ORDER BY CAST(substr(a.vat_id, 2) AS INTEGER), a.snap_pos",
        /* spans: the swing-store's stored hash (and end) of each (vat, startPos) */
        "SELECT a.vat_id, a.start_pos, a.hash, b.hash, a.end_pos, b.end_pos FROM transcript_spans a JOIN "
        "transcript_spans b ON b.node=?2 AND b.vat_id=a.vat_id AND b.start_pos=a.start_pos WHERE a.node=?1 "
        "AND a.hash IS NOT NULL AND b.hash IS NOT NULL "
        "ORDER BY CAST(substr(a.vat_id, 2) AS INTEGER), a.start_pos"};
    sqlite3_stmt *st;
    memset(r, 0, sizeof *r);
    r->pos = -1;
    if (prep(c, spans ? "span comparison" : "snapshot comparison", sql[spans], &st)) return;
    sqlite3_bind_text(st, 1, c->a, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->b, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        /* a span that ends elsewhere on the other node (a current span still
         * growing, a store copied at another height) is not at an equal position */
        int64_t ea = num(st, 4, 0), eb = num(st, 5, 0);
        if (spans && ea != eb) continue;
        r->comparable++;
        if (strcmp(txt(st, 2), txt(st, 3)) == 0) continue;
        if (!r->differ++) {
            snprintf(r->vat, sizeof r->vat, "%s", txt(st, 0));
            r->pos = num(st, 1, -1);
            snprintf(r->ida, sizeof r->ida, "%s", txt(st, 2));
            snprintf(r->idb, sizeof r->idb, "%s", txt(st, 3));
            r->end_a = ea, r->end_b = eb;
        }
    }
    sqlite3_finalize(st);
}

static void pos_out(struct ctx *c, const char *what, const char *posname, const struct pos_cmp *r)
{
    char b1[16], b2[16];
    if (c->json) {
        printf(",\"%s\":{\"comparable\":%" PRId64 ",\"differ\":%" PRId64 ",\"first\":", what, r->comparable, r->differ);
        if (r->differ) {
            printf("{\"vat\":");
            jstr(r->vat);
            printf(",\"%s\":%" PRId64 ",\"a\":", posname, r->pos);
            jstr(r->ida);
            printf(",\"b\":");
            jstr(r->idb);
            printf("}");
        } else {
            printf("null");
        }
        printf("}");
        return;
    }
    printf("%-13s %" PRId64 " at equal (vat, %s); ", what, r->comparable, posname);
    if (!r->differ)
        printf("none differ\n");
    else
        printf("%" PRId64 " differ, first %s %s %" PRId64 " (%s %s, %s %s)\n", r->differ, r->vat, posname, r->pos, c->a,
               short12(r->ida, b1), c->b, short12(r->idb, b2));
}

/* ---- the command ----------------------------------------------------------------------- */

static int node_known(struct ctx *c, const char *node)
{
    sqlite3_stmt *st;
    int n = 0;
    if (prep(c, "node lookup",
             "SELECT EXISTS (SELECT 1 FROM sources WHERE node=?1) OR EXISTS (SELECT 1 FROM store_snapshots WHERE "
             "node=?1) OR EXISTS (SELECT 1 FROM transcript_spans WHERE node=?1) OR EXISTS (SELECT 1 FROM "
             "deliveries WHERE node=?1)",
             &st))
        return -1;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int run(struct ctx *c)
{
    char b1[16], b2[16];
    for (int i = 0; i < 2; i++) {
        int k = node_known(c, i ? c->b : c->a);
        if (k < 0) return c->rc;
        if (!k) {
            fprintf(stderr, "slogpipe " CMD ": node '%s' has nothing stored in this database\n", i ? c->b : c->a);
            return EX_DATAERR;
        }
    }
    int64_t alo = crank_end(c, c->a, 0), ahi = crank_end(c, c->a, 1);
    int64_t blo = crank_end(c, c->b, 0), bhi = crank_end(c, c->b, 1);
    if (c->rc) return c->rc;
    int64_t lo = alo > blo ? alo : blo, hi = ahi < bhi ? ahi : bhi;
    int cranks = alo >= 0 && blo >= 0 && lo <= hi;
    int stage = stage_saw_both(c);

    /* activityhash: cumulative, so the first difference is found by bisection */
    int64_t ah_first = -1;
    int ah_state = -1; /* -1 not comparable, 0 agree, 1 diverged, 2 differ from the first comparable crank */
    if (cranks) {
        int dlo = ah_differs(c, lo), dhi = ah_differs(c, hi);
        if (dlo >= 0 && dhi >= 0) {
            if (dlo == 1) {
                ah_state = 2, ah_first = lo;
            } else if (dhi == 0) {
                ah_state = 0;
            } else {
                int64_t l = lo, h = hi; /* differs(l) == 0, differs(h) == 1 */
                while (h - l > 1) {
                    int64_t m = l + (h - l) / 2;
                    int d = ah_differs(c, m);
                    if (d < 0) { /* a hole: look for a comparable crank next to it */
                        int64_t m2 = m + 1;
                        while (m2 < h && (d = ah_differs(c, m2)) < 0) m2++;
                        if (m2 == h) { h = m; break; }
                        m = m2;
                    }
                    if (d) h = m; else l = m;
                }
                ah_state = 1, ah_first = h;
            }
        }
    }
    /* crankhash: the stage's anomaly when it judged both nodes, else a walk of the crank index */
    int64_t ch_count = -1, ch_first = -1;
    const char *ch_how = "none";
    if (cranks) {
        if (stage) {
            ch_first = stage_crank(c, "CROSS_NODE_CRANKHASH_DIVERGENCE", &ch_count);
            ch_how = "timeline stage";
        }
        if (ch_first < 0 && (!stage || ah_state != 0)) {
            ch_first = walk_crankhash(c, lo, hi);
            ch_how = "crank index walk";
            ch_count = -1;
        }
    }
    /* deliveries */
    char dvat[24] = "";
    int64_t ddn = -1;
    int dfound = stage ? stage_delivery(c, dvat, sizeof dvat, &ddn) : 0;
    if (!dfound && !stage) dfound = walk_delivery(c, dvat, sizeof dvat, &ddn);
    struct dlv da, db;
    char ddiff[96] = "";
    memset(&da, 0, sizeof da);
    memset(&db, 0, sizeof db);
    if (dfound) {
        dlv_at(c, c->a, dvat, ddn, &da);
        dlv_at(c, c->b, dvat, ddn, &db);
        dlv_diff(&da, &db, ddiff, sizeof ddiff);
    }
    struct pos_cmp snaps, spans;
    compare_positions(c, 0, &snaps);
    compare_positions(c, 1, &spans);
    if (c->rc) return c->rc;
    struct crank ca, cb;
    int diverged = ah_state > 0 || ch_first >= 0 || dfound || snaps.differ || spans.differ;

    if (c->json) {
        printf("{\"node_a\":");
        jstr(c->a);
        printf(",\"node_b\":");
        jstr(c->b);
        printf(",\"diverged\":%s,\"cranks\":{\"a\":", diverged ? "true" : "false");
        if (alo >= 0) printf("[%" PRId64 ",%" PRId64 "]", alo, ahi); else printf("null");
        printf(",\"b\":");
        if (blo >= 0) printf("[%" PRId64 ",%" PRId64 "]", blo, bhi); else printf("null");
        printf(",\"comparable\":");
        if (cranks) printf("[%" PRId64 ",%" PRId64 "]", lo, hi); else printf("null");
        printf("},\"activityhash\":{\"status\":\"%s\",\"first_divergent_crank\":",
               ah_state < 0 ? "not comparable" : ah_state == 0 ? "agree" : ah_state == 1 ? "diverged"
                                                                        : "differ from the first comparable crank");
        jint(ah_first);
        if (ah_first >= 0) {
            crank_at(c, c->a, ah_first, &ca);
            crank_at(c, c->b, ah_first, &cb);
            printf(",\"a\":");
            jstr(ca.ah);
            printf(",\"b\":");
            jstr(cb.ah);
        }
        printf("},\"crankhash\":{\"first_divergent_crank\":");
        jint(ch_first);
        printf(",\"divergent_cranks\":");
        jint(ch_count);
        printf(",\"how\":");
        jstr(ch_first >= 0 || cranks ? ch_how : NULL);
        if (ch_first >= 0) {
            crank_at(c, c->a, ch_first, &ca);
            crank_at(c, c->b, ch_first, &cb);
            printf(",\"a\":");
            jstr(ca.ch);
            printf(",\"b\":");
            jstr(cb.ch);
        }
        printf("},\"delivery\":");
        if (dfound) {
            printf("{\"vat\":");
            jstr(dvat);
            printf(",\"delivery_num\":%" PRId64 ",\"differs\":", ddn);
            jstr(ddiff);
            printf(",\"a\":");
            dlv_json(&da);
            printf(",\"b\":");
            dlv_json(&db);
            printf("}");
        } else {
            printf("null");
        }
    } else {
        printf("%s vs %s: %s\n", c->a, c->b, diverged ? "diverged" : "no divergence found");
        printf("%-13s %s ", "cranks", c->a);
        if (alo >= 0) printf("%" PRId64 "..%" PRId64, alo, ahi); else printf("none");
        printf(", %s ", c->b);
        if (blo >= 0) printf("%" PRId64 "..%" PRId64, blo, bhi); else printf("none");
        if (cranks)
            printf("; comparable %" PRId64 "..%" PRId64 " (%" PRId64 " cranks)\n", lo, hi, hi - lo + 1);
        else
            printf("; no crank in common\n");
        printf("%-13s ", "activityhash");
        if (ah_state < 0) {
            printf("not comparable (a crank-finish without activityhash at an end of the range)\n");
        } else if (ah_state == 0) {
            printf("equal at crank %" PRId64 " (cumulative: equal throughout)\n", hi);
        } else {
            crank_at(c, c->a, ah_first, &ca);
            crank_at(c, c->b, ah_first, &cb);
            printf("first differs at crank %" PRId64 " (%s %s, %s %s)%s\n", ah_first, c->a, short12(ca.ah, b1), c->b,
                   short12(cb.ah, b2), ah_state == 2 ? ", the first comparable crank: diverged before it" : "");
        }
        printf("%-13s ", "crankhash");
        if (!cranks) {
            printf("not comparable\n");
        } else if (ch_first < 0) {
            printf("equal at every comparable crank\n");
        } else {
            crank_at(c, c->a, ch_first, &ca);
            crank_at(c, c->b, ch_first, &cb);
            printf("first differs at crank %" PRId64 " (%s %s, %s %s)", ch_first, c->a, short12(ca.ch, b1), c->b,
                   short12(cb.ch, b2));
            if (ch_count >= 0) printf("; %" PRId64 " cranks differ", ch_count);
            printf(" [%s]\n", ch_how);
        }
        printf("%-13s ", "delivery");
        if (!dfound) {
            printf("no live (vat, deliveryNum) differs\n");
        } else {
            printf("first differs at %s deliveryNum %" PRId64 " (crank %" PRId64 "): %s\n", dvat, ddn, da.crank,
                   *ddiff ? ddiff : "-");
            dlv_text(c->a, &da);
            dlv_text(c->b, &db);
        }
    }
    align_out(c);
    pos_out(c, "snapshots", "snapPos", &snaps);
    pos_out(c, "spans", "startPos", &spans);
    int64_t center = ch_first >= 0 ? ch_first : ah_state == 1 ? ah_first : dfound ? da.crank : -1;
    if (cranks && center >= lo && center <= hi) context_out(c, center, lo, hi);
    if (c->json) printf("}\n");
    if (c->crank_st) sqlite3_finalize(c->crank_st);
    c->crank_st = NULL;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "slogpipe " CMD ": write error on standard output\n");
        return EX_IOERR;
    }
    return c->rc;
}

int sp_cmd_diverge(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"context", required_argument, NULL, 'c'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    struct ctx c;
    const char *dbpath = NULL;
    int ch;
    memset(&c, 0, sizeof c);
    c.context = 1;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': dbpath = optarg; break;
        case 'j': c.json = 1; break;
        case 'c': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < 0 || v > 20) {
                fprintf(stderr, "slogpipe " CMD ": --context wants 0..20, got '%s'\n%s", optarg, usage_diverge);
                return EX_USAGE;
            }
            c.context = (int)v;
            break;
        }
        case 'h': fputs(usage_diverge, stdout); return 0;
        default: fputs(usage_diverge, stderr); return EX_USAGE;
        }
    }
    if (!dbpath) {
        fprintf(stderr, "slogpipe " CMD ": --db FILE is required\n%s", usage_diverge);
        return EX_USAGE;
    }
    if (argc - optind != 2) {
        fprintf(stderr, "slogpipe " CMD ": two node names are required, got %d\n%s", argc - optind, usage_diverge);
        return EX_USAGE;
    }
    c.a = argv[optind];
    c.b = argv[optind + 1];
    if (strcmp(c.a, c.b) == 0) {
        fprintf(stderr, "slogpipe " CMD ": NODE_A and NODE_B are the same node '%s'\n", c.a);
        return EX_USAGE;
    }
    if (sp_store_is_pg(dbpath)) {
        fprintf(stderr, "slogpipe " CMD ": needs a SQLite store (the --db given is PostgreSQL)\n");
        return EX_USAGE;
    }
    int rc = sp_ux_open_db(CMD, dbpath, &c.db);
    if (rc) return rc;
    rc = run(&c);
    if (c.crank_st) sqlite3_finalize(c.crank_st);
    sqlite3_close(c.db);
    return rc;
}
