/* cmd_query.c - `slogpipe query`: canned reports over the v_* views as aligned tables, JSON or CSV. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "../core/sp_core.h"
#include "sp_ux.h"

static const char usage_query[] =
    "usage: slogpipe query --db FILE|URL REPORT [--node N] [--vat vN] [--json|--csv]\n"
    "       slogpipe query --db FILE|URL slow-blocks [--limit N]\n"
    "       slogpipe query --db FILE|URL costs [--by vat|method|dispatch|trigger]\n"
    "                                          [--period hour|day|Nblocks]\n"
    "\n"
    "Canned reports over the database views (schemas/sqlite/004-views.sql):\n"
    "  vats            per vat: name, status, manager, incarnations, spans,\n"
    "                  live deliveries, newest snapshot (position, id, time)\n"
    "  schedule        per vat: current span length vs the snapshot threshold\n"
    "                  (snapshotInitial after initialize-worker, else\n"
    "                  snapshotInterval) and whether a snapshot is overdue\n"
    "  snapshots       snapshot sizes and save durations, oldest first\n"
    "  blocks          per block: cranks, deliveries, computrons, duration\n"
    "  anomalies       anomaly counts, then every anomaly with its detail\n"
    "                  (--json/--csv: the list only)\n"
    "  anomaly-counts  anomaly counts by node, kind, vat and severity\n"
    "  heap            per vat: its newest heap snapshot's size, the growth\n"
    "                  since the first snapshot of its current incarnation (per\n"
    "                  day of slog time, per 1,000 deliveries) and when, at that\n"
    "                  rate, it reaches 500 MB, 1 GiB and 2 GiB ('crossed' if it\n"
    "                  has, '-' if it does not grow or the times are unknown)\n"
    "  slow-blocks     the slowest blocks (wall time, begin-block to commit),\n"
    "                  with the split into kernel runs and commit, and the vat\n"
    "                  and delivery that took most of each (--limit N, default 20)\n"
    "  costs           live deliveries per group and period: count, total, p50,\n"
    "                  p95 and max of seconds and of computrons (exact), and the\n"
    "                  share of bringOutYourDead in the group's seconds;\n"
    "                  --by vat (default), method, dispatch or trigger (the run's\n"
    "                  bridge-inbound/deliver-inbound/timer-poll/...),\n"
    "                  --period day (default, UTC), hour or Nblocks (e.g. 100blocks)\n"
    "\n"
    "Options:\n"
    "  --db FILE|URL database written by 'slogpipe ingest' (opened read-only):\n"
    "                a SQLite file or a postgresql:// URL\n"
    "  --node N      only this node\n"
    "  --vat vN      only this vat (not for 'blocks')\n"
    "  --json        a JSON array of objects (one per row)\n"
    "  --csv         CSV (RFC 4180) with a header row\n"
    "  -h, --help    this text\n"
    "\n"
    "Tables show times as UTC and durations in seconds; --json/--csv keep the\n"
    "stored values (times in seconds since the epoch). Missing values are\n"
    "'-' in tables, null in JSON and empty in CSV.\n"
    "Exit status: 0 ok, 64 usage, 65 not a slogpipe database, 66 no database.\n";

enum fmt { FMT_TABLE, FMT_JSON, FMT_CSV };

/* ?1 = node or NULL, ?2 = vat or NULL. */
#define NODE_VAT_FILTER " WHERE (?1 IS NULL OR node = ?1) AND (?2 IS NULL OR vat_id = ?2) "
#define VAT_ORDER "CAST(substr(vat_id, 2) AS INTEGER)"

struct report {
    const char *name;
    const char *sql;
    int takes_vat;
    const char *rels[4]; /* what it reads (copied from a PostgreSQL store) */
};

static const struct report reports[] = {
    {"vats",
     "SELECT node, vat_id, name, status, manager, incarnations, spans, deliveries,"
     " last_snap_pos, substr(last_snap_id, 1, 12) AS last_snap_id, last_snap_time"
     " FROM v_vats" NODE_VAT_FILTER "ORDER BY node, " VAT_ORDER,
     1, {"v_vats"}},
    {"schedule",
     "SELECT node, vat_id, manager, incarnation, span_start, span_end, span_len, deliveries,"
     " first_type, threshold_kind, threshold, overdue, last_block"
     " FROM v_schedule" NODE_VAT_FILTER "ORDER BY node, " VAT_ORDER,
     1, {"v_schedule"}},
    {"snapshots",
     "SELECT node, vat_id, snap_pos, substr(snapshot_id, 1, 12) AS snapshot_id, save_time,"
     " uncompressed_size, compressed_size, uncompressed_delta, save_seconds, compress_seconds, in_use"
     " FROM v_snapshots" NODE_VAT_FILTER
     "ORDER BY node, save_time IS NULL, save_time, " VAT_ORDER ", snap_pos",
     1, {"v_snapshots"}},
    {"blocks",
     "SELECT node, block_height, block_time, cranks, deliveries, computrons, duration"
     " FROM v_blocks WHERE (?1 IS NULL OR node = ?1) AND ?2 IS NULL ORDER BY node, block_height",
     0, {"v_blocks"}},
    {"slow-blocks",
     "SELECT b.node, b.block_height, b.block_seconds AS seconds, b.run_seconds, b.commit_seconds, b.runs,"
     " b.deliveries, b.computrons,"
     " (SELECT d.vat_id || COALESCE(' ' || v.name, '') FROM deliveries d"
     "   LEFT JOIN vats v ON v.node = d.node AND v.vat_id = d.vat_id"
     "   WHERE d.node = b.node AND d.block_height = b.block_height AND d.replay = 0 AND d.superseded = 0"
     "   GROUP BY d.vat_id ORDER BY sum(d.seconds) DESC, d.vat_id LIMIT 1) AS top_vat,"
     " (SELECT d.vat_id || ' ' || COALESCE(d.dispatch, '?') || COALESCE(' ' || d.method, '') FROM deliveries d"
     "   WHERE d.node = b.node AND d.block_height = b.block_height AND d.replay = 0 AND d.superseded = 0"
     "   ORDER BY d.seconds IS NULL, d.seconds DESC, d.line LIMIT 1) AS top_delivery,"
     " (SELECT max(d.seconds) FROM deliveries d"
     "   WHERE d.node = b.node AND d.block_height = b.block_height AND d.replay = 0 AND d.superseded = 0) AS top_delivery_seconds"
     " FROM blocks b WHERE b.block_seconds IS NOT NULL AND (?1 IS NULL OR b.node = ?1) AND ?2 IS NULL"
     " ORDER BY b.block_seconds DESC, b.node, b.block_height LIMIT ?3",
     0, {"blocks", "deliveries", "vats"}},
    {"costs",
     "SELECT period, node, grp AS \"group\", count, seconds, p50_s, p95_s, max_s, computrons, p50_computrons,"
     " p95_computrons, max_computrons, boyd_share FROM temp.costs ORDER BY seq",
     1, {"deliveries", "vats", "runs"}},
    {"anomaly-counts",
     "SELECT node, kind, vat_id, severity, count FROM v_anomaly_counts" NODE_VAT_FILTER
     "ORDER BY node, kind, " VAT_ORDER,
     1, {"v_anomaly_counts"}},
    {"heap",
     /* ?1 node / ?2 vat; snapshots and their incarnation (the span that holds the save position) */
     "WITH s AS (SELECT v.node, v.vat_id, v.snap_pos, v.uncompressed_size AS size, v.save_time,"
     " (SELECT p.incarnation FROM spans p WHERE p.node = v.node AND p.vat_id = v.vat_id AND p.start_pos <= v.snap_pos"
     " ORDER BY p.start_pos DESC LIMIT 1) AS inc"
     " FROM v_snapshots v WHERE v.uncompressed_size IS NOT NULL AND (?1 IS NULL OR v.node = ?1)"
     " AND (?2 IS NULL OR v.vat_id = ?2)),"
     " c AS (SELECT * FROM (SELECT s.*, row_number() OVER (PARTITION BY node, vat_id ORDER BY snap_pos DESC) AS rn"
     " FROM s) WHERE rn = 1),"
     " f AS (SELECT * FROM (SELECT s.*, row_number() OVER (PARTITION BY s.node, s.vat_id ORDER BY s.snap_pos) AS rn"
     " FROM s JOIN c ON c.node = s.node AND c.vat_id = s.vat_id AND s.inc IS c.inc) WHERE rn = 1),"
     " g AS (SELECT c.node, c.vat_id, c.inc, c.snap_pos, c.size, c.save_time,"
     " CASE WHEN c.save_time > f.save_time THEN (c.size - f.size) * 86400.0 / (c.save_time - f.save_time) END AS per_day,"
     " CASE WHEN c.snap_pos > f.snap_pos THEN (c.size - f.size) * 1000.0 / (c.snap_pos - f.snap_pos) END AS per_1k"
     " FROM c JOIN f ON f.node = c.node AND f.vat_id = c.vat_id)"
     " SELECT node, vat_id, inc AS incarnation, snap_pos, size AS heap_bytes, save_time AS last_save_time,"
     " CAST(round(per_day) AS INTEGER) AS growth_per_day, CAST(round(per_1k) AS INTEGER) AS growth_per_1k_deliveries,"
     " CASE WHEN size >= 500000000 THEN 'crossed' WHEN per_day > 0 THEN save_time + (500000000 - size) * 86400.0 / per_day"
     " END AS reach_500mb_time,"
     " CASE WHEN size >= 1073741824 THEN 'crossed' WHEN per_day > 0 THEN save_time + (1073741824 - size) * 86400.0 / per_day"
     " END AS reach_1gib_time,"
     " CASE WHEN size >= 2147483648 THEN 'crossed' WHEN per_day > 0 THEN save_time + (2147483648 - size) * 86400.0 / per_day"
     " END AS reach_2gib_time"
     " FROM g ORDER BY node, " VAT_ORDER,
     1, {"v_snapshots", "spans"}},
    {"anomalies",
     "SELECT node, vat_id, kind, severity, incarnation, position, source, line, detail"
     " FROM anomalies" NODE_VAT_FILTER "ORDER BY node, vat_id IS NOT NULL, " VAT_ORDER
     ", position, kind, line",
     1, {"anomalies", "v_anomaly_counts"}},
    {NULL, NULL, 0, {NULL}},
};

/* ---- table output: rows are buffered to size the columns ---- */

struct cell {
    char *text;
    int right; /* a number (its column aligns right) */
};

struct table {
    int ncol;
    char **names;
    struct cell *cells; /* nrow * ncol */
    size_t nrow, cap;
};

/* Display width in code points (text is valid UTF-8 after sp_excerpt). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) w++;
    return w;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Format column i of the current row for a human: times as UTC, other
 * reals with millisecond precision, text made printable. */
static char *cell_text(sqlite3_stmt *st, int i, int *right)
{
    const char *name = sqlite3_column_name(st, i);
    int is_time = ends_with(name, "time");
    char buf[1100];

    *right = 1;
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: *right = 0; return sp_xstrdup("-");
    case SQLITE_INTEGER:
    case SQLITE_FLOAT: {
        double v = sqlite3_column_double(st, i);
        if (is_time && isfinite(v) && v > 0 && v < 1e11) {
            time_t secs = (time_t)v;
            struct tm tm;
            char date[32];
            gmtime_r(&secs, &tm);
            strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
            if (sqlite3_column_type(st, i) == SQLITE_FLOAT) {
                int ms = (int)((v - (double)secs) * 1000.0);
                if (ms > 999) ms = 999;
                snprintf(buf, sizeof(buf), "%s.%03dZ", date, ms < 0 ? 0 : ms);
            } else {
                snprintf(buf, sizeof(buf), "%sZ", date);
            }
        } else if (sqlite3_column_type(st, i) == SQLITE_INTEGER) {
            snprintf(buf, sizeof(buf), "%lld", (long long)sqlite3_column_int64(st, i));
        } else {
            snprintf(buf, sizeof(buf), "%.3f", v);
        }
        return sp_xstrdup(buf);
    }
    default: {
        const char *t = (const char *)sqlite3_column_text(st, i);
        *right = 0;
        sp_excerpt(t ? t : "", (size_t)sqlite3_column_bytes(st, i), 1000, buf, sizeof(buf));
        return sp_xstrdup(buf);
    }
    }
}

static void table_free(struct table *t)
{
    for (size_t k = 0; k < t->nrow * (size_t)t->ncol; k++) free(t->cells[k].text);
    free(t->cells);
    for (int i = 0; i < t->ncol; i++) free(t->names[i]);
    free(t->names);
}

static void table_print(FILE *out, const struct table *t)
{
    size_t *w = sp_xcalloc((size_t)t->ncol, sizeof(*w));
    int *right = sp_xcalloc((size_t)t->ncol, sizeof(*right));

    /* A column is right-aligned when any of its values is a number. */
    for (int i = 0; i < t->ncol; i++) w[i] = text_width(t->names[i]);
    for (size_t r = 0; r < t->nrow; r++)
        for (int i = 0; i < t->ncol; i++) {
            const struct cell *c = &t->cells[r * (size_t)t->ncol + (size_t)i];
            size_t cw = text_width(c->text);
            if (cw > w[i]) w[i] = cw;
            if (c->right) right[i] = 1;
        }
    for (int i = 0; i < t->ncol; i++)
        fprintf(out, "%s%-*s", i ? "  " : "", i == t->ncol - 1 ? 0 : (int)w[i], t->names[i]);
    fputc('\n', out);
    for (int i = 0; i < t->ncol; i++) {
        fputs(i ? "  " : "", out);
        for (size_t k = 0; k < w[i]; k++) fputc('-', out);
    }
    fputc('\n', out);
    for (size_t r = 0; r < t->nrow; r++) {
        for (int i = 0; i < t->ncol; i++) {
            const struct cell *c = &t->cells[r * (size_t)t->ncol + (size_t)i];
            size_t pad = w[i] - text_width(c->text);
            int last = i == t->ncol - 1;
            fputs(i ? "  " : "", out);
            if (right[i])
                for (size_t k = 0; k < pad; k++) fputc(' ', out);
            fputs(c->text, out);
            if (!right[i] && !last)
                for (size_t k = 0; k < pad; k++) fputc(' ', out);
        }
        fputc('\n', out);
    }
    if (t->nrow == 0) fputs("(no rows)\n", out);
    free(right);
    free(w);
}

/* ---- CSV (RFC 4180: CRLF line ends, fields quoted when needed; always valid UTF-8) ---- */

static void csv_field(FILE *out, const char *s, size_t n)
{
    int quote = 0;
    for (size_t k = 0; k < n; k++)
        if (s[k] == ',' || s[k] == '"' || s[k] == '\r' || s[k] == '\n') quote = 1;
    if (!quote) {
        sp_ux_utf8_write(out, s, n);
        return;
    }
    fputc('"', out);
    for (size_t k = 0; k < n;) {
        const char *q = memchr(s + k, '"', n - k);
        size_t end = q ? (size_t)(q - s) + 1 : n;
        sp_ux_utf8_write(out, s + k, end - k);
        if (q) fputc('"', out); /* "" inside a quoted field */
        k = end;
    }
    fputc('"', out);
}

static void csv_col(FILE *out, sqlite3_stmt *st, int i)
{
    char buf[64];

    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: break;
    case SQLITE_INTEGER:
        fprintf(out, "%lld", (long long)sqlite3_column_int64(st, i));
        break;
    case SQLITE_FLOAT:
        snprintf(buf, sizeof(buf), "%.16g", sqlite3_column_double(st, i));
        fputs(buf, out);
        break;
    default: {
        const char *t = (const char *)sqlite3_column_text(st, i);
        csv_field(out, t ? t : "", (size_t)sqlite3_column_bytes(st, i));
    }
    }
}

/*
 * Run one report statement (parameters already bound) and print all its
 * rows in fmt. Returns 0 or a sysexits code (message printed).
 */
static int run_report(sqlite3 *db, sqlite3_stmt *st, enum fmt fmt, FILE *out)
{
    int ncol = sqlite3_column_count(st), rc;
    struct table t = {0};
    size_t nrow = 0;

    if (fmt == FMT_TABLE) {
        t.ncol = ncol;
        t.names = sp_xcalloc((size_t)ncol, sizeof(*t.names));
        for (int i = 0; i < ncol; i++) t.names[i] = sp_xstrdup(sqlite3_column_name(st, i));
    } else if (fmt == FMT_CSV) {
        for (int i = 0; i < ncol; i++) {
            const char *name = sqlite3_column_name(st, i);
            if (i) fputc(',', out);
            csv_field(out, name, strlen(name));
        }
        fputs("\r\n", out);
    } else {
        fputc('[', out);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (fmt == FMT_TABLE) {
            if (t.nrow == t.cap) {
                t.cap = t.cap ? t.cap * 2 : 64;
                t.cells = sp_xrealloc(t.cells, t.cap * (size_t)ncol * sizeof(*t.cells));
            }
            for (int i = 0; i < ncol; i++) {
                struct cell *c = &t.cells[t.nrow * (size_t)ncol + (size_t)i];
                c->text = cell_text(st, i, &c->right);
            }
            t.nrow++;
        } else if (fmt == FMT_CSV) {
            for (int i = 0; i < ncol; i++) {
                if (i) fputc(',', out);
                csv_col(out, st, i);
            }
            fputs("\r\n", out);
        } else {
            fputs(nrow ? ",\n{" : "\n{", out);
            for (int i = 0; i < ncol; i++) {
                const char *name = sqlite3_column_name(st, i);
                if (i) fputc(',', out);
                sp_ux_json_str(out, name, strlen(name), 0);
                fputc(':', out);
                sp_ux_json_col(out, st, i, 0);
            }
            fputc('}', out);
        }
        nrow++;
    }
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "slogpipe query: %s\n", sqlite3_errmsg(db));
        if (fmt == FMT_TABLE) table_free(&t);
        return EX_SOFTWARE;
    }
    if (fmt == FMT_TABLE) {
        table_print(out, &t);
        table_free(&t);
    } else if (fmt == FMT_JSON) {
        fputs(nrow ? "\n]\n" : "]\n", out);
    }
    return 0;
}

static int run_named(sqlite3 *db, const struct report *r, const char *node, const char *vat,
                     enum fmt fmt, long long limit)
{
    sqlite3_stmt *st = NULL;
    int rc = sp_ux_prepare("query", db, r->name, r->sql, &st);

    if (rc) return rc;
    sp_ux_bind_text(st, 1, node);
    sp_ux_bind_text(st, 2, vat);
    if (sqlite3_bind_parameter_count(st) >= 3) sqlite3_bind_int64(st, 3, limit);
    rc = run_report(db, st, fmt, stdout);
    sqlite3_finalize(st);
    return rc;
}

static const struct report *find_report(const char *name)
{
    for (const struct report *r = reports; r->name; r++)
        if (strcmp(r->name, name) == 0) return r;
    return NULL;
}

int sp_cmd_query(int argc, char **argv)
{
    enum { O_DB = 256, O_NODE, O_VAT, O_JSON, O_CSV, O_BY, O_PERIOD, O_LIMIT };
    static const struct option opts[] = {
        {"db", required_argument, NULL, O_DB},
        {"node", required_argument, NULL, O_NODE},
        {"vat", required_argument, NULL, O_VAT},
        {"json", no_argument, NULL, O_JSON},
        {"csv", no_argument, NULL, O_CSV},
        {"by", required_argument, NULL, O_BY},
        {"period", required_argument, NULL, O_PERIOD},
        {"limit", required_argument, NULL, O_LIMIT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dbpath = NULL, *node = NULL, *vat = NULL, *name = NULL, *by = NULL, *period = NULL;
    long long limit = 20;
    const struct report *r;
    enum fmt fmt = FMT_TABLE;
    int nfmt = 0, c, rc;
    sqlite3 *db = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_DB: dbpath = optarg; break;
        case O_NODE: node = optarg; break;
        case O_VAT: vat = optarg; break;
        case O_JSON: fmt = FMT_JSON; nfmt++; break;
        case O_CSV: fmt = FMT_CSV; nfmt++; break;
        case O_BY: by = optarg; break;
        case O_PERIOD: period = optarg; break;
        case O_LIMIT: {
            char *end = NULL;
            limit = strtoll(optarg, &end, 10);
            if (!*optarg || *end || limit < 1) {
                fprintf(stderr, "slogpipe query: bad --limit '%s' (a number >= 1)\n", optarg);
                return EX_USAGE;
            }
            break;
        }
        case 'h': fputs(usage_query, stdout); return 0;
        default: fputs(usage_query, stderr); return EX_USAGE;
        }
    }
    if (optind < argc) name = argv[optind++];
    if (!name) {
        fprintf(stderr, "slogpipe query: no REPORT given\n%s", usage_query);
        return EX_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "slogpipe query: unexpected argument '%s'\n", argv[optind]);
        return EX_USAGE;
    }
    if (!(r = find_report(name))) {
        fprintf(stderr, "slogpipe query: unknown report '%s' (see 'slogpipe query --help')\n", name);
        return EX_USAGE;
    }
    if (!dbpath || !*dbpath) {
        fprintf(stderr, "slogpipe query: --db FILE is required\n");
        return EX_USAGE;
    }
    if (nfmt > 1) {
        fprintf(stderr, "slogpipe query: choose one of --json and --csv\n");
        return EX_USAGE;
    }
    if (vat && !r->takes_vat) {
        fprintf(stderr, "slogpipe query: --vat does not apply to '%s'\n", r->name);
        return EX_USAGE;
    }
    if (vat && !sp_ux_valid_vat(vat)) {
        fprintf(stderr, "slogpipe query: bad vat ID '%s' (expected v<number>, e.g. v9)\n", vat);
        return EX_USAGE;
    }
    if ((by || period) && strcmp(r->name, "costs") != 0) {
        fprintf(stderr, "slogpipe query: --by and --period go with 'costs'\n");
        return EX_USAGE;
    }
    if ((rc = sp_ux_open_store("query", dbpath, r->rels, node, &db)) != 0) return rc;
    if (strcmp(r->name, "costs") == 0 && (rc = sp_ux_costs(db, node, vat, by, period)) != 0) {
        sqlite3_close(db);
        return rc;
    }

    if (strcmp(r->name, "anomalies") == 0 && fmt == FMT_TABLE) {
        rc = run_named(db, find_report("anomaly-counts"), node, vat, fmt, limit);
        if (!rc) {
            fputc('\n', stdout);
            rc = run_named(db, r, node, vat, fmt, limit);
        }
    } else {
        rc = run_named(db, r, node, vat, fmt, limit);
    }
    sqlite3_close(db);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("slogpipe query: stdout");
        return EX_IOERR;
    }
    return rc;
}
