/* test_sink_realdata.c - the real `basic` slog through sp_normalize into the SQLite and JSONL sinks, checked against FACTS.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>
#include <zlib.h>

#include "sp_test.h"
#include "sink_fixtures.h"
#include "../../core/sp_buf.h"
#include "../../normalize/sp_normalize.h"
#include "../../sinks/sp_jsonl.h"
#include "../../sinks/sp_sqlite.h"
#include "schema_check.h"

static long long q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -999;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        return v;
    }
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static const char *q_text(sqlite3 *db, const char *sql)
{
    static char buf[512];
    sqlite3_stmt *st = NULL;
    snprintf(buf, sizeof(buf), "(none)");
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return buf;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

/* Feed every line of the gzip slog through the normalizer into both sinks.
 * Returns the number of lines. The context fields (block, crank) are left
 * unknown: that is the pipeline's job, not the sinks'. */
static long feed(const char *gz, void *sq, void *jl)
{
    gzFile f = gzopen(gz, "rb");
    struct sp_normalizer *nz = sp_normalizer_new();
    struct sp_buf buf;
    char chunk[1 << 16];
    long line = 0, bad = 0;
    int64_t off = 0;
    struct sp_err err = {0};
    int n;

    CHECK(f != NULL);
    if (!f) return 0;
    sp_buf_init(&buf, 0);
    while ((n = gzread(f, chunk, sizeof(chunk))) > 0) {
        size_t start = 0;
        sp_buf_append(&buf, chunk, (size_t)n);
        for (;;) {
            char *nl = memchr(buf.data + start, '\n', buf.len - start);
            struct sp_origin o;
            struct sp_event ev;
            size_t len;
            if (!nl) break;
            len = (size_t)(nl - (buf.data + start));
            line++;
            o.node = SP_STR_LIT("basic");
            o.source = SP_STR_LIT("slog.jsonl.gz");
            o.line = line;
            o.offset = off;
            if (sp_normalize_line(nz, buf.data + start, len, &o, &ev, &err) != SP_OK) {
                fprintf(stderr, "line %ld: %s\n", line, err.msg);
                bad++;
            } else {
                struct sp_record r = fx_rec_event(&ev);
                ev.ctx_block_height = -1;
                ev.ctx_crank_num = -1;
                ev.ctx_epoch = 0;
                if (sp_sink_sqlite.write(sq, &r, &err) != SP_OK) {
                    fprintf(stderr, "sqlite line %ld: %s\n", line, err.msg);
                    bad++;
                }
                if (sp_sink_jsonl.write(jl, &r, &err) != SP_OK) {
                    fprintf(stderr, "jsonl line %ld: %s\n", line, err.msg);
                    bad++;
                }
            }
            off += (int64_t)len + 1;
            start += len + 1;
        }
        sp_buf_consume(&buf, start);
    }
    CHECK_INT(bad, 0);
    gzclose(f);
    sp_buf_free(&buf);
    sp_normalizer_destroy(nz);
    return line;
}

/* Validate every `stride`-th line of a JSONL file against the schema (the
 * others are only counted); each must be the event of its line. Returns
 * the number of lines. */
static long check_jsonl(const char *path, long stride)
{
    FILE *f = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long k = 0, ok = 0;

    CHECK(f != NULL);
    while (f && (n = getline(&line, &cap, f)) > 0) {
        yajl_val v, ln;
        const char *path_line[] = {"line", NULL};
        k++;
        if ((k - 1) % stride) {
            ok++;
            continue;
        }
        CHECK(sp_utf8_valid(line, (size_t)n, NULL));
        v = check_line(line);
        ln = yajl_tree_get(v, path_line, yajl_t_number);
        if (v && ln && YAJL_GET_INTEGER(ln) == k) ok++;
        yajl_tree_free(v);
    }
    free(line);
    if (f) fclose(f);
    CHECK_INT(ok, k);
    return k;
}

/* Open both sinks in dir, feed one data set, commit with a checkpoint. */
static sqlite3 *run_case(const char *dir, const char *name, long stride, void **sq, long *lines)
{
    char dbp[300], jlp[300], gz[300];
    struct sp_sink_opts o = {0};
    struct sp_err err = {0};
    void *jl = NULL;

    snprintf(dbp, sizeof(dbp), "%s/%s.db", dir, name);
    snprintf(jlp, sizeof(jlp), "%s/%s.jsonl", dir, name);
    snprintf(gz, sizeof(gz), "%s/%s/slog.jsonl.gz", SP_TEST_DATA, name);
    *sq = NULL;
    CHECK_INT(sp_sink_sqlite.open(sq, dbp, &o, &err), SP_OK);
    CHECK_INT(sp_sink_jsonl.open(&jl, jlp, &o, &err), SP_OK);
    if (!*sq || !jl) exit(TEST_DONE());
    *lines = feed(gz, *sq, jl);
    {
        struct sp_checkpoint cp = {name, "slog.jsonl.gz", *lines, 0, NULL};
        CHECK_INT(sp_sink_jsonl.commit(jl, &cp, 1, &err), SP_OK);
        sp_sqlite_set_jsonl_bytes(*sq, sp_jsonl_bytes(jl));
        CHECK_INT(sp_sink_sqlite.commit(*sq, &cp, 1, &err), SP_OK);
        CHECK_INT(sp_sqlite_sync(*sq, &err), SP_OK);
    }
    sp_sink_jsonl.close(jl);
    CHECK_INT(check_jsonl(jlp, stride), *lines);
    return sp_sqlite_db(*sq);
}

int main(void)
{
    char dir[256];
    void *sq = NULL;
    long lines;
    sqlite3 *db;

    sp_log_level = SP_LOG_WARN;
    if (!schema_load()) return TEST_DONE();
    fx_tmpdir(dir, sizeof(dir));

    db = run_case(dir, "basic", 1, &sq, &lines);
    CHECK_INT(lines, 24851);
    CHECK_INT(q_int(db, "SELECT count(*) FROM slog_events"), 24851);
    CHECK_INT(q_int(db, "SELECT count(*) FROM slog_events WHERE type='syscall-result'"), 7720);
    /* all types known: raw only for the cosmic-swingset-* lines (the runs part reads them on replay) */
    CHECK_INT(q_int(db, "SELECT count(*) FROM slog_events WHERE raw IS NOT NULL AND type NOT LIKE 'cosmic-swingset-%'"), 0);
    CHECK_INT(q_int(db, "SELECT count(*) FROM slog_events WHERE raw IS NULL AND type LIKE 'cosmic-swingset-%'"), 0);
    /* vats from create-vat / terminate / vat-cleanup-complete */
    CHECK_INT(q_int(db, "SELECT count(*) FROM vats"), 13);
    CHECK_STR(q_text(db, "SELECT name||'|'||dynamic||'|'||manager_type||'|'||status FROM vats WHERE vat_id='v1'"),
              "bootstrap|0|xsnap|alive");
    /* v8's create-vat lines carry only vatID: a row without a name, first line kept */
    CHECK_STR(q_text(db, "SELECT (name IS NULL)||'|'||created_line||'|'||status FROM vats WHERE vat_id='v8'"),
              "1|1437|alive");
    CHECK_STR(q_text(db, "SELECT name||'|'||dynamic FROM vats WHERE vat_id='v9'"), "counter|1");
    CHECK_STR(q_text(db, "SELECT group_concat(vat_id) FROM (SELECT vat_id FROM vats WHERE status='cleaned' "
                         "ORDER BY CAST(substr(vat_id,2) AS INTEGER))"),
              "v10,v11,v12,v13");
    CHECK_INT(q_int(db, "SELECT count(*) FROM vats WHERE terminated_line IS NOT NULL"), 2);
    /* blocks: 27 begin / end-finish / commit-finish */
    CHECK_INT(q_int(db, "SELECT count(*) FROM blocks"), 27);
    CHECK_INT(q_int(db, "SELECT count(*) FROM blocks WHERE committed=1 AND end_time IS NOT NULL "
                        "AND begin_line IS NOT NULL"),
              27);
    /* snapshots: every load counted once, every save row keyed */
    CHECK_INT(q_int(db, "SELECT sum(loads) FROM snapshots"), 152);
    CHECK_INT(q_int(db, "SELECT count(*) FROM snapshots WHERE save_line IS NOT NULL"), 133);
    CHECK_INT(q_int(db, "SELECT count(*) FROM snapshots WHERE vat_id='v6' AND save_line IS NOT NULL"), 42);
    CHECK_INT(q_int(db, "SELECT sum(loads) FROM snapshots WHERE vat_id='v6'"), 46);
    CHECK_INT(q_int(db, "SELECT count(*) FROM snapshots WHERE snapshot_id IS NULL"), 0);
    CHECK_INT(q_int(db, "SELECT count(*) FROM slog_events WHERE type='deliver' AND replay=0 AND vat_id='v6'"), 289);
    CHECK_INT(q_int(db, "SELECT jsonl_bytes > 0 FROM checkpoints"), 1);
    sp_sink_sqlite.close(sq);

#ifdef __SANITIZE_ADDRESS__
    db = run_case(dir, "mainnet", 25, &sq, &lines); /* ASan: validate a sample of the lines */
#else
    db = run_case(dir, "mainnet", 1, &sq, &lines);
#endif
    CHECK_INT(lines, 220097);
    CHECK_INT(q_int(db, "SELECT count(*) FROM slog_events"), 220097);
    CHECK_INT(q_int(db, "SELECT count(*) FROM slog_events WHERE type='syscall'"), 84393);
    CHECK_INT(q_int(db, "SELECT count(*) FROM blocks WHERE committed=1"), 35);
    CHECK_INT(q_int(db, "SELECT sum(loads) FROM snapshots"), 215);
    CHECK_INT(q_int(db, "SELECT count(*) FROM snapshots WHERE save_line IS NOT NULL"), 24);
    CHECK_INT(q_int(db, "SELECT count(*) FROM vats WHERE status='cleaned'"), 4);
    sp_sink_sqlite.close(sq);

    fx_rmdir(dir);
    yajl_tree_free(schema);
    return TEST_DONE();
}
