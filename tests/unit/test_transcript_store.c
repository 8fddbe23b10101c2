/* test_transcript_store.c - swing-store SQLite source on the real samples: counts, span hashes, schema variants, corruption, read-only and no-lock behaviour. */
#include "sp_test.h"
#include "test_transcript_collect.h"
#include "../../core/sp_hash.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BASIC SP_TEST_DATA "/basic"
#define MAINNET SP_TEST_DATA "/mainnet"
#define INITIAL_HASH "43e6be43a3a34d60c0ebeb8498b5849b094fc20fc68483a7aeb3624fa10f79f6"

static char tmpdir[256];

static int file_sha256(const char *path, char out[SP_SHA256_HEX_LEN + 1])
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) n = -1;
    fclose(f);
    if (n >= 0) sp_sha256_hex(buf, (size_t)n, out);
    free(buf);
    return n < 0 ? -1 : 0;
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char buf[65536];
    size_t n;
    int ok = a && b;
    while (ok && (n = fread(buf, 1, sizeof(buf), a)) > 0) ok = fwrite(buf, 1, n, b) == n;
    if (a) fclose(a);
    if (b && fclose(b) != 0) ok = 0;
    return ok ? 0 : -1;
}

static void tmp_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

/* Run SQL on a scratch copy (the test's own files only). */
static int exec_sql(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc = sqlite3_open(db_path, &db);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fprintf(stderr, "exec_sql(%s): %s\n", sql, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc;
}

static const char *const d_types[] = {"message", "notify", "bringOutYourDead", "save-snapshot",
                                      "load-snapshot", "dropExports", "retireExports",
                                      "initialize-worker", "startVat", "shutdown-worker"};
static const int d_counts[] = {408, 375, 252, 129, 129, 47, 43, 13, 13, 5};

static void test_basic(void)
{
    struct tc c;
    struct sp_err err;
    struct sp_transcript_opts o;
    char before[SP_SHA256_HEX_LEN + 1], after[SP_SHA256_HEX_LEN + 1];
    const struct tc_span *v3;
    size_t i;
    int total = 0, opts = 0;

    CHECK_INT(file_sha256(BASIC "/swingstore.sqlite", before), 0);
    tc_init(&c);
    sp_transcript_opts_init(&o);
    o.node = "node1";
    CHECK_INT(sp_swingstore_ingest(BASIC "/swingstore.sqlite", &o, tc_fn, &c, &err), SP_OK);
    CHECK_INT(c.n_tspan, 143);
    CHECK_INT(c.n_titem, 1414);
    CHECK_INT(c.items_with_text, 1414);
    CHECK_INT(c.items_without_dtype, 0);
    CHECK_INT(c.items_inc_unknown, 0);
    CHECK_INT(c.n_snap, 129);
    CHECK_INT(c.snap_blob_1, 0); /* sample blobs were removed */
    CHECK_INT(c.snap_in_use, 7);
    CHECK_INT(c.n_bad, 0);
    if (c.n_bad) tc_dump_bad(&c);
    CHECK_INT(tc_verified(&c), 143);
    CHECK_INT(tc_spans_of(&c, "v1"), 22);
    CHECK_INT(tc_spans_of(&c, "v6"), 44);
    CHECK_INT(tc_spans_of(&c, "v7"), 47);
    CHECK_INT(tc_spans_of(&c, "v9"), 13);
    CHECK_INT(tc_spans_of(&c, "v3"), 1);
    v3 = tc_span(&c, "v3", 0);
    CHECK(v3 != NULL);
    if (v3) {
        CHECK_INT(v3->end, 0);
        CHECK_INT(v3->items, 0);
        CHECK_INT(v3->is_current, 1);
        CHECK_STR(v3->computed, INITIAL_HASH);
    }
    {
        const struct tc_span *s = tc_span(&c, "v6", 325);
        CHECK(s && s->incarnation == 1 && s->end == 330 && s->items == 5 && !s->is_current);
    }
    for (i = 0; i < sizeof(d_types) / sizeof(d_types[0]); i++) {
        CHECK_INT(tc_type(&c, d_types[i]), d_counts[i]);
        total += tc_type(&c, d_types[i]);
    }
    CHECK_INT(total, 1414);
    CHECK_STR(tc_kv(&c, "kernel.snapshotInitial"), "3");
    CHECK_STR(tc_kv(&c, "kernel.snapshotInterval"), "7");
    CHECK_STR(tc_kv(&c, "kernel.defaultManagerType"), "xsnap");
    CHECK_STR(tc_kv(&c, "host.height"), "27");
    CHECK_STR(tc_kv(&c, "host.blockTime"), "1700000162");
    CHECK_STR(tc_kv(&c, "crankNumber"), "1900");
    CHECK_STR(tc_kv(&c, "vat.dynamicIDs"), "[\"v9\"]");
    CHECK_STR(tc_kv(&c, "vat.name.worker1"), "v6");
    CHECK(tc_kv(&c, "kernel.defaultReapDirtThreshold") == NULL); /* not selected */
    for (i = 0; i < 64 && (int)i < c.n_kv; i++) opts += strstr(c.kv[i].key, ".options") != NULL;
    CHECK_INT(opts, 9); /* v1..v9 */
    CHECK(tc_kv(&c, "v9.options") != NULL && strstr(tc_kv(&c, "v9.options"), "counter") != NULL);
    tc_free(&c);

    /* a state directory works too (here without item text), and the
     * source bytes never change */
    tc_init(&c);
    o.with_items = 0;
    CHECK_INT(sp_swingstore_ingest(BASIC, &o, tc_fn, &c, &err), SP_OK);
    CHECK_INT(c.n_tspan, 143);
    CHECK_INT(c.n_titem, 1414);
    CHECK_INT(c.items_with_text, 0);
    CHECK_INT(tc_verified(&c), 143);
    tc_free(&c);
    CHECK_INT(file_sha256(BASIC "/swingstore.sqlite", after), 0);
    CHECK_STR(after, before);
    {
        struct stat st;
        CHECK(stat(BASIC "/swingstore.sqlite-wal", &st) != 0);
        CHECK(stat(BASIC "/swingstore.sqlite-journal", &st) != 0);
    }
}

static void test_mainnet(void)
{
    struct tc c;
    struct sp_err err;
    int i, n202 = 0, ok202 = 0;

    tc_init(&c);
    CHECK_INT(sp_swingstore_ingest(MAINNET "/swingstore.sqlite", NULL, tc_fn, &c, &err), SP_OK);
    for (i = 0; i < c.n_tspan; i++) {
        const struct tc_span *s = &c.spans[i];
        if (s->items != 202) continue;
        n202++;
        ok202 += s->has_computed && !strcmp(s->hash, s->computed);
    }
    CHECK_INT(n202, 7);
    CHECK_INT(ok202, 7);
    CHECK_INT(tc_verified(&c), c.n_tspan);
    CHECK_INT(c.n_titem, 2825);
    CHECK_INT(c.n_bad, 0);
    tc_free(&c);
}

/* Schema variants: snapshots.endPos (pre-rename), no incarnation columns,
 * a missing table. */
static void test_schema_variants(void)
{
    char db[512];
    struct tc c;
    struct sp_err err;

    tmp_path(db, sizeof(db), "old.sqlite");
    CHECK_INT(copy_file(BASIC "/swingstore.sqlite", db), 0);
    CHECK_INT(exec_sql(db, "ALTER TABLE snapshots RENAME COLUMN snapPos TO endPos;"
                           "ALTER TABLE transcriptItems DROP COLUMN incarnation;"
                           "ALTER TABLE transcriptSpans DROP COLUMN incarnation;"),
              SQLITE_OK);
    tc_init(&c);
    CHECK_INT(sp_swingstore_ingest(db, NULL, tc_fn, &c, &err), SP_OK);
    CHECK_INT(c.n_snap, 129);
    CHECK_INT(c.n_tspan, 143);
    CHECK_INT(tc_verified(&c), 143);
    CHECK_INT(c.items_inc_unknown, 1414);
    CHECK(c.n_tspan > 0 && c.spans[0].incarnation == -1);
    tc_free(&c);

    tmp_path(db, sizeof(db), "nosnap.sqlite");
    CHECK_INT(copy_file(BASIC "/swingstore.sqlite", db), 0);
    CHECK_INT(exec_sql(db, "DROP TABLE snapshots;"), SQLITE_OK);
    tc_init(&c);
    CHECK_INT(sp_swingstore_ingest(db, NULL, tc_fn, &c, &err), SP_OK);
    CHECK_INT(c.n_snap, 0);
    CHECK_INT(c.n_bad, 1);
    CHECK(tc_bad_find(&c, "nosnap.sqlite: no table snapshots") >= 0);
    CHECK_INT(c.n_tspan, 143);
    CHECK_INT(c.n_titem, 1414);
    CHECK(tc_kv(&c, "kernel.snapshotInitial") != NULL);
    tc_free(&c);
}

/* Pruned, partial and orphan items. */
static void test_pruned_and_orphans(void)
{
    char db[512];
    struct tc c;
    struct sp_err err;
    const struct tc_span *s;

    tmp_path(db, sizeof(db), "pruned.sqlite");
    CHECK_INT(copy_file(BASIC "/swingstore.sqlite", db), 0);
    CHECK_INT(exec_sql(db,
                       "DELETE FROM transcriptItems WHERE vatID = 'v1' AND position >= 5 AND position < 14;"
                       "DELETE FROM transcriptItems WHERE vatID = 'v2' AND position = 7;"
                       "DELETE FROM transcriptSpans WHERE vatID = 'v6' AND startPos = 5;"
                       "INSERT INTO transcriptItems VALUES ('v99', 0, '{\"d\":[\"startVat\"],\"sc\":[],\"r\":{\"status\":\"ok\"}}', 0);"
                       "INSERT INTO transcriptItems VALUES ('v7', 1000, 'not json', 1);"),
              SQLITE_OK);
    tc_init(&c);
    CHECK_INT(sp_swingstore_ingest(db, NULL, tc_fn, &c, &err), SP_OK);
    CHECK_INT(c.n_tspan, 142);
    s = tc_span(&c, "v1", 5);
    CHECK(s && s->items == 0 && !s->has_computed);
    s = tc_span(&c, "v2", 5);
    CHECK(s && s->items == 8 && s->has_computed && strcmp(s->hash, s->computed) != 0);
    CHECK_INT(tc_verified(&c), 140);
    /* 1414 - 9 - 1 + the v6 [5,14) items (outside any span now) + v99; v7@1000 is not JSON: dead-lettered, not stored */
    CHECK_INT(c.n_titem, 1414 - 10 + 1);
    CHECK_INT(c.items_without_dtype, 0);
    CHECK_INT(c.n_bad, 1);
    CHECK(tc_bad_find(&c, "pruned.sqlite:v7:1000: transcript item: invalid JSON") >= 0);
    tc_free(&c);
}

/* Find a leaf page of transcriptItems' b-tree: a child of its root. */
static long items_leaf_page(const char *db_path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long root = -1, page = -1;
    unsigned char hdr[4096];
    FILE *f;

    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_master WHERE name = 'transcriptItems'", -1,
                           &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        root = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (root < 2 || !(f = fopen(db_path, "rb"))) return -1;
    if (fseek(f, (root - 1) * 4096, SEEK_SET) == 0 && fread(hdr, 1, sizeof(hdr), f) == sizeof(hdr) &&
        hdr[0] == 0x05) { /* interior table page: pick the middle child */
        int ncells = hdr[3] << 8 | hdr[4];
        int cell = hdr[12 + 2 * (ncells / 2)] << 8 | hdr[13 + 2 * (ncells / 2)];
        page = (long)hdr[cell] << 24 | hdr[cell + 1] << 16 | hdr[cell + 2] << 8 | hdr[cell + 3];
    }
    fclose(f);
    return page;
}

static void test_corrupt(void)
{
    char db[512];
    struct tc c;
    struct sp_err err;
    long page;
    FILE *f;
    unsigned char junk[4096];
    int rc;

    tmp_path(db, sizeof(db), "corrupt.sqlite");
    CHECK_INT(copy_file(BASIC "/swingstore.sqlite", db), 0);
    page = items_leaf_page(db);
    CHECK(page > 2);
    memset(junk, 0xA5, sizeof(junk));
    f = fopen(db, "r+b");
    CHECK(f != NULL);
    if (!f || page <= 2) return;
    fseek(f, (page - 1) * 4096, SEEK_SET);
    fwrite(junk, 1, sizeof(junk), f);
    fclose(f);
    tc_init(&c);
    memset(&err, 0, sizeof(err));
    rc = sp_swingstore_ingest(db, NULL, tc_fn, &c, &err);
    CHECK_INT(rc, SP_EBADINPUT);
    CHECK(strstr(err.msg, "SQLITE_CORRUPT") != NULL);
    CHECK(strstr(err.msg, "reading transcriptItems of v") != NULL);
    CHECK(tc_bad_find(&c, "SQLITE_CORRUPT") >= 0);
    CHECK_INT(c.n_tspan, 143);      /* other spans still read */
    CHECK(tc_verified(&c) >= 130);   /* only spans on the bad page lose their hash */
    CHECK(tc_verified(&c) < 143);
    CHECK(tc_kv(&c, "kernel.snapshotInitial") != NULL);
    fprintf(stderr, "corrupt: page %ld, %d bad, %d verified, err: %s\n", page, c.n_bad,
            tc_verified(&c), err.msg);
    tc_free(&c);

    /* not a database at all, and not a swing-store */
    tmp_path(db, sizeof(db), "text.sqlite");
    f = fopen(db, "w");
    if (f) {
        fputs("hello, this is not sqlite\n", f);
        fclose(f);
    }
    tc_init(&c);
    rc = sp_swingstore_ingest(db, NULL, tc_fn, &c, &err);
    CHECK(rc == SP_EBADINPUT || rc == SP_EIO);
    CHECK(strstr(err.msg, "text.sqlite") != NULL);
    CHECK_INT(c.seen, 0);
    tc_free(&c);
    tmp_path(db, sizeof(db), "other.sqlite");
    CHECK_INT(exec_sql(db, "CREATE TABLE t (x);"), SQLITE_OK);
    tc_init(&c);
    CHECK_INT(sp_swingstore_ingest(db, NULL, tc_fn, &c, &err), SP_EBADINPUT);
    CHECK(strstr(err.msg, "not a swing-store") != NULL);
    tc_free(&c);
    tc_init(&c);
    CHECK_INT(sp_swingstore_ingest("/nonexistent/swingstore.sqlite", NULL, tc_fn, &c, &err), SP_EIO);
    tc_free(&c);
}

static void test_callback_stop(void)
{
    struct tc c;
    struct sp_err err;
    tc_init(&c);
    c.stop_after = 50;
    CHECK_INT(sp_swingstore_ingest(BASIC "/swingstore.sqlite", NULL, tc_fn, &c, &err), SP_ESINK);
    CHECK(strstr(err.msg, "stop after 50") != NULL);
    CHECK_INT(c.seen, 50);
    tc_free(&c);
}

/* ---- a live writer ------------------------------------------------------- */

struct live {
    int to_child, from_child;
    int committed_during_read;
};

static void wait_byte(int fd, char *c)
{
    while (read(fd, c, 1) < 0 && errno == EINTR)
        ;
}

/* Child: hold BEGIN IMMEDIATE + an insert open, commit on request, report. */
static void writer_child(const char *db_path, int in, int out)
{
    sqlite3 *db = NULL;
    char c = 0, r;
    sqlite3_open(db_path, &db);
    sqlite3_busy_timeout(db, 2000);
    r = sqlite3_exec(db, "BEGIN IMMEDIATE; INSERT INTO kvStore VALUES ('vat.name.liveWriter', 'v77');",
                     NULL, NULL, NULL) == SQLITE_OK ? 'L' : 'E';
    if (write(out, &r, 1) != 1) _exit(2);
    wait_byte(in, &c); /* 'C': commit now */
    r = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 'K' : 'F';
    if (write(out, &r, 1) != 1) _exit(2);
    sqlite3_close(db);
    _exit(0);
}

static void live_hook(struct tc *c, const struct sp_record *rec)
{
    struct live *lv = c->hook_arg;
    char r = 0;
    /* at the first span, while our read transaction is open: ask the
     * writer to commit, and wait for the answer */
    if (rec->kind != SP_REC_TSPAN || lv->committed_during_read) return;
    if (write(lv->to_child, "C", 1) != 1) return;
    wait_byte(lv->from_child, &r);
    lv->committed_during_read = r == 'K' ? 1 : -1;
}

static void test_live_writer(void)
{
    char db[512];
    int p1[2], p2[2];
    pid_t pid;
    char r = 0;
    struct tc c;
    struct sp_err err;
    struct live lv;
    int status = 0;

    tmp_path(db, sizeof(db), "wal.sqlite");
    CHECK_INT(copy_file(BASIC "/swingstore.sqlite", db), 0);
    CHECK_INT(exec_sql(db, "PRAGMA journal_mode = WAL;"), SQLITE_OK);
    if (pipe(p1) || pipe(p2)) return;
    pid = fork();
    if (pid == 0) {
        close(p1[1]);
        close(p2[0]);
        writer_child(db, p1[0], p2[1]);
    }
    close(p1[0]);
    close(p2[1]);
    wait_byte(p2[0], &r);
    CHECK_INT(r, 'L'); /* the writer holds its write transaction */

    memset(&lv, 0, sizeof(lv));
    lv.to_child = p1[1];
    lv.from_child = p2[0];
    tc_init(&c);
    c.hook = live_hook;
    c.hook_arg = &lv;
    CHECK_INT(sp_swingstore_ingest(db, NULL, tc_fn, &c, &err), SP_OK);
    CHECK_INT(lv.committed_during_read, 1); /* the writer committed while we were reading */
    CHECK_INT(c.n_tspan, 143);
    CHECK_INT(tc_verified(&c), 143);
    CHECK(tc_kv(&c, "vat.name.liveWriter") == NULL); /* consistent view: not seen */
    tc_free(&c);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(p1[1]);
    close(p2[0]);

    tc_init(&c); /* a later read sees the committed row */
    CHECK_INT(sp_swingstore_ingest(db, NULL, tc_fn, &c, &err), SP_OK);
    CHECK_STR(tc_kv(&c, "vat.name.liveWriter"), "v77");
    tc_free(&c);

    /* and the writer can still write after we are done */
    CHECK_INT(exec_sql(db, "BEGIN IMMEDIATE; INSERT INTO kvStore VALUES ('x', 'y'); COMMIT;"), SQLITE_OK);
}

/* Rollback-journal mode with a writer holding an EXCLUSIVE lock: we wait
 * busy_timeout_ms, retry, then fail clearly. */
static void test_locked_rollback(void)
{
    char db[512];
    int p1[2], p2[2];
    pid_t pid;
    char r = 0;
    struct tc c;
    struct sp_err err;
    struct sp_transcript_opts o;
    int status = 0;

    tmp_path(db, sizeof(db), "locked.sqlite");
    CHECK_INT(copy_file(BASIC "/swingstore.sqlite", db), 0);
    if (pipe(p1) || pipe(p2)) return;
    pid = fork();
    if (pid == 0) {
        sqlite3 *h = NULL;
        char x;
        close(p1[1]);
        close(p2[0]);
        sqlite3_open(db, &h);
        x = sqlite3_exec(h, "BEGIN EXCLUSIVE; INSERT INTO kvStore VALUES ('k', 'v');", NULL, NULL,
                         NULL) == SQLITE_OK ? 'L' : 'E';
        if (write(p2[1], &x, 1) != 1) _exit(2);
        wait_byte(p1[0], &x);
        x = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 'K' : 'F';
        if (write(p2[1], &x, 1) != 1) _exit(2);
        sqlite3_close(h);
        _exit(0);
    }
    close(p1[0]);
    close(p2[1]);
    wait_byte(p2[0], &r);
    CHECK_INT(r, 'L');
    sp_transcript_opts_init(&o);
    o.busy_timeout_ms = 100;
    tc_init(&c);
    CHECK_INT(sp_swingstore_ingest(db, &o, tc_fn, &c, &err), SP_EIO);
    CHECK(strstr(err.msg, "locked") != NULL);
    CHECK_INT(c.seen, 0);
    tc_free(&c);
    if (write(p1[1], "C", 1) != 1) return;
    wait_byte(p2[0], &r);
    CHECK_INT(r, 'K');
    waitpid(pid, &status, 0);
    close(p1[1]);
    close(p2[0]);
    tc_init(&c);
    CHECK_INT(sp_swingstore_ingest(db, &o, tc_fn, &c, &err), SP_OK);
    CHECK_INT(c.n_tspan, 143);
    tc_free(&c);
}

static void rm_tmpdir(void)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmpdir);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_transcript_store.XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    sp_log_level = SP_LOG_ERROR;
    test_basic();
    test_mainnet();
    test_schema_variants();
    test_pruned_and_orphans();
    test_corrupt();
    test_callback_stop();
    test_live_writer();
    test_locked_rollback();
    rm_tmpdir();
    return TEST_DONE();
}
