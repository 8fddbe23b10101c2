/* cmd_timeline.c - `slogpipe timeline` and `slogpipe anomalies`: read the analysed spans/anomalies out of the SQLite store. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <sqlite3.h>

#include "../core/sp_buf.h"
#include "../core/sp_core.h"
#include "../sinks/sp_store.h"
#include "../timeline/sp_timeline.h"
#include "sp_ux.h"
#include "sp_commands.h"

struct tl_cli {
    const char *db, *node, *vat, *kind;
    int json, analyze;
    int follow;        /* anomalies --follow: keep printing new ones */
    double interval_s; /* ... polling the store this often */
};

static const char *timeline_usage =
    "usage: slogpipe timeline --db FILE|URL [--node N] [--vat vN] [--analyze]\n"
    "Print each vat's transcript spans as analysed by the last ingest: incarnation, [start,end),\n"
    "first/last item type, real deliveries, snapshot IDs (12 chars), hash status and sources\n"
    "(T = swing-store transcript, S = rebuilt from the slog).\n"
    "  --db FILE|URL  slogpipe store: SQLite file or postgresql:// URL (required)\n"
    "  --node N     only this node\n"
    "  --vat vN     only this vat\n"
    "  --analyze    recompute the analysis first (writes to the store)\n"
    "  -h, --help   this text\n";

static const char *anomalies_usage =
    "usage: slogpipe anomalies --db FILE|URL [--kind K] [--node N] [--vat vN] [--json] [--analyze]\n"
    "                         [--follow [--interval SECONDS]]\n"
    "List the anomalies found by the analysis (agoric-formats.md §3.7 kinds). Position is the span\n"
    "start for span-level anomalies and the item position (deliveryNum) for item-level ones.\n"
    "With --follow, keep running and print each new anomaly as an ingest (e.g. `ingest --follow`\n"
    "or a Kafka consumer) commits it, until SIGINT/SIGTERM (exit 0). An anomaly is printed once\n"
    "per key (node, vat, kind, position), even when the analysis rewrites its row.\n"
    "  --db FILE|URL  slogpipe store: SQLite file or postgresql:// URL (required; --follow: SQLite)\n"
    "  --kind K     only this kind (e.g. SPAN_HASH_MISMATCH)\n"
    "  --node N     only this node\n"
    "  --vat vN     only this vat\n"
    "  --json       one JSON object per line instead of a table\n"
    "  --analyze    recompute the analysis first (writes to the store)\n"
    "  --follow     keep printing new anomalies (see above)\n"
    "  --interval S how often --follow looks (default 1, seconds)\n"
    "  -h, --help   this text\n";

/* Parse the shared options; returns -1 to go on, else the exit code. */
static int parse(int argc, char **argv, struct tl_cli *o, int anomalies)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},   {"node", required_argument, NULL, 'n'},
        {"vat", required_argument, NULL, 'v'},  {"kind", required_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'j'},       {"analyze", no_argument, NULL, 'a'},
        {"follow", no_argument, NULL, 'f'},     {"interval", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    const char *usage = anomalies ? anomalies_usage : timeline_usage;
    int ch;
    memset(o, 0, sizeof *o);
    o->interval_s = 1.0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': o->db = optarg; break;
        case 'n': o->node = optarg; break;
        case 'v': o->vat = optarg; break;
        case 'a': o->analyze = 1; break;
        case 'k':
        case 'j':
        case 'f':
        case 'i':
            if (!anomalies) {
                fprintf(stderr, "slogpipe timeline: unknown option --%s\n%s",
                        ch == 'k' ? "kind" : ch == 'j' ? "json" : ch == 'f' ? "follow" : "interval", usage);
                return EX_USAGE;
            }
            if (ch == 'k') {
                o->kind = optarg;
            } else if (ch == 'j') {
                o->json = 1;
            } else if (ch == 'f') {
                o->follow = 1;
            } else {
                char *end;
                o->interval_s = strtod(optarg, &end);
                if (*end || !(o->interval_s >= 0.01 && o->interval_s <= 3600)) {
                    fprintf(stderr, "slogpipe anomalies: --interval wants seconds in [0.01, 3600], got '%s'\n%s",
                            optarg, usage);
                    return EX_USAGE;
                }
            }
            break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "slogpipe %s: unexpected argument '%s'\n%s", anomalies ? "anomalies" : "timeline",
                argv[optind], usage);
        return EX_USAGE;
    }
    if (!o->db) {
        fprintf(stderr, "slogpipe %s: --db FILE is required\n%s", anomalies ? "anomalies" : "timeline", usage);
        return EX_USAGE;
    }
    if (o->kind) {
        int ok = 0;
        for (int i = 0; sp_anomaly_kinds[i]; i++) ok |= strcmp(sp_anomaly_kinds[i], o->kind) == 0;
        if (!ok) {
            fprintf(stderr, "slogpipe anomalies: unknown kind '%s' (see agoric-formats.md §3.7)\n", o->kind);
            return EX_USAGE;
        }
    }
    return -1;
}

/* rels: what the command reads, copied from a PostgreSQL store (sp_ux_open_store) */
static int open_db(const struct tl_cli *o, sqlite3 **db, const char *const *rels)
{
    int flags = o->analyze ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
    if (sp_store_is_pg(o->db)) {
        int rc;
        if (o->analyze || o->follow) {
            /* the batch analysis is SQLite SQL (on PostgreSQL spans and
             * anomalies come from the ingest's streaming stage); --follow
             * polls the file, the PostgreSQL copy is one snapshot */
            fprintf(stderr, "slogpipe: --%s needs a SQLite store (the --db given is PostgreSQL)\n",
                    o->analyze ? "analyze" : "follow");
            return EX_USAGE;
        }
        rc = sp_ux_open_store("timeline", o->db, rels, o->node, db);
        return rc ? rc : -1;
    }
    if (sqlite3_open_v2(o->db, db, flags, NULL) != SQLITE_OK) {
        fprintf(stderr, "slogpipe: %s: %s\n", o->db, *db ? sqlite3_errmsg(*db) : "cannot open");
        sqlite3_close(*db);
        *db = NULL;
        return EX_NOINPUT;
    }
    sqlite3_busy_timeout(*db, 10000);
    if (o->analyze) {
        struct sp_analysis_opts ao;
        struct sp_err err = {0};
        struct sp_sink_opts so = {0};
        void *sink = NULL;
        /* a database written by an older slogpipe: apply the newer migrations
         * first (the analysis reads e.g. the `sources` table of 005) */
        if (sp_sink_sqlite.open(&sink, o->db, &so, &err) != SP_OK) {
            fprintf(stderr, "slogpipe: %s: %s\n", o->db, err.msg);
            sqlite3_close(*db);
            *db = NULL;
            return EX_IOERR;
        }
        sp_sink_sqlite.close(sink);
        sp_analysis_opts_init(&ao);
        ao.node = o->node;
        if (sp_analyze(*db, &ao, NULL, NULL, &err) != SP_OK) {
            fprintf(stderr, "slogpipe: %s: %s\n", o->db, err.msg);
            sqlite3_close(*db);
            *db = NULL;
            return EX_SOFTWARE;
        }
    }
    return -1;
}

static const char *col(sqlite3_stmt *st, int i, const char *dflt)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : dflt;
}

static void bind_filters(sqlite3_stmt *st, const struct tl_cli *o)
{
    sqlite3_bind_text(st, 1, o->node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, o->vat, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, o->kind, -1, SQLITE_STATIC);
}

static int sql_fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "slogpipe: %s: %s (was the store analysed? run `slogpipe ingest` or use --analyze)\n", what,
            sqlite3_errmsg(db));
    return EX_SOFTWARE;
}

int sp_cmd_timeline(int argc, char **argv)
{
    struct tl_cli o;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = parse(argc, argv, &o, 0);
    if (rc >= 0) return rc;
    static const char *const rels[] = {"spans", "vats", "anomalies", NULL};
    if ((rc = open_db(&o, &db, rels)) >= 0) return rc;
    rc = sqlite3_prepare_v2(
        db,
        "SELECT s.node, s.vat_id, s.incarnation, s.start_pos, s.end_pos, s.first_type, s.last_type, s.is_current, "
        "s.hash_ok, s.deliveries, s.from_transcript, s.from_slog, s.save_snapshot_id, s.load_snapshot_id, "
        "v.name, v.worker_type, v.terminated, (SELECT count(*) FROM anomalies a WHERE a.node=s.node AND "
        "a.vat_id=s.vat_id AND a.position=s.start_pos) "
        "FROM spans s LEFT JOIN vats v ON v.node=s.node AND v.vat_id=s.vat_id "
        "WHERE (?1 IS NULL OR s.node=?1) AND (?2 IS NULL OR s.vat_id=?2) "
        "ORDER BY s.node, CAST(substr(s.vat_id, 2) AS INTEGER), s.vat_id, s.start_pos",
        -1, &st, NULL);
    if (rc != SQLITE_OK) {
        rc = sql_fail(db, "read spans");
        sqlite3_close(db);
        return rc;
    }
    bind_filters(st, &o);
    char cur_node[256] = "", cur_vat[64] = "";
    int rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *node = col(st, 0, ""), *vat = col(st, 1, "");
        if (strcmp(node, cur_node) != 0 || strcmp(vat, cur_vat) != 0) {
            snprintf(cur_node, sizeof cur_node, "%s", node);
            snprintf(cur_vat, sizeof cur_vat, "%s", vat);
            printf("%snode %s  vat %s", rows ? "\n" : "", node, vat);
            if (sqlite3_column_type(st, 14) != SQLITE_NULL) printf(" (%s)", col(st, 14, ""));
            if (sqlite3_column_type(st, 15) != SQLITE_NULL) printf("  worker %s", col(st, 15, ""));
            if (sqlite3_column_int(st, 16)) printf("  terminated");
            printf("\n  %3s %8s %8s %6s  %-17s  %-17s %5s  %-12s  %-12s  %-8s %-3s %s\n", "inc", "start", "end",
                   "len", "first", "last", "dlv", "save", "load", "hash", "src", "anom");
        }
        char inc[24], end[24], len[24], save[13], load[13];
        const char *hash_s;
        if (sqlite3_column_type(st, 2) == SQLITE_NULL) snprintf(inc, sizeof inc, "?");
        else snprintf(inc, sizeof inc, "%lld", (long long)sqlite3_column_int64(st, 2));
        long long s0 = sqlite3_column_int64(st, 3), e0 = sqlite3_column_int64(st, 4);
        if (e0 < 0) {
            snprintf(end, sizeof end, "open");
            snprintf(len, sizeof len, "?");
        } else {
            snprintf(end, sizeof end, "%lld", e0);
            snprintf(len, sizeof len, "%lld", e0 - s0);
        }
        snprintf(save, sizeof save, "%.12s", col(st, 12, "-"));
        snprintf(load, sizeof load, "%.12s", col(st, 13, "-"));
        int hok = sqlite3_column_int(st, 8);
        hash_s = hok == 1 ? "ok" : hok == 0 ? "MISMATCH" : "-";
        char src[4];
        snprintf(src, sizeof src, "%s%s", sqlite3_column_int(st, 10) ? "T" : "", sqlite3_column_int(st, 11) ? "S" : "");
        printf("  %3s %8lld %8s %6s  %-17s  %-17s %5lld  %-12s  %-12s  %-8s %-3s %lld%s\n", inc, s0, end, len,
               col(st, 5, "-"), col(st, 6, "-"), (long long)sqlite3_column_int64(st, 9), save, load, hash_s, src,
               (long long)sqlite3_column_int64(st, 17), sqlite3_column_int(st, 7) ? "  current" : "");
        rows++;
    }
    if (rc != SQLITE_DONE) {
        rc = sql_fail(db, "read spans");
    } else {
        rc = 0;
        if (!rows) fprintf(stderr, "slogpipe timeline: no spans%s%s\n", o.vat ? " for vat " : "", o.vat ? o.vat : "");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (fflush(stdout) != 0) return EX_IOERR;
    return rc;
}

/* Keys of the anomalies printed so far (--follow prints each key once). */
struct seen {
    char **keys;
    size_t n, cap;
};

static int seen_add(struct seen *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], key) == 0) return 0;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->keys = sp_xrealloc(s->keys, s->cap * sizeof *s->keys);
    }
    s->keys[s->n++] = sp_xstrdup(key);
    return 1;
}

static void print_anomaly(sqlite3_stmt *st, const struct tl_cli *o, struct sp_buf *b)
{
    if (o->json) {
        static const char *const keys[] = {"node", "vat_id", "kind", "incarnation", "position",
                                           "severity", "detail", "source", "line"};
        sp_buf_reset(b);
        sp_buf_putc(b, '{');
        for (int i = 0; i < 9; i++) {
            if (i) sp_buf_putc(b, ',');
            sp_buf_json_str(b, keys[i], strlen(keys[i]));
            sp_buf_putc(b, ':');
            int t = sqlite3_column_type(st, i);
            const char *v = col(st, i, "");
            if (t == SQLITE_NULL) sp_buf_append_c(b, "null");
            else if (t == SQLITE_INTEGER || i == 6) sp_buf_append_c(b, v);
            else sp_buf_json_str(b, v, strlen(v));
        }
        sp_buf_putc(b, '}');
        printf("%s\n", b->data);
    } else {
        char pos[24], inc[24], line[24];
        snprintf(pos, sizeof pos, "%s", col(st, 4, "-"));
        snprintf(inc, sizeof inc, "%s", col(st, 3, "-"));
        snprintf(line, sizeof line, "%s", col(st, 8, ""));
        printf("%-10s %-6s %-32s pos %-7s inc %-3s %-7s %s%s%s  %s\n", col(st, 0, ""), col(st, 1, "-"),
               col(st, 2, ""), pos, inc, col(st, 5, ""), col(st, 7, "-"), *line ? ":" : "", line,
               col(st, 6, "{}"));
    }
}

static volatile sig_atomic_t follow_stop;
static void on_stop(int sig)
{
    (void)sig;
    follow_stop = 1;
}

/* One pass over the anomalies table: print the rows whose key was not
 * printed yet. Returns the number printed, or -1 (message on stderr). */
static int print_new(sqlite3 *db, const struct tl_cli *o, struct seen *seen, struct sp_buf *b)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT node, vat_id, kind, incarnation, position, severity, detail, source, line "
                                "FROM anomalies WHERE (?1 IS NULL OR node=?1) AND (?2 IS NULL OR vat_id=?2) AND "
                                "(?3 IS NULL OR kind=?3) ORDER BY node, kind, vat_id, position, rowid",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) {
        sql_fail(db, "read anomalies");
        sqlite3_finalize(st);
        return -1;
    }
    bind_filters(st, o);
    int rows = 0;
    char key[512];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        snprintf(key, sizeof key, "%s\x1f%s\x1f%s\x1f%s", col(st, 0, ""), col(st, 1, ""), col(st, 2, ""),
                 col(st, 4, ""));
        if (!seen_add(seen, key)) continue;
        print_anomaly(st, o, b);
        rows++;
    }
    if (rc != SQLITE_DONE) {
        sql_fail(db, "read anomalies");
        rows = -1;
    }
    sqlite3_finalize(st);
    return rows;
}

int sp_cmd_anomalies(int argc, char **argv)
{
    struct tl_cli o;
    sqlite3 *db = NULL;
    struct sp_buf b;
    struct seen seen = {0};
    int rc = parse(argc, argv, &o, 1);
    if (rc >= 0) return rc;
    static const char *const rels[] = {"anomalies", NULL};
    if ((rc = open_db(&o, &db, rels)) >= 0) return rc;
    sp_buf_init(&b, 64u << 20);
    int rows = print_new(db, &o, &seen, &b);
    rc = rows < 0 ? EX_SOFTWARE : 0;
    if (rc == 0 && o.follow) {
        /* stdout may be a pipe to another tool: each anomaly goes out as it is found */
        fflush(stdout);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        while (!follow_stop) {
            struct timespec ts = {(time_t)o.interval_s, (long)((o.interval_s - (double)(time_t)o.interval_s) * 1e9)};
            nanosleep(&ts, NULL);
            if (follow_stop) break;
            int n = print_new(db, &o, &seen, &b);
            if (n < 0) {
                rc = EX_SOFTWARE;
                break;
            }
            rows += n;
            if (n > 0 && fflush(stdout) != 0) {
                rc = EX_IOERR;
                break;
            }
        }
    }
    if (!o.json && rc == 0) fprintf(stderr, "%d anomal%s\n", rows, rows == 1 ? "y" : "ies");
    sp_buf_free(&b);
    for (size_t i = 0; i < seen.n; i++) free(seen.keys[i]);
    free(seen.keys);
    sqlite3_close(db);
    if (fflush(stdout) != 0) return EX_IOERR;
    return rc;
}
