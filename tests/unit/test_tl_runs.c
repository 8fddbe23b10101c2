/* test_tl_runs.c - the runs part (timeline/sp_tl_runs.c) rebuilds from the store: a replay of the stored records of the blocks sample through a fresh stage gives every run and block budget the streaming ingest wrote, field for field. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../../pipeline/sp_pipeline.h"
#include "../../sinks/sp_sink.h"
#include "../../timeline/sp_tl_replay.h"
#include "../../timeline/sp_tl_stream.h"
#include "sp_test.h"

struct got {
    sqlite3 *db;
    int runs, blocks, mismatches;
};

static int same_i(sqlite3_stmt *st, int i, int64_t v) /* v < 0: NULL expected */
{
    if (v < 0) return sqlite3_column_type(st, i) == SQLITE_NULL;
    return sqlite3_column_type(st, i) == SQLITE_INTEGER && sqlite3_column_int64(st, i) == v;
}

static int same_d(sqlite3_stmt *st, int i, double v) /* NaN: NULL expected; else exactly equal */
{
    if (isnan(v)) return sqlite3_column_type(st, i) == SQLITE_NULL;
    return sqlite3_column_type(st, i) != SQLITE_NULL && sqlite3_column_double(st, i) == v;
}

static int same_s(sqlite3_stmt *st, int i, struct sp_str v)
{
    if (!v.p) return sqlite3_column_type(st, i) == SQLITE_NULL;
    return sqlite3_column_type(st, i) == SQLITE_TEXT && (size_t)sqlite3_column_bytes(st, i) == v.n &&
           memcmp(sqlite3_column_text(st, i), v.p, v.n) == 0;
}

static void note(struct got *g, int ok, const char *what, int64_t h, int64_t k)
{
    if (ok) return;
    if (g->mismatches++ < 10) fprintf(stderr, "replay differs from the stored row: %s (block %lld, %lld)\n", what,
                                      (long long)h, (long long)k);
}

static int collect(void *arg, const struct sp_record *rec, struct sp_err *err)
{
    struct got *g = arg;
    sqlite3_stmt *st = NULL;
    (void)err;
    if (rec->kind == SP_REC_RUN) {
        const struct sp_run *x = rec->u.run;
        g->runs++;
        sqlite3_prepare_v2(g->db,
                           "SELECT epoch, source, phase, trigger, inbound_num, trigger_source, trigger_type, "
                           "trigger_count, start_line, finish_line, start_time, finish_time, seconds, beans_start, "
                           "beans_used, beans_remaining, computrons, cranks, deliveries, delivery_seconds, boyd_seconds "
                           "FROM runs WHERE node = 'n0' AND block_height = ?1 AND run_num = ?2",
                           -1, &st, NULL);
        sqlite3_bind_int64(st, 1, x->block_height);
        sqlite3_bind_int64(st, 2, x->run_num);
        if (sqlite3_step(st) != SQLITE_ROW) {
            note(g, 0, "run not in the table", x->block_height, x->run_num);
        } else {
            int64_t h = x->block_height, k = x->run_num;
            note(g, same_i(st, 0, x->epoch), "epoch", h, k);
            note(g, same_s(st, 1, x->source), "source", h, k);
            note(g, same_s(st, 2, x->phase), "phase", h, k);
            note(g, same_s(st, 3, x->trigger), "trigger", h, k);
            note(g, same_s(st, 4, x->inbound_num), "inbound_num", h, k);
            note(g, same_s(st, 5, x->trigger_source), "trigger_source", h, k);
            note(g, same_s(st, 6, x->trigger_type), "trigger_type", h, k);
            note(g, same_i(st, 7, x->trigger_count), "trigger_count", h, k);
            note(g, same_i(st, 8, x->start_line), "start_line", h, k);
            note(g, same_i(st, 9, x->finish_line), "finish_line", h, k);
            note(g, same_d(st, 10, x->start_time), "start_time", h, k);
            note(g, same_d(st, 11, x->finish_time), "finish_time", h, k);
            note(g, same_d(st, 12, x->seconds), "seconds", h, k);
            note(g, same_i(st, 13, x->beans_start), "beans_start", h, k);
            note(g, same_i(st, 14, x->beans_used), "beans_used", h, k);
            note(g, same_i(st, 15, x->beans_remaining), "beans_remaining", h, k);
            note(g, same_i(st, 16, x->computrons), "computrons", h, k);
            note(g, same_i(st, 17, x->cranks), "cranks", h, k);
            note(g, same_i(st, 18, x->deliveries), "deliveries", h, k);
            note(g, same_d(st, 19, x->delivery_seconds), "delivery_seconds", h, k);
            note(g, same_d(st, 20, x->boyd_seconds), "boyd_seconds", h, k);
        }
    } else if (rec->kind == SP_REC_BLOCK) {
        const struct sp_block *x = rec->u.block;
        int64_t h = x->block_height;
        g->blocks++;
        sqlite3_prepare_v2(g->db,
                           "SELECT bootstrap, block_seconds, run_seconds, end_block_seconds, commit_seconds, "
                           "save_seconds, cosmos_commit_seconds, runs, computrons, cranks, deliveries, beans_used, "
                           "boyd_seconds, snapshot_saves, snapshot_seconds, replays, replay_seconds, committed "
                           "FROM blocks WHERE node = 'n0' AND block_height = ?1",
                           -1, &st, NULL);
        sqlite3_bind_int64(st, 1, h);
        if (sqlite3_step(st) != SQLITE_ROW) {
            note(g, 0, "block not in the table", h, -1);
        } else {
            note(g, same_i(st, 0, x->bootstrap), "bootstrap", h, -1);
            note(g, same_d(st, 1, x->block_seconds), "block_seconds", h, -1);
            note(g, same_d(st, 2, x->run_seconds), "run_seconds", h, -1);
            note(g, same_d(st, 3, x->end_block_seconds), "end_block_seconds", h, -1);
            note(g, same_d(st, 4, x->commit_seconds), "commit_seconds", h, -1);
            note(g, same_d(st, 5, x->save_seconds), "save_seconds", h, -1);
            note(g, same_d(st, 6, x->cosmos_commit_seconds), "cosmos_commit_seconds", h, -1);
            note(g, same_i(st, 7, x->runs), "runs", h, -1);
            note(g, same_i(st, 8, x->computrons), "computrons", h, -1);
            note(g, same_i(st, 9, x->cranks), "cranks", h, -1);
            note(g, same_i(st, 10, x->deliveries), "deliveries", h, -1);
            note(g, same_i(st, 11, x->beans_used), "beans_used", h, -1);
            note(g, same_d(st, 12, x->boyd_seconds), "boyd_seconds", h, -1);
            note(g, same_i(st, 13, x->snapshot_saves), "snapshot_saves", h, -1);
            note(g, same_d(st, 14, x->snapshot_seconds), "snapshot_seconds", h, -1);
            note(g, same_i(st, 15, x->replays), "replays", h, -1);
            note(g, same_d(st, 16, x->replay_seconds), "replay_seconds", h, -1);
            note(g, same_i(st, 17, x->committed), "committed", h, -1);
        }
    }
    sqlite3_finalize(st);
    return SP_OK;
}

static int64_t count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/sp-tlruns-XXXXXX", path[300];
    struct sp_pipeline_opts o;
    struct sp_pipeline *p = NULL;
    struct sp_err err = {0};
    struct got g = {0};

    sp_log_level = SP_LOG_WARN;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/b.db", dir);
    sp_pipeline_opts_init(&o);
    o.db = path;
    o.node = "n0";
    o.analyze = 1;
    o.stream_only = 1; /* the stage's own rows; the end-of-run analysis is not what is tested */
    o.quiet = 1;
    CHECK_INT(sp_pipeline_open(&p, &o, &err), SP_OK);
    CHECK_INT(sp_pipeline_ingest_path(p, SP_TEST_DATA "/blocks/slog.jsonl.gz", &err), SP_OK);
    CHECK_INT(sp_pipeline_finish(p, &err), SP_OK);
    sp_pipeline_destroy(p);

    CHECK_INT(sqlite3_open(path, &g.db), SQLITE_OK);
    CHECK_INT(count(g.db, "SELECT count(*) FROM runs"), 76);
    CHECK_INT(count(g.db, "SELECT count(*) FROM blocks WHERE block_seconds IS NOT NULL"), 27);
    struct sp_tl_stream_opts so = {.snapshot_initial = -1, .snapshot_interval = -1};
    CHECK_INT(sp_tl_replay(g.db, "n0", &so, collect, &g, &err), SP_OK);
    CHECK_INT(g.runs, 76);
    CHECK_INT(g.blocks, 27);
    CHECK_INT(g.mismatches, 0);
    sqlite3_close(g.db);

    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    if (system(path) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return TEST_DONE();
}
