/* cmd_explain.c - `slogpipe explain`: why a block was slow (runs, triggers, top deliveries), and the cost tables of `query costs`. */
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "../core/sp_core.h"
#include "../core/sp_pct.h"
#include "sp_ux.h"

static const char usage_explain[] =
    "usage: slogpipe explain --db FILE|URL (--block H | --slowest N [--from H] [--to H])\n"
    "                        [--node N] [--top K] [--json]\n"
    "\n"
    "Explain a block from the rows the ingest wrote (tables blocks, runs,\n"
    "deliveries; indexed look-ups only): its time budget (kernel runs, the rest\n"
    "of end-block, commit, cosmos work before end-block), beans used of the\n"
    "limit, each run with its phase and trigger, the top deliveries by wall time\n"
    "and by computrons (vat, dispatch, method), the bringOutYourDead share,\n"
    "heap snapshots saved in the block and deliveries replayed in it.\n"
    "\n"
    "Options:\n"
    "  --db FILE|URL  database written by 'slogpipe ingest' (opened read-only)\n"
    "  --block H      the block at height H (every node that has it, or --node)\n"
    "  --slowest N    the N slowest blocks (by wall time), slowest first\n"
    "  --from H, --to H  with --slowest: only blocks in [H, H] (inclusive)\n"
    "  --node N       only this node\n"
    "  --top K        deliveries listed per block (default 5)\n"
    "  --json         one JSON array of block objects\n"
    "  -h, --help     this text\n"
    "\n"
    "Exit status: 0 ok, 64 usage, 65 not a slogpipe database (or no such block),\n"
    "66 no database.\n";

/* ---- small output helpers ---- */

static void jnum(FILE *f, sqlite3_stmt *st, int i)
{
    sp_ux_json_col(f, st, i, 0);
}

static int isnull(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL;
}

static double dcol(sqlite3_stmt *st, int i)
{
    return isnull(st, i) ? NAN : sqlite3_column_double(st, i);
}

static const char *tcol(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? t : "";
}

/* "1,234,567" */
static const char *grouped(long long v, char buf[32])
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", v < 0 ? -v : v), k = 0, o = 0;
    if (v < 0) buf[o++] = '-';
    for (k = 0; k < n; k++) {
        buf[o++] = tmp[k];
        if ((n - k - 1) % 3 == 0 && k != n - 1) buf[o++] = ',';
    }
    buf[o] = '\0';
    return buf;
}

static const char *secs(double v, char buf[32])
{
    if (!isfinite(v)) return "-";
    snprintf(buf, 32, "%.3f s", v);
    return buf;
}

static const char *utc(double t, char buf[40])
{
    if (!isfinite(t) || t <= 0) return "-";
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static double pct(double part, double whole)
{
    return isfinite(part) && isfinite(whole) && whole > 0 ? 100.0 * part / whole : NAN;
}

/* ---- one block ---- */

struct ctx {
    sqlite3 *db;
    int json, top, nblocks;
    int has_saves; /* slog_events + snapshots readable (not copied from PostgreSQL) */
};

#define SQL_BLOCK                                                                                           \
    "SELECT node, block_height, block_time, bootstrap, begin_time, end_time, commit_time, block_seconds,"    \
    " run_seconds, end_block_seconds, commit_seconds, save_seconds, cosmos_commit_seconds, runs, computrons," \
    " cranks, deliveries, beans_used, boyd_seconds, snapshot_saves, snapshot_seconds, replays, replay_seconds," \
    " committed FROM blocks WHERE node = ?1 AND block_height = ?2"
enum { B_NODE, B_H, B_BT, B_BOOT, B_BEGIN, B_END, B_COMMIT, B_SEC, B_RUN, B_ENDB, B_COMS, B_SAVE, B_COSMOS, B_RUNS,
       B_COMP, B_CRANKS, B_DELIV, B_BEANS, B_BOYD, B_SAVES, B_SNAPS, B_REPL, B_REPLS, B_COMMITTED };

#define SQL_RUNS                                                                                       \
    "SELECT run_num, phase, trigger, trigger_source, trigger_type, inbound_num, trigger_count, seconds," \
    " beans_start, beans_used, beans_remaining, computrons, cranks, deliveries, boyd_seconds"           \
    " FROM runs WHERE node = ?1 AND block_height = ?2 ORDER BY run_num"
enum { R_NUM, R_PHASE, R_TRIG, R_TSRC, R_TTYPE, R_INB, R_TCNT, R_SEC, R_BSTART, R_BUSED, R_BREM, R_COMP, R_CRANKS,
       R_DELIV, R_BOYD };

/* live deliveries of the block (index deliveries_by_block) */
#define SQL_TOP(order)                                                                                      \
    "SELECT d.vat_id, v.name, d.dispatch, d.method, d.target, d.seconds, d.computrons, d.crank_num,"         \
    " d.run_num, d.delivery_num, d.line, d.resolutions FROM deliveries d"                                    \
    " LEFT JOIN vats v ON v.node = d.node AND v.vat_id = d.vat_id"                                            \
    " WHERE d.node = ?1 AND d.block_height = ?2 AND d.replay = 0 AND d.superseded = 0 ORDER BY " order ", d.line LIMIT ?3"
enum { D_VAT, D_NAME, D_DISP, D_METH, D_TGT, D_SEC, D_COMP, D_CRANK, D_RUN, D_DNUM, D_LINE, D_RES };

#define SQL_VATS                                                                                          \
    "SELECT d.vat_id, v.name, count(*), sum(d.seconds), sum(d.computrons) FROM deliveries d"               \
    " LEFT JOIN vats v ON v.node = d.node AND v.vat_id = d.vat_id"                                          \
    " WHERE d.node = ?1 AND d.block_height = ?2 AND d.replay = 0 AND d.superseded = 0 GROUP BY d.vat_id"                         \
    " ORDER BY sum(d.seconds) DESC, d.vat_id LIMIT 3"

#define SQL_BOYD                                                                                            \
    "SELECT count(*), sum(seconds), sum(computrons) FROM deliveries WHERE node = ?1 AND block_height = ?2"   \
    " AND replay = 0 AND superseded = 0 AND dispatch = 'bringOutYourDead'"

/* heap-snapshot-save lines of the block (index slog_events_block_saves) with their durations */
#define SQL_SAVES                                                                                              \
    "SELECT e.vat_id, e.snap_pos, e.time, s.save_seconds, s.compress_seconds, s.uncompressed_size, e.line"      \
    " FROM slog_events e LEFT JOIN snapshots s ON s.node = e.node AND s.vat_id = e.vat_id AND s.snap_pos = e.snap_pos" \
    " WHERE e.node = ?1 AND e.block_height = ?2 AND e.type = 'heap-snapshot-save'"                                 \
    " ORDER BY ifnull(s.save_seconds, 0) + ifnull(s.compress_seconds, 0) DESC, e.line LIMIT ?3"

static int prep(struct ctx *c, const char *what, const char *sql, const char *node, int64_t h, sqlite3_stmt **st)
{
    int rc = sp_ux_prepare("explain", c->db, what, sql, st);
    if (rc) return rc;
    sqlite3_bind_text(*st, 1, node, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(*st, 2, h);
    if (sqlite3_bind_parameter_count(*st) >= 3) sqlite3_bind_int64(*st, 3, c->top);
    return 0;
}

static void delivery_text(FILE *f, sqlite3_stmt *st, int rank)
{
    char b1[32], b2[32];
    fprintf(f, "    %d. %s", rank, tcol(st, D_VAT));
    if (!isnull(st, D_NAME)) fprintf(f, " (%s)", tcol(st, D_NAME));
    fprintf(f, " %s", isnull(st, D_DISP) ? "?" : tcol(st, D_DISP));
    if (!isnull(st, D_METH)) fprintf(f, " %s", tcol(st, D_METH));
    if (!isnull(st, D_TGT)) fprintf(f, " -> %s", tcol(st, D_TGT));
    if (!isnull(st, D_RES)) fprintf(f, " (%lld resolutions)", (long long)sqlite3_column_int64(st, D_RES));
    fprintf(f, ": %s, %s computrons", secs(dcol(st, D_SEC), b1),
            isnull(st, D_COMP) ? "-" : grouped(sqlite3_column_int64(st, D_COMP), b2));
    if (!isnull(st, D_CRANK)) fprintf(f, ", crank %lld", (long long)sqlite3_column_int64(st, D_CRANK));
    if (!isnull(st, D_RUN)) fprintf(f, ", run %lld", (long long)sqlite3_column_int64(st, D_RUN));
    fprintf(f, ", line %lld\n", (long long)sqlite3_column_int64(st, D_LINE));
}

static void delivery_json(FILE *f, sqlite3_stmt *st)
{
    static const char *const keys[] = {"vat_id", "vat_name", "dispatch", "method", "target", "seconds",
                                       "computrons", "crank_num", "run_num", "delivery_num", "line", "resolutions"};
    fputc('{', f);
    for (int i = 0; i <= D_RES; i++) {
        fprintf(f, "%s\"%s\":", i ? "," : "", keys[i]);
        jnum(f, st, i);
    }
    fputc('}', f);
}

static int list_deliveries(struct ctx *c, FILE *f, const char *title, const char *key, const char *sql,
                           const char *node, int64_t h)
{
    sqlite3_stmt *st;
    int rc = prep(c, title, sql, node, h, &st), n = 0;
    if (rc) return rc;
    if (c->json)
        fprintf(f, ",\"%s\":[", key);
    else
        fprintf(f, "  %s:\n", title);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        if (c->json) {
            if (n > 1) fputc(',', f);
            delivery_json(f, st);
        } else {
            delivery_text(f, st, n);
        }
    }
    if (c->json) fputc(']', f);
    else if (n == 0) fputs("    (no live deliveries)\n", f);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : EX_SOFTWARE;
}

static void trigger_text(sqlite3_stmt *st, char *out, size_t cap)
{
    size_t o = 0;
    if (isnull(st, R_TRIG)) {
        snprintf(out, cap, "-");
        return;
    }
    o += (size_t)snprintf(out + o, cap - o, "%s", tcol(st, R_TRIG));
    if (o < cap && !isnull(st, R_TSRC)) o += (size_t)snprintf(out + o, cap - o, " %s", tcol(st, R_TSRC));
    if (o < cap && !isnull(st, R_TTYPE)) o += (size_t)snprintf(out + o, cap - o, " %s", tcol(st, R_TTYPE));
    if (o < cap && !isnull(st, R_TCNT))
        o += (size_t)snprintf(out + o, cap - o, " (%s %lld)",
                              strcmp(tcol(st, R_TRIG), "timer-poll") == 0 ? "added" : "count",
                              (long long)sqlite3_column_int64(st, R_TCNT));
    if (o < cap && !isnull(st, R_INB)) snprintf(out + o, cap - o, " inbound %s", tcol(st, R_INB));
}

static int explain_runs(struct ctx *c, FILE *f, const char *node, int64_t h, double *limit)
{
    sqlite3_stmt *st;
    int rc = prep(c, "runs of the block", SQL_RUNS, node, h, &st), n = 0;
    static const char *const keys[] = {"run_num", "phase", "trigger", "trigger_source", "trigger_type",
                                       "inbound_num", "trigger_count", "seconds", "beans_start", "beans_used",
                                       "beans_remaining", "computrons", "cranks", "deliveries", "boyd_seconds"};
    if (rc) return rc;
    *limit = NAN;
    if (c->json) fputs(",\"runs\":[", f);
    else fputs("  runs:\n", f);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        /* the block's bean limit: used before + used in + remaining after any run */
        if (!isfinite(*limit) && !isnull(st, R_BREM) && !isnull(st, R_BUSED) && !isnull(st, R_BSTART) &&
            sqlite3_column_int64(st, R_BREM) > 0) /* a forced run (bootstrap) has no limit: 0 remaining */
            *limit = dcol(st, R_BSTART) + dcol(st, R_BUSED) + dcol(st, R_BREM);
        if (c->json) {
            fputs(n > 1 ? ",{" : "{", f);
            for (int i = 0; i <= R_BOYD; i++) {
                fprintf(f, "%s\"%s\":", i ? "," : "", keys[i]);
                jnum(f, st, i);
            }
            fputc('}', f);
        } else {
            char trig[300], b1[32], b2[32], b3[32];
            trigger_text(st, trig, sizeof trig);
            fprintf(f, "    run %lld %-9s %10s  %4lld deliveries  %13s computrons  trigger: %s\n",
                    (long long)sqlite3_column_int64(st, R_NUM), isnull(st, R_PHASE) ? "-" : tcol(st, R_PHASE),
                    secs(dcol(st, R_SEC), b1), (long long)sqlite3_column_int64(st, R_DELIV),
                    grouped(sqlite3_column_int64(st, R_COMP), b2), trig);
            (void)b3;
        }
    }
    if (c->json) fputc(']', f);
    else if (n == 0) fputs("    (no runs: the slog has no cosmic-swingset-run-start/-finish for this block)\n", f);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : EX_SOFTWARE;
}

static int explain_vats(struct ctx *c, FILE *f, const char *node, int64_t h, double dsec)
{
    sqlite3_stmt *st;
    int rc = prep(c, "vats of the block", SQL_VATS, node, h, &st), n = 0;
    if (rc) return rc;
    if (c->json) fputs(",\"vats\":[", f);
    else fputs("  time by vat:", f);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        if (c->json) {
            fprintf(f, "%s{\"vat_id\":", n > 1 ? "," : "");
            jnum(f, st, 0);
            fputs(",\"vat_name\":", f);
            jnum(f, st, 1);
            fputs(",\"deliveries\":", f);
            jnum(f, st, 2);
            fputs(",\"seconds\":", f);
            jnum(f, st, 3);
            fputs(",\"computrons\":", f);
            jnum(f, st, 4);
            fputc('}', f);
        } else {
            char b1[32];
            fprintf(f, "%s %s%s%s%s %s (%.0f %%, %lld deliveries)", n > 1 ? "," : "", tcol(st, 0),
                    isnull(st, 1) ? "" : " (", tcol(st, 1), isnull(st, 1) ? "" : ")", secs(dcol(st, 3), b1),
                    pct(dcol(st, 3), dsec), (long long)sqlite3_column_int64(st, 2));
        }
    }
    if (c->json) fputc(']', f);
    else fputs(n ? "\n" : " -\n", f);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : EX_SOFTWARE;
}

static int explain_saves(struct ctx *c, FILE *f, const char *node, int64_t h)
{
    sqlite3_stmt *st;
    int rc, n = 0;
    if (!c->has_saves) return 0;
    if ((rc = prep(c, "heap snapshot saves of the block", SQL_SAVES, node, h, &st))) return rc;
    if (c->json) fputs(",\"snapshot_saves\":[", f);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        if (c->json) {
            static const char *const keys[] = {"vat_id", "snap_pos", "time", "save_seconds", "compress_seconds",
                                               "uncompressed_size", "line"};
            fputs(n > 1 ? ",{" : "{", f);
            for (int i = 0; i < 7; i++) {
                fprintf(f, "%s\"%s\":", i ? "," : "", keys[i]);
                jnum(f, st, i);
            }
            fputc('}', f);
        } else {
            char b1[32], b2[32];
            fprintf(f, "    %s saved at position %lld: save %s, compress %s\n", tcol(st, 0),
                    (long long)sqlite3_column_int64(st, 1), secs(dcol(st, 3), b1), secs(dcol(st, 4), b2));
        }
    }
    if (c->json) fputc(']', f);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : EX_SOFTWARE;
}

/* Explain block (node, h). Returns 0, a sysexits code, or -1 when the block is not in the table. */
static int explain_block(struct ctx *c, FILE *f, const char *node, int64_t h)
{
    sqlite3_stmt *b, *st;
    int rc = prep(c, "the block", SQL_BLOCK, node, h, &b);
    char b1[32], b2[32], b3[32], b4[40];
    double limit, boyd_sec = NAN, dsec;
    long long boyd_n = 0;

    if (rc) return rc;
    if ((rc = sqlite3_step(b)) != SQLITE_ROW) {
        sqlite3_finalize(b);
        return rc == SQLITE_DONE ? -1 : EX_SOFTWARE;
    }
    if ((rc = prep(c, "bringOutYourDead of the block", SQL_BOYD, node, h, &st))) {
        sqlite3_finalize(b);
        return rc;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        boyd_n = sqlite3_column_int64(st, 0);
        boyd_sec = dcol(st, 1);
    }
    sqlite3_finalize(st);

    double sec = dcol(b, B_SEC), run = dcol(b, B_RUN), endb = dcol(b, B_ENDB), com = dcol(b, B_COMS);
    double rest = isfinite(endb) ? endb - (isfinite(run) ? run : 0) : NAN;
    double cosmos = sec - (isfinite(endb) ? endb : 0) - (isfinite(com) ? com : 0);
    if (c->nblocks++) fputs(c->json ? ",\n" : "\n", f);
    if (c->json) {
        static const char *const keys[] = {"node", "block_height", "block_time", "bootstrap", "begin_time",
                                           "end_time", "commit_time", "block_seconds", "run_seconds",
                                           "end_block_seconds", "commit_seconds", "save_seconds",
                                           "cosmos_commit_seconds", "run_count", "computrons", "cranks", "deliveries",
                                           "beans_used", "boyd_seconds", "snapshot_saves", "snapshot_seconds",
                                           "replays", "replay_seconds", "committed"};
        fputc('{', f);
        for (int i = 0; i <= B_COMMITTED; i++) {
            fprintf(f, "%s\"%s\":", i ? "," : "", keys[i]);
            jnum(f, b, i);
        }
        fputs(",\"budget\":{\"kernel_runs\":", f);
        if (isfinite(run)) fprintf(f, "%.17g", run); else fputs("null", f);
        fputs(",\"end_block_other\":", f);
        if (isfinite(rest)) fprintf(f, "%.17g", rest); else fputs("null", f);
        fputs(",\"commit\":", f);
        if (isfinite(com)) fprintf(f, "%.17g", com); else fputs("null", f);
        fputs(",\"cosmos_before_end_block\":", f);
        if (isfinite(cosmos) && isfinite(sec)) fprintf(f, "%.17g", cosmos); else fputs("null", f);
        fputs("}", f);
        fprintf(f, ",\"boyd\":{\"deliveries\":%lld,\"seconds\":", boyd_n);
        if (isfinite(boyd_sec)) fprintf(f, "%.17g", boyd_sec); else fputs("null", f);
        fputc('}', f);
    } else {
        fprintf(f, "Block %lld on %s%s: %s wall, %s deliveries, %s computrons, committed %s\n", (long long)h, node,
                sqlite3_column_int(b, B_BOOT) ? " (bootstrap block)" : "", secs(sec, b1),
                grouped(sqlite3_column_int64(b, B_DELIV), b2), grouped(sqlite3_column_int64(b, B_COMP), b3),
                utc(dcol(b, B_COMMIT), b4));
        fprintf(f, "  time budget: kernel runs %s (%.1f %%)", secs(run, b1), pct(run, sec));
        fprintf(f, ", rest of end-block %s", secs(rest, b1));
        fprintf(f, ", commit %s (%.1f %%)", secs(com, b1), pct(com, sec));
        if (isfinite(cosmos) && isfinite(sec)) fprintf(f, ", cosmos before end-block %s", secs(cosmos, b1));
        fputc('\n', f);
        if (!isnull(b, B_SAVE) || !isnull(b, B_COSMOS))
            fprintf(f, "  commit detail: swing-store save %s, cosmos commit %s\n", secs(dcol(b, B_SAVE), b1),
                    secs(dcol(b, B_COSMOS), b2));
    }
    /* where the runs' time went: deliveries, snapshot saves, replays, the rest (crank bookkeeping) */
    {
        sqlite3_stmt *t;
        dsec = NAN;
        if (!(rc = prep(c, "delivery time of the block",
                        "SELECT sum(seconds) FROM deliveries"
                        " WHERE node = ?1 AND block_height = ?2 AND replay = 0 AND superseded = 0",
                        node, h, &t))) {
            if (sqlite3_step(t) == SQLITE_ROW) dsec = dcol(t, 0);
            sqlite3_finalize(t);
        }
        if (rc) {
            sqlite3_finalize(b);
            return rc;
        }
    }
    double snaps = dcol(b, B_SNAPS), repls = dcol(b, B_REPLS);
    double other = run - (isfinite(dsec) ? dsec : 0) - (isfinite(snaps) ? snaps : 0) - (isfinite(repls) ? repls : 0);
    if (c->json) {
        fputs(",\"run_time\":{\"deliveries\":", f);
        if (isfinite(dsec)) fprintf(f, "%.17g", dsec); else fputs("null", f);
        fputs(",\"snapshot_saves\":", f);
        if (isfinite(snaps)) fprintf(f, "%.17g", snaps); else fputs("null", f);
        fputs(",\"replays\":", f);
        if (isfinite(repls)) fprintf(f, "%.17g", repls); else fputs("null", f);
        fputs(",\"other\":", f);
        if (isfinite(other)) fprintf(f, "%.17g", other); else fputs("null", f);
        fputc('}', f);
    } else if (isfinite(run) && run > 0) {
        fprintf(f, "  inside the runs: deliveries %s (%.0f %%), heap snapshot saves %s (%.0f %%), replays %s (%.0f %%),"
                   " other kernel work %s (%.0f %%)\n",
                secs(isfinite(dsec) ? dsec : 0, b1), pct(isfinite(dsec) ? dsec : 0, run),
                secs(isfinite(snaps) ? snaps : 0, b2), pct(isfinite(snaps) ? snaps : 0, run),
                secs(isfinite(repls) ? repls : 0, b3), pct(isfinite(repls) ? repls : 0, run), secs(other, b4),
                pct(other, run));
    }
    rc = explain_runs(c, f, node, h, &limit);
    if (!rc && !c->json) {
        if (!isnull(b, B_BEANS) && isfinite(limit) && limit > 0)
            fprintf(f, "  beans: %s used of the %s limit (%.1f %%)\n", grouped(sqlite3_column_int64(b, B_BEANS), b1),
                    grouped((long long)limit, b2), pct(dcol(b, B_BEANS), limit));
        else if (!isnull(b, B_BEANS))
            fprintf(f, "  beans: %s used\n", grouped(sqlite3_column_int64(b, B_BEANS), b1));
    } else if (!rc) {
        fputs(",\"beans_limit\":", f);
        if (isfinite(limit)) fprintf(f, "%.0f", limit); else fputs("null", f);
    }
    if (!rc) rc = list_deliveries(c, f, "top deliveries by wall time", "top_by_seconds",
                                  SQL_TOP("d.seconds IS NULL, d.seconds DESC"), node, h);
    if (!rc) rc = list_deliveries(c, f, "top deliveries by computrons", "top_by_computrons",
                                  SQL_TOP("d.computrons IS NULL, d.computrons DESC"), node, h);
    if (!rc) rc = explain_vats(c, f, node, h, dsec);
    if (!rc && !c->json) {
        fprintf(f, "  bringOutYourDead: %lld deliveries, %s = %.1f %% of the block's delivery time (%s)\n", boyd_n,
                secs(isfinite(boyd_sec) ? boyd_sec : 0, b1), pct(isfinite(boyd_sec) ? boyd_sec : 0, dsec),
                secs(dsec, b2));
        if (sqlite3_column_int64(b, B_SAVES) > 0 || !c->has_saves)
            fprintf(f, "  heap snapshots: %lld saved, %s saving and compressing%s\n",
                    (long long)sqlite3_column_int64(b, B_SAVES), secs(dcol(b, B_SNAPS), b1),
                    c->has_saves && sqlite3_column_int64(b, B_SAVES) > 0 ? "; the longest:" : "");
    }
    if (!rc) rc = explain_saves(c, f, node, h);
    if (!rc && !c->json)
        fprintf(f, "  replays: %lld deliveries replayed in the block (vat page-ins or a restart), %s\n",
                (long long)sqlite3_column_int64(b, B_REPL), secs(dcol(b, B_REPLS), b1));
    if (!rc && c->json) fputc('}', f);
    sqlite3_finalize(b);
    return rc;
}

static int has_rel(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int ok = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK;
    sqlite3_finalize(st);
    return ok;
}

int sp_cmd_explain(int argc, char **argv)
{
    enum { O_DB = 256, O_NODE, O_BLOCK, O_SLOWEST, O_FROM, O_TO, O_TOP, O_JSON };
    static const struct option opts[] = {
        {"db", required_argument, NULL, O_DB},       {"node", required_argument, NULL, O_NODE},
        {"block", required_argument, NULL, O_BLOCK}, {"slowest", required_argument, NULL, O_SLOWEST},
        {"from", required_argument, NULL, O_FROM},   {"to", required_argument, NULL, O_TO},
        {"top", required_argument, NULL, O_TOP},     {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    static const char *const rels[] = {"blocks", "runs", "deliveries", "vats", NULL};
    const char *dbpath = NULL, *node = NULL;
    long long block = -1, slowest = -1, from = 0, to = INT64_MAX, top = 5;
    struct ctx c = {0};
    int ch, rc = 0;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        long long *dst = NULL;
        switch (ch) {
        case O_DB: dbpath = optarg; break;
        case O_NODE: node = optarg; break;
        case O_BLOCK: dst = &block; break;
        case O_SLOWEST: dst = &slowest; break;
        case O_FROM: dst = &from; break;
        case O_TO: dst = &to; break;
        case O_TOP: dst = &top; break;
        case O_JSON: c.json = 1; break;
        case 'h': fputs(usage_explain, stdout); return 0;
        default: fputs(usage_explain, stderr); return EX_USAGE;
        }
        if (dst) {
            char *end = NULL;
            long long v = strtoll(optarg, &end, 10);
            if (!*optarg || *end || v < 0 || ((ch == O_SLOWEST || ch == O_TOP) && (v < 1 || v > 100000))) {
                fprintf(stderr, "slogpipe explain: bad number '%s' for --%s\n", optarg, opts[ch - O_DB].name);
                return EX_USAGE;
            }
            *dst = v;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "slogpipe explain: unexpected argument '%s'\n", argv[optind]);
        return EX_USAGE;
    }
    if (!dbpath || !*dbpath) {
        fprintf(stderr, "slogpipe explain: --db FILE is required\n");
        return EX_USAGE;
    }
    if ((block < 0) == (slowest < 0)) {
        fprintf(stderr, "slogpipe explain: give one of --block H and --slowest N\n");
        return EX_USAGE;
    }
    if (block >= 0 && (from != 0 || to != INT64_MAX)) {
        fprintf(stderr, "slogpipe explain: --from/--to go with --slowest\n");
        return EX_USAGE;
    }
    c.top = (int)top;
    if ((rc = sp_ux_open_store("explain", dbpath, rels, node, &c.db)) != 0) return rc;
    c.has_saves = has_rel(c.db, "SELECT 1 FROM slog_events, snapshots LIMIT 0");

    /* the blocks to explain: (node, height), found through an index */
    sqlite3_stmt *list = NULL;
    if (block >= 0)
        rc = sp_ux_prepare("explain", c.db, "the block's nodes",
                           "SELECT node, block_height FROM blocks WHERE block_height = ?2 AND (?1 IS NULL OR node = ?1)"
                           " ORDER BY node",
                           &list);
    else
        rc = sp_ux_prepare("explain", c.db, "the slowest blocks",
                           "SELECT node, block_height FROM blocks WHERE block_seconds IS NOT NULL"
                           " AND (?1 IS NULL OR node = ?1) AND block_height BETWEEN ?3 AND ?4"
                           " ORDER BY block_seconds DESC, node, block_height LIMIT ?2",
                           &list);
    if (!rc) {
        sp_ux_bind_text(list, 1, node);
        sqlite3_bind_int64(list, 2, block >= 0 ? block : slowest);
        if (block < 0) {
            sqlite3_bind_int64(list, 3, from);
            sqlite3_bind_int64(list, 4, to);
        }
        if (c.json) fputs("[\n", stdout);
        while (!rc && sqlite3_step(list) == SQLITE_ROW) {
            char *n = sp_xstrdup(tcol(list, 0));
            rc = explain_block(&c, stdout, n, sqlite3_column_int64(list, 1));
            if (rc < 0) rc = 0;
            free(n);
        }
        if (c.json) fputs(c.nblocks ? "\n]\n" : "]\n", stdout);
        sqlite3_finalize(list);
        if (!rc && c.nblocks == 0) {
            if (block >= 0)
                fprintf(stderr, "slogpipe explain: no block %lld%s%s in %s\n", block, node ? " on node " : "",
                        node ? node : "", dbpath);
            else
                fprintf(stderr, "slogpipe explain: no block with a time budget%s%s in %s (ingested before "
                                "slogpipe explained blocks? re-ingest the slog)\n",
                        node ? " on node " : "", node ? node : "", dbpath);
            rc = EX_DATAERR;
        }
    }
    sqlite3_close(c.db);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("slogpipe explain: stdout");
        return EX_IOERR;
    }
    return rc;
}

/* ---- query costs ---- */

struct grp {
    double *sec, *comp;
    size_t nsec, ncomp, cap;
    long long count;
    double total_sec, total_comp, boyd_sec;
};

static void grp_reset(struct grp *g)
{
    g->nsec = g->ncomp = 0;
    g->count = 0;
    g->total_sec = g->total_comp = g->boyd_sec = 0;
}

static void grp_add(struct grp *g, double s, double cp, int boyd)
{
    if (g->nsec == g->cap || g->ncomp == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 256;
        g->sec = sp_xrealloc(g->sec, g->cap * sizeof(double));
        g->comp = sp_xrealloc(g->comp, g->cap * sizeof(double));
    }
    g->count++;
    if (isfinite(s)) {
        g->sec[g->nsec++] = s;
        g->total_sec += s;
        if (boyd) g->boyd_sec += s;
    }
    if (isfinite(cp)) {
        g->comp[g->ncomp++] = cp;
        g->total_comp += cp;
    }
}

static int grp_emit(sqlite3_stmt *ins, const char *period, const char *node, const char *group, struct grp *g)
{
    sp_pct_sort(g->sec, g->nsec);
    sp_pct_sort(g->comp, g->ncomp);
    sqlite3_reset(ins);
    sqlite3_bind_text(ins, 1, period, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, node, -1, SQLITE_TRANSIENT);
    sp_ux_bind_text(ins, 3, group);
    sqlite3_bind_int64(ins, 4, g->count);
#define BIND_D(i, v) (isfinite(v) ? sqlite3_bind_double(ins, i, v) : sqlite3_bind_null(ins, i))
    BIND_D(5, g->nsec ? g->total_sec : NAN);
    BIND_D(6, sp_pct_sorted(g->sec, g->nsec, 50));
    BIND_D(7, sp_pct_sorted(g->sec, g->nsec, 95));
    BIND_D(8, g->nsec ? g->sec[g->nsec - 1] : NAN);
    if (g->ncomp) sqlite3_bind_int64(ins, 9, (sqlite3_int64)g->total_comp); else sqlite3_bind_null(ins, 9);
    /* computrons are integers: so are their percentiles (members of the set) */
#define BIND_I(i, v) (isfinite(v) ? sqlite3_bind_int64(ins, i, (sqlite3_int64)(v)) : sqlite3_bind_null(ins, i))
    BIND_I(10, sp_pct_sorted(g->comp, g->ncomp, 50));
    BIND_I(11, sp_pct_sorted(g->comp, g->ncomp, 95));
    BIND_I(12, g->ncomp ? g->comp[g->ncomp - 1] : NAN);
#undef BIND_I
    BIND_D(13, g->total_sec > 0 ? g->boyd_sec / g->total_sec : NAN);
#undef BIND_D
    grp_reset(g);
    return sqlite3_step(ins) == SQLITE_DONE ? 0 : EX_SOFTWARE;
}

/* One constant statement: ?3 = period kind (day, hour, blocks), ?4 = N blocks, ?5 = grouping. */
#define COSTS_PERIOD                                                                                     \
    "CASE ?3 WHEN 'hour' THEN strftime('%Y-%m-%dT%H:00Z', d.time, 'unixepoch')"                          \
    " WHEN 'blocks' THEN printf('%d-%d', d.block_height / ?4 * ?4, d.block_height / ?4 * ?4 + ?4 - 1)" \
    " ELSE strftime('%Y-%m-%d', d.time, 'unixepoch') END"
static const char costs_sql[] =
    "SELECT " COSTS_PERIOD " AS period, d.node,"
    " CASE ?5 WHEN 'method' THEN COALESCE(d.method, '<' || COALESCE(d.dispatch, '?') || '>')"
    "  WHEN 'dispatch' THEN COALESCE(d.dispatch, '?')"
    "  WHEN 'trigger' THEN COALESCE(r.trigger || COALESCE(' ' || r.trigger_source, '')"
    "   || COALESCE(' ' || r.trigger_type, ''),"
    "   CASE WHEN d.run_num IS NULL THEN '(outside runs)' ELSE '(no trigger)' END)"
    "  ELSE d.vat_id || COALESCE(' ' || v.name, '') END AS grp,"
    " d.seconds, d.computrons, d.dispatch = 'bringOutYourDead',"
    " CASE ?3 WHEN 'blocks' THEN d.block_height / ?4 ELSE " COSTS_PERIOD " END AS k"
    " FROM deliveries d LEFT JOIN vats v ON v.node = d.node AND v.vat_id = d.vat_id"
    " LEFT JOIN runs r ON r.node = d.node AND r.block_height = d.block_height AND r.run_num = d.run_num"
    " WHERE d.replay = 0 AND d.superseded = 0 AND (?1 IS NULL OR d.node = ?1) AND (?2 IS NULL OR d.vat_id = ?2)"
    " ORDER BY k IS NULL, k, d.node, grp";

int sp_ux_costs(sqlite3 *db, const char *node, const char *vat, const char *by, const char *period)
{
    const char *pkind = "day";
    long long nblocks = 1;
    sqlite3_stmt *st = NULL, *ins = NULL;
    struct grp g = {0};
    int rc;

    if (!by) by = "vat";
    if (strcmp(by, "vat") && strcmp(by, "method") && strcmp(by, "dispatch") && strcmp(by, "trigger")) {
        fprintf(stderr, "slogpipe query: --by must be vat, method, dispatch or trigger (not '%s')\n", by);
        return EX_USAGE;
    }
    if (period && strcmp(period, "day") != 0) {
        if (strcmp(period, "hour") == 0) {
            pkind = "hour";
        } else {
            char *end = NULL;
            size_t pl = strlen(period);
            nblocks = strtoll(period, &end, 10);
            if (pl < 7 || strcmp(period + pl - 6, "blocks") != 0 || end != period + pl - 6 || nblocks < 1 ||
                nblocks > 1000000000) {
                fprintf(stderr, "slogpipe query: --period must be hour, day or Nblocks (e.g. 100blocks), not '%s'\n",
                        period);
                return EX_USAGE;
            }
            pkind = "blocks";
        }
    }
    if ((rc = sp_ux_prepare("query", db, "costs", costs_sql, &st))) return rc;
    sqlite3_bind_text(st, 3, pkind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, nblocks);
    sqlite3_bind_text(st, 5, by, -1, SQLITE_STATIC);
    if (sqlite3_exec(db, "CREATE TEMP TABLE costs (period TEXT, node TEXT, grp TEXT, count INTEGER, seconds REAL,"
                     " p50_s REAL, p95_s REAL, max_s REAL, computrons INTEGER, p50_computrons INTEGER,"
                     " p95_computrons INTEGER, max_computrons INTEGER, boyd_share REAL, seq INTEGER PRIMARY KEY)",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO temp.costs (period,node,grp,count,seconds,p50_s,p95_s,max_s,computrons,"
                           "p50_computrons,p95_computrons,max_computrons,boyd_share) "
                           "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                           -1, &ins, NULL) != SQLITE_OK) {
        fprintf(stderr, "slogpipe query: costs: %s\n", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return EX_SOFTWARE;
    }
    sp_ux_bind_text(st, 1, node);
    sp_ux_bind_text(st, 2, vat);
    char *cur_p = NULL, *cur_n = NULL, *cur_g = NULL;
    int have = 0;
    rc = 0;
    while (!rc && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *p = isnull(st, 0) ? "(unknown)" : tcol(st, 0), *n = tcol(st, 1), *gname = tcol(st, 2);
        if (have && (strcmp(p, cur_p) || strcmp(n, cur_n) || strcmp(gname, cur_g))) {
            rc = grp_emit(ins, cur_p, cur_n, cur_g, &g);
            have = 0;
        }
        if (!have) {
            free(cur_p), free(cur_n), free(cur_g);
            cur_p = sp_xstrdup(p), cur_n = sp_xstrdup(n), cur_g = sp_xstrdup(gname);
            have = 1;
        }
        grp_add(&g, dcol(st, 3), dcol(st, 4), sqlite3_column_int(st, 5));
        rc = rc == SQLITE_ROW ? 0 : rc;
    }
    if (rc == SQLITE_DONE) rc = 0;
    else if (rc) fprintf(stderr, "slogpipe query: costs: %s\n", sqlite3_errmsg(db)), rc = EX_SOFTWARE;
    if (!rc && have) rc = grp_emit(ins, cur_p, cur_n, cur_g, &g);
    free(cur_p), free(cur_n), free(cur_g);
    free(g.sec), free(g.comp);
    sqlite3_finalize(st);
    sqlite3_finalize(ins);
    return rc;
}
