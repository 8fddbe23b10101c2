/* test_transcript_export.c - export-directory and archive-directory sources: hashes, same spans as the DB, path safety, missing/gzip artifacts. */
#include "sp_test.h"
#include "test_transcript_collect.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define EXPORT SP_TEST_DATA "/basic/export"
#define BASIC_DB SP_TEST_DATA "/basic/swingstore.sqlite"

static char tmpdir[256];

static const char item0[] =
    "{\"d\":[\"initialize-worker\",{\"source\":{\"bundleID\":\"b1-00\"},\"workerOptions\":{\"type\":"
    "\"xsnap\",\"bundleIDs\":[\"b0-11\",\"b0-22\"]}}],\"sc\":[],\"r\":{\"status\":\"ok\"}}";
static const char item1[] = "{\"d\":[\"startVat\",{\"body\":\"#{}\",\"slots\":[]}],\"sc\":[],\"r\":{"
                            "\"status\":\"ok\",\"metering\":{\"computrons\":1000}}}";
static const char item2[] = "{\"d\":[\"bringOutYourDead\"],\"sc\":[],\"r\":{\"status\":\"ok\","
                            "\"metering\":{\"computrons\":2364}}}";

static int read_all(const char *path, char **out, size_t *n)
{
    FILE *f = fopen(path, "rb");
    long len;
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)len + 1);
    *n = fread(*out, 1, (size_t)len, f);
    fclose(f);
    return *n == (size_t)len ? 0 : -1;
}

static int write_all(const char *path, const char *p, size_t n, int gz)
{
    if (gz) {
        gzFile g = gzopen(path, "wb");
        int ok = g && gzwrite(g, p, (unsigned)n) == (int)n;
        if (g && gzclose(g) != Z_OK) ok = 0;
        return ok ? 0 : -1;
    } else {
        FILE *f = fopen(path, "wb");
        int ok = f && fwrite(p, 1, n, f) == n;
        if (f && fclose(f) != 0) ok = 0;
        return ok ? 0 : -1;
    }
}

static int copy_to(const char *from, const char *dir, const char *name, int gz)
{
    char *p = NULL, path[700];
    size_t n = 0;
    int rc;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (read_all(from, &p, &n)) {
        free(p);
        return -1;
    }
    rc = write_all(path, p, n, gz);
    free(p);
    return rc;
}

/* Same (vat, start, end, hash) set in both collections. */
static int same_spans(const struct tc *a, const struct tc *b)
{
    int i, same = 0;
    for (i = 0; i < a->n_tspan; i++) {
        const struct tc_span *s = tc_span(b, a->spans[i].vat, a->spans[i].start);
        same += s && s->end == a->spans[i].end && !strcmp(s->hash, a->spans[i].hash) &&
                s->incarnation == a->spans[i].incarnation && s->is_current == a->spans[i].is_current;
    }
    return same;
}

static void test_basic_export(void)
{
    struct tc db, ex;
    struct sp_err err;

    tc_init(&db);
    tc_init(&ex);
    CHECK_INT(sp_swingstore_ingest(BASIC_DB, NULL, tc_fn, &db, &err), SP_OK);
    CHECK_INT(sp_export_ingest(EXPORT, NULL, tc_fn, &ex, &err), SP_OK);
    CHECK_INT(ex.n_tspan, 143);
    CHECK_INT(tc_verified(&ex), 143);
    CHECK_INT(ex.n_titem, 1414);
    CHECK_INT(ex.items_without_dtype, 0);
    CHECK_INT(ex.n_snap, 129);
    CHECK_INT(ex.snap_blob_unknown, 129);
    CHECK_INT(ex.snap_in_use, 7);
    CHECK_INT(ex.n_bad, 0); /* omitted snapshot/bundle artifacts are listed in omitted-artifacts.tsv */
    if (ex.n_bad) tc_dump_bad(&ex);
    CHECK_INT(same_spans(&db, &ex), 143);
    CHECK_INT(same_spans(&ex, &db), 143);
    CHECK_INT(tc_type(&ex, "save-snapshot"), 129);
    CHECK_INT(tc_type(&ex, "message"), 408);
    CHECK_STR(tc_kv(&ex, "kernel.snapshotInitial"), "3");
    CHECK_STR(tc_kv(&ex, "kernel.snapshotInterval"), "7");
    CHECK_STR(tc_kv(&ex, "vat.name.worker1"), "v6");
    CHECK(tc_kv(&ex, "host.height") == NULL); /* host.* is not export data */
    {
        const struct tc_span *v3 = tc_span(&ex, "v3", 0), *v6 = tc_span(&ex, "v6", 375);
        CHECK(v3 && v3->is_current && v3->end == 0 && v3->items == 0 && v3->has_computed);
        CHECK(v6 && v6->is_current && v6->incarnation == 1 && v6->items == 1);
    }
    tc_free(&db);
    tc_free(&ex);
}

/* Build an export dir whose manifest adds hostile and missing entries. */
static void test_hostile_manifest(void)
{
    char dir[400], path[700];
    DIR *d;
    struct dirent *de;
    FILE *m;
    struct tc c;
    struct sp_err err;
    int n_tr = 0, i;

    snprintf(dir, sizeof(dir), "%s/hostile", tmpdir);
    CHECK_INT(mkdir(dir, 0755), 0);
    CHECK_INT(copy_to(EXPORT "/export-data.jsonl", dir, "export-data.jsonl", 0), 0);
    CHECK_INT(copy_to(EXPORT "/omitted-artifacts.tsv", dir, "omitted-artifacts.tsv", 0), 0);
    snprintf(path, sizeof(path), "%s/export-manifest.json", dir);
    m = fopen(path, "w");
    CHECK(m != NULL);
    if (!m) return;
    fprintf(m, "{\"blockHeight\":27,\"artifactMode\":\"debug\",\"data\":\"export-data.jsonl\",\"artifacts\":[");
    d = opendir(EXPORT);
    while (d && (de = readdir(d))) {
        const char *name = de->d_name;
        char src[700];
        if (strncmp(name, "transcript.", 11)) continue;
        snprintf(src, sizeof(src), "%s/%s", EXPORT, name);
        if (!strcmp(name, "transcript.v1.0.5")) {
            fprintf(m, "%s[\"%s\",\"../../etc/passwd\"]", n_tr++ ? "," : "", name);
        } else if (!strcmp(name, "transcript.v1.5.14")) {
            fprintf(m, "%s[\"%s\",\"/etc/passwd\"]", n_tr++ ? "," : "", name);
        } else if (!strcmp(name, "transcript.v1.14.23")) {
            snprintf(src, sizeof(src), "%s/link", dir);
            CHECK_INT(symlink("/etc/passwd", src), 0);
            fprintf(m, "%s[\"%s\",\"link\"]", n_tr++ ? "," : "", name);
        } else if (!strcmp(name, "transcript.v1.23.32")) {
            fprintf(m, "%s[\"%s\",\"%s\"]", n_tr++ ? "," : "", name, name); /* not copied */
        } else if (!strcmp(name, "transcript.v1.32.41")) {
            char gzname[300];
            snprintf(gzname, sizeof(gzname), "%s.gz", name);
            CHECK_INT(copy_to(src, dir, gzname, 1), 0);
            fprintf(m, "%s[\"%s\",\"%s\"]", n_tr++ ? "," : "", name, gzname);
        } else if (!strcmp(name, "transcript.v2.0.5")) {
            snprintf(src, sizeof(src), "%s/sub", dir);
            CHECK_INT(mkdir(src, 0755), 0);
            snprintf(src, sizeof(src), "%s/%s", EXPORT, name);
            CHECK_INT(copy_to(src, dir, "sub/inside", 0), 0);
            /* a symlink that stays inside the export dir is fine */
            snprintf(src, sizeof(src), "%s/inlink", dir);
            CHECK_INT(symlink("sub/inside", src), 0);
            fprintf(m, "%s[\"%s\",\"inlink\"]", n_tr++ ? "," : "", name);
        } else {
            CHECK_INT(copy_to(src, dir, name, 0), 0);
            fprintf(m, "%s[\"%s\",\"%s\"]", n_tr++ ? "," : "", name, name);
        }
    }
    if (d) closedir(d);
    /* a snapshot artifact neither present nor listed as omitted, one listed */
    fprintf(m, ",[\"snapshot.v1.184\",\"snapshot.v1.184\"],[\"snapshot.v1.4\",\"snapshot.v1.4\"]");
    fprintf(m, ",[\"transcript.v1.41.50\",\"sub/../../x\"]");
    fprintf(m, "]}\n");
    fclose(m);
    CHECK_INT(n_tr, 143);

    tc_init(&c);
    /* refused and missing transcript artifacts are the export's errors (#22): a missing one makes it unreadable */
    memset(&err, 0, sizeof(err));
    CHECK_INT(sp_export_ingest(dir, NULL, tc_fn, &c, &err), SP_EIO);
    CHECK(strstr(err.msg, "has no items (and 4 more parts: see ingest_errors)") != NULL);
    if (!strstr(err.msg, "(and 4 more parts")) fprintf(stderr, "err: %s\n", err.msg);
    CHECK(tc_bad_find(&c, "missing (file ") >= 0 && tc_bad_find(&c, "): span v1 [23,32) has no items") >= 0);
    CHECK(tc_bad_find(&c, "artifact transcript.v1.0.5: file name \"../../etc/passwd\" has a \"..\"") >= 0);
    CHECK(tc_bad_find(&c, "artifact transcript.v1.5.14: absolute file name \"/etc/passwd\" rejected") >= 0);
    CHECK(tc_bad_find(&c, "artifact transcript.v1.14.23: file name \"link\" resolves to /etc/passwd") >= 0);
    CHECK(tc_bad_find(&c, "export-manifest.json: artifact transcript.v1.23.32 missing (file ") >= 0);
    CHECK(tc_bad_find(&c, "warning: export-manifest.json: artifact snapshot.v1.4 missing") >= 0);
    CHECK(tc_bad_find(&c, "artifact snapshot.v1.184") < 0); /* listed in omitted-artifacts.tsv */
    CHECK(tc_bad_find(&c, "transcript.v1.41.50: file name \"sub/../../x\" has a \"..\"") >= 0);
    CHECK_INT(c.n_bad, 6);
    if (c.n_bad != 6) tc_dump_bad(&c);
    /* every span of the export data is still reported; the rejected and
     * missing ones without items; v1.41.50 was read from its real file too
     * (it is also listed normally) */
    CHECK_INT(c.n_tspan, 143);
    CHECK_INT(tc_verified(&c), 139);
    for (i = 0; i < 4; i++) {
        static const int64_t starts[] = {0, 5, 14, 23};
        const struct tc_span *s = tc_span(&c, "v1", starts[i]);
        CHECK(s && s->items == 0 && !s->has_computed && s->has_hash);
    }
    {
        const struct tc_span *gz = tc_span(&c, "v1", 32), *in = tc_span(&c, "v2", 0);
        CHECK(gz && gz->items == 9 && gz->has_computed && !strcmp(gz->hash, gz->computed));
        CHECK(in && in->items == 5 && in->has_computed && !strcmp(in->hash, in->computed));
    }
    tc_free(&c);

    /* not an export directory */
    tc_init(&c);
    CHECK_INT(sp_export_ingest(tmpdir, NULL, tc_fn, &c, &err), SP_EBADINPUT);
    CHECK(strstr(err.msg, "not an export directory") != NULL);
    CHECK_INT(c.seen, 0);
    tc_free(&c);
}

/* An artifact with a line that is not JSON and one more line than the span. */
static void test_bad_artifact_lines(void)
{
    char dir[400], path[700];
    FILE *m;
    struct tc c;
    struct sp_err err;
    const struct tc_span *s;
    char buf[4096];
    int n;

    snprintf(dir, sizeof(dir), "%s/badlines", tmpdir);
    CHECK_INT(mkdir(dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/export-manifest.json", dir);
    m = fopen(path, "w");
    if (!m) return;
    fputs("{\"blockHeight\":1,\"mode\":\"debug\",\"data\":\"d.jsonl\",\"artifacts\":[[\"transcript.v9.0.3\","
          "\"t\"]]}",
          m);
    fclose(m);
    snprintf(path, sizeof(path), "%s/d.jsonl", dir);
    m = fopen(path, "w");
    if (!m) return;
    fputs("[\"transcript.v9.current\",\"{\\\"vatID\\\":\\\"v9\\\",\\\"startPos\\\":0,\\\"endPos\\\":3,"
          "\\\"hash\\\":\\\"56a22fb9fecffb4eefc82c5e5f4669e40ff5533f4525f62174c8d6823a66b825\\\","
          "\\\"isCurrent\\\":1,\\\"incarnation\\\":0}\"]\n"
          "this line is not an export-data record\n"
          "[\"kv.kernel.snapshotInitial\",\"2\"]\n"
          "[\"kv.v9.vs.something\",\"ignored\"]\n",
          m);
    fclose(m);
    /* items with trailing whitespace (trimmed, like the importer) */
    n = snprintf(buf, sizeof(buf), "%s  \n%s\r\n%s\n", item0, item1, item2);
    snprintf(path, sizeof(path), "%s/t", dir);
    CHECK_INT(write_all(path, buf, (size_t)n, 0), 0);
    tc_init(&c);
    CHECK_INT(sp_export_ingest(dir, NULL, tc_fn, &c, &err), SP_OK);
    s = tc_span(&c, "v9", 0);
    CHECK(s && s->items == 3 && s->is_current && s->incarnation == 0);
    CHECK(s && !strcmp(s->computed, s->hash));
    CHECK_INT(c.n_bad, 1);
    {
        /* the bad export-data line's byte offset: after line 1, counted here from the file */
        char *dj = NULL, want[96];
        size_t djn = 0;
        snprintf(path, sizeof(path), "%s/d.jsonl", dir);
        CHECK_INT(read_all(path, &dj, &djn), 0);
        snprintf(want, sizeof want, "d.jsonl:2: byte %d: expected [\"key\",\"value\"]",
                 dj ? (int)(strchr(dj, '\n') - dj) + 1 : -1);
        CHECK(tc_bad_find(&c, want) >= 0);
        free(dj);
        snprintf(path, sizeof(path), "%s/t", dir);
    }
    CHECK_STR(tc_kv(&c, "kernel.snapshotInitial"), "2");
    CHECK_INT(c.n_kv, 1);
    tc_free(&c);

    /* now a bad item in the middle: dead-lettered with its file, line and byte offset, not stored (#22) */
    n = snprintf(buf, sizeof(buf), "%s\n{\"d\":[\n%s\n", item0, item2);
    CHECK_INT(write_all(path, buf, (size_t)n, 1), 0); /* gzip, same name */
    tc_init(&c);
    CHECK_INT(sp_export_ingest(dir, NULL, tc_fn, &c, &err), SP_OK);
    s = tc_span(&c, "v9", 0);
    CHECK(s && s->items == 2 && !s->has_computed);
    CHECK_INT(c.items_without_dtype, 0);
    CHECK_INT(c.n_titem, 2);
    {
        char want[64];
        snprintf(want, sizeof want, "/t:2: byte %d: v9 position 1: transcript item: invalid JSON", (int)strlen(item0) + 1);
        CHECK(tc_bad_find(&c, want) >= 0);
    }
    tc_free(&c);

    /* a truncated gzip artifact: the part fails, reading goes on, no hash */
    {
        char *gz = NULL;
        size_t gn = 0;
        char big[8192];
        int k, len = 0;
        for (k = 0; k < 3; k++) len += snprintf(big + len, sizeof(big) - (size_t)len, "%s\n", item1);
        CHECK_INT(write_all(path, big, (size_t)len, 1), 0);
        CHECK_INT(read_all(path, &gz, &gn), 0);
        CHECK_INT(write_all(path, gz, gn - 12, 0), 0); /* drop the tail of the deflate data + trailer */
        free(gz);
    }
    tc_init(&c);
    memset(&err, 0, sizeof(err));
    CHECK_INT(sp_export_ingest(dir, NULL, tc_fn, &c, &err), SP_EBADINPUT);
    CHECK(strstr(err.msg, "truncated or corrupt gzip") != NULL);
    s = tc_span(&c, "v9", 0);
    CHECK(s && !s->has_computed && s->has_hash);
    CHECK(tc_bad_find(&c, "truncated or corrupt gzip") >= 0);
    tc_free(&c);
}

static void test_archive(void)
{
    char dir[400], path[700], buf[4096];
    struct tc c, db;
    struct sp_err err;
    DIR *d;
    struct dirent *de;
    const struct tc_span *s;
    int n, i, same = 0, files = 0;

    snprintf(dir, sizeof(dir), "%s/archive", tmpdir);
    CHECK_INT(mkdir(dir, 0755), 0);
    n = snprintf(buf, sizeof(buf), "%s\n%s\n%s\n", item0, item1, item2);
    snprintf(path, sizeof(path), "%s/transcript.vX.0.3.gz", dir);
    CHECK_INT(write_all(path, buf, (size_t)n, 1), 0);
    snprintf(path, sizeof(path), "%s/snapshot.vX.2.gz", dir);
    CHECK_INT(write_all(path, "xx", 2, 1), 0);
    /* the basic export's closed spans, gzipped like the archiver writes them */
    d = opendir(EXPORT);
    while (d && (de = readdir(d))) {
        char src[700], gzname[300];
        if (strncmp(de->d_name, "transcript.", 11)) continue;
        snprintf(src, sizeof(src), "%s/%s", EXPORT, de->d_name);
        snprintf(gzname, sizeof(gzname), "%s.gz", de->d_name);
        CHECK_INT(copy_to(src, dir, gzname, 1), 0);
        files++;
    }
    if (d) closedir(d);
    snprintf(path, sizeof(path), "%s/transcript.v1.bogus.gz", dir);
    CHECK_INT(write_all(path, "x", 1, 1), 0);

    tc_init(&c);
    CHECK_INT(sp_archive_ingest(dir, NULL, tc_fn, &c, &err), SP_OK);
    CHECK_INT(c.n_tspan, files + 1);
    s = tc_span(&c, "vX", 0);
    CHECK(s && s->items == 3 && !s->has_hash && s->end == 3);
    CHECK(s && !strcmp(s->computed, "56a22fb9fecffb4eefc82c5e5f4669e40ff5533f4525f62174c8d6823a66b825"));
    CHECK_INT(c.n_snap, 0);
    CHECK_INT(c.n_bad, 1);
    CHECK(tc_bad_find(&c, "transcript.v1.bogus.gz: not transcript.<vatID>") >= 0);
    /* the archived spans' hashes equal the swing-store's stored hashes */
    tc_init(&db);
    CHECK_INT(sp_swingstore_ingest(BASIC_DB, NULL, tc_fn, &db, &err), SP_OK);
    for (i = 0; i < c.n_tspan; i++) {
        const struct tc_span *x = tc_span(&db, c.spans[i].vat, c.spans[i].start);
        same += x && !strcmp(x->hash, c.spans[i].computed);
    }
    CHECK_INT(same, 143);
    /* order: by vat, then start position */
    for (i = 1; i < c.n_tspan; i++)
        CHECK(strcmp(c.spans[i - 1].vat, c.spans[i].vat) < 0 ||
              (!strcmp(c.spans[i - 1].vat, c.spans[i].vat) && c.spans[i - 1].start < c.spans[i].start));
    tc_free(&db);
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
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_transcript_export.XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_basic_export();
    test_hostile_manifest();
    test_bad_artifact_lines();
    test_archive();
    rm_tmpdir();
    return TEST_DONE();
}
