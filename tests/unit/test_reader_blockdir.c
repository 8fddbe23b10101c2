/* test_reader_blockdir.c - block-slog directory reader: the sample slog split per block into slogfile_*.gz reads back whole, in time order, with per-member lines and seeks. */
#include "sp_test.h"
#include "../../ingest/sp_input.h"
#include "../../ingest/sp_reader_int.h" /* sp_blockdir_parse_name */
#include "reader_util.h"

#define BASIC SP_TEST_DATA "/basic/slog.jsonl.gz"
#define MAX_MEMBERS 64

static char *tmp;
static char *ref;
static size_t ref_len;
static struct ru_lines rl;

struct member {
    char name[96];
    size_t from, to;   /* byte range in ref */
    int64_t first_line; /* 0-based index of its first line in rl */
};
static struct member mem[MAX_MEMBERS];
static int nmem;

/* Split at every cosmic-swingset-begin-block line: piece 0 = init, piece k = block <height>. */
static void make_dir(const char *dir)
{
    size_t i;
    int64_t ms0 = 1700000000000;
    nmem = 0;
    mem[0].from = 0;
    mem[0].first_line = 0;
    snprintf(mem[0].name, sizeof(mem[0].name), "slogfile_init_%lld.gz", (long long)ms0);
    nmem = 1;
    for (i = 0; i < rl.n; i++) {
        const char *l = ref + rl.start[i];
        const char *h;
        long long height;
        if (!memmem(l, rl.len[i] < 80 ? rl.len[i] : 80, "\"cosmic-swingset-begin-block\"", 29)) continue;
        h = memmem(l, rl.len[i], "\"blockHeight\":", 14);
        if (!h || nmem == MAX_MEMBERS) {
            fprintf(stderr, "unexpected begin-block line %zu\n", i + 1);
            exit(2);
        }
        height = strtoll(h + 14, NULL, 10);
        mem[nmem - 1].to = rl.start[i];
        mem[nmem].from = rl.start[i];
        mem[nmem].first_line = (int64_t)i;
        /* ms grows with the block, but blocks 2k and 2k+1 share one ms (tie broken by height);
         * heights 1..27 also make name order differ from time order (block_10 < block_2) */
        snprintf(mem[nmem].name, sizeof(mem[nmem].name), "slogfile_block_%lld_%lld.gz", height,
                 (long long)(ms0 + 1000 * ((nmem + 1) / 2)));
        nmem++;
    }
    mem[nmem - 1].to = ref_len;
    for (int k = 0; k < nmem; k++) {
        char *p = ru_path(dir, mem[k].name);
        ru_gz_member(p, ref + mem[k].from, mem[k].to - mem[k].from, "wb");
        free(p);
    }
    {
        char *p = ru_path(dir, "README.txt"); /* not a member: ignored */
        ru_write_str(p, "notes\n", "wb");
        free(p);
    }
}

static void test_read_all(const char *dir)
{
    struct sp_reader *r = NULL;
    struct sp_reader_opts o = {0, 0};
    struct sp_line l;
    struct sp_err err = {0};
    int64_t n = 0, diff = 0, restart_ok = 0;
    size_t pos = 0;
    int cur = -1, rc;
    long long total = 0;

    CHECK_INT(sp_input_detect(dir, &err), SP_IN_BLOCK_SLOG_DIR);
    CHECK_INT(sp_reader_open(&r, dir, &o, &err), SP_OK);
    if (!r) return;
    CHECK_INT(sp_reader_kind(r), SP_IN_BLOCK_SLOG_DIR);
    CHECK_INT(sp_reader_member_count(r), nmem);
    for (int k = 0; k < nmem; k++) {
        char *p = ru_path(dir, mem[k].name);
        CHECK_STR(sp_reader_member(r, (size_t)k), p); /* time order = our split order */
        total += ru_slurp_len(p);
        free(p);
    }
    CHECK_INT(sp_reader_size(r), total);
    CHECK_INT(sp_reader_lag(r), total); /* nothing read yet: every member */
    while ((rc = sp_reader_next(r, &l, &err)) == SP_OK) {
        /* which member should this be? */
        while (cur + 1 < nmem && pos >= mem[cur + 1].from) cur++;
        if (l.n != rl.len[n] || memcmp(l.p, ref + rl.start[n], l.n) != 0) diff++;
        if (l.line != n - mem[cur].first_line + 1) diff++;
        if (l.offset != (int64_t)(pos - mem[cur].from)) diff++;
        if (!strstr(l.source, mem[cur].name)) diff++;
        if (l.line == 1) restart_ok++;
        pos += l.n + 1;
        n++;
    }
    CHECK_INT(rc, SP_EOF);
    CHECK_INT(n, 24851);
    CHECK_INT(pos, ref_len); /* the concatenation is the original */
    CHECK_INT(diff, 0);
    CHECK_INT(restart_ok, nmem);
    CHECK_INT(sp_reader_bytes_in(r), total);
    CHECK_INT(sp_reader_bytes_read(r), total);
    CHECK_INT(sp_reader_lag(r), 0);
    sp_reader_destroy(r);
}

/* Resume in member 10 after its 5th line: everything after equals an uninterrupted read. */
static void test_seek_member(const char *dir)
{
    struct sp_reader *a = NULL, *b = NULL;
    struct sp_reader_opts o = {0, 0};
    struct sp_line la, lb;
    struct sp_err err = {0};
    int64_t end = 0, diff = 0;
    int ra, rb;
    char src[600];

    CHECK_INT(sp_reader_open(&a, dir, &o, &err), SP_OK);
    CHECK_INT(sp_reader_open(&b, dir, &o, &err), SP_OK);
    if (!a || !b) return;
    while (sp_reader_next(a, &la, &err) == SP_OK) {
        if (strstr(la.source, mem[10].name) && la.line == 5) {
            end = la.end_offset;
            snprintf(src, sizeof(src), "%s", la.source);
            break;
        }
    }
    CHECK(end > 0);
    CHECK_INT(sp_reader_seek_member(b, mem[10].name, 5, end, &err), SP_OK); /* base name works */
    for (;;) {
        ra = sp_reader_next(a, &la, &err);
        rb = sp_reader_next(b, &lb, &err);
        if (ra != rb) {
            diff++;
            break;
        }
        if (ra != SP_OK) break;
        if (la.line != lb.line || la.offset != lb.offset || strcmp(la.source, lb.source) != 0 ||
            la.n != lb.n || memcmp(la.p, lb.p, la.n) != 0)
            diff++;
    }
    CHECK_INT(ra, SP_EOF);
    CHECK_INT(diff, 0);
    /* full path works too; a whole member already done = seek to its end */
    CHECK_INT(sp_reader_seek_member(b, src, 0, 0, &err), SP_OK);
    CHECK_INT(sp_reader_next(b, &lb, &err), SP_OK);
    CHECK_INT(lb.line, 1);
    CHECK_STR(lb.source, src);
    CHECK_INT(sp_reader_seek_member(b, mem[3].name, 0, (int64_t)(mem[3].to - mem[3].from), &err),
              SP_OK);
    CHECK_INT(sp_reader_next(b, &lb, &err), SP_OK);
    CHECK(strstr(lb.source, mem[4].name) != NULL);
    CHECK_INT(lb.line, 1);
    /* gone or shorter members */
    CHECK_INT(sp_reader_seek_member(b, "slogfile_block_999_1.gz", 1, 10, &err), SP_EBADINPUT);
    CHECK(strstr(err.msg, "no longer in the directory") != NULL);
    CHECK_INT(sp_reader_seek_member(b, mem[3].name, 9999, 1 << 30, &err), SP_EBADINPUT);
    CHECK(strstr(err.msg, "source shorter than checkpoint") != NULL);
    sp_reader_destroy(a);
    sp_reader_destroy(b);
}

/* A truncated member: its complete lines, one SP_EBADINPUT, then the next members go on. */
static void test_bad_member(const char *dir)
{
    char *p = ru_path(dir, mem[5].name);
    size_t len;
    char *gz = ru_slurp(p, &len);
    struct sp_reader *r = NULL;
    struct sp_reader_opts o = {0, 0};
    struct sp_line l;
    struct sp_err err = {0};
    int64_t n = 0, bad = 0, after = 0;
    int rc;

    ru_write(p, gz, len - 20, "wb");
    CHECK_INT(sp_reader_open(&r, dir, &o, &err), SP_OK);
    if (!r) return;
    while ((rc = sp_reader_next(r, &l, &err)) == SP_OK || rc == SP_EBADINPUT) {
        if (rc == SP_EBADINPUT) {
            bad++;
            CHECK(strstr(err.msg, mem[5].name) != NULL);
            continue;
        }
        n++;
        if (bad && strstr(l.source, mem[6].name) && l.line == 1) after++;
    }
    CHECK_INT(rc, SP_EOF);
    CHECK_INT(bad, 1);
    CHECK_INT(after, 1);
    CHECK(n < 24851 && n > 24851 - (int64_t)(mem[5].to - mem[5].from));
    sp_reader_destroy(r);
    ru_write(p, gz, len, "wb");
    free(gz);
    free(p);
}

int main(void)
{
    char *dir;
    int64_t ms;
    int rank;
    int64_t height;

    sp_log_level = SP_LOG_ERROR;
    /* member names */
    CHECK_INT(sp_blockdir_parse_name("slogfile_block_12_1700000000123.gz", &ms, &rank, &height), 1);
    CHECK_INT(ms, 1700000000123);
    CHECK_INT(rank, 3);
    CHECK_INT(height, 12);
    CHECK_INT(sp_blockdir_parse_name("slogfile_init_5.gz", &ms, &rank, &height), 1);
    CHECK_INT(rank, 0);
    CHECK_INT(height, -1);
    CHECK_INT(sp_blockdir_parse_name("slogfile_bootstrap_6.gz", &ms, &rank, &height), 1);
    CHECK_INT(rank, 1);
    CHECK_INT(sp_blockdir_parse_name("slogfile_upgrade_7.gz", &ms, &rank, &height), 1);
    CHECK_INT(rank, 2);
    CHECK_INT(ms, 7);
    CHECK_INT(sp_blockdir_parse_name("slogfile_block_12.gz", &ms, &rank, &height), 0);
    CHECK_INT(sp_blockdir_parse_name("slogfile_block_x_12.gz", &ms, &rank, &height), 0);
    CHECK_INT(sp_blockdir_parse_name("slogfile_init_5.gz.tmp", &ms, &rank, &height), 0);
    CHECK_INT(sp_blockdir_parse_name("slogfile_init_.gz", &ms, &rank, &height), 0);
    CHECK_INT(sp_blockdir_parse_name("slogfile_other_5.gz", &ms, &rank, &height), 0);
    tmp = ru_tmpdir();
    ref = ru_gunzip(BASIC, &ref_len);
    ru_index(ref, ref_len, 0, &rl);
    dir = ru_path(tmp, "blocks");
    mkdir(dir, 0755);
    make_dir(dir);
    CHECK_INT(nmem, 28); /* init + 27 blocks */
    test_read_all(dir);
    test_seek_member(dir);
    test_bad_member(dir);
    ru_rmrf(tmp);
    free(dir);
    free(tmp);
    ru_lines_free(&rl);
    free(ref);
    return TEST_DONE();
}
