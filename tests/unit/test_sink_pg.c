/* test_sink_pg.c - the PostgreSQL store against a real server started here (initdb/pg_ctl): rows, checkpoints, upsert merges, the Kafka offset compare-and-set, text cleaning. */
#include <fcntl.h>
#include <glob.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/sp_core.h"
#include "../sinks/sp_pg.h"
#include "sp_test.h"

static char pg_dir[64];
static char pg_bin[512];
static char run_as[64]; /* "runuser -u postgres -- " when root */
static char conninfo[256];

static void pg_stop_now(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s%s/pg_ctl -D %s/data -m immediate -w stop >/dev/null 2>&1; rm -rf %s", run_as,
             pg_bin, pg_dir, pg_dir);
    if (system(cmd) != 0) fprintf(stderr, "stopping the test server failed\n");
}

/* A watchdog child stops the server when this process ends, however it
 * ends (a crash included): it waits for EOF on a pipe only we write to. */
static int watchdog_fd = -1;
static void pg_stop(void)
{
    if (watchdog_fd >= 0) close(watchdog_fd); /* the watchdog stops the server */
    watchdog_fd = -1;
}

static void start_watchdog(void)
{
    int fds[2];
    pid_t pid;
    char c;
    if (pipe(fds) != 0) return;
    pid = fork();
    if (pid == 0) {
        close(fds[1]);
        while (read(fds[0], &c, 1) > 0) {
        }
        pg_stop_now();
        _exit(0);
    }
    close(fds[0]);
    /* not inherited by the server that system() starts next, or it would hold the pipe open */
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    watchdog_fd = pid > 0 ? fds[1] : -1;
    if (pid < 0) close(fds[1]);
}

/* Start a throwaway server on a Unix socket in a temp dir; 77 if PostgreSQL is not installed. */
static int pg_start(void)
{
    char cmd[2048];
    FILE *f = popen("pg_config --bindir 2>/dev/null", "r");
    size_t n;
    if (!f || !fgets(pg_bin, sizeof(pg_bin), f)) {
        if (f) pclose(f);
        return 77;
    }
    pclose(f);
    n = strlen(pg_bin);
    while (n && (pg_bin[n - 1] == '\n')) pg_bin[--n] = '\0';
    snprintf(cmd, sizeof(cmd), "%s/initdb", pg_bin);
    if (access(cmd, X_OK) != 0) return 77;
    strcpy(pg_dir, "/tmp/slogpipe-pgunit.XXXXXX");
    if (!mkdtemp(pg_dir)) return 1;
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("postgres");
        if (!pw || chown(pg_dir, pw->pw_uid, pw->pw_gid) != 0) return 1;
        strcpy(run_as, "runuser -u postgres -- ");
    }
    start_watchdog();
    atexit(pg_stop);
    snprintf(cmd, sizeof(cmd), "%s%s/initdb -D %s/data -A trust -U slog -E UTF8 --no-sync >%s/initdb.log 2>&1",
             run_as, pg_bin, pg_dir, pg_dir);
    if (system(cmd) != 0) return 1;
    snprintf(cmd, sizeof(cmd),
             "%s%s/pg_ctl -D %s/data -l %s/server.log -w -o \"-k %s -c listen_addresses='' -c fsync=off\" start "
             ">/dev/null",
             run_as, pg_bin, pg_dir, pg_dir, pg_dir);
    if (system(cmd) != 0) return 1;
    snprintf(conninfo, sizeof(conninfo), "host=%s user=slog dbname=postgres", pg_dir);
    return 0;
}

/* One value of a query run on our own connection (the oracle); "" for NULL, "?" on error. */
static char *q1(const char *sql)
{
    static char out[4096];
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) snprintf(out, sizeof(out), "%s", PQgetvalue(r, 0, 0));
    else snprintf(out, sizeof(out), "?%s", PQresultStatus(r) == PGRES_TUPLES_OK ? "no row" : PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return out;
}

static void test_is_pg(void)
{
    CHECK_INT(sp_store_is_pg("postgresql://u@h/db"), 1);
    CHECK_INT(sp_store_is_pg("postgres:///db?host=/tmp"), 1);
    CHECK_INT(sp_store_is_pg("host=/tmp dbname=x"), 1);
    CHECK_INT(sp_store_is_pg("dbname = x"), 1);
    CHECK_INT(sp_store_is_pg("slogpipe.db"), 0);
    CHECK_INT(sp_store_is_pg("/data/a=b.db"), 0);   /* '=' but not a libpq keyword string */
    CHECK_INT(sp_store_is_pg("color=blue.db"), 0);  /* unknown keyword */
    CHECK_INT(sp_store_is_pg(""), 0);
    CHECK(sp_store_for("postgresql://x") == &sp_store_pg);
    CHECK(sp_store_for("x.db") == &sp_store_sqlite);
}

static void *open_store(void)
{
    void *ctx = NULL;
    struct sp_sink_opts so = {"n", 0, 0};
    struct sp_err err = {0};
    int rc = sp_sink_pg.open(&ctx, conninfo, &so, &err);
    CHECK_INT(rc, SP_OK);
    if (rc != SP_OK) fprintf(stderr, "open: %s\n", err.msg);
    return ctx;
}

static void test_rows_and_checkpoints(void)
{
    void *s = open_store();
    struct sp_err err = {0};
    struct sp_event e;
    struct sp_record rec;
    struct sp_checkpoint cp = {"n1", "src", 7, 700, "{\"v\":2}"};
    int64_t line = 0, off = 0;
    char *state = NULL, *v = NULL;
    /* bytes PostgreSQL text cannot hold as they are: a NUL and an invalid UTF-8 byte */
    static const char raw[] = "{\"type\":\"odd\",\"x\":\"a\tb\\\\c\nd\0e\xff\"}";

    if (!s) return;
    /* every migration applied: as many as there are files in schemas/postgres */
    {
        glob_t g;
        size_t nfiles = glob(SP_TEST_DATA "/../../schemas/postgres/[0-9][0-9][0-9]-*.sql", 0, NULL, &g) == 0 ? g.gl_pathc : 0;
        globfree(&g);
        CHECK(nfiles >= 3);
        CHECK_INT(strtol(q1("SELECT max(version)::text FROM slogpipe_schema"), NULL, 10), (long)nfiles);
    }
    memset(&e, 0, sizeof(e));
    e.origin.node = SP_STR_LIT("n1");
    e.origin.source = SP_STR_LIT("src");
    e.origin.line = 7;
    e.origin.offset = 600;
    e.type = SP_EV_UNKNOWN;
    e.type_name = SP_STR_LIT("odd");
    e.raw = sp_str_make(raw, sizeof(raw) - 1);
    e.has = SP_HAS_TIME;
    e.time = 1700000000.125;
    e.ctx_crank_num = -1;
    e.ctx_block_height = -1;
    rec.kind = SP_REC_EVENT;
    rec.u.event = &e;
    CHECK_INT(sp_sink_pg.write(s, &rec, &err), SP_OK);
    /* nothing reaches the server before the commit */
    CHECK_STR(q1("SELECT count(*)::text FROM slog_events"), "0");
    CHECK_INT(sp_store_pg.state_put(s, "k", "v1", &err), SP_OK);
    CHECK_INT(sp_sink_pg.commit(s, &cp, 1, &err), SP_OK);
    CHECK_STR(q1("SELECT count(*)::text FROM slog_events"), "1");
    CHECK_STR(q1("SELECT raw FROM slog_events"), "{\"type\":\"odd\",\"x\":\"a\tb\\\\c\nd\xef\xbf\xbd" "e\xef\xbf\xbd\"}");
    CHECK_STR(q1("SELECT time::text FROM slog_events"), "1700000000.125");
    CHECK_STR(q1("SELECT crank_num IS NULL AND block_height IS NULL FROM slog_events"), "t");
    CHECK_STR(q1("SELECT events || ' ' || first_line || ' ' || max_time FROM sources WHERE node = 'n1'"),
              "1 7 1700000000.125");
    CHECK_INT(sp_store_pg.checkpoint_get(s, "n1", "src", &line, &off, &state, &err), SP_OK);
    CHECK_INT(line, 7);
    CHECK_INT(off, 700);
    CHECK_STR(state, "{\"v\":2}");
    free(state);
    CHECK_INT(sp_store_pg.checkpoint_get(s, "n1", "other", &line, &off, &state, &err), SP_EOF);
    CHECK_INT(sp_store_pg.state_get(s, "k", &v, &err), SP_OK);
    CHECK_STR(v, "v1");
    free(v);
    CHECK_INT(sp_store_pg.state_get(s, "missing", &v, &err), SP_EOF);

    /* close without commit: the batch is dropped, the checkpoint stays */
    e.origin.line = 8;
    CHECK_INT(sp_sink_pg.write(s, &rec, &err), SP_OK);
    sp_sink_pg.close(s);
    CHECK_STR(q1("SELECT count(*)::text FROM slog_events"), "1");
    CHECK_STR(q1("SELECT line::text FROM checkpoints WHERE node = 'n1'"), "7");
}

/* transcript items: a later item replaces an earlier one (in one batch and across batches);
 * spans: a later record with the same key replaces the row (as on SQLite); anomalies: one row per key,
 * NULLs folded */
static void test_upserts(void)
{
    void *s = open_store();
    struct sp_err err = {0};
    struct sp_titem t;
    struct sp_span sp;
    struct sp_anomaly a;
    struct sp_record rec;

    if (!s) return;
    memset(&t, 0, sizeof(t));
    t.node = SP_STR_LIT("n1");
    t.source = SP_STR_LIT("store");
    t.vat_id = SP_STR_LIT("v1");
    t.position = 3;
    t.incarnation = 0;
    t.item = SP_STR_LIT("{\"first\":1}");
    rec.kind = SP_REC_TITEM;
    rec.u.titem = &t;
    CHECK_INT(sp_sink_pg.write(s, &rec, &err), SP_OK);
    t.item = SP_STR_LIT("{\"second\":2}");
    CHECK_INT(sp_sink_pg.write(s, &rec, &err), SP_OK);
    CHECK_INT(sp_sink_pg.commit(s, NULL, 0, &err), SP_OK);
    CHECK_STR(q1("SELECT count(*) || ' ' || max(item) FROM transcript_items"), "1 {\"second\":2}");
    t.item = SP_STR_LIT("{\"third\":3}");
    CHECK_INT(sp_sink_pg.write(s, &rec, &err), SP_OK);
    CHECK_INT(sp_sink_pg.commit(s, NULL, 0, &err), SP_OK);
    CHECK_STR(q1("SELECT count(*) || ' ' || max(item) FROM transcript_items"), "1 {\"third\":3}");

    memset(&sp, 0, sizeof(sp));
    sp.node = SP_STR_LIT("n1");
    sp.vat_id = SP_STR_LIT("v1");
    sp.incarnation = 0;
    sp.start_pos = 0;
    sp.end_pos = 10;
    sp.hash = SP_STR_LIT("abc");
    sp.hash_ok = 1;
    sp.from_transcript = 1;
    rec.kind = SP_REC_SPAN;
    rec.u.span = &sp;
    CHECK_INT(sp_sink_pg.write(s, &rec, &err), SP_OK);
    sp.hash = SP_STR_NULL;
    sp.hash_ok = -1;
    sp.from_transcript = 0;
    sp.from_slog = 1;
    sp.end_pos = 12;
    CHECK_INT(sp_sink_pg.write(s, &rec, &err), SP_OK);
    CHECK_INT(sp_sink_pg.commit(s, NULL, 0, &err), SP_OK);
    CHECK_STR(q1("SELECT concat_ws(' ', count(*), coalesce(max(hash), '-'), max(hash_ok), max(from_transcript), "
                 "max(from_slog), max(end_pos)) FROM spans"),
              "1 - -1 0 1 12");

    memset(&a, 0, sizeof(a));
    a.node = SP_STR_LIT("n1");
    a.kind = SP_STR_LIT("CRANKHASH_DIVERGENCE");
    a.incarnation = -1;
    a.position = -1;
    a.line = -1;
    a.severity = SP_STR_LIT("error");
    a.detail = SP_STR_LIT("{\"n\":1}");
    rec.kind = SP_REC_ANOMALY;
    rec.u.anomaly = &a;
    CHECK_INT(sp_sink_pg.write(s, &rec, &err), SP_OK);
    CHECK_INT(sp_sink_pg.commit(s, NULL, 0, &err), SP_OK);
    a.detail = SP_STR_LIT("{\"n\":2}");
    CHECK_INT(sp_sink_pg.write(s, &rec, &err), SP_OK);
    a.vat_id = SP_STR_LIT("v1"); /* another key */
    CHECK_INT(sp_sink_pg.write(s, &rec, &err), SP_OK);
    CHECK_INT(sp_sink_pg.commit(s, NULL, 0, &err), SP_OK);
    CHECK_STR(q1("SELECT count(*) || ' ' || max(detail) FILTER (WHERE vat_id IS NULL) FROM anomalies"), "2 {\"n\":2}");

    /* retractions delete the row with the key (NULL vat and position included) */
    a.retracted = 1;
    CHECK_INT(sp_sink_pg.write(s, &rec, &err), SP_OK); /* vat v1 */
    a.vat_id = SP_STR_NULL;
    CHECK_INT(sp_sink_pg.write(s, &rec, &err), SP_OK);
    rec.kind = SP_REC_SPAN;
    rec.u.span = &sp;
    sp.retracted = 1;
    CHECK_INT(sp_sink_pg.write(s, &rec, &err), SP_OK);
    CHECK_INT(sp_sink_pg.commit(s, NULL, 0, &err), SP_OK);
    CHECK_STR(q1("SELECT (SELECT count(*) FROM anomalies) || ' ' || (SELECT count(*) FROM spans)"), "0 0");
    sp_sink_pg.close(s);
}

/* Two consumers that both read "no offset stored" for one partition: the
 * first commit wins; the second commit fails whole (its rows are not kept)
 * with a message, and so does a consumer that read an old position. */
static void test_offset_cas(void)
{
    void *a = open_store(), *b = open_store();
    struct sp_err err = {0};
    struct sp_bad bad;
    struct sp_record rec;
    int found = -1;
    int64_t next = -1, skip = -1;

    if (!a || !b) return;
    memset(&bad, 0, sizeof(bad));
    bad.origin.node = SP_STR_LIT("cas");
    bad.origin.source = SP_STR_LIT("t/0");
    bad.origin.line = -1;
    bad.origin.offset = -1;
    bad.reason = "marker";
    rec.kind = SP_REC_BAD;
    rec.u.bad = &bad;
    CHECK_INT(sp_store_pg.offset_get(a, "g", "t", 0, &found, &next, &skip, &err), SP_OK);
    CHECK_INT(found, 0);
    CHECK_INT(sp_store_pg.offset_get(b, "g", "t", 0, &found, &next, &skip, &err), SP_OK);
    CHECK_INT(found, 0);
    CHECK_INT(sp_sink_pg.write(a, &rec, &err), SP_OK);
    CHECK_INT(sp_store_pg.offset_put(a, "g", "t", 0, 0, 0, 0, 100, 0, &err), SP_OK);
    CHECK_INT(sp_sink_pg.write(b, &rec, &err), SP_OK);
    CHECK_INT(sp_store_pg.offset_put(b, "g", "t", 0, 0, 0, 0, 50, 0, &err), SP_OK);
    CHECK_INT(sp_sink_pg.commit(a, NULL, 0, &err), SP_OK);
    CHECK_INT(sp_sink_pg.commit(b, NULL, 0, &err), SP_ESINK);
    CHECK(strstr(err.msg, "advanced by another consumer") != NULL);
    CHECK_STR(q1("SELECT next_offset::text FROM kafka_offsets WHERE group_id = 'g'"), "100");
    CHECK_STR(q1("SELECT count(*)::text FROM ingest_errors WHERE node = 'cas'"), "1");
    /* a failed store refuses further writes */
    CHECK_INT(sp_sink_pg.write(b, &rec, &err), SP_ESINK);
    sp_sink_pg.close(b);

    /* the owner moves on from what it stored; a stale one (read 100, another moved to 150) is refused */
    b = open_store();
    if (!b) return;
    CHECK_INT(sp_store_pg.offset_get(a, "g", "t", 0, &found, &next, &skip, &err), SP_OK);
    CHECK_INT(found, 1);
    CHECK_INT(next, 100);
    CHECK_INT(sp_store_pg.offset_put(a, "g", "t", 0, 1, 100, 0, 150, 2, &err), SP_OK);
    CHECK_INT(sp_store_pg.offset_put(b, "g", "t", 0, 1, 100, 0, 120, 0, &err), SP_OK);
    CHECK_INT(sp_sink_pg.commit(a, NULL, 0, &err), SP_OK);
    CHECK_INT(sp_sink_pg.commit(b, NULL, 0, &err), SP_ESINK);
    CHECK_STR(q1("SELECT next_offset || ' ' || skip_lines FROM kafka_offsets WHERE group_id = 'g'"), "150 2");
    sp_sink_pg.close(a);
    sp_sink_pg.close(b);
}

static void test_bad_target(void)
{
    void *ctx = NULL;
    struct sp_sink_opts so = {"n", 0, 0};
    struct sp_err err = {0};
    char target[256];
    snprintf(target, sizeof(target), "host=%s user=nobody dbname=postgres", pg_dir);
    CHECK_INT(sp_sink_pg.open(&ctx, target, &so, &err), SP_ESINK);
    CHECK(ctx == NULL);
    CHECK(strstr(err.msg, "user=nobody") != NULL);
    CHECK(strstr(err.msg, "connect") != NULL);
}

int main(void)
{
    int rc;
    sp_log_level = SP_LOG_WARN;
    test_is_pg();
    rc = pg_start();
    if (rc == 77) {
        printf("SKIP - PostgreSQL server binaries not installed (bash scripts/deps.sh --test)\n");
        return 77;
    }
    if (rc != 0) {
        fprintf(stderr, "could not start the test server (see %s)\n", pg_dir);
        return 1;
    }
    test_rows_and_checkpoints();
    test_upserts();
    test_offset_cas();
    test_bad_target();
    return TEST_DONE();
}
