/* cmd_extract.c - `slogpipe extract`: write stored transcript spans as swing-store artifact files (transcript.vN.START.END). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "../core/sp_core.h"
#include "../core/sp_hash.h"
#include "sp_ux.h"

static const char usage_extract[] =
    "usage: slogpipe extract --db FILE|URL --vat vN [--node N] [--span START | --incarnation I] -o DIR\n"
    "\n"
    "Writes a vat's transcript spans from the database as swing-store export\n"
    "artifacts: DIR/transcript.vN.START.END holds the span's items, one per\n"
    "line, byte for byte as stored, so the span hash still verifies and replay\n"
    "tools (and swing-store import) can consume them. Without --span or\n"
    "--incarnation every span of the vat is written. Each file is checked\n"
    "against the stored span hash; written paths are printed on stdout.\n"
    "\n"
    "Options:\n"
    "  --db FILE|URL      database written by 'slogpipe ingest' (read-only): a SQLite\n"
    "                     file or a postgresql:// URL\n"
    "  --vat vN           the vat (required)\n"
    "  --node N           the node (required when the database holds several)\n"
    "  --span START       only the span starting at position START\n"
    "  --incarnation I    only the spans of incarnation I\n"
    "  -o, --output DIR   output directory (created if missing)\n"
    "  -h, --help         this text\n"
    "\n"
    "A span whose items are not all in the database (pruned history,\n"
    "keepTranscripts=false, state-synced node) is refused, as is a span whose\n"
    "items do not hash to the stored span hash.\n"
    "Exit status: 0 ok, 64 usage, 65 span refused or not found, 66 no\n"
    "database, 73 cannot create output.\n";

struct span {
    long long start, end;
    char *hash; /* stored hash, NULL if unknown */
};

static int parse_ll(const char *s, long long *out)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || !end || end == s || *end || v < 0) return -1;
    *out = v;
    return 0;
}

/* Find the single node holding spans of vat; 0 and *node (malloc'd) on
 * success, else a sysexits code (message printed). */
static int pick_node(sqlite3 *db, const char *vat, char **node)
{
    sqlite3_stmt *st = NULL;
    int rc, n = 0;

    *node = NULL;
    rc = sp_ux_prepare("extract", db, "nodes",
                       "SELECT DISTINCT node FROM transcript_spans WHERE vat_id = ?1 ORDER BY node", &st);
    if (rc) return rc;
    sp_ux_bind_text(st, 1, vat);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        if (n++ == 0) {
            *node = sp_xstrdup(v ? v : "");
        } else {
            if (n == 2) fprintf(stderr, "slogpipe extract: %s has spans on several nodes (%s", vat, *node);
            fprintf(stderr, ", %s", v ? v : "");
        }
    }
    if (n > 1) fprintf(stderr, "): choose one with --node\n");
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "slogpipe extract: %s\n", sqlite3_errmsg(db));
        free(*node);
        *node = NULL;
        return EX_SOFTWARE;
    }
    if (n == 0) {
        fprintf(stderr, "slogpipe extract: no transcript spans for %s in the database\n", vat);
        return EX_DATAERR;
    }
    if (n > 1) {
        free(*node);
        *node = NULL;
        return EX_USAGE;
    }
    return 0;
}

/*
 * Write one span to DIR/transcript.VAT.START.END (via a temporary name and
 * rename). Returns 0, EX_DATAERR when the span is incomplete or its hash
 * does not verify (no file left behind), EX_CANTCREAT / EX_IOERR on write
 * failures, EX_SOFTWARE on SQLite errors. Messages go to stderr.
 */
static int write_span(sqlite3 *db, sqlite3_stmt *items, const char *node, const char *vat,
                      const struct span *sp, const char *dir)
{
    char name[128], *path = NULL, *tmp = NULL;
    FILE *f = NULL;
    struct sp_span_hash h;
    long long want = sp->start, n = 0, hole = -1;
    int rc, ret = 0;

    snprintf(name, sizeof(name), "transcript.%s.%lld.%lld", vat, sp->start, sp->end);
    path = sp_xmalloc(strlen(dir) + strlen(name) + 2);
    tmp = sp_xmalloc(strlen(dir) + strlen(name) + 8);
    snprintf(path, strlen(dir) + strlen(name) + 2, "%s/%s", dir, name);
    snprintf(tmp, strlen(dir) + strlen(name) + 8, "%s/.%s.tmp", dir, name);

    f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "slogpipe extract: %s: %s\n", tmp, strerror(errno));
        ret = EX_CANTCREAT;
        goto fail;
    }
    sp_span_hash_init(&h);
    sqlite3_reset(items);
    sqlite3_bind_text(items, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_text(items, 2, vat, -1, SQLITE_STATIC);
    sqlite3_bind_int64(items, 3, sp->start);
    sqlite3_bind_int64(items, 4, sp->end);
    while ((rc = sqlite3_step(items)) == SQLITE_ROW) {
        long long pos = sqlite3_column_int64(items, 0);
        const char *item = (const char *)sqlite3_column_blob(items, 1);
        size_t len = (size_t)sqlite3_column_bytes(items, 1);
        if (hole >= 0 || pos != want) { /* a hole: count what is there, write nothing more */
            if (hole < 0) hole = want;
            n++;
            continue;
        }
        if (!item) item = "";
        if (memchr(item, '\n', len)) {
            fprintf(stderr, "slogpipe extract: %s position %lld: item contains a newline; "
                            "cannot be written as an artifact line\n", vat, pos);
            ret = EX_DATAERR;
            goto fail;
        }
        sp_span_hash_add(&h, item, len);
        if (fwrite(item, 1, len, f) != len || fputc('\n', f) == EOF) {
            fprintf(stderr, "slogpipe extract: %s: %s\n", tmp, strerror(errno));
            ret = EX_IOERR;
            goto fail;
        }
        want++;
        n++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        fprintf(stderr, "slogpipe extract: %s\n", sqlite3_errmsg(db));
        ret = EX_SOFTWARE;
        goto fail;
    }
    if (hole < 0 && n < sp->end - sp->start) hole = want;
    if (hole >= 0) {
        fprintf(stderr, "slogpipe extract: refusing span [%lld,%lld) of %s on node %s: "
                        "%lld of its %lld items are in the database (history pruned?), "
                        "first missing position %lld\n",
                sp->start, sp->end, vat, node, n, sp->end - sp->start, hole);
        ret = EX_DATAERR;
        goto fail;
    }
    if (sp->hash && strcmp(sp->hash, h.hex) != 0) {
        fprintf(stderr, "slogpipe extract: refusing span [%lld,%lld) of %s on node %s: "
                        "items hash to %s, the stored span hash is %s\n",
                sp->start, sp->end, vat, node, h.hex, sp->hash);
        ret = EX_DATAERR;
        goto fail;
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fprintf(stderr, "slogpipe extract: %s: %s\n", tmp, strerror(errno));
        ret = EX_IOERR;
        goto fail;
    }
    if (fclose(f) != 0) {
        f = NULL;
        fprintf(stderr, "slogpipe extract: %s: %s\n", tmp, strerror(errno));
        ret = EX_IOERR;
        goto fail;
    }
    f = NULL;
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "slogpipe extract: %s: %s\n", path, strerror(errno));
        ret = EX_CANTCREAT;
        goto fail;
    }
    printf("%s\n", path);
    if (!sp->hash)
        fprintf(stderr, "slogpipe extract: %s: no stored span hash to verify against (hash %s)\n",
                name, h.hex);
    free(tmp);
    free(path);
    return 0;
fail:
    if (f) {
        fclose(f);
        unlink(tmp);
    }
    free(tmp);
    free(path);
    return ret;
}

int sp_cmd_extract(int argc, char **argv)
{
    enum { O_DB = 256, O_NODE, O_VAT, O_SPAN, O_INC };
    static const struct option opts[] = {
        {"db", required_argument, NULL, O_DB},
        {"node", required_argument, NULL, O_NODE},
        {"vat", required_argument, NULL, O_VAT},
        {"span", required_argument, NULL, O_SPAN},
        {"incarnation", required_argument, NULL, O_INC},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dbpath = NULL, *node_opt = NULL, *vat = NULL, *dir = NULL;
    long long span_start = -1, incarnation = -1;
    char *node = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *spans = NULL, *items = NULL;
    struct span *list = NULL;
    size_t nlist = 0, cap = 0;
    int c, rc = 0, worst = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case O_DB: dbpath = optarg; break;
        case O_NODE: node_opt = optarg; break;
        case O_VAT: vat = optarg; break;
        case O_SPAN:
            if (parse_ll(optarg, &span_start)) goto bad_value;
            break;
        case O_INC:
            if (parse_ll(optarg, &incarnation)) goto bad_value;
            break;
        case 'o': dir = optarg; break;
        case 'h': fputs(usage_extract, stdout); return 0;
        default: fputs(usage_extract, stderr); return EX_USAGE;
        }
        continue;
    bad_value:
        fprintf(stderr, "slogpipe extract: bad value '%s' for --%s (expected a number >= 0)\n", optarg,
                c == O_SPAN ? "span" : "incarnation");
        return EX_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "slogpipe extract: unexpected argument '%s'\n", argv[optind]);
        return EX_USAGE;
    }
    if (!dbpath || !*dbpath || !vat || !dir || !*dir) {
        fprintf(stderr, "slogpipe extract: --db, --vat and -o are required\n%s", usage_extract);
        return EX_USAGE;
    }
    if (!sp_ux_valid_vat(vat)) {
        fprintf(stderr, "slogpipe extract: bad vat ID '%s' (expected v<number>, e.g. v6)\n", vat);
        return EX_USAGE;
    }
    if (span_start >= 0 && incarnation >= 0) {
        fprintf(stderr, "slogpipe extract: --span and --incarnation do not mix\n");
        return EX_USAGE;
    }
    {
        static const char *const rels[] = {"transcript_items", "transcript_spans", NULL};
        if ((rc = sp_ux_open_store("extract", dbpath, rels, node_opt, &db)) != 0) return rc;
    }
    if (node_opt) {
        node = sp_xstrdup(node_opt);
    } else if ((rc = pick_node(db, vat, &node)) != 0) {
        goto done;
    }

    rc = sp_ux_prepare("extract", db, "spans",
                       "SELECT start_pos, end_pos, hash FROM transcript_spans"
                       " WHERE node = ?1 AND vat_id = ?2 AND (?3 < 0 OR start_pos = ?3)"
                       " AND (?4 < 0 OR incarnation = ?4) ORDER BY start_pos",
                       &spans);
    if (rc) goto done;
    rc = sp_ux_prepare("extract", db, "items",
                       "SELECT position, item FROM transcript_items"
                       " WHERE node = ?1 AND vat_id = ?2 AND position >= ?3 AND position < ?4"
                       " ORDER BY position",
                       &items);
    if (rc) goto done;
    sqlite3_bind_text(spans, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_text(spans, 2, vat, -1, SQLITE_STATIC);
    sqlite3_bind_int64(spans, 3, span_start);
    sqlite3_bind_int64(spans, 4, incarnation);
    while ((rc = sqlite3_step(spans)) == SQLITE_ROW) {
        const char *hash = (const char *)sqlite3_column_text(spans, 2);
        if (nlist == cap) {
            cap = cap ? cap * 2 : 64;
            list = sp_xrealloc(list, cap * sizeof(*list));
        }
        list[nlist].start = sqlite3_column_int64(spans, 0);
        list[nlist].end = sqlite3_column_int64(spans, 1);
        list[nlist].hash = hash ? sp_xstrdup(hash) : NULL;
        nlist++;
    }
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "slogpipe extract: %s\n", sqlite3_errmsg(db));
        rc = EX_SOFTWARE;
        goto done;
    }
    rc = 0;
    if (nlist == 0) {
        if (span_start >= 0)
            fprintf(stderr, "slogpipe extract: %s on node %s has no span starting at %lld\n", vat, node,
                    span_start);
        else if (incarnation >= 0)
            fprintf(stderr, "slogpipe extract: %s on node %s has no spans of incarnation %lld\n", vat,
                    node, incarnation);
        else
            fprintf(stderr, "slogpipe extract: %s on node %s has no transcript spans\n", vat, node);
        rc = EX_DATAERR;
        goto done;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "slogpipe extract: %s: %s\n", dir, strerror(errno));
        rc = EX_CANTCREAT;
        goto done;
    }
    for (size_t k = 0; k < nlist; k++) {
        int r = write_span(db, items, node, vat, &list[k], dir);
        /* Keep going past refused spans; creation/IO failures stop the run. */
        if (r == EX_CANTCREAT || r == EX_IOERR || r == EX_SOFTWARE) {
            rc = r;
            goto done;
        }
        if (r && !worst) worst = r;
    }
    rc = worst;
done:
    for (size_t k = 0; k < nlist; k++) free(list[k].hash);
    free(list);
    sqlite3_finalize(spans);
    sqlite3_finalize(items);
    sqlite3_close(db);
    free(node);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("slogpipe extract: stdout");
        return EX_IOERR;
    }
    return rc;
}
